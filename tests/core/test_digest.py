"""file_digest: large files keep their digest across processes, keyed by what any write changes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from trtbuild.core import digest


@pytest.fixture
def big_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TRTBUILD_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "weights.pt"
    path.write_bytes(os.urandom(digest.STORED_FROM + 10))
    return path


def _in_a_new_process(path) -> str:
    code = ("from pathlib import Path; from trtbuild.core.digest import file_digest; "
            f"print(file_digest(Path({str(path)!r})))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=os.environ).stdout.strip()


def test_a_new_process_reads_the_stored_digest(big_file):
    first = _in_a_new_process(big_file)
    assert first == hashlib.sha256(big_file.read_bytes()).hexdigest()
    (stored,) = (big_file.parent / "cache/digests").iterdir()
    stored.write_text("f" * 64)  # a lie only the store could tell: the second process must read it, not hash
    assert _in_a_new_process(big_file) == "f" * 64


def test_a_file_rewritten_in_place_with_its_old_size_and_times_is_hashed_again(big_file):
    before = _in_a_new_process(big_file)
    st = big_file.stat()
    with big_file.open("r+b") as f:  # same inode, same size
        f.write(b"changed")
    os.utime(big_file, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime put back; ctime cannot be
    after = _in_a_new_process(big_file)
    assert after != before and after == hashlib.sha256(big_file.read_bytes()).hexdigest()


def test_an_unwritable_store_costs_only_the_hash(big_file, tmp_path, monkeypatch):
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    monkeypatch.setenv("TRTBUILD_CACHE_DIR", str(tmp_path / "blocked"))
    assert _in_a_new_process(big_file) == hashlib.sha256(big_file.read_bytes()).hexdigest()
