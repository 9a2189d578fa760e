"""verify: the candidate (TensorRT engine, else the precision stage's ONNX on ONNX Runtime) against the PyTorch model
on the user's images (trtbuild.data.datasets), same preprocessing; task metrics, tensor parity, NaN/Inf, and the recipe's gates.
Without data the candidate still runs on the pictures bundled with ultralytics (parity, NaN/Inf) and every gate is
`not measured`: a warning, or an error under --strict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from trtbuild.accuracy.gates import GateResult, Status
from trtbuild.data.datasets import NO_DATA_HINT, bundled_samples, verify_set
from trtbuild.core.errors import StageFailed, StageUnavailable, UsageError
from trtbuild.models.registry import checkpoint_path
from trtbuild.build.stages.base import (Artifacts, IntervalRecord, Parity, Stage, StageContext, StageMetrics,
                                        StageOutput)

if TYPE_CHECKING:  # the runners are imported when verify runs: report.json's reader only needs VerifyMetrics
    from trtbuild.runners.factory import RunnerFiles


class TableRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str
    pytorch: float | None
    candidate: float | None


class BatchResult(BaseModel):
    """One batch size of a dynamic profile: its images' outputs against the same images alone."""

    model_config = ConfigDict(extra="forbid")
    batch: int
    outputs: dict[str, Parity]  # worst over the batch's images
    passed: bool
    problem: str | None


class BatchShapes(BaseModel):
    """A dynamic batch verified at its profile's min, opt and max (trtbuild.accuracy.batch_shapes)."""

    model_config = ConfigDict(extra="forbid")
    input: str
    runner: str  # the candidate that ran them: the engine where it can run, else ONNX Runtime
    rel_l2: float  # the tolerance: verify.batch_rel_l2, else the precision's
    batches: list[BatchResult]
    passed: bool

    def summary(self) -> str:
        return f"batch {'/'.join(str(b.batch) for b in self.batches)} {'same as alone' if self.passed else 'DIFFER'}"


class VerifyMetrics(StageMetrics):
    """The candidate against PyTorch on the same images; report.json's `verify` section as well."""

    task: str
    candidate_runner: str
    reference: dict
    candidate: dict
    engine_not_judged: str | None = None  # why a built engine was not the candidate here (e.g. no GPU)
    inputs: str
    samples: int
    values: dict[str, float | None]  # gateable metrics by name
    intervals: dict[str, IntervalRecord] = {}  # their 95 % intervals (schema 4)
    slices: dict | None = None  # the task's accuracy by slice: tables of rows, shape in its module (schema 4)
    table: list[TableRow]
    detail: dict
    parity: dict[str, Parity]  # per output, worst over the images
    gates: list[GateResult]
    passed: bool | None  # None: not measured, or a gate cannot tell
    verdict: Status | None = None  # the gates together (schema 4; trtbuild.accuracy.gates.verdict)
    batch_shapes: BatchShapes | None = None  # a dynamic batch's per-shape check (schema 4)
    not_measured: str | None = None  # why the gates were not measured (no data) and the flag to pass

    def headline(self) -> str:
        if self.not_measured:
            return f"{self.candidate_runner}: accuracy not measured (no --data)"
        gates = ", ".join(f"{g.metric} {g.measured()} {g.status}" for g in self.gates)
        shapes = f"; {self.batch_shapes.summary()}" if self.batch_shapes else ""
        skipped = " (the engine cannot run here; see engine_not_judged)" if self.engine_not_judged else ""
        return f"{self.candidate_runner}: {gates}{shapes}{skipped}"


class VerifyStage(Stage):
    tools = ("torch", "onnxruntime", "ultralytics")
    Metrics = VerifyMetrics
    fallback_reason: str | None = None  # set by inputs(): why a built engine is not the candidate here

    def published_name(self, role: str, file: str, metrics: dict) -> str | None:
        """The task's plots, whatever they are: <recipe>.verify.<file>."""
        return f"{self.recipe.name}.verify.{file}" if file.endswith(".png") else None

    def params(self) -> dict:
        from trtbuild.runners.factory import use_gpu

        # the candidate's device changes its numbers (ONNX Runtime CUDA EP vs CPU), so it is part of the key; the
        # inputs' dynamic ranges are the batches the per-shape check runs
        return {"verify": self.recipe.verify.model_dump(mode="json"), "task": self.recipe.task,
                "outputs": self.recipe.export.output_names, "gpu": use_gpu(),
                "inputs": [s.model_dump(mode="json") for s in self.recipe.inputs],
                "precision": self.recipe.precision.mode}

    def inputs(self, artifacts: Artifacts) -> dict:
        from trtbuild.runners.factory import RunnerFiles

        spec = self.recipe.verify
        files, self.fallback_reason = candidate_files(spec.runner, RunnerFiles.from_artifacts(artifacts))
        found = {**files.as_inputs(), "metadata": artifacts["export.metadata"]}  # the slices' class names
        weights = checkpoint_path(self.recipe.model)
        if weights:
            found["weights"] = weights
        images = _images(self.recipe)
        found["images"] = images.images
        if images.labels:
            found["labels"] = images.label_files()
        return found

    def run(self, ctx: StageContext) -> StageOutput:
        from trtbuild.accuracy.compare import Comparison
        from trtbuild.accuracy.gates import evaluate, failure_message, not_measured, verdict
        from trtbuild.accuracy.reference import PyTorchReference
        from trtbuild.data.feeds import image_feeds
        from trtbuild.runners.factory import RunnerFiles

        recipe = self.recipe
        files = RunnerFiles.from_inputs(ctx.inputs)
        candidate_name = "engine" if files.engine else "onnxruntime"
        image_set = _images(recipe)
        comparison = Comparison(recipe, image_set.labels, metadata=ctx.export_metadata())
        if comparison.accuracy is None:
            raise UsageError(f"verify has no task-level metrics for task {recipe.task!r} (use check for tensor parity)")
        feeds = image_feeds(recipe, image_set.images)
        images = image_set.images[: len(feeds) * comparison.batch]  # a last partial batch is not fed
        described = PyTorchReference(recipe, feeds, images).compare(_candidate(candidate_name, recipe, files),
                                                                    comparison.add)
        accuracy, task_gates = comparison.accuracy, comparison.task.gates()
        measured = image_set.user_data
        if measured:
            accuracy.evaluate()
            values = accuracy.values()
            intervals, slices = values.pop("intervals", {}), values.pop("slices", None)
            gates = evaluate(task_gates, values, intervals)
            table, detail = accuracy.table(), accuracy.detail()
        else:  # a number from two sample pictures would read like a result: none is given
            values, intervals, slices, table, detail = {}, {}, None, [], {"basis": None}
            gates = not_measured(task_gates)
        outcome = verdict(gates)
        metrics = VerifyMetrics(
            task=recipe.task, candidate_runner=candidate_name, **described, engine_not_judged=self.fallback_reason,
            inputs=image_set.describe(), samples=len(images), values=values, intervals=intervals, slices=slices,
            table=table,
            detail=detail, parity=comparison.worst(), gates=gates,
            passed={"pass": True, "fail": False}.get(outcome), verdict=outcome,
            batch_shapes=_batch_shapes(candidate_name, recipe, files, feeds, ctx))
        if not measured:
            metrics.not_measured = NOT_MEASURED
        for gate in gates:
            ctx.log(gate.describe())
        problem = _output_problem(metrics)
        if problem:
            metrics.passed = False
        message = problem or failure_message(gates, recipe.verify.cannot_tell == "fail")
        if message:
            raise StageFailed(message, metrics=metrics.record())
        return StageOutput(artifacts={**accuracy.plot(ctx.workdir), **_slice_plots(slices, ctx.workdir)},
                           metrics=metrics, warnings=self._warnings(metrics))

    def _warnings(self, metrics: VerifyMetrics) -> list[str]:
        warnings = [f"judged the ONNX on ONNX Runtime, not the engine: {self.fallback_reason}"] \
            if self.fallback_reason else []
        warnings += [f"{gate.describe()} (verify.cannot_tell: warn)" for gate in metrics.gates
                     if gate.status == "cannot tell"]
        if metrics.not_measured:
            warnings.append(f"accuracy gates not measured: {NOT_MEASURED}")
        return warnings


def _candidate(name: str, recipe, files: RunnerFiles):
    from trtbuild.runners.factory import RunnerOptions, create_runner

    return create_runner(name, recipe, files, RunnerOptions(simulated_qdq=True))


def _batch_shapes(candidate_name: str, recipe, files: RunnerFiles, feeds: list[dict], ctx: StageContext):
    """A dynamic batch: the candidate at every profile batch, each image against itself alone; else None."""
    import numpy as np

    from trtbuild.accuracy.batch_shapes import batch_tolerance, profile_batches, verify_batches

    spec = recipe.inputs[0]
    batches = profile_batches(spec)
    if not batches:
        return None
    rel_l2 = batch_tolerance(recipe)
    found = verify_batches(_candidate(candidate_name, recipe, files), spec.name,
                           np.concatenate([feed[spec.name] for feed in feeds]), batches, rel_l2)
    for result in found:
        ctx.log(f"batch {result['batch']}: {result['problem'] or 'same as alone'}")
    return BatchShapes(input=spec.name, runner=candidate_name, rel_l2=rel_l2, batches=found,
                       passed=all(r["passed"] for r in found))


def _slice_plots(slices: dict | None, workdir) -> dict[str, str]:
    """One bar plot per slice table (a list of rows, each labelled by its first text column): PyTorch beside the
    candidate where the rows have both, else the rows' first number that is not a count."""
    from trtbuild.core.plots import slice_bars

    found = {}
    for table, rows in (slices or {}).items():
        if not isinstance(rows, list) or not rows:
            continue
        label = next(key for key, value in rows[0].items() if isinstance(value, str))
        shown = ["pytorch", "candidate"] if {"pytorch", "candidate"} <= rows[0].keys() else [next(
            key for key, value in rows[0].items() if isinstance(value, float) and key not in ("objects", "images"))]
        name = f"slices_{table}"
        slice_bars(f"{table.replace('_', ' ')}: {' vs '.join(shown)}", [str(row[label]) for row in rows],
                   {key: [row[key] for row in rows] for key in shown}, "AP" if len(shown) == 2 else shown[0],
                   workdir / f"{name}.png")
        found[f"{name}_png"] = f"{name}.png"
    return found


def _output_problem(metrics: VerifyMetrics) -> str | None:
    """What fails verify before any gate: NaN/Inf in the candidate's outputs, a batch that differs from its images
    alone."""
    nonfinite = [name for name, stats in metrics.parity.items() if not stats.finite]
    if nonfinite:
        return f"verify: candidate output {', '.join(nonfinite)} has NaN/Inf"
    shapes = metrics.batch_shapes
    if shapes and not shapes.passed:
        differing = "; ".join(f"batch {b.batch}: {b.problem}" for b in shapes.batches if not b.passed)
        return f"verify: {shapes.runner} gives other outputs inside a batch than for the same images alone: {differing}"
    return None


NOT_MEASURED = f"no images to judge the gates on ({NO_DATA_HINT})"


def _images(recipe):
    """The user's images, else the bundled samples (parity and NaN/Inf only; the gates are not measured)."""
    return verify_set(recipe) or bundled_samples().first(recipe.verify.max_images)


def candidate_files(choice: str, files: RunnerFiles) -> tuple[RunnerFiles, str | None]:
    """Only the chosen candidate's files (they are its cache-key inputs): the engine for `engine`, else the ONNX;
    plus why an engine that was built is not the candidate here (e.g. its GPU targets exclude this one)."""
    from trtbuild.runners.factory import RunnerFiles, unavailable_reason

    engine_reason = unavailable_reason("engine", files)
    if choice == "engine" and engine_reason:
        raise StageUnavailable(f"verify: the engine candidate is unavailable: {engine_reason}")
    if choice != "onnxruntime" and engine_reason is None:
        return RunnerFiles(engine=files.engine, sidecar=files.sidecar), None
    if files.onnx is None:
        raise StageUnavailable("verify: no candidate (no engine and no ONNX from the precision stage)")
    fallback = engine_reason if files.engine is not None and choice == "auto" else None
    return RunnerFiles(onnx=files.onnx), fallback
