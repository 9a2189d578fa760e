"""What every precision pass (trtbuild.precision.*_pass) takes and gives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from trtbuild.core.parallel import Spreader


class Job(Protocol):
    """Where a pass works, spreads its pieces and tells of its progress (trtbuild.build.stages.base.StageContext is one)."""

    workdir: Path
    spreader: Spreader  # where the pass's independent pieces run (the build's: this process, or a farm's cluster)

    def log(self, message: str) -> None: ...

    def progress(self, task: str, done: int, total: int, note: str = "") -> None: ...


@dataclass
class Converted:
    """What a pass reports: its metrics (in report order), the nodes it kept FP32 (node -> why), its warnings."""

    metrics: dict = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
