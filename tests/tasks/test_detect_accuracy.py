"""The detect task's accuracy values: every headline key as before, plus the drop's intervals (the contract the report
renders), on raw head outputs whose boxes are known."""

from __future__ import annotations

import numpy as np
import pytest

from trtbuild.recipe.schema import Recipe
from trtbuild.tasks.registry import create_task


def raw_output(boxes: list[tuple[float, float, float, float, int, float]]) -> np.ndarray:
    """(1, 4 + 80, anchors) head output, one anchor per (cx, cy, w, h, class, score)."""
    raw = np.zeros((1, 84, len(boxes)), np.float32)
    for anchor, (cx, cy, w, h, cls, score) in enumerate(boxes):
        raw[0, :4, anchor] = [cx, cy, w, h]
        raw[0, 4 + cls, anchor] = score
    return raw


def test_values_keep_their_keys_and_add_the_drop_intervals_without_labels():
    recipe = Recipe.model_validate({"name": "y", "task": "detect", "model": {"adapter": "python"},
                                    "inputs": [{"name": "images", "shape": [1, 3, 640, 640]}],
                                    "export": {"output_names": ["output0"]}})
    accuracy = create_task(recipe).accuracy()
    rng = np.random.default_rng(0)
    for image in range(12):
        boxes = [(float(x), float(y), 60.0, 40.0, int(c), 0.9) for x, y, c in
                 zip(rng.uniform(50, 590, 3), rng.uniform(50, 590, 3), rng.integers(0, 3, 3))]
        moved = [(x + (30.0 if image % 3 == 0 and k == 0 else 0.0), y, w, h, c, s)
                 for k, (x, y, w, h, c, s) in enumerate(boxes)]  # every third image: one box off by half its width
        accuracy.add([], np.zeros((1, 3, 640, 640), np.float32), {"output0": raw_output(boxes)},
                     {"output0": raw_output(moved)})
    accuracy.evaluate()
    values = accuracy.values()
    assert values["map50_95_drop_pct"] == values["map50_95_drop_vs_pytorch_pct"] > 0
    intervals = values["intervals"]
    assert set(intervals) == {"map50_95_drop_pct", "map50_drop_pct", "map50_95_drop_vs_pytorch_pct",
                              "map50_drop_vs_pytorch_pct"}
    drop = intervals["map50_95_drop_pct"]
    assert drop.value == pytest.approx(values["map50_95_drop_pct"], abs=1e-9) and drop.low <= drop.value <= drop.high
    assert drop.images == 12 and "slices" not in values  # no image files: no frame sizes for the areas
