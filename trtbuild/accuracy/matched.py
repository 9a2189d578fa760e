"""Detections matched to ground truth, image by image, and their mAP on bootstrap resamples of the images.

A resample is a count per image (trtbuild.accuracy.intervals.resample_counts); each detection weighs its image's
count. The AP is Ultralytics' (ap_per_class / compute_ap: detections by confidence, cumulative TP and FP per class
and IoU threshold, the precision envelope, 101-point interpolation); for counts of all ones it is the same number to
rounding (1e-15), and a resample's is the mAP of its images repeated. Nothing is matched or run again per resample:
1000 resamples of 64 COCO128 images with YOLO12n's detections take about a second on one core.

Why it can be vectorised: along one class's detections, between two true positives the recall stays put and the
precision only falls, so a point inside such a run never sets the envelope or the interpolation; only each true
positive (its first copy when its image is drawn more than once), the detection just before the next one and the
last detection count, a few points per label instead of hundreds of low-confidence detections per image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from trtbuild.accuracy.intervals import Interval, weighted_bootstraps

AP_GRID = np.linspace(0, 1, 101)  # compute_ap's 101 recall points (COCO)
EPS = 1e-16  # ap_per_class's eps in recall = tp / (labels + eps)
RECENT_ANSWERS = 4
_RECENT: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}


@dataclass(frozen=True)
class MatchedDetections:
    """All images' detections in ap_per_class's order (confidence, descending), with what they matched."""

    tp: np.ndarray  # (P, thresholds) bool: a true positive at each IoU threshold
    cls: np.ndarray  # (P,) class id
    image: np.ndarray  # (P,) index of the image the detection is in
    classes: np.ndarray  # (C,) the classes that have labels
    truth: np.ndarray  # (images, C) labels of each class in each image

    @classmethod
    def from_images(cls, per_image: list[dict]) -> MatchedDetections:
        """`per_image`: update_stats' dicts (tp, conf, pred_cls, target_cls), one per image, in order."""
        tp = np.concatenate([s["tp"] for s in per_image]).reshape(-1, per_image[0]["tp"].shape[1] if per_image else 1)
        conf = np.concatenate([s["conf"] for s in per_image]) if per_image else np.zeros(0)
        order = np.argsort(-conf)  # ap_per_class's own sort (ties included)
        image = np.concatenate([np.full(len(s["conf"]), i) for i, s in enumerate(per_image)]) if per_image else conf
        target = [np.asarray(s["target_cls"]) for s in per_image]
        classes = np.unique(np.concatenate(target)) if per_image else np.zeros(0)
        truth = np.array([[np.count_nonzero(t == c) for c in classes] for t in target]).reshape(len(target), -1)
        pred_cls = np.concatenate([s["pred_cls"] for s in per_image]) if per_image else conf
        return cls(tp[order], pred_cls[order], image[order].astype(int), classes, truth)

    def class_ap(self, counts: np.ndarray) -> np.ndarray:
        """(n, images) counts -> (n, C, thresholds) AP; NaN where the class has no label in the resample."""
        labels = counts @ self.truth
        ap = np.zeros((len(counts), len(self.classes), self.tp.shape[1]))
        for column, class_id in enumerate(self.classes):
            rows = np.flatnonzero(self.cls == class_id)
            if not len(rows):
                continue
            weights = counts[:, self.image[rows]]
            seen = np.cumsum(weights, axis=1)  # detections so far, true or false
            for threshold, hits in enumerate(self.tp[rows].T):
                mrec, envelope = _curve(weights, seen, hits, labels[:, column])
                ap[:, column, threshold] = _area(mrec, envelope)
            ap[seen[:, -1] == 0, column] = 0.0  # none of its detections drawn: ap_per_class skips it (AP 0)
        ap[labels == 0] = np.nan
        return ap

    def mean_ap(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, images) counts -> (mAP50-95, mAP50), each (n,): the mean over the classes labelled in each resample.
        The last few answers are kept: the INT8 search scores every trial against the same PyTorch matches."""
        key = hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in
                                    (self.tp, self.cls, self.image, self.classes, self.truth, counts))).digest()
        if key not in _RECENT:
            if len(_RECENT) >= RECENT_ANSWERS:
                _RECENT.pop(next(iter(_RECENT)))
            _RECENT[key] = self._mean_ap(counts)
        return _RECENT[key]

    def _mean_ap(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ap = self.class_ap(counts)
        with np.errstate(invalid="ignore"):  # a resample without any label: NaN, left out of the interval
            return np.nanmean(ap.reshape(len(ap), -1), axis=1), np.nanmean(ap[:, :, 0], axis=1)


def drop_intervals(baseline: list[dict], candidate: list[dict]) -> dict[str, Interval]:
    """`map50_95_drop_pct` and `map50_drop_pct` of `candidate` below `baseline` (match_images' per-image statistics of
    the same images) with their paired bootstrap intervals: both resampled with the same counts."""
    base, cand = MatchedDetections.from_images(baseline), MatchedDetections.from_images(candidate)

    def drops(counts: np.ndarray) -> dict[str, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return {f"{key}_drop_pct": np.where(b > 0, 100.0 * (b - c) / b, 0.0)
                    for key, b, c in zip(("map50_95", "map50"), base.mean_ap(counts), cand.mean_ap(counts))}

    return weighted_bootstraps(drops, len(baseline))


def _curve(weights: np.ndarray, seen: np.ndarray, hits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """compute_ap's (mrec, envelope) of one class at one threshold for every resample, on the points that count."""
    n, hit = len(weights), np.flatnonzero(hits)
    if not len(hit):  # no true positive: recall 0 throughout, AP 0
        return np.zeros((n, 2)), np.zeros((n, 2))
    ends = np.unique(np.concatenate([[0, max(hit[0] - 1, 0)], hit, hit[1:] - 1, [len(hits) - 1]]))
    hits_so_far = np.cumsum(weights[:, hit], axis=1)
    before = np.searchsorted(hit, ends, side="right") - 1  # the last true positive at or before each point
    tp = np.where(before >= 0, hits_so_far[:, np.maximum(before, 0)], 0.0)
    total = seen[:, ends]
    # an image drawn w times repeats each true positive w times: its first copy is a point of its own (after it,
    # the envelope is flat up to the last copy, which is the point above)
    first = np.minimum(weights[:, hit], 1.0)
    tp = np.concatenate([tp, hits_so_far - weights[:, hit] + first], axis=1)
    total = np.concatenate([total, seen[:, hit] - weights[:, hit] + first], axis=1)
    order = np.argsort(np.concatenate([2 * ends + 1, 2 * hit]), kind="stable")
    tp, total = tp[:, order], total[:, order]
    recall = tp / (labels[:, None] + EPS)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(total > 0, tp / total, 1.0)  # nothing drawn yet: the curve's own start, (0, 1)
    mrec = np.concatenate([np.zeros((n, 1)), recall, recall[:, -1:], np.ones((n, 1))], axis=1)
    mpre = np.concatenate([np.ones((n, 1)), precision, np.zeros((n, 2))], axis=1)
    return mrec, np.flip(np.maximum.accumulate(np.flip(mpre, axis=1), axis=1), axis=1)


def _area(xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """np.trapezoid(np.interp(AP_GRID, xp[i], fp[i]), AP_GRID) for every row i (xp rows non-decreasing from 0).

    The trapezoid is a weighted sum of the grid's values, and on the segment of the last xp[j] <= x the
    interpolation is fp[j] + slope[j] * (x - xp[j]); so each segment adds fp[j] * (its grid points' summed weights)
    + slope[j] * (their summed weight * (x - xp[j])), read off prefix sums over the grid. No (rows x 101) array is
    made: the work is the rows' points, and the result equals compute_ap's to rounding (1e-15)."""
    n, width = xp.shape
    first_above = _first_at_or_above(xp)  # segment j holds grid points first_above[j] .. first_above[j + 1] - 1
    ends = np.concatenate([first_above[:, 1:], np.full((n, 1), len(AP_GRID))], axis=1)
    weight = _GRID_WEIGHT_SUMS[ends] - _GRID_WEIGHT_SUMS[first_above]
    moment = _GRID_MOMENT_SUMS[ends] - _GRID_MOMENT_SUMS[first_above]
    with np.errstate(invalid="ignore", divide="ignore"):  # a zero-width step holds no grid point
        slope = np.concatenate([np.diff(fp, axis=1) / np.diff(xp, axis=1), np.zeros((n, 1))], axis=1)
        terms = fp * weight + slope * (moment - xp * weight)
    return np.where(weight > 0, terms, 0.0).sum(axis=1)


def _first_at_or_above(values: np.ndarray) -> np.ndarray:
    """np.searchsorted(AP_GRID, values, side="left") for values in [0, 1]: the grid is k / 100 to rounding, so the
    ceiling of 100 * value is off by at most one, which one comparison each way puts right (a binary search per
    value took a fifth of the bootstrap)."""
    last = len(AP_GRID) - 1
    index = np.clip(np.ceil(values * last).astype(np.intp), 0, last)
    index -= (index > 0) & (AP_GRID[index - 1] >= values)
    index += AP_GRID[index] < values
    return index


_GRID_WEIGHTS = np.diff(AP_GRID, prepend=AP_GRID[0]) / 2 + np.diff(AP_GRID, append=AP_GRID[-1]) / 2  # trapezoid's
_GRID_WEIGHT_SUMS = np.concatenate([[0.0], np.cumsum(_GRID_WEIGHTS)])
_GRID_MOMENT_SUMS = np.concatenate([[0.0], np.cumsum(_GRID_WEIGHTS * AP_GRID)])
