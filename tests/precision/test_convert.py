"""convert_graph on a real exported graph: the FP16 pass's metrics in report order, a graph that loads and runs, and
nothing left behind in the work folder but the target."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from conftest import REPO

from trtbuild.api import build
from trtbuild.build.pipeline import BuildOptions
from trtbuild.precision.convert import convert_graph
from trtbuild.recipe import load_recipe
from trtbuild.build.stages.base import StageContext

RECIPE = """name: tiny
task: other
model: {adapter: python, options: {target: 'torchvision.models:resnet18', kwargs: {num_classes: 10}}}
inputs: [{name: image, shape: [1, 3, 32, 32]}]
export: {output_names: [logits]}
precision: {mode: fp16, keep_fp32: {op_types: [Gemm]}}
"""


@pytest.fixture(scope="module")
def simplified(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp("convert")
    (root / "tiny.yaml").write_text(RECIPE)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        report = build(str(root / "tiny.yaml"), None, BuildOptions("simplify", out_root=root / "out"),
                       cache_dir=root / "cache")
    recipe = load_recipe(str(root / "tiny.yaml")).recipe
    return recipe, Path(next(a.path for a in report.stages[-1].artifacts if a.role == "onnx"))


def test_fp16_conversion_reports_in_order_and_keeps_the_recipes_islands(simplified, tmp_path):
    recipe, source = simplified
    work = tmp_path / "work"
    work.mkdir()
    job = StageContext(recipe, work, {}, tmp_path / "log.txt")
    target = work / "model.onnx"
    converted = convert_graph(recipe, job, source, target, [])
    assert list(converted.metrics) == ["fp32_reasons", "repaired_mixed_type_nodes", "tool", "fp32_nodes", "graph",
                                       "source_graph"]
    assert [p.name for p in work.iterdir()] == ["model.onnx"]  # the named FP32 copy is gone
    model = onnx.load(str(target))
    gemms = [node.name for node in model.graph.node if node.op_type == "Gemm"]
    assert gemms and all(name in converted.kept for name in gemms)
    assert converted.metrics["graph"] != converted.metrics["source_graph"]
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in model.graph.initializer)
    assert converted.warnings == []
