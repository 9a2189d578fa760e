"""precision: write the requested precision into the ONNX graph (TensorRT 11 takes precision only from the graph).

fp32 passes the graph through; fp16 converts with FP32 islands (trtbuild.precision.policy); int8 inserts symmetric
Q/DQ from calibration images; method `builder` (TensorRT 10 only) passes FP32 through and asks the engine stage for
the FP16 flag. Every converted graph is checked (onnx.checker, ONNX Runtime load + run) and scored against PyTorch.
"""

from __future__ import annotations

import shutil

from trtbuild.errors import StageFailed, UsageError
from trtbuild.images import list_images
from trtbuild.models.registry import checkpoint_path
from trtbuild.stages.base import Artifacts, Stage, StageContext, StageOutput

FEW_CALIBRATION_IMAGES = 300  # NVIDIA recommends >= 500; Ultralytics warns below 300


class PrecisionStage(Stage):
    name = "precision"
    tools = ("onnx", "onnxruntime", "onnxconverter-common", "torch", "ultralytics")
    code = ("precision", "metrics", "models", "runners", "feeds.py")
    publish = {"onnx": "{name}.{precision}.onnx"}

    def params(self) -> dict:
        return {"precision": self.recipe.precision.model_dump(mode="json"), "task": self.recipe.task,
                "outputs": self.recipe.export.output_names}

    def inputs(self, artifacts: Artifacts) -> dict:
        found = {"onnx": artifacts["simplify.onnx"]}
        if not self._converts():
            return found
        weights = checkpoint_path(self.recipe.model)
        if weights:
            found["weights"] = weights
        for role, images in (("calibration_images", self._calibration_images()),
                             ("evaluation_images", self._evaluation_images())):
            if images:
                found[role] = images
        return found

    def _converts(self) -> bool:
        spec = self.recipe.precision
        return spec.mode != "fp32" and spec.method == "graph"

    def _calibration_images(self):
        spec = self.recipe.precision
        if spec.mode != "int8":
            return []
        return list_images(spec.calibration.images or self.recipe.check.images, spec.calibration.count)

    def _evaluation_images(self):
        spec = self.recipe.precision.evaluate
        return list_images(spec.images or self.recipe.verify.images, spec.max_images)

    def run(self, ctx: StageContext) -> StageOutput:
        spec = self.recipe.precision
        target = ctx.workdir / "model.onnx"
        metrics = {"mode": spec.mode, "method": spec.method}
        if not self._converts():
            shutil.copyfile(ctx.inputs["onnx"], target)
            if spec.method == "builder" and spec.mode == "fp16":
                metrics["builder_flags"] = ["fp16"]  # TensorRT 10 weak typing; the engine stage sets the flag
            return StageOutput(artifacts={"onnx": target.name}, metrics=metrics)
        if spec.mode == "bf16":
            raise UsageError("precision.mode: bf16 in-graph conversion is not supported (ONNX Runtime CPU has almost "
                             "no BF16 kernels to validate it); use fp16")
        return self._convert(ctx, target, metrics)

    def _convert(self, ctx: StageContext, target, metrics: dict) -> StageOutput:
        import onnx

        from trtbuild.feeds import image_feeds, random_feeds
        from trtbuild.models.base import create_adapter
        from trtbuild.precision.accuracy import accuracy_vs_pytorch
        from trtbuild.precision.graph_stats import graph_stats
        from trtbuild.precision.policy import fp32_islands, match_nodes, name_nodes
        from trtbuild.precision.validate import validate_graph

        spec, recipe, warnings = self.recipe.precision, self.recipe, []
        adapter = create_adapter(recipe)
        source = ctx.workdir / "fp32.onnx"
        model = onnx.load(str(ctx.inputs["onnx"]))
        name_nodes(model)
        onnx.save(model, str(source))
        if spec.mode == "fp16":
            from trtbuild.precision.fp16 import convert_fp16

            try:
                islands = fp32_islands(model, spec.keep_fp32.op_types, spec.keep_fp32.nodes)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            converted, repaired = convert_fp16(model, islands, spec.keep_io_types)
            metrics["fp32_reasons"] = islands.summary()
            onnx.save(converted, str(target))
            metrics["repaired_mixed_type_nodes"] = repaired
            metrics["tool"] = "onnxconverter-common float16"
            kept = islands.reasons
        else:
            from trtbuild.precision.int8 import quantize_int8

            images = ctx.inputs.get("calibration_images") or []
            if not images:
                raise UsageError(f"precision.calibration.images: no images found at "
                                 f"{spec.calibration.images or recipe.check.images} (int8 needs calibration images)")
            if len(images) < FEW_CALIBRATION_IMAGES:
                warnings.append(f"int8 calibrated on {len(images)} images; {FEW_CALIBRATION_IMAGES}+ recommended")
            try:
                excluded = match_nodes(model, spec.keep_fp32.nodes)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            ctx.log(f"calibrating ({spec.calibration.method}) on {len(images)} images")
            quantize_int8(source, target, image_feeds(adapter, recipe, images), spec.calibration.method, excluded)
            metrics["tool"] = "onnxruntime quantize_static (QDQ, symmetric, per-channel)"
            metrics["calibration"] = {"images": len(images), "method": spec.calibration.method}
            # only Conv/MatMul/Gemm get Q/DQ, so norms and softmax stay FP32 without a policy
            kept = {name: "named in recipe keep_fp32.nodes (not quantized)" for name in excluded}
        source.unlink()

        validate_graph(target, random_feeds(recipe, 1)[0])
        metrics["fp32_nodes"] = kept
        metrics["graph"] = graph_stats(target)
        metrics["source_graph"] = graph_stats(ctx.inputs["onnx"])

        evaluation = ctx.inputs.get("evaluation_images") or []
        feeds = image_feeds(adapter, recipe, evaluation) if evaluation else random_feeds(recipe, 4)
        if not evaluation:
            warnings.append("accuracy vs PyTorch measured on seeded random inputs (no evaluation images found)")
        accuracy = accuracy_vs_pytorch(recipe, target, feeds)
        metrics["accuracy_vs_pytorch_fp32"] = {"runtime": "onnxruntime CPU", "samples": len(feeds), **accuracy}
        if accuracy.get("finite") is False:
            raise StageFailed(f"precision: {spec.mode} graph gives NaN/Inf on real inputs", metrics=metrics)
        ctx.log(f"accuracy vs PyTorch FP32: {accuracy}")
        return StageOutput(artifacts={"onnx": target.name}, metrics=metrics, warnings=warnings)
