"""precision: write the requested precision into the ONNX graph (TensorRT 11 takes precision only from the graph)."""

from __future__ import annotations

import shutil

from trtbuild.errors import UsageError
from trtbuild.stages.base import Artifacts, Stage, StageContext, StageOutput


class PrecisionStage(Stage):
    name = "precision"
    tools = ("onnx",)
    publish = {"onnx": "{name}.{precision}.onnx"}

    def params(self) -> dict:
        return self.recipe.precision.model_dump(mode="json")

    def inputs(self, artifacts: Artifacts) -> dict:
        return {"onnx": artifacts["simplify.onnx"]}

    def run(self, ctx: StageContext) -> StageOutput:
        spec = self.recipe.precision
        if spec.mode != "fp32" and spec.method == "graph":
            raise UsageError(f"precision.mode: {spec.mode} in-graph conversion is not available yet")
        target = ctx.workdir / "model.onnx"
        shutil.copyfile(ctx.inputs["onnx"], target)
        return StageOutput(artifacts={"onnx": target.name}, metrics={"mode": spec.mode, "method": spec.method})
