"""export: torch module -> ONNX with the recipe's input names, shapes, dynamic axes and opset."""

from __future__ import annotations

import json
import time
import warnings

from trtbuild.models.registry import ADAPTERS, checkpoint_path
from trtbuild.build.stages.base import Artifacts, Stage, StageContext, StageMetrics, StageOutput


class ExportMetrics(StageMetrics):
    opset: int | None  # the default domain's opset of the written graph
    nodes: int
    size_bytes: int
    export_seconds: float
    inputs: list[str]
    outputs: list[str]
    random_weights: bool

    def headline(self) -> str:
        return f"opset {self.opset}, {self.nodes} nodes"


class ExportStage(Stage):
    tools = ("torch", "onnx")
    publish = {"onnx": "{name}.raw.onnx"}
    Metrics = ExportMetrics

    def params(self) -> dict:
        model = self.recipe.model.model_dump(mode="json", exclude={"weights"})  # the weights enter by digest
        return {
            "model": model,
            "inputs": [s.model_dump(mode="json") for s in self.recipe.inputs],
            "export": self.recipe.export.model_dump(mode="json"),
        }

    def tool_distributions(self) -> tuple[str, ...]:
        return self.tools + ADAPTERS[self.recipe.model.adapter].distributions

    def inputs(self, artifacts: Artifacts) -> dict:
        weights = checkpoint_path(self.recipe.model)
        return {"weights": weights} if weights else {}

    def run(self, ctx: StageContext) -> StageOutput:
        import onnx
        import torch

        from trtbuild.models.base import create_adapter

        recipe = self.recipe
        adapter = create_adapter(recipe)
        module = adapter.build()
        # What engine consumers need (class names, stride, input size), so later stages never reload the model.
        (ctx.workdir / "metadata.json").write_text(json.dumps(adapter.metadata(), indent=1))
        dummy = tuple(torch.zeros(s.shape, dtype=getattr(torch, s.dtype)) for s in recipe.inputs)
        dynamic_axes = {s.name: {axis: f"{s.name}_dim{axis}" for axis in s.dynamic} for s in recipe.inputs if s.dynamic}
        dynamic_axes.update({name: dict(axes) for name, axes in recipe.export.dynamic_outputs.items()})
        path = ctx.workdir / "model.onnx"
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.onnx.export(
                module,
                dummy,
                str(path),
                opset_version=recipe.export.opset,
                input_names=[s.name for s in recipe.inputs],
                output_names=recipe.export.output_names,
                dynamic_axes=dynamic_axes or None,
                dynamo=recipe.export.exporter == "dynamo",
            )
        seconds = time.perf_counter() - start
        for w in caught:
            ctx.log(f"warning: {w.category.__name__}: {w.message}")
        model = onnx.load(str(path), load_external_data=False)
        return StageOutput(
            artifacts={"onnx": path.name, "metadata": "metadata.json"},
            metrics=ExportMetrics(
                opset=next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None),
                nodes=len(model.graph.node),
                size_bytes=path.stat().st_size,
                export_seconds=round(seconds, 3),
                inputs=[i.name for i in model.graph.input],
                outputs=[o.name for o in model.graph.output],
                random_weights=recipe.model.random_weights,
            ),
            warnings=["RANDOM WEIGHTS: the model was built without a checkpoint; numbers say nothing about quality"]
            if recipe.model.random_weights else [],
        )
