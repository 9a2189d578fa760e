"""Terminal views: live per-stage progress and the summary table (always on stderr; stdout is for --json)."""

from __future__ import annotations

import os

from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from trtbuild.build.report import BuildReport, StageRecord

if TYPE_CHECKING:  # annotations only
    from rich.progress import Progress  # drawn only while a stage runs and reports steps: never in a cached build

    from trtbuild.build.stages.verify import VerifyMetrics

STATUS_STYLE = {"ran": "green", "cached": "cyan", "skipped": "dim", "failed": "bold red", "unavailable": "yellow",
                "interrupted": "magenta"}


def stderr_console() -> Console:
    """A console on a duplicate of fd 2, so it still reaches the terminal while a stage's output goes to its log.
    No emoji codes: nothing here writes them, and a path or message that holds `:name:` (`/data:100:`) stays as
    written; rich would otherwise import its 3 600-entry emoji table for the first plain string drawn (~4 ms)."""
    return Console(file=os.fdopen(os.dup(2), "w", buffering=1), stderr=True, emoji=False)


class LiveProgress:
    def __init__(self, console: Console):
        self.console = console
        self._status = None
        self._bars: Progress | None = None  # the running stage's steps, once it reports some
        self._tasks: dict[str, int] = {}
        self.started = False  # whether any stage began (an interrupt before that is a start-up one)

    def stage_started(self, name: str, cached: bool) -> None:
        self._stop()
        self.started = True
        if not cached:
            self._status = self.console.status(f"[bold]{name}[/] running...")
            self._status.start()

    def stage_progress(self, stage: str, task: str, done: int, total: int, note: str = "") -> None:
        """A bar per task under the running stage's spinner, with elapsed time and rich's estimate of what is left.
        Drawn inside the spinner's live display: starting another one mid-stage would swap sys.stdout under the
        stage's output capture (trtbuild.core.capture)."""
        if self._status is None:  # a cached stage
            return
        if self._bars is None:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                                  TextColumn("{task.fields[note]}", markup=False), console=self.console)
            self._status.update(Group(Text.from_markup(f"[bold]{stage}[/] running..."), self._bars))
        if task not in self._tasks:
            self._tasks[task] = self._bars.add_task(task, total=total, note="")
        self._bars.update(self._tasks[task], completed=done, total=total, note=note)

    def stage_finished(self, record: StageRecord) -> None:
        self._stop()
        style = STATUS_STYLE[record.status]
        # Text, not markup: an error or warning may hold brackets (`pip install 'trtbuild[tensorrt]'`)
        line = Text.assemble((f"{record.status:>11}", style), f" {record.name:<10} {record.seconds:8.2f} s")
        if record.error:
            line.append(f"  {record.error}", "dim")
        self.console.print(line)
        for warning in record.warnings:
            self.console.print(Text.assemble(f"{'':>11} ", ("warning:", "yellow"), f" {warning}"))

    def close(self) -> None:
        """Stop the spinner (an interrupted stage gets no line of its own: the interrupt message is the one)."""
        self._stop()

    def _stop(self) -> None:
        if self._status:
            self._status.stop()
            self._status = None
        self._bars, self._tasks = None, {}


def summary_table(report: BuildReport) -> Table:
    table = Table(title=Text(f"trtbuild {report.recipe} — {report.status}"), title_justify="left")
    for column in ("stage", "status", "seconds", "result", "artifact"):
        table.add_column(column)
    for stage in report.stages:
        artifact = stage.artifacts[0].path if stage.artifacts else ""
        table.add_row(stage.name, Text(stage.status, STATUS_STYLE[stage.status]), f"{stage.seconds:.2f}",
                      Text(stage.headline()), Text(artifact))
    return table


GATE_STYLE = {"pass": "green", "fail": "bold red", "cannot tell": "bold yellow", "not measured": "yellow"}


def gate_lines(verify: VerifyMetrics | None) -> list[Text]:
    """verify's gates, one line each: the value with its 95 % interval, the gate, the outcome (cannot tell: how many
    more images would settle it)."""
    if verify is None:
        return []
    return [Text(f"gate {gate.describe()}", GATE_STYLE[gate.status]) for gate in verify.gates]
