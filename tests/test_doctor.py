"""doctor: the two ONNX Runtime distributions that clash are named with the fix; one alone is fine."""

import json
import subprocess
import sys

import pytest

from trtbuild.doctor import onnxruntime_packages


@pytest.mark.parametrize(("versions", "clash"), [
    ({"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"}, True),
    ({"onnxruntime": "1.32.0", "onnxruntime-gpu": None}, False),
    ({"onnxruntime": None, "onnxruntime-gpu": "1.31.1"}, False),
])
def test_onnxruntime_and_onnxruntime_gpu_together_are_named_with_the_fix(versions, clash):
    found = onnxruntime_packages(versions)
    assert (found != "ok") is clash
    if clash:
        assert "1.32.0" in found and "1.31.1" in found and "pip install onnxruntime-gpu" in found


def test_this_hosts_doctor_reports_its_onnxruntime_packages():
    from trtbuild.doctor import diagnose

    assert diagnose()["onnxruntime_packages"] == "ok"  # the lock installs onnxruntime alone


@pytest.mark.gpu
def test_doctor_json_stays_json_where_a_listed_provider_falls_back():
    """onnxruntime-gpu lists TensorRT's provider on a host without TensorRT's libraries; ONNX Runtime prints that
    provider's failure to stdout, which must not reach `doctor --json`'s output."""
    done = subprocess.run([sys.executable, "-m", "trtbuild", "doctor", "--json"], capture_output=True, text=True,
                          check=True)
    providers = json.loads(done.stdout)["onnxruntime_providers"]
    assert providers["CUDAExecutionProvider"] == "ok"
    assert all(v == "ok" or ": " in v for v in providers.values())  # a fallback says why
