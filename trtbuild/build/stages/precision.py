"""precision: write the requested precision into the ONNX graph (TensorRT 11 takes precision only from the graph).

fp32 passes the graph through; fp16 converts with FP32 islands (trtbuild.precision.policy); int8 inserts symmetric
Q/DQ from calibration images; method `builder` (TensorRT 10 only) passes FP32 through and asks the engine stage for
the FP16 flag. Every converted graph is checked (onnx.checker, ONNX Runtime load + run), and every graph is scored
against PyTorch on the user's evaluation data (trtbuild.data.datasets), with the labels' mAP where the data has labels; without
data, accuracy is `not measured` (never a number measured on noise) and a converted graph is only checked for
NaN/Inf on the pictures bundled with ultralytics.
"""

from __future__ import annotations

import shutil
from typing import Literal

from pydantic import BaseModel, ConfigDict

from trtbuild.data.datasets import NO_DATA_HINT, describe_roles, required_calibration, role_warnings, search_set, verify_set
from trtbuild.core.errors import StageFailed, UsageError
from trtbuild.models.registry import checkpoint_path
from trtbuild.build.stages.base import Artifacts, IntervalRecord, Stage, StageContext, StageMetrics, StageOutput

NOT_MEASURED = f"no holdout images ({NO_DATA_HINT}, or --holdout)"


class GraphAccuracy(StageMetrics):
    """The graph's task accuracy against PyTorch FP32 on one image set (trtbuild.accuracy.graph_accuracy): these
    fields, and the task's values by name (extra fields: what gates and the search read)."""

    model_config = ConfigDict(extra="allow")
    status: Literal["measured", "not measured"] = "measured"
    reason: str | None = None  # not measured: why
    runtime: str | None = None
    role: str | None = None  # holdout | search (trtbuild.data.datasets)
    inputs: str | None = None
    samples: int | None = None
    task: str | None = None  # None: a report from before tasks named themselves
    finite: bool | None = None
    basis: str | None = None  # labels | pytorch
    intervals: dict[str, IntervalRecord] = {}  # 95 % intervals of the values, by name
    slices: dict | None = None  # accuracy by slice (the task module's docstring has the shape)

    def headline(self) -> str:
        from trtbuild.tasks.registry import task_class

        if self.status == "not measured":
            return "accuracy not measured (no --data)"
        if self.task is None:
            return f"finite {self.finite}"
        task = task_class(self.task)
        line = task.headline({**self.model_extra, "finite": self.finite})
        shown = next((g.metric for g in task.default_gates), None)
        interval = self.intervals.get(shown)
        return f"{line}; {shown} in {interval.bounds()} (95 %)" if interval else line


class SearchTrial(BaseModel):
    """One FP32-node set the INT8 search scored on its search set (trtbuild.precision.int8_search.Trial)."""

    model_config = ConfigDict(extra="allow")
    fp32_nodes: int
    values: dict[str, float | None]  # the target's values
    status: str | None = None  # pass | fail | cannot tell; None: a report from before the search judged intervals
    intervals: dict[str, IntervalRecord] = {}

    def scores(self) -> str:
        return ", ".join(f"{name} {_value(value)}" + (f" {self.intervals[name].bounds()}" if name in self.intervals
                                                      else "") for name, value in self.values.items())


def _value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


class Int8Search(BaseModel):
    """The INT8 FP32-node search (trtbuild.precision.int8_search.SearchResult and where it ran)."""

    model_config = ConfigDict(extra="allow")
    kept: dict[str, str]  # node -> why it stays FP32
    evaluations: int
    status: str | None = None  # the shipped trial's
    inputs: str | None = None  # the search set
    trials: list[SearchTrial] = []

    def summary(self) -> str:
        return f"search {self.status or 'done'} with {len(self.kept)} FP32 nodes"


class PrecisionMetrics(StageMetrics):
    """These fields, and the conversion pass's own record (extra fields: trtbuild.precision's passes)."""

    model_config = ConfigDict(extra="allow")
    mode: str
    method: str
    builder_flags: list[str] | None = None  # method builder: the flags the engine stage sets
    not_measured: str | None = None
    accuracy_vs_pytorch_fp32: GraphAccuracy | None = None  # on the holdout
    accuracy_search_set: GraphAccuracy | None = None  # the int8 FP32-node search's set, beside the holdout's
    int8_search: Int8Search | None = None
    finite_on_samples: dict | None = None  # without data: a converted graph's NaN/Inf check on bundled pictures
    data_roles: dict[str, dict] | None = None  # each image set read: source, count, files

    def headline(self) -> str:
        search = f"; {self.int8_search.summary()}" if self.int8_search else ""
        if self.accuracy_vs_pytorch_fp32 is None:
            return f"{self.mode}{search}"
        return f"{self.mode}: {self.accuracy_vs_pytorch_fp32.headline()}{search}"


class PrecisionStage(Stage):
    tools = ("onnx", "onnxruntime", "onnxconverter-common", "torch", "ultralytics")
    publish = {"onnx": "{name}.{precision}.onnx"}
    Metrics = PrecisionMetrics

    def params(self) -> dict:
        return {"precision": self.recipe.precision.model_dump(mode="json"), "task": self.recipe.task,
                "outputs": self.recipe.export.output_names}

    def inputs(self, artifacts: Artifacts) -> dict:
        found = {"onnx": artifacts["simplify.onnx"]}
        if self.recipe.precision.method != "graph":
            return found
        found["metadata"] = artifacts["export.metadata"]  # the accuracy slices' class names
        weights = checkpoint_path(self.recipe.model)
        if weights:
            found["weights"] = weights
        for role, images in self._roles().items():  # each set's identity (names, content, labels) enters the key
            found[f"{role}_images"] = images.images
            if role != "calibration":
                found[f"{role}_labels"] = images.label_files()
        return found

    def _roles(self) -> dict:
        """The image sets this stage reads (trtbuild.data.datasets): calibration (int8), search (the int8 FP32-node search)
        and the holdout its headline accuracy is measured on (the first precision.evaluate.max_images)."""
        spec = self.recipe.precision
        found = {"calibration": required_calibration(self.recipe)} if spec.mode == "int8" else {}
        if spec.mode == "int8" and spec.int8.auto_keep_fp32:
            found["search"] = search_set(self.recipe)
        found["holdout"] = verify_set(self.recipe, spec.evaluate.max_images)
        return {role: images for role, images in found.items() if images}

    def _converts(self) -> bool:
        spec = self.recipe.precision
        return spec.mode != "fp32" and spec.method == "graph"

    def run(self, ctx: StageContext) -> StageOutput:
        spec = self.recipe.precision
        target = ctx.workdir / "model.onnx"
        metrics = {"mode": spec.mode, "method": spec.method}
        if not self._converts():
            shutil.copyfile(ctx.inputs["onnx"], target)
            if spec.method == "builder":
                if spec.mode == "fp16":
                    metrics["builder_flags"] = ["fp16"]  # TensorRT 10 weak typing; the engine stage sets the flag
                return StageOutput(artifacts={"onnx": target.name}, metrics=PrecisionMetrics(**metrics))
            warnings = []
        else:
            if spec.mode == "bf16":
                raise UsageError("precision.mode: bf16 in-graph conversion is not supported (ONNX Runtime CPU has "
                                 "almost no BF16 kernels to validate it); use fp16")
            from trtbuild.precision.convert import convert_graph

            converted = convert_graph(self.recipe, ctx, ctx.inputs["onnx"], target,
                                      ctx.inputs.get("calibration_images", []))
            metrics.update(converted.metrics)
            warnings = converted.warnings
        self._measure(ctx, target, metrics, warnings)
        roles = self._roles()
        metrics["data_roles"] = describe_roles(roles)
        warnings += role_warnings(self.recipe, [role for role in roles if role != "holdout"])
        return StageOutput(artifacts={"onnx": target.name}, metrics=PrecisionMetrics(**metrics), warnings=warnings)

    def _measure(self, ctx: StageContext, target, metrics: dict, warnings: list[str]) -> None:
        """The graph against PyTorch FP32 on the evaluation set (labels' mAP beside the paired numbers); without one,
        `not measured`, and a converted graph still has to stay finite on real pictures."""
        from trtbuild.data.datasets import bundled_samples
        from trtbuild.data.feeds import image_feeds
        from trtbuild.accuracy.graph_accuracy import accuracy_vs_pytorch

        recipe = self.recipe
        evaluation = verify_set(recipe, recipe.precision.evaluate.max_images)
        if evaluation is None:
            metrics["not_measured"] = NOT_MEASURED
            metrics["accuracy_vs_pytorch_fp32"] = {"status": "not measured", "reason": NOT_MEASURED}
            warnings.append(f"accuracy not measured: {NOT_MEASURED}")
            if self._converts():
                samples = bundled_samples()
                result = accuracy_vs_pytorch(recipe, target, image_feeds(recipe, samples.images))
                metrics["finite_on_samples"] = {"inputs": samples.describe(), "finite": result["finite"]}
                if not result["finite"]:
                    _nonfinite(recipe, metrics)
            return
        feeds = image_feeds(recipe, evaluation.images)
        accuracy = accuracy_vs_pytorch(recipe, target, feeds, images=evaluation.images, labels=evaluation.labels,
                                       metadata=ctx.export_metadata())
        metrics["accuracy_vs_pytorch_fp32"] = {"status": "measured", "runtime": "onnxruntime CPU", "role": "holdout",
                                               "inputs": evaluation.describe(), "samples": len(feeds), **accuracy}
        ctx.log(f"accuracy vs PyTorch FP32: {accuracy}")
        if not accuracy["finite"]:
            _nonfinite(recipe, metrics)


def _nonfinite(recipe, metrics: dict):
    raise StageFailed(f"precision: {recipe.precision.mode} graph gives NaN/Inf on real inputs",
                      metrics=PrecisionMetrics(**metrics).record())
