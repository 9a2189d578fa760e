"""Users' own models: `model.options.target: package.module:callable`, called with `options.kwargs`."""

from __future__ import annotations

import importlib

import torch

from trtbuild.core.errors import UsageError
from trtbuild.models.base import ModelAdapter


class PythonCallableAdapter(ModelAdapter):
    """Pixels: resized to the input size, RGB in [0, 1], then `(x - mean) / std` (options `mean`/`std`, per channel)."""

    def build(self) -> torch.nn.Module:
        target = str(self.spec.options.get("target", ""))
        module_name, _, attr = target.partition(":")
        if not module_name or not attr:
            raise UsageError(f"model.options.target: expected 'package.module:callable', got {target!r}")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"model.options.target: cannot load {target!r} ({exc})") from None
        torch.manual_seed(0)
        kwargs = dict(self.spec.options.get("kwargs") or {})
        try:
            model = factory(**kwargs)
        except TypeError as exc:  # wrong keyword arguments for the user's callable
            raise UsageError(f"model.options.kwargs: {target}(**{kwargs}) failed: {exc}") from None
        if not isinstance(model, torch.nn.Module):
            raise UsageError(f"model.options.target: {target!r} returned {type(model).__name__}, not a torch.nn.Module")
        weights = self.weights_path()
        if weights is not None:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            model.load_state_dict(state.get("state_dict", state), strict=True)
        return model.eval().float()
