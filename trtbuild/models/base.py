"""The model adapter contract: a recipe's `model:` block -> an export-ready torch module and its metadata.

The pixel format it expects is declared in models.registry (InputFormat); the frame mapping is the task's."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import torch

from trtbuild.models.registry import checkpoint_path, load_adapter_class
from trtbuild.recipe.schema import Recipe


class ModelAdapter(ABC):
    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.spec = recipe.model

    @property
    def input_hw(self) -> tuple[int, int]:
        shape = self.recipe.inputs[0].shape
        return shape[2], shape[3]

    def weights_path(self) -> Path | None:
        return checkpoint_path(self.spec)

    @abstractmethod
    def build(self) -> torch.nn.Module:
        """The module in eval mode, float32, on CPU, with its forward in export form."""

    def metadata(self) -> dict:
        """Facts a consumer of the engine needs (class names, stride...); lands in the engine sidecar."""
        return {}


def create_adapter(recipe: Recipe) -> ModelAdapter:
    return load_adapter_class(recipe.model.adapter)(recipe)
