"""Write a precision into an ONNX graph: name its nodes, run the mode's pass (trtbuild.precision.fp16_pass,
int8_pass), then check the result (onnx.checker, ONNX Runtime load + run) and count its graph."""

from __future__ import annotations

from pathlib import Path

from trtbuild.precision.pass_contract import Converted, Job
from trtbuild.recipe.schema import Recipe


def convert_graph(recipe: Recipe, job: Job, source: Path, target: Path, calibration_images: list[Path]) -> Converted:
    """`source` (FP32) converted to `recipe.precision.mode` (fp16 or int8) at `target`."""
    import onnx

    from trtbuild.data.feeds import random_feeds
    from trtbuild.precision.graph_stats import graph_stats
    from trtbuild.precision.policy import name_nodes
    from trtbuild.precision.validate import validate_graph

    named = job.workdir / "fp32.onnx"
    model = onnx.load(str(source))
    name_nodes(model)
    onnx.save(model, str(named))
    if recipe.precision.mode == "fp16":
        from trtbuild.precision.fp16_pass import run_fp16

        converted = run_fp16(recipe.precision, model, target)
    else:
        from trtbuild.precision.int8_pass import run_int8

        converted = run_int8(recipe, job, model, named, target, calibration_images)
    named.unlink()
    validate_graph(target, random_feeds(recipe, 1)[0])
    converted.metrics.update(fp32_nodes=converted.kept, graph=graph_stats(target), source_graph=graph_stats(source))
    return converted
