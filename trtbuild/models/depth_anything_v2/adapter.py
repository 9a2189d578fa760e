"""Depth-Anything-V2 from the original checkpoint format (its pixel format, cubic resize + ImageNet, is declared in
models.registry)."""

from __future__ import annotations

import torch

from trtbuild.core.errors import UsageError
from trtbuild.models.base import ModelAdapter

class DepthAnythingV2Adapter(ModelAdapter):
    def build(self) -> torch.nn.Module:
        from trtbuild.models.depth_anything_v2 import ENCODER_CONFIGS, build_depth_anything_v2, load_checkpoint

        encoder = str(self.spec.options.get("encoder", "vits"))
        if encoder not in ENCODER_CONFIGS:
            raise UsageError(f"model.options.encoder: unknown encoder {encoder!r} (one of {', '.join(ENCODER_CONFIGS)})")
        weights = self.weights_path()
        torch.manual_seed(0)
        model = build_depth_anything_v2(encoder, input_size=self.input_hw)
        if weights is not None:
            try:
                load_checkpoint(model, weights)
            except (ValueError, FileNotFoundError, RuntimeError) as exc:
                raise UsageError(f"model.weights: {' '.join(str(exc).split())}") from None
        return model.eval().float()

    def metadata(self) -> dict:
        return {"task": "depth", "imgsz": list(self.input_hw), "encoder": self.spec.options.get("encoder", "vits")}
