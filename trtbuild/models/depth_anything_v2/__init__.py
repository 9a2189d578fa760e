"""Depth-Anything-V2 (DINOv2 ViT encoder + DPT head), written for clean ONNX export."""

from .dpt import ENCODER_CONFIGS, DepthAnythingV2, build_depth_anything_v2, load_checkpoint

__all__ = ["ENCODER_CONFIGS", "DepthAnythingV2", "build_depth_anything_v2", "load_checkpoint"]
