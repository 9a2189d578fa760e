"""Depth-map agreement of a candidate with a reference (both relative depth/disparity from the same input)."""

from __future__ import annotations

import numpy as np

# AbsRel and delta1 count the pixels whose reference is above this share of the image's largest value: disparity
# falls towards 0 with distance (sky, or a ReLU'd background), where an error too small to see is an unbounded
# relative error. 1 % keeps everything within 100x the nearest depth, the role of KITTI/NYU's max-depth cap; a share
# rather than an absolute floor keeps the metrics scale-free, as relative depth needs.
VALID_SHARE_OF_MAX = 0.01


def depth_errors(reference: np.ndarray, candidate: np.ndarray, floor: float | None = None,
                 power: float | None = None) -> dict:
    """rel_mse_pct = 100 * mean((c - r)^2) / power (default: mean(r^2)); abs_rel = mean(|c - r| / r) and delta1 =
    share of max(c/r, r/c) < 1.25, both over the pixels with r > floor (default: VALID_SHARE_OF_MAX * max(r));
    finite = no NaN/Inf in the candidate."""
    ref = np.asarray(reference, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64).reshape(ref.shape)
    finite = bool(np.isfinite(cand).all())
    if not finite:
        return {"rel_mse_pct": float("inf"), "abs_rel": float("inf"), "delta1": 0.0, "finite": False}
    power = float(np.mean(ref**2)) if power is None else power
    mse = float(np.mean((cand - ref) ** 2))
    floor = _valid_floor(ref) if floor is None else floor
    valid = ref > floor if floor is not None else np.zeros(ref.shape, bool)
    r, c = ref[valid], cand[valid]
    positive = c > 0  # a non-positive candidate pixel is outside 1.25x of any positive reference
    ratio = np.full_like(r, np.inf)
    ratio[positive] = np.maximum(c[positive] / r[positive], r[positive] / c[positive])
    return {
        "rel_mse_pct": 100.0 * mse / power if power else (0.0 if mse == 0 else float("inf")),
        "abs_rel": float(np.mean(np.abs(c - r) / r)) if r.size else float("nan"),
        "delta1": float(np.mean(ratio < 1.25)) if r.size else float("nan"),
        "finite": True,
    }


def _valid_floor(reference: np.ndarray) -> float | None:
    """The reference value above which AbsRel and delta1 count a pixel (None: no positive pixel)."""
    return VALID_SHARE_OF_MAX * reference.max() if reference.size and reference.max() > 0 else None


RANGES = ("near", "middle", "far")  # thirds of the reference's values; relative inverse depth: near is large


def depth_errors_by_range(reference: np.ndarray, candidate: np.ndarray) -> list[dict]:
    """depth_errors of the pixels in each third of the image's reference values, nearest first: AbsRel and delta1
    over the pixels the whole image counts, rel MSE against the whole image's mean square (a far third of a
    ReLU'd background has almost none of its own)."""
    ref = np.asarray(reference, dtype=np.float64).ravel()
    cand = np.asarray(candidate, dtype=np.float64).ravel()
    low, high = np.quantile(ref, [1 / 3, 2 / 3])
    floor = _valid_floor(ref)
    masks = (ref > high, (ref > low) & (ref <= high), ref <= low)
    power = float(np.mean(ref**2))
    return [depth_errors(ref[mask], cand[mask], floor, power) for mask in masks]


def aggregate_depth_errors(per_image: list[dict]) -> dict:
    """Mean of each error over images, the worst image's rel_mse_pct, and whether every image was finite."""
    if not per_image:
        raise ValueError("no depth comparisons to aggregate")
    return {
        "rel_mse_pct": float(np.mean([e["rel_mse_pct"] for e in per_image])),
        "abs_rel": float(np.mean([e["abs_rel"] for e in per_image])),
        "delta1": float(np.mean([e["delta1"] for e in per_image])),
        "worst_rel_mse_pct": float(max(e["rel_mse_pct"] for e in per_image)),
        "finite": all(e["finite"] for e in per_image),
        "images": len(per_image),
    }
