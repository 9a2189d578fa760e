"""Ctrl-C and kill -9 inside every CPU stage of real `trtbuild build` processes, then a rebuild that must be right.

One cache is shared along the chain, so each build gets one stage further than the last: every stage is stopped
once by SIGINT (to the process group, as a terminal sends it; twice in a row for half of them; SIGTERM to the
process instead in one stage, as a cancelled CI job sends it) and once by SIGKILL.
"""

from __future__ import annotations

import os
import resource
import signal
from pathlib import Path

import psutil
import pytest

import trtbuild
from conftest import REPO, YOLO_WEIGHTS
from reliability.builds import (CPU_STAGES, TRTBUILD, assert_published_whole, command, launch, report, run,
                                signal_delivered, stderr_lines, temp_files, tiny_recipe, wait_for, wait_for_stage,
                                workdirs)

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
        signum = signal.SIGTERM if terminate else signal.SIGINT
        wait_for(lambda: signal_delivered(proc.pid, signum), proc, "the first signal delivered")  # not merged
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
    """Ctrl-C while the CLI and the recipe load, once the pipeline has begun, once the cached stage is published and
    once the report is written: one line every time (or a normal exit 0 if the build had already finished). Only a
    Ctrl-C inside the Python interpreter's own start-up, before trtbuild's first line runs, gets Python's own message.
    Each moment is observed in the process (CPU time it has used, files it has written), not guessed from the wall
    clock, which a loaded machine stretches."""
    recipe, cache = tiny_recipe(tmp_path), tmp_path / "cache"
    assert run(command(recipe, cache, tmp_path / "first", "--until", "export"), tmp_path).returncode == 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert run(command(recipe, cache, tmp_path / "cached", "--until", "export"), tmp_path).returncode == 0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cached_cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    moments = [*(_cpu_used(cached_cpu_s * share) for share in (0.2, 0.4, 0.6, 0.8)),
               *(_written(name) for name in ("logs", "report.json", "logs/export.log", "report.md"))]
    outcomes = []
    for index, (moment, reached) in enumerate(moments):
        out = tmp_path / f"out{index}"  # its own, so each file moment is this build's
        proc = launch(command(recipe, cache, out, "--until", "export"), tmp_path)
        wait_for(lambda: reached(proc, out / "tiny") or proc.poll() is not None, proc, moment)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0 and _in_interpreter_start_up(err):
            outcomes.append("interpreter start-up")
            continue
        assert "Traceback" not in err, (moment, err)
        if proc.returncode == 0:
            outcomes.append("finished")
            continue
        lines = stderr_lines(err)
        assert proc.returncode == 130 and len(lines) == 1 and lines[0].startswith("interrupted"), (moment, err)
        assert workdirs(cache) == [] and temp_files(out) == []
        outcomes.append("interrupted")
    assert outcomes.count("interrupted") >= 3, outcomes


def _cpu_used(seconds: float):
    def reached(proc, out: Path) -> bool:
        try:
            times = psutil.Process(proc.pid).cpu_times()
        except psutil.NoSuchProcess:
            return False
        return times.user + times.system >= seconds

    return f"{seconds:.2f} s of CPU used", reached


def _written(name: str):
    return f"{name} written", lambda proc, out: (out / name).exists()


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
