"""Leftovers of killed builds: owned while the pid in the name lives and started before the file was written."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil

from trtbuild.core import stale


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_owner_is_the_live_process_named_in_the_file(tmp_path):
    mine = stale.temp_name(tmp_path / "model.onnx")
    mine.write_text("x")
    assert mine.name == f".model.onnx.tmp{os.getpid()}"
    assert stale.owner_alive(os.getpid(), mine)
    assert not stale.owner_alive(_dead_pid(), mine)


def test_a_reused_pid_does_not_own_older_files(tmp_path):
    """A file last written before this process started cannot be this process's, whatever its name says. Aged from
    this process's own start (a fixed age would pass for a young process only)."""
    old = tmp_path / f".model.onnx.tmp{os.getpid()}"
    old.write_text("x")
    before_start = psutil.Process().create_time() - stale._START_TIME_SLACK_S - 60
    os.utime(old, (before_start, before_start))
    assert not stale.owner_alive(os.getpid(), old)


def test_stale_temp_files_and_remove(tmp_path):
    live = stale.temp_name(tmp_path / "a.onnx")
    dead = tmp_path / f".b.onnx.tmp{_dead_pid()}"
    published = tmp_path / "b.onnx"
    for path in (live, dead, published):
        path.write_bytes(b"12345")
    assert stale.stale_temp_files(tmp_path) == [dead]
    assert stale.remove([dead]) == 5
    assert live.exists() and published.exists() and not dead.exists()
