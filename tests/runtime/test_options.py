"""The task's one options declaration checks `load(...)` and `model(frame, ...)` alike, for detection,
classification and depth engine sets: one line, nothing left loaded."""

from __future__ import annotations

import numpy as np
import pytest

from trtbuild.core.errors import UsageError
from trtbuild.runtime.model import load

FRAME = np.full((48, 64, 3), 90, np.uint8)


@pytest.mark.parametrize(("given", "message"), [
    ({"conf": 7}, r"conf=7: input should be less than or equal to 1 \(detect option: minimum confidence, 0 to 1\)"),
    ({"max_det": 0}, r"max_det=0: input should be greater than or equal to 1"),
    ({"classes": [80]}, r"classes=\[80\]: class 80 is not one of the model's 80 classes \(0-79\)"),
    ({"k": 3}, r"k: not an option of the detect task \(options: conf, iou, max_det, classes, agnostic\)"),
])
def test_detection_options_at_load_and_per_call(yolo_engines, given, message):
    with pytest.raises(UsageError, match=message):
        load(yolo_engines, **given)
    with load(yolo_engines) as model:
        with pytest.raises(UsageError, match=message):
            model(FRAME, **given)
        assert model(FRAME, conf=0.9, classes=[0]).boxes.shape[1] == 4  # good values still run


def test_classification_and_depth_options(classify_engines, depth_engines):
    with load(classify_engines) as model:
        assert len(model(FRAME, k=3).top5) == 3
        with pytest.raises(UsageError, match=r"k=0: input should be greater than or equal to 1 \(classify option"):
            model(FRAME, k=0)
    with pytest.raises(UsageError, match=r"conf: not an option of the classify task \(options: k\)"):
        load(classify_engines, conf=0.5)
    with pytest.raises(UsageError, match=r"conf: not an option of the depth task \(options: none\)"):
        load(depth_engines, conf=0.5)
