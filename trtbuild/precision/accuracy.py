"""Task-level accuracy of a converted graph on ONNX Runtime against the PyTorch FP32 module, on the same inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.recipe.schema import Recipe


def compare_task_outputs(task: str, reference: list[dict[str, np.ndarray]],
                         candidate: list[dict[str, np.ndarray]]) -> dict:
    """detect: mAP of the candidate's detections with PyTorch's (conf >= 0.25) as ground truth; depth: rel MSE,
    AbsRel, delta1; other tasks: worst tensor error. Each list holds one dict of named outputs per feed."""
    if task == "detect":
        from trtbuild.metrics.detection import decode_yolo, map_vs_reference

        first = next(iter(reference[0]))
        ref = [d for out in reference for d in decode_yolo(out[first])]
        cand = [d for out in candidate for d in decode_yolo(out[first])]
        return map_vs_reference(ref, cand)
    if task == "depth":
        from trtbuild.metrics.depth import aggregate_depth_errors, depth_errors

        first = next(iter(reference[0]))
        return aggregate_depth_errors([
            depth_errors(r[first][i], c[first][i]) for r, c in zip(reference, candidate) for i in range(len(r[first]))
        ])
    from trtbuild.metrics.parity import compare_outputs, merge_worst

    return merge_worst([compare_outputs(r, c) for r, c in zip(reference, candidate)])


def accuracy_vs_pytorch(recipe: Recipe, onnx_path: Path, feeds: list[dict[str, np.ndarray]],
                        threads: int | None = None) -> dict:
    """Run PyTorch FP32 (CPU) and the graph (ONNX Runtime CPU) on `feeds` and compare them task-wise."""
    from trtbuild.runners.factory import torch_runner
    from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner

    with torch_runner(recipe, "cpu") as reference_runner:
        reference = [reference_runner.infer(f) for f in feeds]
    with OnnxRuntimeRunner(onnx_path, threads=threads) as ort_runner:
        candidate = [ort_runner.infer(f) for f in feeds]
    return compare_task_outputs(recipe.task, reference, candidate)
