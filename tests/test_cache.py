"""The stage cache: atomic commit, digest-verified reads, cleaning."""

from __future__ import annotations

from trtbuild.cache import Cache


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

    from trtbuild.cache import MANIFEST

    cache = Cache(tmp_path)
    for damaged in ("{}", "null", "[]", '"x"', "{not json", json.dumps({"stage": "export"})):
        entry = _commit(cache)
        (entry.path / MANIFEST).write_text(damaged)
        told = []
        assert cache.lookup("export", "k1", on_damage=told.append) is None
        assert len(told) == 1 and "manifest.json" in told[0] and not entry.path.exists(), damaged


def test_entries_skip_damaged_manifests_and_report_them(tmp_path):
    from trtbuild.cache import MANIFEST

    cache = Cache(tmp_path)
    _commit(cache, "good")
    bad = _commit(cache, "bad")
    (bad.path / MANIFEST).write_text("{}")
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
