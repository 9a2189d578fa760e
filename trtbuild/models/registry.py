"""Model adapters by name, without importing torch: the recipe schema and cache keys only need this table."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from trtbuild.errors import UsageError


@dataclass(frozen=True)
class AdapterInfo:
    target: str  # "module:Class" of the ModelAdapter subclass, imported only when a model is built
    spatial_multiple: int  # H and W must be multiples of this (0: no constraint)
    distributions: tuple[str, ...]  # installed packages whose versions change the exported graph


ADAPTERS: dict[str, AdapterInfo] = {
    "ultralytics": AdapterInfo("trtbuild.models.ultralytics_yolo:UltralyticsAdapter", 32, ("ultralytics",)),
    "depth_anything_v2": AdapterInfo("trtbuild.models.depth_anything_v2.adapter:DepthAnythingV2Adapter", 14, ()),
    "python": AdapterInfo("trtbuild.models.python_callable:PythonCallableAdapter", 0, ()),
}


def load_adapter_class(name: str):
    module, _, cls = ADAPTERS[name].target.partition(":")
    return getattr(importlib.import_module(module), cls)


def checkpoint_path(spec) -> Path | None:
    """The recipe's checkpoint, or None for random weights; a missing file is a usage error, never a download."""
    if spec.random_weights or (spec.adapter == "python" and spec.weights is None):
        return None
    if spec.weights is None or not spec.weights.is_file():
        raise UsageError(
            f"model.weights: file not found: {spec.weights} "
            "(pass --weights PATH to an existing checkpoint, or --random-weights for the architecture only)"
        )
    return spec.weights
