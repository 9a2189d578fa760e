"""The engine plan is checked before the first stage: a setting TensorRT-RTX refuses stops `build` at once (exit 2,
one line, nothing written), and `show` prints the same verdict. Real CLI processes, real TensorRT-RTX library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import YOLO_WEIGHTS, backend_checker

TRTBUILD = str(Path(sys.executable).parent / "trtbuild")
needs_rtx = backend_checker("tensorrt-rtx")
HOPPER = "engine.compute_capabilities=[9.0]"
REFUSAL = "engine.compute_capabilities: TensorRT-RTX cannot target 9.0 (it targets 7.5, 8.0, 8.6, 8.9, 12.0, 12.1)"


def trtbuild(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TRTBUILD, *args], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          check=False)


@needs_rtx
def test_a_refused_engine_setting_stops_the_build_before_export(tmp_path):
    done = trtbuild(tmp_path, "build", "yolo12n", "--weights", str(YOLO_WEIGHTS), "--set", HOPPER,
                    "--out", "engines", "--cache-dir", "cache")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [f"error: {REFUSAL}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no export ran: no cache, no engines folder


@needs_rtx
def test_until_before_the_engine_stage_does_not_check_it(tmp_path):
    done = trtbuild(tmp_path, "build", "yolo12n", "--weights", str(tmp_path / "missing.pt"), "--set", HOPPER,
                    "--until", "export")
    assert done.returncode == 2 and "model.weights: file not found" in done.stderr  # the export's own error


@needs_rtx
def test_show_prints_the_engine_verdict(tmp_path):
    plain = json.loads(trtbuild(tmp_path, "show", "yolo12n").stdout)["engine"]
    assert plain == "tensorrt-rtx-bindings (TensorRT-RTX 1.7.1, fp16), engines run on 8.0, 8.6, 8.9, 12.0, 12.1"
    refused = trtbuild(tmp_path, "show", "yolo12n", "--set", HOPPER)
    assert refused.returncode == 0 and json.loads(refused.stdout)["engine"] == f"refused: {REFUSAL}"
