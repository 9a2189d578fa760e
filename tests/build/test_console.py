"""The terminal views: user and exception text printed literally (brackets are text, not rich markup), and live
progress bars on a terminal only."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess

from rich.console import Console
from rich.text import Text

from conftest import COCO8
from reliability.builds import command, tiny_recipe
from trtbuild.build.console import LiveProgress, summary_table
from trtbuild.build.report import BuildReport, StageRecord

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


def _precision_steps(view: LiveProgress) -> None:
    view.stage_started("precision", cached=False)
    view.stage_progress("precision", "calibration images", 4, 16)
    view.stage_progress("precision", "search trials", 1, 8, "0 FP32 nodes: [x] 1.2: fail")
    view.close()


def test_stage_progress_is_a_bar_per_task_on_a_terminal():
    lines = terminal_text(lambda c: _precision_steps(LiveProgress(c))).splitlines()
    assert any("precision running..." in line for line in lines)
    assert any("calibration images" in line and "4/16" in line for line in lines)
    assert any("search trials" in line and "1/8" in line and "0 FP32 nodes: [x] 1.2: fail" in line for line in lines)


def test_stage_progress_leaves_nothing_in_a_file():
    """Bars are terminal-only (transient): redirected stderr and logs stay free of their frames."""
    console = Console(file=io.StringIO(), width=400)
    _precision_steps(LiveProgress(console))
    assert console.file.getvalue() == ""


def test_a_real_int8_build_shows_its_steps_live_on_the_terminal_only(tmp_path):
    """stderr on a pseudo-terminal: live bars for calibration, the ranking and each search trial; stdout (--json)
    holds the report alone; the stage log has the same steps as plain lines."""
    recipe, out = tiny_recipe(tmp_path), tmp_path / "out"
    sets = ["precision.int8.auto_keep_fp32=true", "precision.int8.max_evaluations=2",
            "precision.int8.target=[{metric: finite, max: 0}]"]  # never met: both trials run
    args = command(recipe, tmp_path / "cache", out, "--until", "precision", "--int8", "--json", "--data", str(COCO8),
                   *(arg for s in sets for arg in ("--set", s)))
    controller, terminal = pty.openpty()
    with (tmp_path / "stdout").open("w") as stdout:
        proc = subprocess.Popen(args, stdout=stdout, stderr=terminal, cwd=tmp_path,
                                env={**os.environ, "TERM": "xterm", "COLUMNS": "200"})
    os.close(terminal)
    raw = b""
    while chunk := _read(controller):
        raw += chunk
    assert proc.wait(timeout=60) == 0, raw.decode(errors="replace")
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode())
    assert json.loads((tmp_path / "stdout").read_text())["status"] == "ok"
    log = (out / "tiny" / "logs" / "precision.log").read_text().splitlines()
    done = r"(\d+)/\1"  # a finished bar: N of N (the ranking's passes and node count are the ranking's business)
    ranked = [line for line in log if line.startswith("ranking nodes")]
    assert "calibration images 4/4" in log and ranked and re.fullmatch(f"ranking nodes.* {done}", ranked[-1])
    assert [line for line in log if line.startswith("search trials ")] == [
        "search trials 1/2  0 FP32 nodes: finite 1: fail", "search trials 2/2  1 FP32 nodes: finite 1: fail"]
    assert "precision running..." in screen, screen
    for step in ("calibration images", "ranking nodes", "search trials"):
        assert re.search(f"{step}.* {done} ", screen), (step, screen)
    assert "1 FP32 nodes: finite 1: fail" in screen


def _read(fd: int) -> bytes:
    """The next bytes from a pseudo-terminal; b"" once every process holding its other end has exited."""
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the terminal side is closed
        return b""
