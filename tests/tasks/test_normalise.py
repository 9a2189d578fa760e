"""Task.normalise's table look-up gives the float32 values of (x / 255 - mean) / std bit for bit: verify's inputs,
and so its metrics, are what they were before the look-up."""

from __future__ import annotations

import numpy as np
import pytest

from trtbuild.recipe import Overrides, load_recipe
from trtbuild.tasks.registry import create_task


@pytest.mark.parametrize("recipe", ["yolo12n", "depth"])
def test_normalise_is_the_four_pass_formula_bit_for_bit(recipe):
    task = create_task(load_recipe(recipe, Overrides()).recipe)
    image = (np.arange(16 * 16 * 3) % 256).astype(np.uint8).reshape(16, 16, 3)  # every value in each channel
    fmt = task.format
    expected = (image[..., ::-1].astype(np.float32) / 255.0 - np.asarray(fmt.mean, np.float32)) / np.asarray(
        fmt.std, np.float32)
    assert np.array_equal(task.normalise(image), expected.transpose(2, 0, 1))
    assert np.array_equal(task.normalise(image[:, ::2]), expected[:, ::2].transpose(2, 0, 1))  # a strided view
