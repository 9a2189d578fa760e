"""check: the ONNX is valid (checker + strict shape inference) and ONNX Runtime (CPU) matches PyTorch on real inputs."""

from __future__ import annotations

from trtbuild.data.datasets import check_set
from trtbuild.core.errors import StageFailed
from trtbuild.models.registry import checkpoint_path
from trtbuild.build.stages.base import Artifacts, Parity, Stage, StageContext, StageMetrics, StageOutput


class CheckMetrics(StageMetrics):
    inputs: str  # what was fed: the images, or seeded noise
    samples: int
    outputs: dict[str, Parity]
    onnxruntime: dict  # the runner, as it describes itself

    def headline(self) -> str:
        worst = max((o.max_abs for o in self.outputs.values() if o.max_abs is not None), default=0.0)
        return f"ORT vs torch max|err| {worst:.2e} on {self.samples} samples"


class CheckStage(Stage):
    tools = ("torch", "onnx", "onnxruntime")
    Metrics = CheckMetrics

    def params(self) -> dict:
        return {"check": self.recipe.check.model_dump(mode="json"), "outputs": self.recipe.export.output_names}

    def inputs(self, artifacts: Artifacts) -> dict:
        found = {"onnx": artifacts["simplify.onnx"]}
        weights = checkpoint_path(self.recipe.model)
        if weights:
            found["weights"] = weights
        found["images"] = check_set(self.recipe).images
        return found

    def run(self, ctx: StageContext) -> StageOutput:
        import onnx

        from trtbuild.accuracy.reference import PyTorchReference
        from trtbuild.data.feeds import feeds_for
        from trtbuild.accuracy.parity import compare_outputs, merge_worst
        from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner

        path = ctx.inputs["onnx"]
        try:
            onnx.checker.check_model(str(path), full_check=True)
            onnx.shape_inference.infer_shapes_path(str(path), str(ctx.workdir / "inferred.onnx"), strict_mode=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
            raise StageFailed(f"check: {path.name} is not a valid ONNX model: {' '.join(str(exc).split())[:300]}")
        (ctx.workdir / "inferred.onnx").unlink()

        recipe = self.recipe
        feeds, source = feeds_for(recipe, check_set(recipe))
        ctx.log(f"inputs: {source}")
        per_sample = []
        ran = PyTorchReference(recipe, feeds).compare(
            OnnxRuntimeRunner(path), lambda images, feed, reference, candidate: per_sample.append(
                compare_outputs(reference, candidate)))
        worst = merge_worst(per_sample)
        failures = []
        for output, stats in worst.items():
            tol = recipe.check.tolerance(output)
            ctx.log(f"{output}: max_abs={stats['max_abs']:.3g} (<= {tol.max_abs:g}) "
                    f"rel_l2={stats['rel_l2']:.3g} (<= {tol.rel_l2:g}) finite={stats['finite']}")
            if not stats["finite"]:
                failures.append(f"{output} has NaN/Inf")
            if stats["max_abs"] > tol.max_abs:
                failures.append(f"{output} max_abs {stats['max_abs']:.3g} > {tol.max_abs:g}")
            if stats["rel_l2"] > tol.rel_l2:
                failures.append(f"{output} rel_l2 {stats['rel_l2']:.3g} > {tol.rel_l2:g}")
        metrics = CheckMetrics(inputs=source, samples=len(feeds), outputs=worst, onnxruntime=ran["candidate"])
        if failures:
            raise StageFailed(f"check: ONNX Runtime disagrees with PyTorch: {'; '.join(failures)}",
                              metrics=metrics.record())
        warnings = [] if "images" in source else [f"check ran on {source}"]
        return StageOutput(metrics=metrics, warnings=warnings)
