"""precision: write the requested precision into the ONNX graph (TensorRT 11 takes precision only from the graph).

fp32 passes the graph through; fp16 converts with FP32 islands (trtbuild.precision.policy); int8 inserts symmetric
Q/DQ from calibration images; method `builder` (TensorRT 10 only) passes FP32 through and asks the engine stage for
the FP16 flag. Every converted graph is checked (onnx.checker, ONNX Runtime load + run), and every graph is scored
against PyTorch on the user's evaluation data (trtbuild.data), with the labels' mAP where the data has labels; without
data, accuracy is `not measured` (never a number measured on noise) and a converted graph is only checked for
NaN/Inf on the pictures bundled with ultralytics.
"""

from __future__ import annotations

import shutil
import time

from trtbuild.data import (NO_DATA_HINT, RECOMMENDED_CALIBRATION_IMAGES, describe_roles, required_calibration,
                           role_warnings, search_set, verify_set)
from trtbuild.errors import StageFailed, UsageError
from trtbuild.models.registry import checkpoint_path
from trtbuild.stages.base import Artifacts, Stage, StageContext, StageOutput

NOT_MEASURED = f"no holdout images ({NO_DATA_HINT}, or --holdout)"
RANKING_SAMPLES = 8  # calibration images the per-node sensitivity ranking runs on, spread over the set


def spread(items: list, count: int) -> list:
    """`count` items evenly spaced over `items` (all of them when there are fewer)."""
    step = max(1, len(items) // count)
    return items[::step][:count]


class PrecisionStage(Stage):
    tools = ("onnx", "onnxruntime", "onnxconverter-common", "torch", "ultralytics")
    publish = {"onnx": "{name}.{precision}.onnx"}

    def params(self) -> dict:
        return {"precision": self.recipe.precision.model_dump(mode="json"), "task": self.recipe.task,
                "outputs": self.recipe.export.output_names}

    def inputs(self, artifacts: Artifacts) -> dict:
        found = {"onnx": artifacts["simplify.onnx"]}
        if self.recipe.precision.method != "graph":
            return found
        weights = checkpoint_path(self.recipe.model)
        if weights:
            found["weights"] = weights
        for role, images in self._roles().items():  # each set's identity (names, content, labels) enters the key
            found[f"{role}_images"] = images.images
            if role != "calibration":
                found[f"{role}_labels"] = images.label_files()
        return found

    def _roles(self) -> dict:
        """The image sets this stage reads (trtbuild.data): calibration (int8), search (the int8 FP32-node search)
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
                return StageOutput(artifacts={"onnx": target.name}, metrics=metrics)
            warnings = []
        else:
            if spec.mode == "bf16":
                raise UsageError("precision.mode: bf16 in-graph conversion is not supported (ONNX Runtime CPU has "
                                 "almost no BF16 kernels to validate it); use fp16")
            warnings = self._convert(ctx, target, metrics)
        self._measure(ctx, target, metrics, warnings)
        roles = self._roles()
        metrics["data_roles"] = describe_roles(roles)
        warnings += role_warnings(self.recipe, [role for role in roles if role != "holdout"])
        return StageOutput(artifacts={"onnx": target.name}, metrics=metrics, warnings=warnings)

    def _measure(self, ctx: StageContext, target, metrics: dict, warnings: list[str]) -> None:
        """The graph against PyTorch FP32 on the evaluation set (labels' mAP beside the paired numbers); without one,
        `not measured`, and a converted graph still has to stay finite on real pictures."""
        from trtbuild.data import bundled_samples
        from trtbuild.feeds import image_feeds
        from trtbuild.precision.accuracy import accuracy_vs_pytorch

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
                    raise StageFailed(f"precision: {recipe.precision.mode} graph gives NaN/Inf on real inputs",
                                      metrics=metrics)
            return
        feeds = image_feeds(recipe, evaluation.images)
        accuracy = accuracy_vs_pytorch(recipe, target, feeds, images=evaluation.images, labels=evaluation.labels)
        metrics["accuracy_vs_pytorch_fp32"] = {"status": "measured", "runtime": "onnxruntime CPU", "role": "holdout",
                                               "inputs": evaluation.describe(), "samples": len(feeds), **accuracy}
        ctx.log(f"accuracy vs PyTorch FP32: {accuracy}")
        if not accuracy["finite"]:
            raise StageFailed(f"precision: {recipe.precision.mode} graph gives NaN/Inf on real inputs", metrics=metrics)

    def _convert(self, ctx: StageContext, target, metrics: dict) -> list[str]:
        import onnx

        from trtbuild.digest import tree_digest
        from trtbuild.feeds import image_feeds, random_feeds
        from trtbuild.precision.graph_stats import graph_stats
        from trtbuild.precision.policy import fp32_islands, match_nodes, name_nodes
        from trtbuild.precision.validate import validate_graph

        spec, recipe, warnings = self.recipe.precision, self.recipe, []
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
            from trtbuild.precision.int8 import QUANTIZER_SETTINGS, calibrate, quantize_int8
            from trtbuild.runners.onnxruntime_runner import SIMULATED_QDQ_MODE, int8_cpu_flags

            calibration = required_calibration(recipe)
            images = ctx.inputs["calibration_images"]
            if len(images) < RECOMMENDED_CALIBRATION_IMAGES:
                warnings.append(f"int8 calibrated on {len(images)} images from {calibration.source}; "
                                f"{RECOMMENDED_CALIBRATION_IMAGES}+ recommended (pass a larger set with --calib)")
            try:
                excluded = match_nodes(model, spec.keep_fp32.nodes)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            ctx.log(f"calibrating ({spec.calibration.method}) on {len(images)} images")
            started = time.perf_counter()
            calibration_feeds = image_feeds(recipe, images)
            ranges = calibrate(source, calibration_feeds, spec.calibration.method, spec.calibration.percentile,
                               lambda done, total: ctx.progress("calibration images", done, total))
            quantize_int8(source, target, ranges, excluded)
            metrics["tool"] = "onnxruntime QDQQuantizer (QDQ, symmetric, per-channel)"
            metrics["quantizer"] = QUANTIZER_SETTINGS
            metrics["calibration"] = {"images": len(images), "method": spec.calibration.method,
                                      **({"percentile": spec.calibration.percentile}
                                         if spec.calibration.method == "percentile" else {}),
                                      "source": calibration.source, "sha256": tree_digest(images),
                                      "seconds": round(time.perf_counter() - started, 1)}
            # TensorRT never runs ONNX Runtime's CPU-dependent integer kernels: accuracy is simulated quantization
            metrics["qdq_evaluation"] = {"mode": SIMULATED_QDQ_MODE, "cpu_int8_flags": int8_cpu_flags()}
            # only Conv/MatMul/Gemm get Q/DQ, so norms and softmax stay FP32 without a policy
            kept = {name: "named in recipe keep_fp32.nodes (not quantized)" for name in excluded}
            if spec.int8.auto_keep_fp32:
                kept.update(self._search_fp32_nodes(ctx, source, target,
                                                    spread(calibration_feeds, RANKING_SAMPLES), metrics, warnings))
        source.unlink()

        validate_graph(target, random_feeds(recipe, 1)[0])
        metrics["fp32_nodes"] = kept
        metrics["graph"] = graph_stats(target)
        metrics["source_graph"] = graph_stats(ctx.inputs["onnx"])
        return warnings

    def _search_fp32_nodes(self, ctx: StageContext, source, target, ranking_feeds,
                           metrics: dict, warnings: list[str]) -> dict[str, str]:
        """precision.int8.auto_keep_fp32: rank the quantized nodes, keep the worst FP32 until the target passes on
        the search set (never the holdout), rewrite `target` with them; returns node -> why."""
        import onnx

        from trtbuild.feeds import image_feeds
        from trtbuild.precision.accuracy import compare_task_outputs
        from trtbuild.precision.int8_search import search_fp32_nodes
        from trtbuild.precision.qdq_graph import keep_fp32
        from trtbuild.precision.sensitivity import rank_nodes
        from trtbuild.runners.factory import torch_runner
        from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner
        from trtbuild.tasks.registry import create_task

        recipe, spec = self.recipe, self.recipe.precision.int8
        evaluation = search_set(recipe)
        if evaluation is None:
            warnings.append(f"precision.int8.auto_keep_fp32 skipped: no search images ({NO_DATA_HINT}, or "
                            f"precision.evaluate.images)")
            return {}
        start = time.perf_counter()
        feeds = image_feeds(recipe, evaluation.images)
        with torch_runner(recipe, "cpu") as reference_runner:
            reference = [reference_runner.infer(f) for f in feeds]
        reference_s = round(time.perf_counter() - start, 1)
        trial, scored = ctx.workdir / "trial.onnx", {}
        fp32, quantized = onnx.load(str(source)), onnx.load(str(target))  # `target`: quantized but for keep_fp32.nodes

        def evaluate(nodes: list[str]) -> dict:
            onnx.save(keep_fp32(quantized, fp32, nodes), str(trial))
            with OnnxRuntimeRunner(trial, simulated_qdq=True) as candidate:
                outputs = [candidate.infer(f) for f in feeds]
            scored[tuple(nodes)] = compare_task_outputs(recipe, feeds, reference, outputs, evaluation.images,
                                                        evaluation.labels)
            return scored[tuple(nodes)]

        ctx.log(f"int8 sensitivity search on {evaluation.describe()}")
        ranking_start = time.perf_counter()
        ranking = rank_nodes(source, target, ranking_feeds, spec.max_fp32_nodes, ctx.progress)
        ranking_s = round(time.perf_counter() - ranking_start, 1)
        result = search_fp32_nodes(ranking, evaluate,
                                   spec.target or create_task(recipe).gates(),
                                   spec.max_fp32_nodes, spec.max_evaluations,
                                   lambda done, trial: ctx.progress("search trials", done, spec.max_evaluations,
                                                                    trial.describe()))
        trial.unlink(missing_ok=True)
        onnx.save(keep_fp32(quantized, fp32, list(result.kept)), str(target))
        metrics["int8_search"] = {**result.as_dict(), "inputs": evaluation.describe(), "ranking_samples":
                                  len(ranking_feeds), "reference_s": reference_s, "ranking_s": ranking_s,
                                  "seconds": round(time.perf_counter() - start, 1)}
        metrics["accuracy_search_set"] = {"role": "search", "inputs": evaluation.describe(), "samples": len(feeds),
                                          **scored[tuple(result.kept)]}
        ctx.log(f"int8 search: {len(result.kept)} nodes kept FP32, {result.before} -> {result.after} "
                f"({result.evaluations} evaluations)")
        if not result.passed:
            warnings.append(f"precision.int8.auto_keep_fp32: target not reached with {len(result.kept)} FP32 nodes "
                            f"and {result.evaluations} evaluations ({result.after}); raise max_fp32_nodes or "
                            f"max_evaluations")
        return result.kept
