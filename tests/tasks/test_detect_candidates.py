"""Detection decoding picks out NMS candidates first and still gives exactly what Ultralytics' NMS gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trtbuild.recipe import Overrides, load_recipe
from trtbuild.tasks.registry import create_task


@pytest.mark.parametrize("passing", [0, 6, 40])  # 6: would read as an end-to-end (B, N, 6) output
def test_same_detections_as_ultralytics_nms(passing):
    from ultralytics.utils.nms import non_max_suppression
    from ultralytics.utils.ops import scale_boxes

    task = create_task(load_recipe("yolo12n", Overrides()).recipe)
    rng = np.random.default_rng(passing)
    raw = np.zeros((1, 84, 8400), np.float32)
    raw[0, :2] = rng.uniform(50, 590, (2, 8400))
    raw[0, 2:4] = rng.uniform(10, 200, (2, 8400))
    raw[0, 4:] = rng.uniform(0, 0.2, (80, 8400))
    raw[0, 4 + rng.integers(0, 80, passing), rng.choice(8400, passing, replace=False)] = rng.uniform(0.3, 1, passing)
    frame = np.zeros((480, 640, 3), np.uint8)
    expected = non_max_suppression(torch.from_numpy(raw), conf_thres=0.25, iou_thres=0.7)[0]
    for outputs in ({"output0": raw}, {"output0": torch.from_numpy(raw)}):
        (result,) = task.results(outputs, [frame])
        assert len(result.boxes) == len(expected) <= passing
        assert np.array_equal(result.boxes, scale_boxes((640, 640), expected[:, :4].clone(), (480, 640)).numpy())
        assert np.array_equal(result.scores, expected[:, 4].numpy())
