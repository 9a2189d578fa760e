"""verify: the FP32 candidate passes with zero drop; a gate that must fail does fail (exit 1, gate named), whether
the gate is too strict for the candidate or the candidate's ONNX weights are corrupted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from typer.testing import CliRunner

from conftest import COCO8, COCO128, DEPTH_SEEDED, YOLO_WEIGHTS
from trtbuild.cli import app
from trtbuild.core.errors import StageFailed
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.build.stages.base import StageContext
from trtbuild.build.stages.verify import VerifyStage

YOLO_BARE = ["yolo12n", "--fp32", "--weights", str(YOLO_WEIGHTS), "--set", "verify.max_images=4", "--set",
             "precision.evaluate.max_images=4"]
YOLO_ARGS = [*YOLO_BARE, "--data", str(COCO128)]
DEPTH_SETS = ["inputs[0].shape=[1,3,392,392]", "verify.max_images=2", "precision.evaluate.max_images=2"]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "trtbuild-cache"


def _verify_cli(args: list[str], out: Path, cache: Path):
    result = CliRunner().invoke(app, ["verify", *args, "--out", str(out), "--cache-dir", str(cache)])
    report = json.loads((out / "yolo12n" / "report.json").read_text())
    return result.exit_code, report


def test_fp32_candidate_passes_with_no_drop(in_repo, shared_cache, tmp_path, shared_data):
    code, report = _verify_cli(YOLO_BARE, tmp_path, shared_cache)  # the data comes from TRTBUILD_DATA
    assert code == 0, report.get("error")
    verify = report["verify"]
    assert verify["inputs"] == (f"4 images from {COCO128} (val split), holdout share 1/2 by file-name hash, "
                                "4 label files")
    assert verify["passed"] and verify["candidate_runner"] == "onnxruntime"
    assert verify["values"]["map50_95_drop_pct"] == pytest.approx(0.0, abs=1e-9)
    assert verify["detail"]["basis"] == "labels"
    assert report["stages"][-1]["status"] == "ran"  # no GPU here: the engine (if RTX built one) is not judged, ORT is


def test_a_gate_the_candidate_cannot_meet_fails_the_build(in_repo, shared_cache, tmp_path):
    strict = ["--set", "verify.gates=[{metric: map50_95_vs_pytorch, min: 0.999}]"]  # AP101 tops out at 0.995
    code, report = _verify_cli(YOLO_ARGS + strict, tmp_path, shared_cache)
    assert code == 1 and report["exit_code"] == 1
    assert "map50_95_vs_pytorch" in report["error"] and ">= 0.999" in report["error"] and "FAILED by" in report["error"]
    gate = report["verify"]["gates"][0]
    assert not gate["passed"] and gate["excess"] == pytest.approx(0.999 - gate["value"])
    assert (tmp_path / "yolo12n" / "report.md").read_text().count("**FAIL**") == 1


def test_the_worst_classes_are_named_as_the_export_metadata_names_them(in_repo, shared_cache, tmp_path):
    """verify's and the precision stage's worst-class slices read the class names the export stage recorded."""
    code, report = _verify_cli(YOLO_ARGS, tmp_path, shared_cache)
    assert code == 0, report.get("error")
    stages = {stage["name"]: stage for stage in report["stages"]}
    metadata = next(a["path"] for a in stages["export"]["artifacts"] if a["role"] == "metadata")
    names = json.loads(Path(metadata).read_text())["names"]  # {"0": "person", ...}
    for slices in report["verify"]["slices"], stages["precision"]["metrics"]["accuracy_vs_pytorch_fp32"]["slices"]:
        rows = slices["by_class"]
        assert rows and [row["name"] for row in rows] == [names[str(row["class"])] for row in rows]
        assert "person" in [row["name"] for row in rows]


def _corrupted(onnx_path: Path, target: Path, relative_noise: float) -> Path:
    """The same graph with every conv weight multiplied by (1 + noise): finite but wrong."""
    model = onnx.load(onnx_path)
    rng = np.random.default_rng(0)
    for init in model.graph.initializer:
        weights = numpy_helper.to_array(init)
        if weights.dtype == np.float32 and weights.ndim == 4:
            noisy = weights * (1 + relative_noise * rng.standard_normal(weights.shape).astype(np.float32))
            init.CopyFrom(numpy_helper.from_array(noisy, init.name))
    onnx.save(model, target)
    return target


@pytest.mark.parametrize(("name", "overrides", "gate"), [
    ("yolo12n", Overrides(weights=YOLO_WEIGHTS, precision="fp32", data=COCO128,
                          sets=["verify.max_images=4", "precision.evaluate.max_images=4"]),
     "map50_95_drop_pct"),
    ("depth", Overrides(weights=DEPTH_SEEDED, precision="fp32", sets=DEPTH_SETS, data=COCO8), "depth_rel_mse_pct"),
])
def test_corrupted_onnx_candidate_fails_its_gate(name, overrides, gate, in_repo, shared_cache, tmp_path):
    from trtbuild import api
    from trtbuild.build.pipeline import BuildOptions

    report = api.build(name, overrides, BuildOptions("precision", out_root=tmp_path / "out"), shared_cache)
    onnx_path = Path(next(a.path for a in report.stage("precision").artifacts if a.role == "onnx"))
    metadata = Path(next(a.path for a in report.stage("export").artifacts if a.role == "metadata"))
    recipe = load_recipe(name, overrides).recipe
    stage = VerifyStage(recipe)
    inputs = stage.inputs({"precision.onnx": _corrupted(onnx_path, tmp_path / "bad.onnx", 0.1),
                           "export.metadata": metadata})
    with pytest.raises(StageFailed) as failed:
        stage.run(StageContext(recipe, tmp_path, inputs, tmp_path / "verify.log"))
    assert failed.value.exit_code == 1
    assert gate in str(failed.value) and "FAILED by" in str(failed.value)
    assert failed.value.metrics["passed"] is False


def test_without_data_the_gates_are_not_measured_never_passed(shared_cache, tmp_path, monkeypatch):
    monkeypatch.delenv("TRTBUILD_DATA", raising=False)
    code, report = _verify_cli(YOLO_BARE, tmp_path, shared_cache)
    assert code == 0, report.get("error")
    verify = report["verify"]
    assert verify["passed"] is None and verify["values"] == {} and verify["samples"] == 2
    assert [(g["metric"], g["status"], g["value"]) for g in verify["gates"]] == [
        ("map50_95_drop_pct", "not measured", None)]
    assert verify["parity"]["output0"]["finite"] and verify["inputs"].startswith("2 images from ultralytics' bundled")
    assert "| map50_95_drop_pct | n/a | <= 1 | **not measured** |" in (tmp_path / "yolo12n" / "report.md").read_text()
    strict_code, strict = _verify_cli([*YOLO_BARE, "--strict"], tmp_path, shared_cache)
    assert strict_code == 1 and strict["error"].startswith("accuracy not measured (--strict): precision: ")
    assert "verify: no images to judge the gates on (pass --data" in strict["error"]
