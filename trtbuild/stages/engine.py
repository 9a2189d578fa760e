"""engine: build a TensorRT plan from the precision stage's ONNX (Python builder API or trtexec)."""

from __future__ import annotations

from trtbuild.host import gpus, tensorrt_version
from trtbuild.stages.base import Artifacts, Stage, StageContext, StageOutput


def engine_unavailable_reason() -> str | None:
    if tensorrt_version() is None:
        return "TensorRT is not installed (on a host with an NVIDIA GPU: pip install 'trtbuild[tensorrt]')"
    if not gpus():
        return "no NVIDIA GPU found (nvidia-smi lists none); TensorRT builds need the target GPU"
    return None


class EngineStage(Stage):
    name = "engine"
    tools = ("tensorrt",)
    host_bound = True
    publish = {"plan": "{name}.{precision}.engine", "sidecar": "{name}.{precision}.engine.json"}

    def params(self) -> dict:
        return {"engine": self.recipe.engine.model_dump(mode="json"),
                "inputs": [s.model_dump(mode="json") for s in self.recipe.inputs]}

    def inputs(self, artifacts: Artifacts) -> dict:
        return {"onnx": artifacts["precision.onnx"]}

    def unavailable(self) -> str | None:
        return engine_unavailable_reason()

    def run(self, ctx: StageContext) -> StageOutput:
        raise NotImplementedError("engine stage backend")
