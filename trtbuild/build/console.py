"""Terminal views: live per-stage progress and the summary table (always on stderr; stdout is for --json)."""

from __future__ import annotations

import os

from rich.console import Console, Group
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table
from rich.text import Text

from trtbuild.build.report import BuildReport, StageRecord

STATUS_STYLE = {"ran": "green", "cached": "cyan", "skipped": "dim", "failed": "bold red", "unavailable": "yellow",
                "interrupted": "magenta"}


def stderr_console() -> Console:
    """A console on a duplicate of fd 2, so it still reaches the terminal while a stage's output goes to its log."""
    return Console(file=os.fdopen(os.dup(2), "w", buffering=1), stderr=True)


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
                      Text(headline(stage)), Text(artifact))
    return table


def headline(stage: StageRecord) -> str:
    """The one number a reader looks for first in each stage."""
    m = stage.metrics
    if stage.error:
        return stage.error[:80]
    if stage.name == "export":
        return f"opset {m.get('opset')}, {m.get('nodes')} nodes"
    if stage.name == "simplify":
        return f"{m.get('tool')}: {m.get('nodes_before')} -> {m.get('nodes_after')} nodes"
    if stage.name == "check":
        worst = max((o["max_abs"] for o in m.get("outputs", {}).values()), default=0.0)
        return f"ORT vs torch max|err| {worst:.2e} on {m.get('samples')} samples"
    if m.get("not_measured"):
        return f"{m.get('candidate_runner') or m.get('mode')}: accuracy not measured (no --data)"
    if stage.name == "precision" and "accuracy_vs_pytorch_fp32" in m:
        return f"{m['mode']}: {accuracy_headline(m['accuracy_vs_pytorch_fp32'])}"
    if stage.name == "engine" and "library" in m:
        return (f"{m['backend']} ({m['library']} {m['library_version']}) in {m['build_seconds']:.1f} s, "
                f"{m['engine_bytes'] / 1e6:.1f} MB, runs on sm {', '.join(m['runs_on']) or '?'}")
    if stage.name == "verify":
        gates = ", ".join(f"{g['metric']}={g['value']:.3g}" for g in m.get("gates", []))
        skipped = " (the engine cannot run here; see engine_not_judged)" if m.get("engine_not_judged") else ""
        return f"{m.get('candidate_runner')}: {gates}{skipped}"
    if stage.name == "bench":
        return ", ".join(f"{t['runner']} {t['stats']['median_ms']:.2f} ms" for t in m.get("runners", []))
    return ", ".join(f"{k}={v}" for k, v in m.items() if isinstance(v, (int, float, str)))[:80]


def accuracy_headline(accuracy: dict) -> str:
    """The precision stage's numbers, as the task words them (real-label mAP where there are labels, ...)."""
    from trtbuild.tasks.registry import task_class

    if "task" not in accuracy:  # a report from before tasks named themselves
        return f"finite {accuracy.get('finite')}"
    return task_class(accuracy["task"]).headline(accuracy)
