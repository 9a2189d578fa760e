"""Latency statistics with trtexec's conventions (samples/common/sampleReporting.cpp), so numbers compare.

- percentile(p): the sorted sample at index N-1-floor((1-p/100)*N) (nearest rank from the top; no interpolation).
- median: the middle sample, or the mean of the two middle samples when N is even.
- CoV: population standard deviation / mean, in percent; above 2.5 % the run is flagged unstable.
- throughput: completed inferences / wall-clock seconds of the timed loop (one inference = one batch).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

UNSTABLE_COV_PCT = 2.5


@dataclass(frozen=True)
class LatencyStats:
    count: int
    mean_ms: float
    median_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    std_ms: float
    cov_pct: float
    throughput_qps: float

    @property
    def unstable(self) -> bool:
        return self.cov_pct > UNSTABLE_COV_PCT

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        raise ValueError("no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} outside 0..100")
    n = len(sorted_ms)
    # (100 - p) * n / 100 rather than (1 - p/100) * n: 1 - 0.9 is 0.0999..., which would shift p90 by one sample
    return sorted_ms[max(0, n - 1 - math.floor((100 - p) * n / 100))]


def median(sorted_ms: list[float]) -> float:
    n = len(sorted_ms)
    mid = n // 2
    return sorted_ms[mid] if n % 2 else (sorted_ms[mid - 1] + sorted_ms[mid]) / 2


def summarize(latencies_ms: list[float], wall_s: float | None = None) -> LatencyStats:
    """Statistics of per-inference latencies; `wall_s` (the loop's wall time) gives throughput, else 1000/mean."""
    ordered = sorted(latencies_ms)
    if not ordered:
        raise ValueError("no samples")
    n = len(ordered)
    mean = sum(ordered) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in ordered) / n)
    return LatencyStats(
        count=n,
        mean_ms=mean,
        median_ms=median(ordered),
        p90_ms=percentile(ordered, 90),
        p95_ms=percentile(ordered, 95),
        p99_ms=percentile(ordered, 99),
        min_ms=ordered[0],
        max_ms=ordered[-1],
        std_ms=std,
        cov_pct=100 * std / mean if mean else 0.0,
        throughput_qps=n / wall_s if wall_s else (1000 / mean if mean else 0.0),
    )
