"""Depth-Anything-V2 from the original checkpoint format, preprocessed like the original (cubic resize, ImageNet)."""

from __future__ import annotations

import numpy as np
import torch

from trtbuild.errors import UsageError
from trtbuild.models.base import ModelAdapter

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


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

    def preprocess(self, image_bgr: np.ndarray) -> np.ndarray:
        import cv2

        h, w = self.input_hw
        rgb = cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_CUBIC)[..., ::-1].astype(np.float32) / 255.0
        return np.ascontiguousarray(((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1))

    def metadata(self) -> dict:
        return {"task": "depth", "imgsz": list(self.input_hw), "encoder": self.spec.options.get("encoder", "vits")}
