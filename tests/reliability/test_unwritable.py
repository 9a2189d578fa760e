"""Read-only and full places: exit 1 with one `error:` line naming the path, and the cache left whole."""

from __future__ import annotations

import os
import resource
import subprocess
from contextlib import contextmanager

import pytest

from reliability.builds import command, run, stderr_lines, temp_files, tiny_recipe, workdirs
from trtbuild.core.cache import Cache

pytestmark = pytest.mark.reliability


@contextmanager
def read_only(*folders):
    """chmod for a normal user; root ignores modes, so there the immutable attribute stands in (or the test skips)."""
    if os.geteuid() != 0:
        for folder in folders:
            folder.chmod(0o555)
        yield
        for folder in folders:
            folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", *map(str, folders)], capture_output=True).returncode != 0:
        pytest.skip("running as root without chattr +i: no way to make a folder read-only here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, folders)], check=True)


@contextmanager
def small_tmpfs(folder, size="1m"):
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a size-limited tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("unwritable")
    recipe, cache, out = tiny_recipe(root), root / "cache", root / "out"
    done = run(command(recipe, cache, out, "--until", "export"), root)
    assert done.returncode == 0, done.stderr
    return recipe, cache, out, root


def _assert_one_error(proc, path) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in stderr_lines(proc.stderr) if line.startswith("error:")]
    assert len(errors) == 1 and str(path) in errors[0], proc.stderr


def _assert_cache_whole(cache) -> None:
    store = Cache(cache)
    assert workdirs(cache) == [] and store.damaged() == []
    assert all(store.lookup(e.stage, e.key) for e in store.entries()), "every entry still verifies"


def test_read_only_output_root(exported, tmp_path):
    recipe, cache, _, _ = exported
    with read_only(tmp_path):
        proc = run(command(recipe, cache, tmp_path / "engines", "--until", "export"), exported[3])
    _assert_one_error(proc, tmp_path / "engines")
    _assert_cache_whole(cache)


def test_read_only_engines_folder_left_by_an_earlier_build(exported):
    recipe, cache, out, root = exported
    with read_only(out / "tiny", out / "tiny" / "logs"):
        proc = run(command(recipe, cache, out, "--until", "export"), root)
    _assert_one_error(proc, out / "tiny")
    _assert_cache_whole(cache)
    assert temp_files(out) == []


def test_read_only_engines_folder_without_report_md_and_every_stage_cached(exported):
    """Nothing runs, so the first write is the report: one line, not a traceback from writing report.md after it."""
    recipe, cache, out, root = exported
    (out / "tiny" / "report.md").unlink(missing_ok=True)
    with read_only(out / "tiny"):
        proc = run(command(recipe, cache, out, "--until", "export"), root)
    _assert_one_error(proc, out / "tiny")
    assert not (out / "tiny" / "report.md").exists()


def test_file_size_limit_while_a_stage_writes(exported):
    """RLIMIT_FSIZE makes every write past 4 MiB fail (EFBIG), as a full disk would, in any environment."""
    recipe, cache, out, root = exported

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))

    proc = subprocess.run(command(recipe, cache, out, "--until", "simplify"), cwd=root, capture_output=True,
                          text=True, preexec_fn=limit, timeout=300)
    _assert_one_error(proc, cache)
    assert "File too large" in proc.stderr
    _assert_cache_whole(cache)


def test_full_disk_at_the_output(exported, tmp_path):
    """A real ENOSPC: the output root is a 1 MiB tmpfs and the 45 MB ONNX must be copied there (another device)."""
    recipe, cache, _, root = exported
    with small_tmpfs(tmp_path / "small") as small:
        proc = run(command(recipe, cache, small, "--until", "export"), root)
        assert temp_files(small) == []
    _assert_one_error(proc, small / "tiny")
    assert "No space left on device" in proc.stderr
    _assert_cache_whole(cache)
