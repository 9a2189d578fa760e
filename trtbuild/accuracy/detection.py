"""Detection accuracy of a candidate (ONNX/engine) against a reference, with Ultralytics' own NMS and AP code.

Boxes are [x1, y1, x2, y2] in the model's input pixels (after LetterBox), so reference, candidate and labels are
compared without mapping back to the original image.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

# COCO mAP50-95: IoU thresholds 0.50, 0.55, ..., 0.95 (what Ultralytics' DetectionValidator uses)
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
REFERENCE_CONF = 0.25  # without labels, PyTorch's detections at or above this confidence are the ground truth


def decode_yolo(raw: np.ndarray, conf: float = 0.001, iou: float = 0.7, max_det: int = 300) -> list[np.ndarray]:
    """(B, 4+nc, N) raw head output -> per image an (n, 6) array [x1, y1, x2, y2, conf, cls].

    Defaults follow `yolo val` (conf 0.001, IoU 0.7, multi-label), the convention mAP numbers are quoted in.
    """
    import torch
    from ultralytics.utils.nms import non_max_suppression

    prediction = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))
    kept = non_max_suppression(prediction, conf_thres=conf, iou_thres=iou, multi_label=True, max_det=max_det)
    return [k.numpy().astype(np.float32) for k in kept]


def reference_matches(reference: list[np.ndarray], candidate: list[np.ndarray],
                      ref_conf: float = REFERENCE_CONF) -> tuple[list[dict], list[dict]]:
    """Per-image matches of `candidate` and of the confident reference itself (the ceiling), both against the
    confident reference detections (conf >= ref_conf) as labels. Ultralytics' 101-point AP scores a perfect match
    0.995, not 1.0, so a drop is taken against the ceiling (with_drops): identical -> 0."""
    confident = [np.asarray(r, dtype=np.float32).reshape(-1, 6) for r in reference]
    confident = [r[r[:, 4] >= ref_conf] for r in confident]
    labels = as_labels(confident)
    return match_images(labels, candidate), match_images(labels, confident)


def as_labels(detections: list[np.ndarray], conf: float = 0.0) -> list[np.ndarray]:
    """Detections (n, 6) at or above `conf` as labels (m, 5) [cls, x1, y1, x2, y2]."""
    arrays = (np.asarray(d, np.float32).reshape(-1, 6) for d in detections)
    return [d[d[:, 4] >= conf][:, [5, 0, 1, 2, 3]] for d in arrays]


def with_drops(ceiling: dict, result: dict) -> dict:
    """`result` with its mAP drops below `ceiling` in percent."""
    return {**result, **{f"{key}_drop_pct": drop_pct(ceiling[key], result[key]) for key in ("map50_95", "map50")}}


def drop_pct(reference: float, candidate: float) -> float:
    """Relative drop of `candidate` below `reference`, in percent (0 when the reference is 0)."""
    return 100.0 * (reference - candidate) / reference if reference else 0.0


def match_images(labels: list[np.ndarray], candidate: list[np.ndarray]) -> list[dict]:
    """Per image, Ultralytics' matching of detections (n, 6) to labels (m, 5): DetMetrics.update_stats' dicts
    (tp at each IoU threshold, conf, pred_cls, target_cls, ...), the per-image statistics every mAP is made from."""
    import torch
    from ultralytics.engine.validator import BaseValidator
    from ultralytics.utils.metrics import box_iou

    if len(labels) != len(candidate):
        raise ValueError(f"{len(labels)} label sets for {len(candidate)} images")
    # match_predictions only reads `iouv` from the validator; a stand-in avoids building a whole validator
    matcher = SimpleNamespace(iouv=torch.from_numpy(IOU_THRESHOLDS).float())
    found = []
    for index, (truth, detections) in enumerate(zip(labels, candidate)):
        truth = np.asarray(truth, dtype=np.float32).reshape(-1, 5)
        detections = np.asarray(detections, dtype=np.float32).reshape(-1, 6)
        detections = detections[np.argsort(-detections[:, 4], kind="stable")]  # matching expects descending conf
        tp = np.zeros((len(detections), len(IOU_THRESHOLDS)), dtype=bool)
        if len(truth) and len(detections):
            overlap = box_iou(torch.from_numpy(truth[:, 1:]), torch.from_numpy(detections[:, :4]))
            tp = BaseValidator.match_predictions(
                matcher, torch.from_numpy(detections[:, 5]), torch.from_numpy(truth[:, 0]), overlap
            ).numpy()
        found.append({"tp": tp, "conf": detections[:, 4], "pred_cls": detections[:, 5], "target_cls": truth[:, 0],
                      "target_img": np.unique(truth[:, 0]), "im_name": str(index)})
    return found


def score_matches(per_image: list[dict]) -> dict:
    """mAP50-95, mAP50, precision, recall and the label count of match_images' output, by Ultralytics' DetMetrics."""
    from ultralytics.utils.metrics import DetMetrics

    classes = int(max((int(s["target_cls"].max()) + 1 for s in per_image if len(s["target_cls"])), default=1))
    metrics = DetMetrics(names={i: str(i) for i in range(classes)})
    for stats in per_image:
        metrics.update_stats(stats)
    n_gt = sum(len(s["target_cls"]) for s in per_image)
    if n_gt == 0:
        return {"map50_95": float("nan"), "map50": float("nan"), "precision": float("nan"),
                "recall": float("nan"), "n_gt": 0}
    metrics.process()
    precision, recall, map50, map50_95 = metrics.mean_results()
    return {"map50_95": float(map50_95), "map50": float(map50), "precision": float(precision),
            "recall": float(recall), "n_gt": int(n_gt)}


def letterbox_transform(original_hw: tuple[int, int], input_hw: tuple[int, int]) -> tuple[float, float, float]:
    """(scale, left, top) of Ultralytics' LetterBox(input_hw, auto=False, stride=32, center=True)."""
    h, w = original_hw
    scale = min(input_hw[0] / h, input_hw[1] / w)
    new_w, new_h = max(round(w * scale), 1), max(round(h * scale), 1)
    # LetterBox's rounding: half the padding each side, the odd pixel going right/bottom
    left = round((input_hw[1] - new_w) / 2 - 0.1)
    top = round((input_hw[0] - new_h) / 2 - 0.1)
    return scale, float(left), float(top)


def load_yolo_labels(label_file: Path, original_hw: tuple[int, int], input_hw: tuple[int, int]) -> np.ndarray:
    """A YOLO label file (cls cx cy w h, normalized to the original image) -> (m, 5) [cls, x1, y1, x2, y2] in
    letterboxed input pixels. A missing or empty file means no objects (box labels only, not polygons)."""
    path = Path(label_file)
    lines = path.read_text().split("\n") if path.is_file() else []
    rows = np.array([line.split() for line in lines if line.strip()], dtype=np.float32).reshape(-1, 5)
    if not len(rows):
        return np.zeros((0, 5), dtype=np.float32)
    scale, left, top = letterbox_transform(original_hw, input_hw)
    h, w = original_hw
    cx, cy, bw, bh = rows[:, 1] * w, rows[:, 2] * h, rows[:, 3] * w, rows[:, 4] * h
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    boxes = boxes * scale + np.array([left, top, left, top], dtype=np.float32)
    return np.concatenate([rows[:, :1], boxes], axis=1).astype(np.float32)
