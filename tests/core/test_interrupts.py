"""Ctrl-C at the moment a build's export stage starts, when the stage is importing onnx and torch, repeated often
enough to catch a rare failure: two Ctrl-C 50 ms apart must end every build with exit 130 and the one line, never a
crash (SIGSEGV), a lost interrupt (exit 0) or a traceback.

59 repetitions catch a failure that happens 5 % of the time with 95 % probability (1 - 0.95 ** 59 = 0.952); two builds
run at a time, each with its own cache, so the test costs about a minute: a `long` test (make test-long, CI), to keep
make test under 10 minutes.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reliability.builds import command, launch, stderr_lines, tiny_recipe, wait_for_stage, workdirs

pytestmark = [pytest.mark.reliability, pytest.mark.long]
REPEATS = 59
STOPPED = "interrupted during export; nothing of that stage was kept"


def _double_ctrl_c_at_export_start(recipe: Path, cache: Path, out: Path) -> tuple[int, list[str]]:
    proc = launch(command(recipe, cache, out, "--until", "export", "--force"), recipe.parent)
    wait_for_stage(proc, cache, "export")
    for _ in range(2):
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:  # it already finished with the first one
            break
        time.sleep(0.05)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, stderr_lines(err) if "Traceback" not in err else [err]


def test_double_ctrl_c_at_the_start_of_export_always_ends_in_one_line(tmp_path):
    recipe = tiny_recipe(tmp_path)
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda i: _double_ctrl_c_at_export_start(
            recipe, tmp_path / f"cache{i % 2}", tmp_path / f"out{i}"), range(REPEATS)))
    failures = [outcome for outcome in outcomes if outcome != (130, [STOPPED])]
    assert not failures, f"{len(failures)} of {REPEATS}: {failures[:3]}"
    assert workdirs(tmp_path / "cache0") == workdirs(tmp_path / "cache1") == []
