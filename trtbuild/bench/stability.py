"""Memory over a long run: process RSS (psutil) and used GPU memory, sampled between timed steps.

The slope (least-squares fit, MiB per minute) over the timed part of the run is the leak signal; warm-up growth
(allocator pools, cuDNN workspaces, CUDA-graph capture) happens before sampling starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

MIN_VERDICT_S = 60.0  # shorter runs report the slope but no verdict: allocator noise dominates


@dataclass(frozen=True)
class MemorySample:
    t_s: float
    rss_mib: float
    gpu_used_mib: float | None


@dataclass
class MemorySampler:
    interval_s: float
    gpu: bool = False
    samples: list[MemorySample] = field(default_factory=list)

    def maybe_sample(self, t_s: float, own_bytes: int = 0) -> None:
        """`own_bytes`: memory the measurement itself holds (the latency buffer), left out of the RSS so that the
        benchmark's own bookkeeping is not reported as the model's leak (first seen on a 4-minute H100 run: 153k
        latencies as Python floats grew RSS by 1.1 MiB/min)."""
        if self.samples and t_s - self.samples[-1].t_s < self.interval_s:
            return
        rss = _rss_mib() - own_bytes / 2**20
        self.samples.append(MemorySample(t_s, rss, _gpu_used_mib() if self.gpu else None))


def sample_interval(duration_s: float) -> float:
    """About 120 samples per run, never more often than every 0.25 s."""
    return max(0.25, duration_s / 120)


def slope_per_minute(ts: list[float], values: list[float]) -> float:
    n = len(ts)
    if n < 2:
        return 0.0
    mean_t, mean_v = sum(ts) / n, sum(values) / n
    var = sum((t - mean_t) ** 2 for t in ts)
    if var == 0:
        return 0.0
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in zip(ts, values)) / var


def leak_report(samples: list[MemorySample], threshold_mib_per_min: float) -> dict:
    """Slopes, growth and a verdict: 'stable', 'leak suspected' or 'too short' (under MIN_VERDICT_S)."""
    ts = [s.t_s for s in samples]
    series = {"rss": [s.rss_mib for s in samples]}
    if samples and samples[0].gpu_used_mib is not None:
        series["gpu"] = [s.gpu_used_mib for s in samples]
    report = {"samples": len(samples), "span_s": ts[-1] - ts[0] if ts else 0.0,
              "threshold_mib_per_min": threshold_mib_per_min}
    for key, values in series.items():
        report[f"{key}_start_mib"] = values[0]
        report[f"{key}_end_mib"] = values[-1]
        report[f"{key}_slope_mib_per_min"] = slope_per_minute(ts, values)
    if report["span_s"] < MIN_VERDICT_S:
        report["verdict"] = "too short"
    elif any(report[f"{k}_slope_mib_per_min"] > threshold_mib_per_min for k in series):
        report["verdict"] = "leak suspected"
    else:
        report["verdict"] = "stable"
    report["series"] = [[s.t_s, s.rss_mib, s.gpu_used_mib] for s in samples]
    return report


def _rss_mib() -> float:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def _gpu_used_mib() -> float:
    """Device-wide used memory (every allocator in the process: torch, ONNX Runtime, TensorRT)."""
    import torch

    free, total = torch.cuda.mem_get_info()
    return (total - free) / 2**20
