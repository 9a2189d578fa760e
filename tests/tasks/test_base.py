"""Result: a depth map on a torch device is coloured there into cv2's very image, and a numpy frame's result holds
numpy arrays when the model's outputs were tensors (the GPU path, exercised here with CPU tensors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trtbuild.tasks.base import HostArrays, Result


def _maps() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(3.0, 2.0, (37, 53)).astype(np.float32),  # odd sizes, negative and positive values
            rng.uniform(1e3, 1e3 + 1e-2, (16, 16)).astype(np.float32),  # a narrow range far from 0
            np.linspace(0, 1, 256 * 8, dtype=np.float32).reshape(16, 128),  # every level, and their edges
            np.full((4, 5), 7.5, np.float32)]  # flat: all level 0


@pytest.mark.parametrize("index", range(4))
def test_a_tensor_depth_map_is_coloured_into_cv2s_image(index):
    depth = _maps()[index]
    expected = Result(task="depth", shape=depth.shape, outputs={}, depth=depth).depth_colormap()
    got = Result(task="depth", shape=depth.shape, outputs={}, depth=torch.from_numpy(depth)).depth_colormap()
    assert isinstance(got, np.ndarray) and got.dtype == np.uint8 and got.shape == (*depth.shape, 3)
    assert np.array_equal(got, expected)


def test_on_host_gives_numpy_arrays_and_reads_outputs_only_when_asked():
    depth = torch.linspace(0, 1, 12).reshape(3, 4)
    raw = torch.arange(6, dtype=torch.bfloat16).reshape(2, 3)
    result = Result(task="depth", shape=(3, 4), outputs={"depth": raw}, depth=depth).on_host()
    assert isinstance(result.depth, np.ndarray) and np.array_equal(result.depth, depth.numpy())
    assert isinstance(result.outputs, HostArrays) and not result.outputs._arrays  # nothing copied yet
    assert list(result.outputs) == ["depth"] and len(result.outputs) == 1
    got = result.outputs["depth"]
    assert got.dtype == np.float32 and np.array_equal(got, raw.float().numpy())  # numpy has no bfloat16
    assert result.outputs["depth"] is got  # copied once
    assert np.array_equal(result.depth_colormap(), Result(task="depth", shape=(3, 4), outputs={},
                                                          depth=depth.numpy()).depth_colormap())
    assert result.to_dict()["depth"]["max"] == 1.0


def test_a_result_without_depth_has_no_colormap():
    with pytest.raises(ValueError, match=r"a detect result has no depth map"):
        Result(task="detect", shape=(2, 2), outputs={}).depth_colormap()
