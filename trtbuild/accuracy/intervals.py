"""How sure an accuracy number is: 95 % intervals from per-image statistics, and gates with three outcomes.

A drop measured on 64 images moves by about ±0.3 % mAP50-95 from sampling alone, so a gate decided on the point value
is a coin toss near its limit. Intervals come from a paired percentile bootstrap over images (reference and candidate
of one image are resampled together, so the pairing that makes a drop precise is kept) or, for agreement proportions,
from Wilson's score interval. Both work on numbers already measured: nothing here runs a model.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A point value and its interval at LEVEL, with how it was computed (shown beside the number)."""

    value: float
    low: float
    high: float
    method: str  # "bootstrap 1000x seed 0 over 64 images" or "wilson over 64 images"
    images: int

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "method": self.method, "images": self.images}

    def __str__(self) -> str:
        return f"{self.value:.3g} [{self.low:.3g}, {self.high:.3g}]"


def paired_bootstrap(statistic: Callable[[np.ndarray], float], images: int, resamples: int = RESAMPLES,
                     seed: int = SEED) -> Interval:
    """`statistic(indices)` is the number (e.g. the mAP drop) computed on the images at `indices`, reference and
    candidate together; the interval is the percentile interval of it over `resamples` draws with replacement."""
    value = float(statistic(np.arange(images)))
    draws = np.array([statistic(indices) for indices in resample_indices(images, resamples, seed)], dtype=np.float64)
    return percentile_interval(value, draws, images, seed)


def weighted_bootstraps(statistic: Callable[[np.ndarray], dict[str, np.ndarray]], images: int,
                        resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Interval]:
    """paired_bootstrap for vectorised statistics: `statistic(counts)` takes (n, images) counts (how often each image
    is drawn; all ones is the sample itself) and returns n values of each named number. The same draws as
    paired_bootstrap's, so one seed gives one set of resamples for every number."""
    values = statistic(np.ones((1, images)))
    draws = statistic(resample_counts(images, resamples, seed))
    return {name: percentile_interval(float(values[name][0]), np.asarray(draws[name], dtype=np.float64), images, seed)
            for name in values}


def resample_indices(images: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, images) image indices drawn with replacement."""
    if images < 1:
        raise ValueError("a bootstrap needs at least one image")
    return np.random.default_rng(seed).integers(0, images, (resamples, images))


def resample_counts(images: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, images): how many times each image is in each of resample_indices' draws."""
    indices = resample_indices(images, resamples, seed)
    rows = np.repeat(np.arange(resamples), images)
    counts = np.zeros((resamples, images))
    np.add.at(counts, (rows, indices.ravel()), 1)
    return counts


def percentile_interval(value: float, draws: np.ndarray, images: int, seed: int = SEED) -> Interval:
    """The percentile interval at LEVEL of bootstrap `draws` around `value` (NaN draws, e.g. a resample without any
    labelled object, are left out)."""
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.nanpercentile(draws, [tail, 100 - tail]) if np.isfinite(draws).any() else (math.nan, math.nan)
    return Interval(value, float(low), float(high), f"paired bootstrap {len(draws)}x seed {seed} over {images} images",
                    images)


def mean_interval(per_image: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> Interval:
    """The bootstrap interval of the mean of one number per image (depth errors, ...)."""
    values = np.asarray(per_image, dtype=np.float64)
    return weighted_bootstraps(lambda counts: {"mean": counts @ values / counts.sum(axis=1)}, len(values), resamples,
                               seed)["mean"]


def wilson(successes: int, total: int) -> Interval:
    """Wilson's score interval of the proportion successes / total (sound at 0 and 1, unlike the normal one)."""
    if total < 1:
        raise ValueError("a proportion needs at least one trial")
    z = _z()
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), f"wilson over {total} images", total)


def _z() -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - (1 - LEVEL) / 2)


class Outcome(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    CANNOT_TELL = "cannot tell"


def judge(interval: Interval, limit: float, higher_is_worse: bool = True) -> Outcome:
    """PASS when the whole interval is on the good side of `limit`, FAIL when wholly on the bad side, else
    CANNOT_TELL. A NaN interval (too few images to resample) cannot tell."""
    if math.isnan(interval.low) or math.isnan(interval.high):
        return Outcome.CANNOT_TELL
    worst, best = (interval.high, interval.low) if higher_is_worse else (interval.low, interval.high)
    good = (lambda x: x <= limit) if higher_is_worse else (lambda x: x >= limit)
    if good(worst):
        return Outcome.PASS
    if not good(best):
        return Outcome.FAIL
    return Outcome.CANNOT_TELL


def images_to_settle(interval: Interval, limit: float) -> int | None:
    """About how many images would shrink the interval (width ~ 1/sqrt(n)) until it clears `limit`; None when the
    point value sits on the limit (no sample size settles it) or the interval is NaN."""
    gap = abs(interval.value - limit)
    half = (interval.high - interval.low) / 2
    if not gap or math.isnan(half):
        return None
    return max(interval.images, math.ceil(interval.images * (half / gap) ** 2 - 1e-9))  # 1e-9: float noise
