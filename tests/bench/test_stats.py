"""Benchmark statistics and the measurement loop on a synthetic clock, where every answer is known exactly."""

from __future__ import annotations

import math

import pytest

from trtbuild.bench.loop import LoopConfig, run_loop
from trtbuild.bench.stats import percentile, summarize
from trtbuild.bench.timer import PerfCounterTimer


class SteppingClock:
    """A clock that only moves when a benchmark step runs: each step takes exactly `step_s`."""

    def __init__(self, step_s: float):
        self.now, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        return self.now

    def step(self) -> None:
        self.now += self.step_s


def test_summary_of_1_to_100_ms():
    stats = summarize([float(x) for x in range(100, 0, -1)], wall_s=5.05)
    assert (stats.count, stats.min_ms, stats.max_ms) == (100, 1.0, 100.0)
    assert stats.mean_ms == 50.5 and stats.median_ms == 50.5  # even N: mean of the two middle samples
    # trtexec's percentile: sorted[N-1-floor((1-p/100)*N)]
    assert (stats.p90_ms, stats.p95_ms, stats.p99_ms) == (90.0, 95.0, 99.0)
    assert stats.std_ms == pytest.approx(math.sqrt((100**2 - 1) / 12))
    assert stats.cov_pct == pytest.approx(100 * stats.std_ms / 50.5)
    assert stats.throughput_qps == pytest.approx(100 / 5.05)


def test_percentile_is_nearest_rank_without_interpolation():
    samples = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert percentile(samples, 90) == 9.0
    assert percentile(samples, 99) == 10.0
    assert percentile(samples, 50) == 5.0
    assert percentile([7.0], 99) == 7.0
    assert summarize([3.0, 1.0, 2.0]).median_ms == 2.0  # odd N: the middle sample


def test_constant_latency_is_stable_and_throughput_falls_back_to_mean():
    stats = summarize([4.0] * 10)
    assert stats.cov_pct == 0.0 and not stats.unstable
    assert stats.throughput_qps == pytest.approx(250.0)


def test_loop_warms_up_by_time_then_times_a_duration():
    clock = SteppingClock(0.002)
    result = run_loop(clock.step, PerfCounterTimer(clock), LoopConfig(warmup_s=0.01, duration_s=0.1), clock=clock)
    assert result.warmup_iterations == 5
    assert len(result.latencies_ms) == 50
    assert all(ms == pytest.approx(2.0) for ms in result.latencies_ms)
    assert result.wall_s == pytest.approx(0.1)


def test_loop_iterations_override_duration_and_warmup_runs_at_least_once():
    clock = SteppingClock(0.5)
    result = run_loop(clock.step, PerfCounterTimer(clock), LoopConfig(warmup_s=0.0, duration_s=100.0, iterations=7),
                      clock=clock)
    assert result.warmup_iterations == 1
    assert len(result.latencies_ms) == 7
    assert summarize(result.latencies_ms, result.wall_s).throughput_qps == pytest.approx(2.0)
