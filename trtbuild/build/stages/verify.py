"""verify: the candidate (TensorRT engine, else the precision stage's ONNX on ONNX Runtime) against the PyTorch model
on the user's images (trtbuild.data.datasets), same preprocessing; task metrics, tensor parity, NaN/Inf, and the recipe's gates.
Without data the candidate still runs on the pictures bundled with ultralytics (parity, NaN/Inf) and every gate is
`not measured`: a warning, or an error under --strict."""

from __future__ import annotations

from trtbuild.data.datasets import NO_DATA_HINT, bundled_samples, verify_set
from trtbuild.core.errors import StageFailed, StageUnavailable, UsageError
from trtbuild.models.registry import checkpoint_path
from trtbuild.runners.factory import RunnerFiles, unavailable_reason, use_gpu
from trtbuild.build.stages.base import Artifacts, Stage, StageContext, StageOutput


class VerifyStage(Stage):
    tools = ("torch", "onnxruntime", "ultralytics")
    fallback_reason: str | None = None  # set by inputs(): why a built engine is not the candidate here

    def published_name(self, role: str, file: str, metrics: dict) -> str | None:
        """The task's plots, whatever they are: <recipe>.verify.<file>."""
        return f"{self.recipe.name}.verify.{file}" if file.endswith(".png") else None

    def params(self) -> dict:
        # the candidate's device changes its numbers (ONNX Runtime CUDA EP vs CPU), so it is part of the key
        return {"verify": self.recipe.verify.model_dump(mode="json"), "task": self.recipe.task,
                "outputs": self.recipe.export.output_names, "gpu": use_gpu()}

    def inputs(self, artifacts: Artifacts) -> dict:
        spec = self.recipe.verify
        files, self.fallback_reason = candidate_files(spec.runner, RunnerFiles.from_artifacts(artifacts))
        found = files.as_inputs()
        weights = checkpoint_path(self.recipe.model)
        if weights:
            found["weights"] = weights
        images = _images(self.recipe)
        found["images"] = images.images
        if images.labels:
            found["labels"] = images.label_files()
        return found

    def run(self, ctx: StageContext) -> StageOutput:
        from trtbuild.accuracy.gates import evaluate, failure_message, not_measured
        from trtbuild.accuracy.reference import PyTorchReference
        from trtbuild.data.feeds import image_feeds
        from trtbuild.runners.factory import RunnerOptions, create_runner
        from trtbuild.accuracy.compare import Comparison

        recipe = self.recipe
        files = RunnerFiles.from_inputs(ctx.inputs)
        candidate_name = "engine" if files.engine else "onnxruntime"
        image_set = _images(recipe)
        comparison = Comparison(recipe, image_set.labels)
        if comparison.accuracy is None:
            raise UsageError(f"verify has no task-level metrics for task {recipe.task!r} (use check for tensor parity)")
        feeds = image_feeds(recipe, image_set.images)
        images = image_set.images[: len(feeds) * comparison.batch]  # a last partial batch is not fed
        described = PyTorchReference(recipe, feeds, images).compare(
            create_runner(candidate_name, recipe, files, RunnerOptions(simulated_qdq=True)), comparison.add)
        accuracy, task_gates = comparison.accuracy, comparison.task.gates()
        measured = image_set.user_data
        if measured:
            accuracy.evaluate()
            values, table, detail = accuracy.values(), accuracy.table(), accuracy.detail()
            gates = evaluate(task_gates, values)
        else:  # a number from two sample pictures would read like a result: none is given
            values, table, detail = {}, [], {"basis": None}
            gates = not_measured(task_gates)
        worst = comparison.worst()
        metrics = {"task": recipe.task, "candidate_runner": candidate_name, **described,
                   "engine_not_judged": self.fallback_reason,
                   "inputs": image_set.describe(), "samples": len(images), "values": values,
                   "table": table, "detail": detail, "parity": worst,
                   "gates": [g.as_dict() for g in gates], "passed": all(g.passed for g in gates) if measured else None}
        if not measured:
            metrics["not_measured"] = NOT_MEASURED
        for gate in gates:
            ctx.log(gate.describe())
        nonfinite = [name for name, stats in worst.items() if not stats["finite"]]
        if nonfinite:
            metrics["passed"] = False
            raise StageFailed(f"verify: candidate output {', '.join(nonfinite)} has NaN/Inf", metrics=metrics)
        message = failure_message(gates)
        if message:
            raise StageFailed(message, metrics=metrics)
        warnings = [f"judged the ONNX on ONNX Runtime, not the engine: {self.fallback_reason}"] \
            if self.fallback_reason else []
        if not measured:
            warnings.append(f"accuracy gates not measured: {NOT_MEASURED}")
        return StageOutput(artifacts=accuracy.plot(ctx.workdir), metrics=metrics, warnings=warnings)


NOT_MEASURED = f"no images to judge the gates on ({NO_DATA_HINT})"


def _images(recipe):
    """The user's images, else the bundled samples (parity and NaN/Inf only; the gates are not measured)."""
    return verify_set(recipe) or bundled_samples().first(recipe.verify.max_images)


def candidate_files(choice: str, files: RunnerFiles) -> tuple[RunnerFiles, str | None]:
    """Only the chosen candidate's files (they are its cache-key inputs): the engine for `engine`, else the ONNX;
    plus why an engine that was built is not the candidate here (e.g. its GPU targets exclude this one)."""
    engine_reason = unavailable_reason("engine", files)
    if choice == "engine" and engine_reason:
        raise StageUnavailable(f"verify: the engine candidate is unavailable: {engine_reason}")
    if choice != "onnxruntime" and engine_reason is None:
        return RunnerFiles(engine=files.engine, sidecar=files.sidecar), None
    if files.onnx is None:
        raise StageUnavailable("verify: no candidate (no engine and no ONNX from the precision stage)")
    fallback = engine_reason if files.engine is not None and choice == "auto" else None
    return RunnerFiles(onnx=files.onnx), fallback
