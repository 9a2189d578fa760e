"""verify: the candidate (TensorRT engine, else the precision stage's ONNX on ONNX Runtime) against the PyTorch model
on the recipe's images, same preprocessing; task metrics, tensor parity, NaN/Inf, and the recipe's gates."""

from __future__ import annotations

from trtbuild.errors import StageFailed, StageUnavailable, UsageError
from trtbuild.images import list_images
from trtbuild.models.registry import checkpoint_path
from trtbuild.runners.factory import RunnerFiles, unavailable_reason, use_gpu
from trtbuild.stages.base import Artifacts, Stage, StageContext, StageOutput


class VerifyStage(Stage):
    name = "verify"
    tools = ("torch", "onnxruntime", "ultralytics")
    code = ("models", "runners", "metrics", "accuracy", "feeds.py", "plots.py")
    publish = {"detections_png": "{name}.verify.detections.png", "depth_error_png": "{name}.verify.depth_error.png"}

    def params(self) -> dict:
        # the candidate's device changes its numbers (ONNX Runtime CUDA EP vs CPU), so it is part of the key
        return {"verify": self.recipe.verify.model_dump(mode="json"), "task": self.recipe.task,
                "outputs": self.recipe.export.output_names, "gpu": use_gpu()}

    def inputs(self, artifacts: Artifacts) -> dict:
        spec = self.recipe.verify
        files = candidate_files(spec.runner, RunnerFiles.from_artifacts(artifacts))
        found = files.as_inputs()
        weights = checkpoint_path(self.recipe.model)
        if weights:
            found["weights"] = weights
        images = list_images(spec.images, spec.max_images)
        if not images:
            raise UsageError(f"verify.images: no images found at {spec.images} (verify needs real images)")
        found["images"] = images
        if spec.labels and spec.labels.is_dir():
            found["labels"] = sorted(spec.labels.glob("*.txt"))
        return found

    def run(self, ctx: StageContext) -> StageOutput:
        from trtbuild.accuracy.gates import evaluate, failure_message, gates_for
        from trtbuild.accuracy.task import task_accuracy
        from trtbuild.feeds import image_feeds
        from trtbuild.metrics.parity import compare_outputs, merge_worst
        from trtbuild.models.base import create_adapter
        from trtbuild.runners.factory import create_runner, torch_runner

        recipe, spec = self.recipe, self.recipe.verify
        files = RunnerFiles(*(ctx.inputs.get(role) for role in ("onnx", "plan", "sidecar")))
        candidate_name = "tensorrt" if files.plan else "onnxruntime"
        adapter = create_adapter(recipe)
        feeds = image_feeds(adapter, recipe, ctx.inputs["images"])
        batch = recipe.inputs[0].shape[0]
        images = ctx.inputs["images"][: len(feeds) * batch]  # a last partial batch is not fed
        accuracy = task_accuracy(recipe.task, adapter.input_hw, spec.labels)
        first_output = recipe.export.output_names[0]
        parity = []
        # the reference runs on the CPU in fp32: the same numbers on every host
        with torch_runner(recipe, "cpu") as reference, create_runner(candidate_name, recipe, files) as candidate:
            for index, feed in enumerate(feeds):
                ref_out, cand_out = reference.infer(feed), candidate.infer(feed)
                parity.append(compare_outputs(ref_out, cand_out))
                accuracy.add(images[index * batch : (index + 1) * batch], feed[recipe.inputs[0].name],
                             ref_out[first_output], cand_out[first_output])
            described = {"reference": reference.describe(), "candidate": candidate.describe()}
        accuracy.evaluate()
        values = accuracy.values()
        gates = evaluate(gates_for(recipe.task, spec.gates), values)
        worst = merge_worst(parity)
        metrics = {"task": recipe.task, "candidate_runner": candidate_name, **described,
                   "inputs": f"{len(images)} images from {spec.images}", "samples": len(images), "values": values,
                   "table": accuracy.table(), "detail": accuracy.detail(), "parity": worst,
                   "gates": [g.as_dict() for g in gates], "passed": all(g.passed for g in gates)}
        for gate in gates:
            ctx.log(gate.describe())
        nonfinite = [name for name, stats in worst.items() if not stats["finite"]]
        if nonfinite:
            metrics["passed"] = False
            raise StageFailed(f"verify: candidate output {', '.join(nonfinite)} has NaN/Inf", metrics=metrics)
        message = failure_message(gates)
        if message:
            raise StageFailed(message, metrics=metrics)
        return StageOutput(artifacts=accuracy.plot(ctx.workdir), metrics=metrics)


def candidate_files(choice: str, files: RunnerFiles) -> RunnerFiles:
    """Only the chosen candidate's files (they are its cache-key inputs): the engine for tensorrt, else the ONNX."""
    engine_reason = unavailable_reason("tensorrt", files)
    if choice == "tensorrt" and engine_reason:
        raise StageUnavailable(f"verify: the tensorrt candidate is unavailable: {engine_reason}")
    if choice != "onnxruntime" and engine_reason is None:
        return RunnerFiles(plan=files.plan, sidecar=files.sidecar)
    if files.onnx is None:
        raise StageUnavailable("verify: no candidate (no engine and no ONNX from the precision stage)")
    return RunnerFiles(onnx=files.onnx)
