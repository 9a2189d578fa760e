"""Task-level accuracy of a converted graph on ONNX Runtime against the PyTorch FP32 module, on the same inputs.

The numbers come from the task's metrics (trtbuild.tasks), under verify's names: with labels, `map50_95` / `map50`
(candidate) and `map50_95_pytorch` / `map50_pytorch` against the ground truth, and `map50_95_drop_pct` /
`map50_drop_pct` between the two; always the paired `*_vs_pytorch` numbers (PyTorch's confident detections as ground
truth), which are also the drop when there are no labels. Depth: `depth_rel_mse_pct`, ...
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.recipe.schema import Recipe

Outputs = list[dict[str, np.ndarray]]  # one dict of named outputs per feed


def compare_task_outputs(recipe: Recipe, feeds: list[dict[str, np.ndarray]], reference: Outputs, candidate: Outputs,
                         images: list[Path] = (), labels: dict[Path, Path] | None = None) -> dict:
    """`finite`, `basis` ("labels" | "pytorch") and the task's values; a task without metrics: the worst tensor
    error. `images` are the files behind `feeds` (batch by batch), needed only with `labels`."""
    from trtbuild.tasks.compare import Comparison

    comparison = Comparison(recipe, labels)
    comparison.add_all(images, feeds, reference, candidate)
    if comparison.accuracy is None:
        return {"task": recipe.task, "finite": comparison.finite(), "outputs": comparison.worst()}
    comparison.accuracy.evaluate()
    return {"task": recipe.task, "finite": comparison.finite(), "basis": comparison.accuracy.basis(),
            **comparison.accuracy.values()}


def accuracy_vs_pytorch(recipe: Recipe, onnx_path: Path, feeds: list[dict[str, np.ndarray]],
                        threads: int | None = None, images: list[Path] = (),
                        labels: dict[Path, Path] | None = None) -> dict:
    """Run PyTorch FP32 (CPU) and the graph (ONNX Runtime CPU) on `feeds` and compare them task-wise."""
    from trtbuild.runners.factory import torch_runner
    from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner

    with torch_runner(recipe, "cpu") as reference_runner:
        reference = [reference_runner.infer(f) for f in feeds]
    with OnnxRuntimeRunner(onnx_path, threads=threads, simulated_qdq=True) as ort_runner:  # same result on every CPU
        candidate = [ort_runner.infer(f) for f in feeds]
    return compare_task_outputs(recipe, feeds, reference, candidate, images, labels)
