"""Ctrl-C and kill -9 inside every CPU stage of real `trtbuild build` processes, then a rebuild that must be right.

One cache is shared along the chain, so each build gets one stage further than the last: every stage is stopped
once by SIGINT (to the process group, as a terminal sends it; twice in a row for half of them; SIGTERM to the
process instead in one stage, as a cancelled CI job sends it) and once by SIGKILL.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import trtbuild
from conftest import REPO, YOLO_WEIGHTS
from reliability.builds import (CPU_STAGES, TRTBUILD, assert_published_whole, command, launch, report, run,
                                stderr_lines, temp_files, tiny_recipe, wait_for_stage, workdirs)

pytestmark = pytest.mark.reliability
PACKAGE = Path(trtbuild.__file__).parent


def _interrupt(proc, cache, stage: str, twice: bool, terminate: bool = False) -> None:
    """Ctrl-C to the process group, as a terminal sends it; or (terminate) SIGTERM to the process, as `kill`, a
    cancelled CI job or `docker stop` send it."""
    workdir = wait_for_stage(proc, cache, stage)

    def send():
        if terminate:
            os.kill(proc.pid, signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)

    send()
    if twice:  # an impatient user: the second signal must not turn the clean exit into a traceback
        time.sleep(0.05)
        send()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert stderr_lines(err) == [f"interrupted during {stage}; nothing of that stage was kept"], err
    assert not workdir.exists(), "the interrupted stage's work directory is removed on the way out"


def _kill(proc, cache, stage: str):
    workdir = wait_for_stage(proc, cache, stage)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert workdir.exists(), "a killed build cannot clean up: its work directory is left for the next build"
    return workdir


def test_sigint_sigterm_and_kill_in_every_cpu_stage_then_rebuild(tmp_path):
    recipe, cache, out = tiny_recipe(tmp_path), tmp_path / "cache", tmp_path / "out"
    args = command(recipe, cache, out, "--until", "precision")
    killed_workdirs = []
    for index, stage in enumerate(CPU_STAGES):
        _interrupt(launch(args, tmp_path), cache, stage, twice=index % 2 == 0, terminate=index == 1)
        stopped = report(out)
        assert (stopped["status"], stopped["exit_code"]) == ("interrupted", 130)
        assert stopped["stages"][-1] == {**stopped["stages"][-1], "name": stage, "status": "interrupted"}
        assert workdirs(cache) == [] and temp_files(out) == [], "nothing half-written is left"

        proc = launch(args, tmp_path)
        killed_workdirs.append(_kill(proc, cache, stage))
        assert report(out)["status"] == "running", "a killed build cannot say more than where it got to"
    final = run(args, tmp_path)
    assert final.returncode == 0, final.stderr
    assert [s["status"] for s in report(out)["stages"]] == ["cached", "cached", "cached", "ran"]
    assert not any(w.exists() for w in killed_workdirs), "the next build removed the killed builds' work dirs"
    assert workdirs(cache) == [] and temp_files(out) == []
    assert_published_whole(out)


def test_sigint_at_any_moment_of_a_cached_build_is_one_line(tmp_path):
    """Ctrl-C while the CLI and the recipe load, while cached stages are looked up and published, and while the report
    is written: one line every time (or a normal exit 0 if the build had already finished). Only a Ctrl-C inside the
    Python interpreter's own start-up, before trtbuild's first line runs, gets Python's own message."""
    recipe, cache, out = tiny_recipe(tmp_path), tmp_path / "cache", tmp_path / "out"
    args = command(recipe, cache, out, "--until", "export")
    assert run(args, tmp_path).returncode == 0
    start = time.monotonic()
    assert run(args, tmp_path).returncode == 0
    cached_s = time.monotonic() - start  # the moments are spread over a cached build's own length on this host
    outcomes = []
    for delay in (cached_s * f for f in (0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.9)):
        proc = launch(args, tmp_path)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0 and _in_interpreter_start_up(err):
            outcomes.append("interpreter start-up")
            continue
        assert "Traceback" not in err, (delay, err)
        if proc.returncode == 0:
            outcomes.append("finished")
            continue
        lines = stderr_lines(err)
        assert proc.returncode == 130 and len(lines) == 1 and lines[0].startswith("interrupted"), (delay, err)
        assert workdirs(cache) == [] and temp_files(out) == []
        outcomes.append("interrupted")
    assert outcomes.count("interrupted") >= 3, outcomes


def _in_interpreter_start_up(err: str) -> bool:
    """A KeyboardInterrupt whose traceback has no frame in trtbuild's package (only Python's import machinery)."""
    return err.rstrip().endswith("KeyboardInterrupt") and str(PACKAGE) not in err


def test_real_yolo12n_killed_in_export_then_rebuilt(tmp_path):
    """The real model and checkpoint: kill -9 while the exporter runs, then the same command again."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = [str(TRTBUILD), "build", "yolo12n", "--weights", str(YOLO_WEIGHTS), "--until", "export",
            "--cache-dir", str(cache), "--out", str(out)]
    proc = launch(args, REPO)
    workdir = _kill(proc, cache, "export")
    rebuilt = run(args, REPO)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert [(s["name"], s["status"]) for s in report(out, "yolo12n")["stages"]] == [("export", "ran")]
    assert not workdir.exists() and workdirs(cache) == [] and temp_files(out) == []
    assert_published_whole(out, "yolo12n")
