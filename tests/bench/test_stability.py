"""Memory slope and leak verdicts on series with known slopes, plus one real sample of this process."""

from __future__ import annotations

import pytest

from trtbuild.bench.stability import MemorySample, MemorySampler, leak_report, sample_interval, slope_per_minute


def _series(minutes: float, rss_per_min: float, gpu_per_min: float | None = None) -> list[MemorySample]:
    return [MemorySample(t, 500 + rss_per_min * t / 60, None if gpu_per_min is None else 900 + gpu_per_min * t / 60)
            for t in range(0, int(minutes * 60) + 1, 5)]


def test_slope_of_a_linear_series():
    assert slope_per_minute([0, 60, 120], [10, 12, 14]) == pytest.approx(2.0)
    assert slope_per_minute([5], [1]) == 0.0


def test_growing_rss_over_ten_minutes_is_a_suspected_leak():
    report = leak_report(_series(10, rss_per_min=3.0), threshold_mib_per_min=1.0)
    assert report["verdict"] == "leak suspected"
    assert report["rss_slope_mib_per_min"] == pytest.approx(3.0)
    assert report["rss_end_mib"] - report["rss_start_mib"] == pytest.approx(30.0)


def test_flat_memory_is_stable_and_gpu_growth_counts_too():
    assert leak_report(_series(10, 0.0, 0.0), 1.0)["verdict"] == "stable"
    report = leak_report(_series(10, 0.0, 5.0), 1.0)
    assert report["verdict"] == "leak suspected" and report["gpu_slope_mib_per_min"] == pytest.approx(5.0)


def test_short_runs_give_a_slope_but_no_verdict():
    assert leak_report(_series(0.5, 10.0), 1.0)["verdict"] == "too short"


def test_sampler_respects_its_interval_and_reads_real_rss():
    sampler = MemorySampler(interval_s=1.0)
    for t in (0.0, 0.4, 1.0, 1.5, 2.1):
        sampler.maybe_sample(t)
    assert [s.t_s for s in sampler.samples] == [0.0, 1.0, 2.1]
    assert sampler.samples[0].rss_mib > 10 and sampler.samples[0].gpu_used_mib is None
    assert sample_interval(600) == 5.0 and sample_interval(10) == 0.25


def test_the_benchmarks_own_latency_buffer_is_not_counted():
    sampler = MemorySampler(interval_s=1.0)
    sampler.maybe_sample(0.0)
    sampler.maybe_sample(1.0, own_bytes=64 << 20)  # as if the loop now held 64 MiB of latencies
    drop = sampler.samples[0].rss_mib - sampler.samples[1].rss_mib
    assert drop == pytest.approx(64, abs=2)
