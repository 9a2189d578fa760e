"""Every batch of a dynamic profile verified: the candidate runs at the profile's min, opt and max batch, and each
image gives inside a full batch what it gives alone. Real graphs on ONNX Runtime (the runner verify uses here) and a
real TensorRT-RTX engine built for the profile; on a GPU the same check runs on the engine (the `gpu` test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper

from conftest import COCO8, needs_tensorrt
from trtbuild import api
from trtbuild.accuracy.batch_shapes import profile_batches, verify_batches
from trtbuild.build.pipeline import BuildOptions
from trtbuild.build.stages.base import StageContext
from trtbuild.build.stages.verify import VerifyStage
from trtbuild.core.errors import StageFailed
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.recipe.schema import InputSpec
from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner

PROFILE = {0: {"min": 1, "opt": 2, "max": 4}}
QUICK = ["check.max_images=2", "verify.cannot_tell=warn"]  # 2 images cannot settle a 99 % agreement gate


def _graph(path: Path, mixes_batch: bool) -> Path:
    """x (batch, 3, 8, 8) -> relu(2x + 1), or that plus the batch's mean minus x (zero alone, not in a batch)."""
    nodes = [helper.make_node("Mul", ["x", "two"], ["m"]), helper.make_node("Add", ["m", "one"], ["a"]),
             helper.make_node("Relu", ["a"], ["r"] if mixes_batch else ["y"])]
    if mixes_batch:
        nodes += [helper.make_node("ReduceMean", ["x"], ["mean"], axes=[0], keepdims=1),
                  helper.make_node("Sub", ["mean", "x"], ["spread"]), helper.make_node("Add", ["r", "spread"], ["y"])]
    graph = helper.make_graph(
        nodes, "batch", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        initializer=[helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0]),
                     helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def test_the_profile_batches_are_its_min_opt_and_max_once_each():
    spec = InputSpec(name="x", shape=[2, 3, 8, 8], dynamic=PROFILE)
    assert profile_batches(spec) == [1, 2, 4]
    assert profile_batches(InputSpec(name="x", shape=[1, 3, 8, 8], dynamic={0: {"min": 1, "opt": 1, "max": 8}})) == [1, 8]
    assert profile_batches(InputSpec(name="x", shape=[1, 3, 8, 8])) == []


def test_a_graph_that_mixes_images_across_the_batch_is_caught(tmp_path):
    images = np.random.default_rng(0).standard_normal((3, 3, 8, 8)).astype(np.float32)  # cycled to fill 4
    per_image = verify_batches(OnnxRuntimeRunner(_graph(tmp_path / "ok.onnx", False)), "x", images, [1, 2, 4], 1e-6)
    assert [(r["batch"], r["passed"], r["outputs"]["y"]["rel_l2"]) for r in per_image] == [
        (1, True, 0.0), (2, True, 0.0), (4, True, 0.0)]
    mixing = verify_batches(OnnxRuntimeRunner(_graph(tmp_path / "mix.onnx", True)), "x", images, [1, 2, 4], 1e-3)
    assert [r["passed"] for r in mixing] == [True, False, False]  # alone, the mean is the image itself
    assert mixing[2]["outputs"]["y"]["rel_l2"] > 0.1 and mixing[2]["problem"].startswith("y rel_l2 ")


def _classifier(folder: Path) -> str:
    """torchvision's resnet18 at 64x64 (seeded random weights: agreement, not label accuracy) with a dynamic batch."""
    path = folder / "dyn.yaml"
    path.write_text(yaml.safe_dump({
        "name": "dyn", "task": "classify",
        "model": {"adapter": "python", "options": {"target": "torchvision.models:resnet18",
                                                   "kwargs": {"num_classes": 10}}},
        "inputs": [{"name": "image", "shape": [1, 3, 64, 64], "dynamic": PROFILE}],
        "export": {"output_names": ["logits"], "dynamic_outputs": {"logits": {0: "batch"}}},
        "engine": {"backend": "tensorrt-rtx-bindings", "compute_capabilities": ["8.9"]}}))
    return str(path)


@pytest.fixture(scope="module")
def dynamic_build(tmp_path_factory):
    """The classifier built through verify: a real TensorRT-RTX engine for the profile, verify on ONNX Runtime (no
    GPU here to run the engine)."""
    root = tmp_path_factory.mktemp("dynamic")
    recipe = _classifier(root)
    overrides = Overrides(precision="fp32", data=COCO8, sets=QUICK)
    report = api.verify(recipe, overrides, BuildOptions(out_root=root / "out"), root / "cache")
    return report, recipe, overrides, root


def test_a_dynamic_profile_is_verified_at_min_opt_and_max(dynamic_build):
    report, _, _, root = dynamic_build
    assert report.stage("engine").status in ("ran", "cached")  # RTX built it for batch 1..4 on this CPU
    engine = report.stage("engine").metrics["io"][0]
    assert engine["profile"] == [[1, 3, 64, 64], [2, 3, 64, 64], [4, 3, 64, 64]]
    shapes = report.verify.batch_shapes
    assert shapes.runner == "onnxruntime" and report.verify.engine_not_judged  # the engine needs a GPU
    assert [(b.batch, b.passed) for b in shapes.batches] == [(1, True), (2, True), (4, True)]
    assert all(b.outputs["logits"].rel_l2 <= shapes.rel_l2 == 1e-3 for b in shapes.batches)
    assert "batch 1/2/4 same as alone" in report.stage("verify").headline()
    markdown = (root / "out" / "dyn" / "report.md").read_text()
    assert "Dynamic batch of `image` on onnxruntime" in markdown and "| 4 | logits " in markdown


def test_a_candidate_right_alone_but_wrong_in_a_batch_fails_verify(dynamic_build, tmp_path):
    """The export batch (1) alone is exactly the model, so the accuracy passes: only the per-batch check sees it."""
    report, recipe_path, overrides, _ = dynamic_build
    onnx_path = Path(next(a.path for a in report.stage("precision").artifacts if a.role == "onnx"))
    model = onnx.load(str(onnx_path))
    graph = model.graph
    graph.output[0].name = "raw"
    for node in graph.node:
        node.output[:] = ["raw" if name == "logits" else name for name in node.output]
    graph.node.extend([helper.make_node("ReduceMean", ["raw"], ["mean"], axes=[0], keepdims=1),
                       helper.make_node("Sub", ["mean", "raw"], ["spread"]),
                       helper.make_node("Add", ["raw", "spread"], ["logits"])])
    graph.output[0].name = "logits"
    onnx.save(model, str(tmp_path / "mixing.onnx"))
    recipe = load_recipe(recipe_path, overrides).recipe
    stage = VerifyStage(recipe)
    metadata = Path(next(a.path for a in report.stage("export").artifacts if a.role == "metadata"))
    inputs = stage.inputs({"precision.onnx": tmp_path / "mixing.onnx", "export.metadata": metadata})
    with pytest.raises(StageFailed) as failed:
        stage.run(StageContext(recipe, tmp_path, inputs, tmp_path / "verify.log"))
    assert str(failed.value).startswith("verify: onnxruntime gives other outputs inside a batch than for the same "
                                        "images alone: batch 2: logits rel_l2 ")
    assert failed.value.metrics["values"]["top1_agreement_pct"] == 100.0 and failed.value.metrics["passed"] is False


@pytest.mark.gpu
def test_on_a_gpu_the_engine_itself_is_verified_at_every_batch(tmp_path):
    needs_tensorrt()
    overrides = Overrides(precision="fp16", data=COCO8, sets=[*QUICK, "verify.runner=engine", "engine.backend=auto",
                                                               "engine.compute_capabilities=null"])
    report = api.verify(_classifier(tmp_path), overrides, BuildOptions(out_root=tmp_path / "out"), tmp_path / "cache")
    shapes = report.verify.batch_shapes
    assert shapes.runner == "engine" and [b.batch for b in shapes.batches] == [1, 2, 4] and shapes.passed
