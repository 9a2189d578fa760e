"""Real `trtbuild` processes for the reliability tests: a small recipe, launching, finding a stage, leftovers.

The recipe builds torchvision's resnet18 at 64x64 through the `python` adapter: every CPU stage takes about a second
(so a signal sent when a stage starts lands inside it) and a whole build stays within seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

TRTBUILD = Path(sys.executable).parent / "trtbuild"  # the installed console script, as users run it
CPU_STAGES = ("export", "simplify", "check", "precision")
T = TypeVar("T")


def tiny_recipe(folder: Path, name: str = "tiny", size: int = 64) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "task": "other",
        "model": {"adapter": "python",
                  "options": {"target": "torchvision.models:resnet18", "kwargs": {"num_classes": 10}}},
        "inputs": [{"name": "image", "shape": [1, 3, size, size]}],
        "export": {"output_names": ["logits"]},
        "check": {"max_images": 2, "default": {"max_abs": 0.01, "rel_l2": 0.001}},
        "precision": {"mode": "fp16"},
    }))
    return path


def command(recipe: Path, cache: Path, out: Path, *extra: str) -> list[str]:
    return [str(TRTBUILD), "build", str(recipe), "--cache-dir", str(cache), "--out", str(out), *extra]


def launch(args: list[str], cwd: Path) -> subprocess.Popen:
    """In its own session, so a signal can go to the whole process group as a terminal's Ctrl-C does."""
    return subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def run(args: list[str], cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def wait_for(found: Callable[[], T | None], proc: subprocess.Popen, what: str, timeout: float = 180) -> T:
    """What `found()` returns once it returns something: a moment of `proc`'s build observed from outside (a file it
    wrote, CPU time it used), so tests act at that moment and not after a guessed delay."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        if proc.poll() is not None:
            raise AssertionError(f"build ended (exit {proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.001)
    raise AssertionError(f"not within {timeout} s: {what}")


def wait_for_stage(proc: subprocess.Popen, cache: Path, stage: str) -> Path:
    """The work directory of `proc` once `stage` has started in it (its log's first line names the stage)."""
    def started() -> Path | None:
        for log in (cache / "tmp").glob(f"{proc.pid}-*/stage.log"):
            try:
                if f" stage {stage} " in log.read_text():
                    return log.parent
            except FileNotFoundError:  # the stage finished meanwhile
                continue
        return None

    return wait_for(started, proc, f"{stage} started")


def signal_delivered(pid: int, signum: int) -> bool:
    """Whether no `signum` is pending for `pid` any more (the kernel has handed it to the process)."""
    status = Path(f"/proc/{pid}/status").read_text()
    pending = [int(line.split()[1], 16) for line in status.splitlines() if line.startswith(("SigPnd:", "ShdPnd:"))]
    return not any(mask & (1 << (signum - 1)) for mask in pending)


def dead_pid() -> int:
    """A pid that no process has now (one that just exited)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def temp_files(out: Path) -> list[Path]:
    """Temp files beside published artifacts (`.name.tmpPID`) anywhere under the output root."""
    return sorted(p for p in out.rglob(".*.tmp*") if p.is_file())


def workdirs(cache: Path) -> list[Path]:
    return sorted((cache / "tmp").iterdir()) if (cache / "tmp").is_dir() else []


def report(out: Path, name: str = "tiny") -> dict:
    return json.loads((out / name / "report.json").read_text())


def stderr_lines(text: str) -> list[str]:
    """What a user reads on stderr, without the progress lines and the summary table's frame."""
    frame = ("┏", "┃", "┡", "│", "└", "trtbuild ")
    return [line for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith(frame) and not _progress_line(line)]


def _progress_line(line: str) -> bool:
    words = line.split()
    return len(words) >= 3 and words[0] in ("ran", "cached", "failed", "unavailable", "skipped") and words[-1] == "s"


def assert_published_whole(out: Path, name: str = "tiny") -> None:
    """Every artifact the report lists exists with the recorded digest (published files are never partial)."""
    from trtbuild.core.digest import file_digest

    for stage in report(out, name)["stages"]:
        for artifact in stage["artifacts"]:
            path = Path(artifact["path"])
            assert path.is_file() and file_digest(path) == artifact["sha256"], f"{stage['name']}: {path}"



def invoke_cli(args: list[str], capfd) -> tuple[int, list[str]]:
    """The CLI in this process (typer's runner): exit code and stderr lines. Errors are printed on fd 2 (the CLI's
    console duplicates it so messages reach the terminal during a stage), hence pytest's capfd; a raw exception is
    not caught, so it fails the test with its traceback."""
    from typer.testing import CliRunner

    from trtbuild.cli import app

    capfd.readouterr()
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    err = capfd.readouterr().err + result.stderr
    return result.exit_code, stderr_lines(err)
