"""Task-level accuracy of a converted graph on ONNX Runtime against the PyTorch FP32 module, on the same inputs.

The numbers come from the task's metrics (trtbuild.tasks), under verify's names: with labels, `map50_95` / `map50`
(candidate) and `map50_95_pytorch` / `map50_pytorch` against the ground truth, and `map50_95_drop_pct` /
`map50_drop_pct` between the two; always the paired `*_vs_pytorch` numbers (PyTorch's confident detections as ground
truth), which are also the drop when there are no labels. Depth: `depth_rel_mse_pct`, ...
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.accuracy.reference import PyTorchReference
from trtbuild.recipe.schema import Recipe
from trtbuild.runners.base import Runner


def graph_on_cpu(onnx_path: Path) -> Runner:
    """The graph on ONNX Runtime CPU with Q/DQ as float ops: the same numbers on every CPU."""
    from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner

    return OnnxRuntimeRunner(onnx_path, simulated_qdq=True)


def task_accuracy(reference: PyTorchReference, candidate: Runner, labels: dict[Path, Path] | None = None,
                  by_slice: bool = True, metadata: dict | None = None) -> dict:
    """`finite`, `basis` ("labels" | "pytorch") and the task's values of `candidate` against `reference` (with their
    `intervals`, and `slices` when `by_slice`); a task without metrics: the worst tensor error. `metadata`: the export
    stage's (class names, ...)."""
    from trtbuild.accuracy.compare import Comparison

    recipe = reference.recipe
    comparison = Comparison(recipe, labels, by_slice, metadata)
    reference.compare(candidate, comparison.add)
    if comparison.accuracy is None:
        return {"task": recipe.task, "finite": comparison.finite(), "outputs": comparison.worst()}
    comparison.accuracy.evaluate()
    return {"task": recipe.task, "finite": comparison.finite(), "basis": comparison.accuracy.basis(),
            **comparison.accuracy.values()}


def accuracy_vs_pytorch(recipe: Recipe, onnx_path: Path, feeds: list[dict[str, np.ndarray]], images: list[Path] = (),
                        labels: dict[Path, Path] | None = None, metadata: dict | None = None) -> dict:
    """PyTorch FP32 (CPU) against the graph (ONNX Runtime CPU) on `feeds`, task-wise; `images` are the files behind
    `feeds` (batch by batch), needed only with `labels`."""
    return task_accuracy(PyTorchReference(recipe, feeds, images), graph_on_cpu(onnx_path), labels,
                         metadata=metadata)
