"""Model inputs for check/verify/calibration: real images through the task's frame mapping, else seeded noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.data.datasets import ImageSet
from trtbuild.data.images import read_bgr
from trtbuild.recipe.schema import Recipe


def image_feeds(recipe: Recipe, images: list[Path]) -> list[dict[str, np.ndarray]]:
    """One feed per batch of images (batch size = the input's export batch)."""
    from trtbuild.tasks.registry import create_task

    task = create_task(recipe)
    spec = recipe.inputs[0]
    batch = spec.shape[0]
    arrays = [task.prepare(read_bgr(p)) for p in images]
    return [{spec.name: np.stack(arrays[i : i + batch])} for i in range(0, len(arrays) - batch + 1, batch)]


def random_feeds(recipe: Recipe, count: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{s.name: rng.random(s.shape, dtype=np.float32).astype(s.dtype) for s in recipe.inputs} for _ in range(count)]


def feeds_for(recipe: Recipe, images: ImageSet):
    """(feeds, description): the images when the model takes one image input, else seeded noise (as many)."""
    if len(recipe.inputs) == 1 and len(recipe.inputs[0].shape) == 4:
        return image_feeds(recipe, images.images), f"{len(images.images)} images from {images.source}"
    return random_feeds(recipe, len(images.images)), "seeded random inputs (the model does not take one image)"
