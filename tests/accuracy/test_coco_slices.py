"""AP by slice: COCO's evaluator (pycocotools) on hand-made boxes whose size slice is known, and against Ultralytics'
own `val` on the same predictions."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import COCO8, YOLO_WEIGHTS
from trtbuild.accuracy.coco_slices import detection_slices
from trtbuild.accuracy.detection import letterbox_transform, load_yolo_labels

FRAME, INPUT = (480, 640), (640, 640)  # LetterBox: scale 1, 80 px of padding above and below


def test_a_lost_small_object_shows_in_the_small_slice_and_in_its_class_only():
    small, large = [0, 100, 100, 120, 120], [1, 200, 200, 400, 400]  # 20x20 = 400 px (small), 200x200 (large)
    labels = [np.array([small, large], np.float32)]
    reference = [np.array([[*small[1:], 0.9, 0], [*large[1:], 0.9, 1]], np.float32)]
    candidate = [reference[0][1:]]  # the small one missed
    found = detection_slices(labels, reference, candidate, [FRAME], INPUT, {0: "person", 1: "car"}, "labels")
    size = {row["slice"]: row for row in found["by_size"]}
    assert size["small"]["objects"] == 1 and size["small"]["drop_pct"] == pytest.approx(100.0)
    assert size["large"]["drop_pct"] == pytest.approx(0.0) and math.isnan(size["medium"]["pytorch"])
    assert found["by_class"][0] == {"class": 0, "name": "person", "objects": 1, "images": 1,
                                    "pytorch": pytest.approx(1.0), "candidate": 0.0, "drop_pct": pytest.approx(100.0)}
    assert found["evaluator"].startswith("pycocotools")


@pytest.mark.long
def test_the_all_slice_agrees_with_ultralytics_val_on_its_own_predictions(tmp_path):
    """Ultralytics' val of YOLO12n on COCO8's val images writes its predictions (save_json, frame pixels); COCO's
    evaluator on those same predictions gives the same mAP50-95 to within the two interpolations' difference."""
    from ultralytics import YOLO

    data = COCO8
    metrics = YOLO(str(YOLO_WEIGHTS)).val(
        data=str(data), imgsz=640, batch=1, rect=False, conf=0.001, iou=0.7, save_json=True, plots=False,
        device="cpu", project=str(tmp_path), name="val", verbose=False)
    predictions = json.loads((Path(metrics.save_dir) / "predictions.json").read_text())
    images = sorted((data.parent / "images/val").glob("*.jpg"))
    frames = [tuple(int(v) for v in _hw(p)) for p in images]
    labels = [load_yolo_labels(data.parent / "labels/val" / f"{p.stem}.txt", hw, INPUT)
              for p, hw in zip(images, frames)]
    ids = [int(p.stem) if p.stem.isnumeric() else p.stem for p in images]  # val's image_id
    detections = [_to_input([d for d in predictions if d["image_id"] == i], hw) for i, hw in zip(ids, frames)]
    found = detection_slices(labels, detections, detections, frames, INPUT, {}, "labels")
    assert found["by_size"][0]["candidate"] == pytest.approx(metrics.box.map, abs=0.02)


def _to_input(rows: list[dict], frame_hw: tuple[int, int]) -> np.ndarray:
    """val's predictions (xywh in frame pixels, category_id = class + 1) -> (n, 6) xyxy in the letterboxed input."""
    scale, left, top = letterbox_transform(frame_hw, INPUT)
    boxes = np.array([d["bbox"] for d in rows], np.float64).reshape(-1, 4)
    xyxy = np.c_[boxes[:, :2], boxes[:, :2] + boxes[:, 2:]] * scale + [left, top, left, top]
    return np.c_[xyxy, [d["score"] for d in rows], [d["category_id"] - 1 for d in rows]].astype(np.float32)


def _hw(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.height, image.width
