"""The terminal views print user and exception text literally: brackets are text, not rich markup."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from trtbuild.console import LiveProgress, summary_table
from trtbuild.report import BuildReport, StageRecord

HINT = "engine: no TensorRT here; pip install 'trtbuild[tensorrt]' or [bold]x[/bold]"


def terminal_text(draw) -> str:
    """What a colour terminal shows: render with styles (ANSI codes), then read back the visible characters."""
    console = Console(file=io.StringIO(), width=400, force_terminal=True, color_system="standard")
    draw(console)
    raw = console.file.getvalue()
    assert "\x1b[" in raw  # styled output, as on a terminal
    return Text.from_ansi(raw).plain


def failed_stage() -> StageRecord:
    return StageRecord(name="engine", status="unavailable", error=HINT, warnings=["calib[0] is [red]small[/red]"])


def test_progress_line_keeps_brackets():
    out = terminal_text(lambda c: LiveProgress(c).stage_finished(failed_stage()))
    assert HINT in out
    assert "warning: calib[0] is [red]small[/red]" in out


def test_summary_table_keeps_brackets():
    report = BuildReport(trtbuild="0", recipe="my[model]", recipe_path="r.yaml", recipe_digest="d",
                         random_weights=False, started=0.0, host={}, tools={}, status="unavailable",
                         stages=[failed_stage()])
    out = terminal_text(lambda c: c.print(summary_table(report)))
    assert "trtbuild my[model]" in out
    assert HINT in out
