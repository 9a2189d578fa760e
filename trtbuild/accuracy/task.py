"""The per-task accuracy contract the verify stage drives: feed batches, evaluate, report, plot."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from trtbuild.errors import UsageError


class TaskAccuracy(ABC):
    task: str

    @abstractmethod
    def add(self, images: list[Path], batch: np.ndarray, reference: np.ndarray, candidate: np.ndarray) -> None:
        """One batch: the image files, the preprocessed input, and both models' first output."""

    @abstractmethod
    def evaluate(self) -> None:
        """Compute the metrics once every batch is in."""

    @abstractmethod
    def values(self) -> dict[str, float]:
        """Gateable numbers by name."""

    def basis(self) -> str:
        """What the candidate is judged against: "labels" (ground truth) or "pytorch" (its outputs)."""
        return "pytorch"

    @abstractmethod
    def table(self) -> list[dict]:
        """Rows {metric, pytorch, candidate} for the report."""

    @abstractmethod
    def detail(self) -> dict: ...

    @abstractmethod
    def plot(self, workdir: Path) -> dict[str, str]:
        """Write PNGs into `workdir`; returns artifact role -> file name."""


def task_accuracy(task: str, input_hw: tuple[int, int], labels: dict[Path, Path] | None = None) -> TaskAccuracy:
    """The metrics verify and the precision stage share; `labels` maps each image to its YOLO label file."""
    from trtbuild.accuracy.depth import DepthAccuracy
    from trtbuild.accuracy.detection import DetectionAccuracy

    if task == "detect":
        return DetectionAccuracy(input_hw, labels)
    if task == "depth":
        return DepthAccuracy()
    raise UsageError(f"verify has no task-level metrics for task {task!r} (use check for tensor parity)")
