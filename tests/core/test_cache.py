"""The stage cache: atomic commit, digest-verified reads, cleaning."""

from __future__ import annotations

from trtbuild.core.cache import Cache


def _commit(cache: Cache, key: str = "k1", payload: bytes = b"onnx bytes"):
    workdir = cache.new_workdir()
    (workdir / "model.onnx").write_bytes(payload)
    manifest = {"stage": "export", "key": key, "artifacts": {"onnx": {"file": "model.onnx"}}, "metrics": {},
                "warnings": [], "seconds": 1.0}
    return cache.commit(workdir, manifest)


def test_commit_then_lookup_round_trip(tmp_path):
    cache = Cache(tmp_path)
    entry = _commit(cache)
    found = cache.lookup("export", "k1")
    assert found is not None and found.artifact("onnx").read_bytes() == b"onnx bytes"
    assert found.manifest["artifacts"]["onnx"]["size"] == len(b"onnx bytes")
    assert not any((tmp_path / "tmp").iterdir()), "the work dir was moved, not copied"
    assert entry.path == found.path


def test_damaged_artifact_is_a_miss_and_is_discarded(tmp_path):
    cache = Cache(tmp_path)
    entry = _commit(cache)
    entry.artifact("onnx").write_bytes(b"tampered!!")
    assert cache.lookup("export", "k1") is None
    assert not entry.path.exists()


def test_missing_manifest_is_a_miss(tmp_path):
    assert Cache(tmp_path).lookup("export", "nothing") is None


def test_clean_one_stage_or_all(tmp_path):
    cache = Cache(tmp_path)
    _commit(cache, "a")
    _commit(cache, "b", b"x" * 100)
    assert len(cache.entries()) == 2
    assert cache.clean("simplify") == 0
    assert cache.clean() > 100
    assert cache.entries() == []


def test_manifest_must_match_its_schema(tmp_path):
    """Damage at the manifest level is a miss, reported once through on_damage, and the entry is discarded."""
    import json

    from trtbuild.core.cache import CACHE_MANIFEST

    cache = Cache(tmp_path)
    for damaged in ("{}", "null", "[]", '"x"', "{not json", json.dumps({"stage": "export"})):
        entry = _commit(cache)
        (entry.path / CACHE_MANIFEST).write_text(damaged)
        told = []
        assert cache.lookup("export", "k1", on_damage=told.append) is None
        assert len(told) == 1 and "manifest.json" in told[0] and not entry.path.exists(), damaged


def test_entries_skip_damaged_manifests_and_report_them(tmp_path):
    from trtbuild.core.cache import CACHE_MANIFEST

    cache = Cache(tmp_path)
    _commit(cache, "good")
    bad = _commit(cache, "bad")
    (bad.path / CACHE_MANIFEST).write_text("{}")
    assert [e.key for e in cache.entries()] == ["good"]
    assert [path for path, _ in cache.damaged()] == [bad.path]
    assert cache.remove_damaged()[0] == 1 and cache.damaged() == []


def test_work_dirs_of_dead_processes_are_stale_live_ones_are_not(tmp_path):
    import subprocess
    import sys

    cache = Cache(tmp_path)
    live = cache.new_workdir()  # owned by this process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = tmp_path / "tmp" / f"{child.pid}-0123"
    dead.mkdir()
    foreign = tmp_path / "tmp" / "not-our-naming"
    foreign.mkdir()
    assert sorted(cache.stale_workdirs()) == sorted([dead, foreign])
    cache.remove_stale()
    assert live.exists() and not dead.exists() and not foreign.exists()


def test_another_hosts_work_dir_is_never_stale(tmp_path):
    import subprocess
    import sys

    from trtbuild.core.cache import HOST

    cache = Cache(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    here = tmp_path / "tmp" / f"{child.pid}-{'a' * 32}-{HOST}"
    elsewhere = tmp_path / "tmp" / f"{child.pid}-{'a' * 32}-{HOST}x"  # the same dead pid, on another host
    here.mkdir(parents=True)
    elsewhere.mkdir()
    assert cache.new_workdir().name.endswith(f"-{HOST}")
    assert cache.stale_workdirs() == [here]


def _aged(entry, seconds_ago: float) -> None:
    import os
    import time

    when = time.time() - seconds_ago
    os.utime(entry.path / "manifest.json", (when, when))


def test_size_limit_evicts_least_recently_used_first(tmp_path):
    cache = Cache(tmp_path)
    old, used, new = (_commit(cache, key, bytes(1000)) for key in ("old", "used", "new"))
    _aged(old, 300), _aged(used, 200), _aged(new, 100)
    assert cache.lookup("export", "used") is not None  # a hit is a use
    per_entry = old.size()  # "used" is a byte larger (its key)
    freed = cache.set_max_size(2 * per_entry + 10)
    assert freed == per_entry and cache.max_size == 2 * per_entry + 10
    assert sorted(e.key for e in cache.entries()) == ["new", "used"]
    assert cache.set_max_size(None) == 0 and cache.max_size is None


def test_size_limit_never_evicts_what_a_running_build_holds(tmp_path):
    """Another process holds an entry (as a build does from lookup to its end): eviction passes it over, also at
    max_size 0, and takes it once that process is gone."""
    import subprocess
    import sys

    cache = Cache(tmp_path)
    held, free = _commit(cache, "held"), _commit(cache, "free")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from trtbuild.core.cache import Cache; c = Cache(sys.argv[1]); "
         "c.hold(c.lookup('export', 'held')); print('held', flush=True); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        cache.set_max_size(0)
        assert [e.key for e in cache.entries()] == ["held"] and not free.path.exists()
    finally:
        holder.communicate("")
    assert cache.trim() > 0 and not held.path.exists()


def test_this_builds_own_holds_are_released_at_its_end(tmp_path):
    cache = Cache(tmp_path)
    entry = _commit(cache, "mine")
    cache.hold(entry)
    cache.set_max_size(0)
    assert entry.path.exists()
    cache.release()
    assert cache.trim() > 0 and not entry.path.exists()


def test_cache_limit_takes_sizes_and_none(tmp_path):
    import pytest

    from trtbuild import api
    from trtbuild.core.errors import UsageError

    _commit(Cache(tmp_path), "a", bytes(3000))
    assert api.cache_limit("2.5k", tmp_path) > 0 and Cache(tmp_path).max_size == 2500
    assert api.cache_limit("none", tmp_path) == 0 and Cache(tmp_path).max_size is None
    assert api.cache_info(tmp_path)["max_size"] is None
    with pytest.raises(UsageError, match="expected a size such as 20G"):
        api.cache_limit("20x", tmp_path)


def test_an_artifact_replaced_by_a_symlink_is_a_miss_even_with_the_same_bytes(tmp_path):
    cache = Cache(tmp_path / "cache")
    entry = _commit(cache)
    outside = tmp_path / "outside.onnx"
    outside.write_bytes(b"onnx bytes")  # the recorded digest: only the link gives it away
    entry.artifact("onnx").unlink()
    entry.artifact("onnx").symlink_to(outside)
    assert cache.lookup("export", "k1") is None
