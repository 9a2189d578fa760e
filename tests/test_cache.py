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
