"""Timers for one benchmark step: CUDA events when the runner is on a GPU, perf_counter on the CPU.

A step (Runner.timed_step) returns only when its device work is done, so both timers bracket the whole step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    name: str

    def measure(self, step: Callable[[], None]) -> float:
        """Run `step` once and return its duration in milliseconds."""


class PerfCounterTimer:
    name = "perf_counter"

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock  # injectable so the statistics can be tested on a synthetic clock

    def measure(self, step: Callable[[], None]) -> float:
        start = self.clock()
        step()
        return (self.clock() - start) * 1000


class CudaEventTimer:
    name = "cuda_events"

    def __init__(self):
        import torch

        self._start = torch.cuda.Event(enable_timing=True)
        self._end = torch.cuda.Event(enable_timing=True)

    def measure(self, step: Callable[[], None]) -> float:
        self._start.record()
        step()
        self._end.record()
        self._end.synchronize()
        return self._start.elapsed_time(self._end)


def timer_for(on_gpu: bool) -> Timer:
    return CudaEventTimer() if on_gpu else PerfCounterTimer()
