"""An engine set rebuilt while it serves: one real worker process predicts in a loop, with a Model it keeps and a
fresh `load` each turn, while real `trtbuild build` processes republish the folder three times with different bytes
(10 and then 12 classes: other ONNX graphs and TensorRT-RTX engines). Every frame is answered, every load gets the
old set or the new one, never a digest mismatch."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from reliability.builds import command, run, temp_files, tiny_recipe

pytestmark = [pytest.mark.reliability, pytest.mark.long]  # 60-90 s of real builds: make test-long (CI runs it)

WORKER = """
import json, sys, time
from pathlib import Path
import numpy as np
from trtbuild import load

folder, log, stop = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
frame = np.full((48, 64, 3), 90, np.uint8)
kept = load(folder)
with log.open("a") as out:
    while not stop.exists():
        record = {}
        try:
            record["kept"] = kept(frame).outputs["logits"].shape[0]
            with load(folder) as fresh:
                record["fresh"] = fresh(frame).outputs["logits"].shape[0]
                if "differs from what engines.json recorded" in fresh.why:
                    record["error"] = fresh.why
        except Exception as exc:  # noqa: BLE001 - every failure is what this test counts
            record["error"] = f"{type(exc).__name__}: {exc}"
        out.write(json.dumps(record) + "\\n")
        out.flush()
"""


def _served(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _wait_for_turns(log, after: int, worker: subprocess.Popen, turns: int = 2) -> None:
    """Until the worker has finished `turns` more loads (a republished set is then surely loaded)."""
    deadline = time.monotonic() + 120
    while len(_served(log)) < after + turns:
        assert worker.poll() is None, worker.stderr.read()
        assert time.monotonic() < deadline, "the worker stopped answering"
        time.sleep(0.05)


def test_a_model_and_concurrent_loads_keep_working_while_the_set_is_rebuilt_three_times(tmp_path):
    recipe, cache, out = tiny_recipe(tmp_path), tmp_path / "cache", tmp_path / "engines"
    variants = [[], ["--set", "model.options.kwargs.num_classes=12"]]
    first = run(command(recipe, cache, out, "--until", "engine"), tmp_path)
    assert first.returncode == 0, first.stderr
    folder, log, stop = out / "tiny", tmp_path / "served.jsonl", tmp_path / "stop"
    (tmp_path / "worker.py").write_text(WORKER)
    worker = subprocess.Popen([sys.executable, str(tmp_path / "worker.py"), str(folder), str(log), str(stop)],
                              cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_turns(log, 0, worker)
        for variant in (variants[1], variants[0], variants[1]):  # 12 classes, 10 (cached), 12 (cached)
            rebuilt = run(command(recipe, cache, out, "--until", "engine", *variant), tmp_path)
            assert rebuilt.returncode == 0, rebuilt.stderr
            _wait_for_turns(log, len(_served(log)), worker)
    finally:
        stop.touch()
        worker.wait(timeout=60)
    served = _served(log)
    errors = [s["error"] for s in served if "error" in s]
    print(f"rebuild while serving: {len(served)} turns, {2 * len(served)} frames served, errors: {len(errors)}")
    assert worker.returncode == 0, worker.stderr.read()
    assert errors == []
    assert {s["kept"] for s in served} == {10}, "the Model loaded first keeps its own runner"
    assert {s["fresh"] for s in served} == {10, 12}, "fresh loads got the old set and the new one"
    assert served[-1]["fresh"] == 12
    assert not (folder / ".engines.json.lock").exists() and temp_files(out) == []
