"""A refactoring keeps the bytes: the tiny recipe of benchmarks/behaviour_snapshot.py, built through the engine stage
(TensorRT-RTX on the CPU), gives the ONNX models and the engine recorded at 5a76699 (before issue 17's refactoring).
The digests hold for the pinned versions in requirements.lock; a deliberate change of the export, the simplifier, the
precision stage or the engine build records new ones (run the script with --out benchmarks/results/...)."""

from __future__ import annotations

import json
import sys
import pytest

from conftest import REPO, backend_checker

pytestmark = [pytest.mark.long, backend_checker("tensorrt-rtx-bindings")]
RECORDED = REPO / "benchmarks" / "results" / "behaviour_before.json"


def test_tiny_recipe_builds_the_recorded_onnx_and_engine_bytes(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from behaviour_snapshot import RECIPE, build

    (tmp_path / "tiny.yaml").write_text(RECIPE)
    built = build(tmp_path, ["build", "tiny.yaml", "--until", "engine"], "tiny")
    recorded = json.loads(RECORDED.read_text())["tiny"]
    assert built["exit_code"] == 0
    assert {name: stage["artifacts"] for name, stage in built["stages"].items()} == \
        {name: stage["artifacts"] for name, stage in recorded["stages"].items()}
    assert built["report_fields"] == recorded["report_fields"]
