"""The runtime cache file, with the stand-in bindings' IRuntimeCache (TensorRT-RTX's cannot be made without a GPU it
runs on): keyed into the user's cache by engine digest, GPU and driver; written atomically; a file that cannot be
read or written is a note and a log line, never an exception."""

import logging

from trtbuild.runners.runtime_cache import RuntimeCacheFile

DIGEST = "ab" * 32


def _file(**key) -> RuntimeCacheFile:
    return RuntimeCacheFile.for_engine(**{"engine_sha256": DIGEST, "gpu_name": "NVIDIA GeForce RTX 4090",
                                          "compute_capability": "8.9", "driver": "575.57.08", **key})


def test_one_file_per_engine_gpu_and_driver_in_the_user_cache(cache_dir):
    path = _file().path
    assert path == cache_dir / "runtime-cache" / DIGEST / "NVIDIA-GeForce-RTX-4090-cc8.9-driver575.57.08.bin"
    others = [_file(engine_sha256="cd" * 32), _file(gpu_name="NVIDIA GeForce RTX 3090", compute_capability="8.6"),
              _file(driver="580.65.06")]
    assert len({path, *(f.path for f in others)}) == 4


def test_saved_atomically_and_loaded_back(cache_dir, standin):
    cache = standin.IRuntimeCache()
    cache.kernels = {"relu(2x+1) FLOAT [('images', (2, 3, 8, 8))]"}
    target = _file()
    assert target.save(cache) is None
    assert [p.name for p in target.path.parent.iterdir()] == [target.path.name]  # no temp file left
    fresh = standin.IRuntimeCache()
    assert target.load(fresh) is None and fresh.kernels == cache.kernels


def test_nothing_to_load_is_no_note(cache_dir, standin):
    assert _file().load(standin.IRuntimeCache()) is None


def test_a_refused_file_is_a_note(cache_dir, standin, caplog):
    target = _file()
    target.path.parent.mkdir(parents=True)
    target.path.write_bytes(b"from another library version")
    cache = standin.IRuntimeCache()
    with caplog.at_level(logging.WARNING):
        note = target.load(cache)
    assert "was refused by the library" in note and str(target.path) in note and note in caplog.text
    assert cache.kernels == set()


def test_a_file_that_cannot_be_written_is_a_note(cache_dir, standin, caplog):
    cache_dir.mkdir()
    (cache_dir / "runtime-cache").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING):
        note = _file().save(standin.IRuntimeCache())
    assert note.startswith("runtime cache not saved to ") and "compiles its kernels again" in note
    assert note in caplog.text and "\n" not in note
