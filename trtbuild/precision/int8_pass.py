"""The INT8 pass: calibrate on the recipe's calibration images, insert symmetric Q/DQ (trtbuild.precision.int8),
then, with `precision.int8.auto_keep_fp32`, keep the most sensitive nodes FP32 (trtbuild.precision.auto_keep_fp32)."""

from __future__ import annotations

import time
from pathlib import Path

import onnx

from trtbuild.data.datasets import RECOMMENDED_CALIBRATION_IMAGES, required_calibration
from trtbuild.core.errors import UsageError
from trtbuild.precision.pass_contract import Converted, Job
from trtbuild.recipe.schema import Recipe

RANKING_SAMPLES = 8  # calibration images the per-node sensitivity ranking runs on, spread over the set


def evenly_spaced(items: list, count: int) -> list:
    """`count` items evenly spaced over `items` (all of them when there are fewer)."""
    step = max(1, len(items) // count)
    return items[::step][:count]


def run_int8(recipe: Recipe, job: Job, model: onnx.ModelProto, source: Path, target: Path,
             images: list[Path]) -> Converted:
    """`source` (FP32, nodes named; `model` is its graph) quantized at `target`, calibrated on `images`; reads
    `precision.calibration`, `precision.keep_fp32.nodes` and `precision.int8`."""
    from trtbuild.core.digest import tree_digest
    from trtbuild.data.feeds import image_feeds
    from trtbuild.precision.int8 import QUANTIZER_SETTINGS, calibrate, quantize_int8
    from trtbuild.precision.policy import match_nodes
    from trtbuild.runners.onnxruntime_runner import SIMULATED_QDQ_MODE, int8_cpu_flags

    spec, calibration, result = recipe.precision, required_calibration(recipe), Converted()
    if len(images) < RECOMMENDED_CALIBRATION_IMAGES:
        result.warnings.append(f"int8 calibrated on {len(images)} images from {calibration.source}; "
                              f"{RECOMMENDED_CALIBRATION_IMAGES}+ recommended (pass a larger set with --calib)")
    try:
        excluded = match_nodes(model, spec.keep_fp32.nodes)
    except ValueError as exc:  # a keep_fp32 entry that matches nothing: the recipe's mistake
        raise UsageError(str(exc)) from None
    job.log(f"calibrating ({spec.calibration.method}) on {len(images)} images")
    started = time.perf_counter()
    calibration_feeds = image_feeds(recipe, images)
    ranges = calibrate(source, calibration_feeds, spec.calibration.method, spec.calibration.percentile,
                       lambda done, total: job.progress("calibration images", done, total))
    quantize_int8(source, target, ranges, excluded)
    result.metrics.update({
        "tool": "onnxruntime QDQQuantizer (QDQ, symmetric, per-channel)", "quantizer": QUANTIZER_SETTINGS,
        "calibration": {"images": len(images), "method": spec.calibration.method,
                        **({"percentile": spec.calibration.percentile}
                           if spec.calibration.method == "percentile" else {}),
                        "source": calibration.source, "sha256": tree_digest(images),
                        "seconds": round(time.perf_counter() - started, 1)},
        # TensorRT never runs ONNX Runtime's CPU-dependent integer kernels: accuracy is simulated quantization
        "qdq_evaluation": {"mode": SIMULATED_QDQ_MODE, "cpu_int8_flags": int8_cpu_flags()}})
    # only Conv/MatMul/Gemm get Q/DQ, so norms and softmax stay FP32 without a policy
    result.kept = {name: "named in recipe keep_fp32.nodes (not quantized)" for name in excluded}
    if spec.int8.auto_keep_fp32:
        from trtbuild.precision.auto_keep_fp32 import run_auto_keep_fp32

        searched = run_auto_keep_fp32(recipe, job, source, target, evenly_spaced(calibration_feeds, RANKING_SAMPLES))
        result.metrics.update(searched.metrics)
        result.kept.update(searched.kept)
        result.warnings += searched.warnings
    return result
