"""Builder progress as log lines: what an `IProgressMonitor` hears, thinned to phase starts, ends and every 10 %."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ProgressLines:
    """Thread-safe: TensorRT may report from several internal threads."""

    def __init__(self, emit: Callable[[str], None], every_pct: int = 10):
        self._emit, self._every = emit, every_pct
        self._lock = threading.Lock()
        self._phases: dict[str, tuple[int, int, float]] = {}  # name -> (steps, depth, started)

    def phase_start(self, name: str, parent: str | None, steps: int) -> None:
        with self._lock:
            depth = self._phases[parent][1] + 1 if parent in self._phases else 0
            self._phases[name] = (max(steps, 1), depth, time.perf_counter())
            self._emit(f"[build] {'  ' * depth}{name}: started ({steps} steps)")

    def step_complete(self, name: str, step: int) -> bool:
        with self._lock:
            steps, depth, _ = self._phases.get(name, (1, 0, 0.0))
            done, before = (step + 1) * 100 // steps, step * 100 // steps
            if steps > 1 and done // self._every != before // self._every:
                self._emit(f"[build] {'  ' * depth}{name}: {done}%")
        return True  # False would cancel the build

    def phase_finish(self, name: str) -> None:
        with self._lock:
            _, depth, started = self._phases.pop(name, (1, 0, time.perf_counter()))
            self._emit(f"[build] {'  ' * depth}{name}: done in {time.perf_counter() - started:.1f}s")
