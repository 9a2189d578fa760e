"""Detections matched to ground truth, image by image, and their mAP on bootstrap resamples of the images.

A resample is a count per image (trtbuild.accuracy.intervals.resample_counts); each detection weighs its image's
count. The AP is Ultralytics' (ap_per_class / compute_ap: detections by confidence, cumulative TP and FP per class
and IoU threshold, the precision envelope, 101-point interpolation), and for counts of all ones it is the same number
to the last bit. Nothing is matched or run again per resample: 1000 resamples of 64 images take well under a second.

Why it can be vectorised: along one class's detections, between two true positives the recall stays put and the
precision only falls, so a point inside such a run never sets the envelope or the interpolation; only each true
positive (its first copy when its image is drawn more than once), the detection just before the next one and the
last detection count, a few points per label instead of hundreds of low-confidence detections per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trtbuild.accuracy.intervals import Interval, weighted_bootstraps

AP_GRID = np.linspace(0, 1, 101)  # compute_ap's 101 recall points (COCO)
EPS = 1e-16  # ap_per_class's eps in recall = tp / (labels + eps)


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
                ap[:, column, threshold] = np.trapezoid(_interp_rows(AP_GRID, mrec, envelope), AP_GRID, axis=1)
            ap[seen[:, -1] == 0, column] = 0.0  # none of its detections drawn: ap_per_class skips it (AP 0)
        ap[labels == 0] = np.nan
        return ap

    def mean_ap(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, images) counts -> (mAP50-95, mAP50), each (n,): the mean over the classes labelled in each resample."""
        ap = self.class_ap(counts)
        with np.errstate(invalid="ignore"):  # a resample without any label: NaN, left out of the interval
            return np.nanmean(ap.mean(axis=2), axis=1) if ap.size else np.full(len(counts), np.nan), \
                np.nanmean(ap[:, :, 0], axis=1) if ap.size else np.full(len(counts), np.nan)


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


def _interp_rows(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """np.interp(x, xp[i], fp[i]) for every row i at once (xp rows non-decreasing, xp[:, 0] <= x[0]), with
    np.interp's arithmetic: the last xp[j] <= x, then slope * (x - xp[j]) + fp[j]."""
    n, width = xp.shape
    first_above = np.searchsorted(x, xp, side="left")  # xp[i, j] <= x[k]  <=>  first_above[i, j] <= k
    flat = (first_above + np.arange(n)[:, None] * (len(x) + 1)).ravel()
    at_or_below = np.cumsum(np.bincount(flat, minlength=n * (len(x) + 1)).reshape(n, -1)[:, : len(x)], axis=1)
    j = (at_or_below - 1 + np.arange(n)[:, None] * width).ravel()  # flat index of each row's xp[j]
    with np.errstate(invalid="ignore", divide="ignore"):  # a zero-width step is never a row's last xp[j] <= x
        slope = np.concatenate([np.diff(fp, axis=1) / np.diff(xp, axis=1), np.zeros((n, 1))], axis=1)
    at = (x - xp.ravel()[j].reshape(n, -1))
    return slope.ravel()[j].reshape(n, -1) * at + fp.ravel()[j].reshape(n, -1)
