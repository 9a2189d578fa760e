"""Independent pieces of one stage's work (the INT8 per-node sensitivity ranking), spread where the build runs: the
build's Spreader travels with it (BuildOptions.spreader -> StageContext.spreader -> the pass that has pieces). By
default every piece runs in this process; the farm hands its cells a Spreader over a Ray cluster's CPUs. The pieces
are the same either way, so the results are too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Spreader(Protocol):
    workers: int  # how many pieces run at once

    def map(self, fn: Callable, args: list[tuple]) -> list:
        """[fn(*a) for a in args], in order."""


class InProcess:
    """Every piece here, one after another."""

    workers = 1

    def map(self, fn: Callable, args: list[tuple]) -> list:
        return [fn(*a) for a in args]


IN_PROCESS = InProcess()
