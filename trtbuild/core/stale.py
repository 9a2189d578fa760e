"""Leftovers of killed builds: work directories and temp files named after the process that made them.

A leftover is stale once no live process owns it. Owner = the pid in its name, and only if that process started
before the leftover was last written: a pid reused by a later process does not keep a dead build's files alive.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path


# /proc start times are relative to a boot time rounded to whole seconds: give the owner that much benefit of doubt.
_START_TIME_SLACK_S = 2.0
# `.<name>.tmp<pid>` beside a published file (pipeline and report writes)
_TEMP_FILE = re.compile(r"^\..+\.tmp(\d+)$")


def temp_name(target: Path) -> Path:
    """Where to write `target` before the atomic rename; the pid marks who owns it."""
    return target.with_name(f".{target.name}.tmp{os.getpid()}")


def write_atomically(target: Path, data: bytes) -> None:
    """Replace `target` in one rename, so a concurrent reader never sees half a file; no temp file is left behind."""
    tmp = temp_name(target)
    try:
        tmp.write_bytes(data)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def owner_alive(pid: int, path: Path) -> bool:
    import psutil  # only for a leftover temp file: every start would pay its import (~15 ms) otherwise

    try:
        started = psutil.Process(pid).create_time()
        written = path.lstat().st_mtime
    except (psutil.NoSuchProcess, psutil.AccessDenied, FileNotFoundError, ValueError):
        return False
    return started <= written + _START_TIME_SLACK_S


def stale_temp_files(folder: Path) -> list[Path]:
    """Temp files of dead processes directly inside `folder`."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _TEMP_FILE.match(path.name)
        if match and not owner_alive(int(match.group(1)), path):
            found.append(path)
    return found


def size_of(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        return path.lstat().st_size
    except OSError:
        return 0


def remove(paths: list[Path]) -> int:
    """Delete files or folders; returns the bytes freed (what could not be removed is left and not counted)."""
    freed = 0
    for path in paths:
        size = size_of(path)
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:  # removed meanwhile by another build's sweep, or not ours to remove
            continue
        freed += size
    return freed
