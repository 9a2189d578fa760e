"""Detection accuracy by slice, where a mean hides the damage: AP by COCO object size and the classes whose AP drops
most, from pycocotools' COCOeval (the reference implementation of COCO's AP, areas in the original frame's pixels).

The headline mAP stays Ultralytics' (trtbuild.accuracy.detection); COCOeval's AP differs from it a little (its own
interpolation and area ranges), so a slice is read against the same evaluator's "all" row. Shape (JSON):

    {"evaluator": "pycocotools 2.0.11 COCOeval bbox, maxDets 300", "basis": "labels" | "pytorch",
     "by_size": [{"slice": "all" | "small" | "medium" | "large", "area_px": [low, high], "objects": n, "images": n,
                  "pytorch": AP, "candidate": AP, "drop_pct": %}, ...],
     "by_class": [{"class": id, "name": str, "objects": n, "images": n, "pytorch": AP, "candidate": AP,
                   "drop_pct": %}, ...]}   # the WORST_CLASSES largest drops, largest first

AP is COCO's mAP50-95 of that slice; NaN (null in JSON) where the slice has no object. Basis "pytorch": no labels,
PyTorch's confident detections are the ground truth, so its "pytorch" AP is the ceiling, not 1.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np

from trtbuild.accuracy.detection import drop_pct, letterbox_transform

WORST_CLASSES = 10
MAX_DETECTIONS = 300  # decode_yolo's max_det: COCOeval's default 100 would drop detections mAP counts
SIZES = (("all", 0, 1e10), ("small", 0, 32**2), ("medium", 32**2, 96**2), ("large", 96**2, 1e10))  # COCO's areas


def detection_slices(labels: list[np.ndarray], reference: list[np.ndarray], candidate: list[np.ndarray],
                     frames_hw: list[tuple[int, int]], input_hw: tuple[int, int], names: dict, basis: str) -> dict:
    """Labels (m, 5) [cls, x1, y1, x2, y2] and detections (n, 6) per image, in the letterboxed input's pixels;
    `frames_hw`: each original image's (height, width)."""
    from importlib.metadata import version

    transforms = [letterbox_transform(hw, input_hw) for hw in frames_hw]
    truth = _coco_truth([_to_frame(t[:, 1:], tr) for t, tr in zip(labels, transforms)],
                        [t[:, 0] for t in labels], frames_hw)
    scored = {role: _evaluate(truth, detections, transforms) for role, detections in
              (("pytorch", reference), ("candidate", candidate))}
    objects = truth["annotations"]
    by_size = [{"slice": name, "area_px": [low, high if high < SIZES[0][2] else None],
                **_counts(objects, lambda a: low <= a["area"] <= high), **_pair(scored, lambda s: s["by_size"][i])}
               for i, (name, low, high) in enumerate(SIZES)]  # COCOeval's ranges include both ends
    by_class = [{"class": int(c), "name": str(names.get(int(c), names.get(str(int(c)), int(c)))),
                 **_counts(objects, lambda a: a["category_id"] == c), **_pair(scored, lambda s: s["by_class"][c])}
                for c in scored["pytorch"]["by_class"]]
    by_class.sort(key=lambda row: -row["drop_pct"] if math.isfinite(row["drop_pct"]) else math.inf)
    return {"evaluator": f"pycocotools {version('pycocotools')} COCOeval bbox, maxDets {MAX_DETECTIONS}",
            "basis": basis, "by_size": by_size, "by_class": by_class[:WORST_CLASSES]}


def _to_frame(boxes: np.ndarray, transform: tuple[float, float, float]) -> np.ndarray:
    """xyxy in the letterboxed input's pixels -> xyxy in the original frame's pixels."""
    scale, left, top = transform
    return (np.asarray(boxes, np.float64).reshape(-1, 4) - [left, top, left, top]) / scale


def _coco_truth(boxes: list[np.ndarray], classes: list[np.ndarray], frames_hw: list[tuple[int, int]]) -> dict:
    """A COCO ground-truth document: xyxy boxes and class ids per image (frame pixels)."""
    annotations = []
    for image, (image_boxes, image_classes) in enumerate(zip(boxes, classes)):
        for (x1, y1, x2, y2), c in zip(image_boxes.tolist(), image_classes):
            annotations.append({"id": len(annotations) + 1, "image_id": image, "category_id": int(c), "iscrowd": 0,
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1)})
    return {"images": [{"id": i, "height": h, "width": w} for i, (h, w) in enumerate(frames_hw)],
            "annotations": annotations,
            "categories": [{"id": c} for c in sorted({a["category_id"] for a in annotations})]}


def _evaluate(truth: dict, detections: list[np.ndarray], transforms: list) -> dict:
    """COCOeval's AP of `detections` overall, by size and by class (mAP50-95, NaN where no object)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    results = np.concatenate([np.zeros((0, 7))] + [_coco_rows(image, d, tr)
                                                  for image, (d, tr) in enumerate(zip(detections, transforms))])
    with contextlib.redirect_stdout(io.StringIO()):  # COCO and COCOeval print their progress
        ground = COCO()
        ground.dataset = truth
        ground.createIndex()
        found = ground.loadRes(results) if len(results) else COCO()
        evaluation = COCOeval(ground, found, "bbox")
        evaluation.params.maxDets = [1, 10, MAX_DETECTIONS]
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][:, :, :, :, -1]  # (IoU, recall, class, area), at maxDets 300
    return {"by_size": [_mean_valid(precision[:, :, :, a]) for a in range(len(SIZES))],
            "by_class": {c: _mean_valid(precision[:, :, k, 0]) for k, c in enumerate(evaluation.params.catIds)}}


def _coco_rows(image: int, detections: np.ndarray, transform) -> np.ndarray:
    """loadRes' rows [image, x, y, w, h, score, class] of one image's detections (n, 6)."""
    detections = np.asarray(detections, np.float64).reshape(-1, 6)
    box = _to_frame(detections[:, :4], transform)
    return np.column_stack([np.full(len(box), image), box[:, :2], box[:, 2:] - box[:, :2], detections[:, 4:6]])


def _mean_valid(precision: np.ndarray) -> float:
    """COCOeval.summarize's mean: over the entries it filled (-1 marks a class or size with no object)."""
    valid = precision[precision > -1]
    return float(valid.mean()) if valid.size else math.nan


def _counts(objects: list[dict], chosen) -> dict:
    picked = [a for a in objects if chosen(a)]
    return {"objects": len(picked), "images": len({a["image_id"] for a in picked})}


def _pair(scored: dict, pick) -> dict:
    pytorch, candidate = pick(scored["pytorch"]), pick(scored["candidate"])
    return {"pytorch": pytorch, "candidate": candidate,
            "drop_pct": drop_pct(pytorch, candidate) if math.isfinite(pytorch) else math.nan}
