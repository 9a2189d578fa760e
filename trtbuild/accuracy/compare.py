"""One loop for every judge (verify, the precision stage, the INT8 search): feed each batch's reference and candidate
outputs into the task's accuracy and the tensor parity, then read both."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.accuracy.parity import compare_outputs, merge_worst
from trtbuild.recipe.schema import Recipe
from trtbuild.tasks.registry import create_task


class Comparison:
    def __init__(self, recipe: Recipe, labels: dict[Path, Path] | None = None, by_slice: bool = True,
                 metadata: dict | None = None):
        self.task = create_task(recipe, metadata)  # the export metadata names the classes in the slices
        self.accuracy = self.task.accuracy(labels)  # None: the task has tensor parity only
        if self.accuracy is not None:
            self.accuracy.by_slice = by_slice
        self.batch = recipe.inputs[0].shape[0]
        self.parity: list[dict] = []

    def add(self, images: list[Path], feed: dict[str, np.ndarray], reference: dict[str, np.ndarray],
            candidate: dict[str, np.ndarray]) -> None:
        self.parity.append(compare_outputs(reference, candidate))
        if self.accuracy is not None:
            self.accuracy.add(images, feed[self.task.input.name], reference, candidate)

    def worst(self) -> dict[str, dict]:
        return merge_worst(self.parity)

    def finite(self) -> bool:
        return all(stats["finite"] for stats in self.worst().values())
