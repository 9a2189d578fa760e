"""Independent pieces of one stage's work (the INT8 per-node sensitivity ranking), spread where the build runs: in
this process by default, or over a Ray cluster's CPUs when the farm runs the build there (trtbuild.farm installs
the spreader around each cell). The pieces are the same either way, so the results are too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Spreader(Protocol):
    workers: int

    def map(self, fn: Callable, args: list[tuple]) -> list: ...


_spreader: Spreader | None = None


def workers() -> int:
    return _spreader.workers if _spreader else 1


def spread(fn: Callable, args: list[tuple]) -> list:
    """[fn(*a) for a in args], in order; with a spreader, each call a task of its own."""
    return _spreader.map(fn, args) if _spreader else [fn(*a) for a in args]


@contextmanager
def spreading(spreader: Spreader) -> Iterator[None]:
    global _spreader
    previous, _spreader = _spreader, spreader
    try:
        yield
    finally:
        _spreader = previous
