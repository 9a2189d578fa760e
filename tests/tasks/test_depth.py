"""Depth results: the map resized back to the frame with torch where the outputs are (the GPU path, here on CPU
tensors) is OpenCV's map from host outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trtbuild.recipe import Overrides, load_recipe
from trtbuild.tasks.registry import create_task


@pytest.mark.parametrize("frame_hw", [(480, 640), (300, 200)])  # up and down from the 518 map
def test_tensor_outputs_resize_like_opencv(frame_hw):
    task = create_task(load_recipe("depth", Overrides()).recipe)
    raw = np.random.default_rng(1).uniform(0, 5, (1, 1, 518, 518)).astype(np.float32)
    frame = np.zeros((*frame_hw, 3), np.uint8)
    (host,) = task.results({"depth": raw}, [frame])
    (tensor,) = task.results({"depth": torch.from_numpy(raw)}, [frame])
    assert host.depth.shape == tensor.depth.shape == frame_hw and isinstance(tensor.depth, torch.Tensor)
    # both bilinear with half-pixel centres; OpenCV rounds its weights (measured: at most 2e-4 on values 0..5)
    assert np.abs(tensor.depth.numpy() - host.depth).max() < 1e-3
