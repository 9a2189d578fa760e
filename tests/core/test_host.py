"""Host facts: torch drives a GPU only when nvidia-smi lists one and the installed torch is a CUDA build."""

import pytest

from trtbuild.core import host

H100 = host.Gpu("NVIDIA H100 80GB HBM3", "9.0", "580.159.04", 81559)


@pytest.mark.parametrize(("gpus", "torch_version", "drives"), [
    ((H100,), "2.14.1", True),  # PyPI's Linux wheel: a CUDA build without a local label
    ((H100,), "2.11.0+cu130", True),
    ((H100,), "2.13.0+cpu", False),  # the CPU wheel beside an NVIDIA GPU: GPU runners cannot make their buffers
    ((H100,), None, False),
    ((), "2.14.1", False),
])
def test_torch_drives_gpus(monkeypatch, gpus, torch_version, drives):
    monkeypatch.setattr(host, "gpus", lambda: gpus)
    monkeypatch.setattr(host, "package_version", lambda dist: torch_version if dist == "torch" else None)
    assert host.torch_drives_gpus() is drives
