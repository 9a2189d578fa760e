"""The measurement loop: warm up for a time, then time steps for a number of iterations or a duration."""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from trtbuild.bench.stability import MemorySampler
from trtbuild.bench.timer import Timer


@dataclass(frozen=True)
class LoopConfig:
    warmup_s: float
    duration_s: float
    iterations: int | None = None  # when set, exactly this many timed steps (duration ignored)


@dataclass
class LoopResult:
    latencies_ms: list[float]
    wall_s: float
    warmup_iterations: int


def run_loop(step: Callable[[], None], timer: Timer, config: LoopConfig, sampler: MemorySampler | None = None,
             clock: Callable[[], float] = time.perf_counter) -> LoopResult:
    warmup_iterations = 0
    start = clock()
    while warmup_iterations == 0 or clock() - start < config.warmup_s:
        step()
        warmup_iterations += 1
    latencies = array("d")  # 8 bytes a sample, and its size is known to the memory sampler
    start = clock()
    while not _done(len(latencies), clock() - start, config):
        latencies.append(timer.measure(step))
        if sampler:  # between steps, outside the timed region
            sampler.maybe_sample(clock() - start, own_bytes=latencies.itemsize * len(latencies))
    return LoopResult(latencies.tolist(), clock() - start, warmup_iterations)


def _done(count: int, elapsed_s: float, config: LoopConfig) -> bool:
    if config.iterations is not None:
        return count >= config.iterations
    return count > 0 and elapsed_s >= config.duration_s
