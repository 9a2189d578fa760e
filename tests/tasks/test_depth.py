"""Depth results: the map resized back to the frame with torch where the outputs are (the GPU path, here on CPU
tensors) is OpenCV's map from host outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trtbuild.recipe import Overrides, load_recipe
from trtbuild.recipe.schema import Recipe
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


def test_depth_values_keep_their_keys_and_add_intervals_and_slices():
    recipe = Recipe.model_validate({"name": "d", "task": "depth", "model": {"adapter": "python"},
                                    "inputs": [{"name": "image", "shape": [1, 3, 8, 8]}],
                                    "export": {"output_names": ["depth"]}})
    accuracy = create_task(recipe).accuracy()
    rng = np.random.default_rng(0)
    for i in range(20):
        reference = rng.uniform(0.5, 2.0, (1, 8, 8)).astype(np.float32)
        candidate = reference * (1 + 0.01 * i)  # image i off by i %: image 19 is the worst
        accuracy.add([Path(f"/data/im{i}.jpg")], np.zeros((1, 3, 8, 8)), {"depth": reference}, {"depth": candidate})
    accuracy.evaluate()
    values = accuracy.values()
    assert values["depth_abs_rel"] == pytest.approx(0.095)
    interval = values["intervals"]["depth_abs_rel"]
    assert interval.low < values["depth_abs_rel"] < interval.high and interval.images == 20
    assert set(values["intervals"]) == {"depth_rel_mse_pct", "depth_abs_rel", "depth_delta1"}
    assert values["slices"]["worst_images"][0]["image"] == "im19.jpg"
    assert [row["slice"] for row in values["slices"]["by_range"]] == ["near", "middle", "far"]
