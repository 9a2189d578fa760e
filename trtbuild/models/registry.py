"""Model adapters by name (`ADAPTERS`), without importing torch: the recipe schema, cache keys and runtime read only
the declarations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trtbuild.core.errors import UsageError
from trtbuild.core.registry import Part, Registry


@dataclass(frozen=True)
class InputFormat:
    """How a model expects its pixels, declared by the adapter; the task decides the geometry (letterbox, resize)."""

    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per RGB channel, after scaling to [0, 1]
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    interpolation: str = "linear"  # cv2 resize: linear | cubic


IMAGENET = InputFormat((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "cubic")


@dataclass(frozen=True, kw_only=True)
class Adapter(Part):
    """An adapter's declaration: its ModelAdapter subclass (the target, imported only when a model is built) and what
    the recipe schema, cache keys and runtime read without importing torch."""

    spatial_multiple: int  # H and W must be multiples of this (0: no constraint)
    distributions: tuple[str, ...] = ()  # installed packages whose versions change the exported graph
    input_format: InputFormat = InputFormat()
    format_options: bool = False  # the recipe's model.options mean/std override the declared format
    weights_optional: bool = False  # builds its model without a checkpoint unless model.weights names one


ADAPTERS = Registry("model adapter", [
    Adapter("ultralytics", "trtbuild.models.ultralytics_yolo:UltralyticsAdapter", spatial_multiple=32,
            distributions=("ultralytics",)),
    Adapter("depth_anything_v2", "trtbuild.models.depth_anything_v2.adapter:DepthAnythingV2Adapter",
            spatial_multiple=14, input_format=IMAGENET),
    Adapter("python", "trtbuild.models.python_callable:PythonCallableAdapter", spatial_multiple=0,
            format_options=True, weights_optional=True),
], plural="adapters")


def input_format(spec) -> InputFormat:
    """The pixel format of a recipe's `model:` block (no torch import: the runtime reads it from engines.json)."""
    info = ADAPTERS[spec.adapter]
    if not info.format_options:
        return info.input_format
    declared = info.input_format
    return InputFormat(tuple(spec.options.get("mean", declared.mean)), tuple(spec.options.get("std", declared.std)),
                       declared.interpolation)


def load_adapter_class(name: str):
    return ADAPTERS.load(name)


def checkpoint_path(spec) -> Path | None:
    """The recipe's checkpoint, or None for random weights; a missing file is a usage error, never a download."""
    if spec.random_weights or (ADAPTERS[spec.adapter].weights_optional and spec.weights is None):
        return None
    if spec.weights is None or not spec.weights.is_file():
        raise UsageError(
            f"model.weights: file not found: {spec.weights} "
            "(pass --weights PATH to an existing checkpoint, or --random-weights for the architecture only)"
        )
    return spec.weights
