"""engines.json follows what builds publish: candidates added and replaced, vanished files dropped, one default;
it is validated as a whole, names only files inside its folder, and its lock lives in the user cache."""

from __future__ import annotations

import copy
import json
import re
import threading

import pytest

from trtbuild.core.digest import file_digest
from trtbuild.core.engine_set import (ENGINE_SET_FILE, PublishedFile, engine_stem, lock_path, publishing,
                                      read_engine_set, reading)
from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Recipe


def _recipe(precision: str) -> Recipe:
    return Recipe.model_validate({"name": "yolo12n", "task": "detect", "model": {"adapter": "python"},
                                  "inputs": [{"name": "images", "shape": [1, 3, 64, 64]}],
                                  "precision": {"mode": precision}})


def _publish(folder, name: str, content: bytes, sidecar: dict | None = None) -> dict:
    (folder / name).write_bytes(content)
    if sidecar is None:
        return {"precision.onnx": _published(folder / name)}
    (folder / f"{name}.json").write_text(json.dumps(sidecar))
    return {"engine.engine": _published(folder / name), "engine.sidecar": _published(folder / f"{name}.json")}


def record(folder, *args) -> None:
    with publishing(folder) as record_in_set:
        record_in_set(*args)


def _published(path) -> PublishedFile:
    """What the pipeline hands over: the file with the digest its cache entry verified."""
    return PublishedFile(path, file_digest(path), path.stat().st_size)


def test_engine_stem_tells_every_build_apart():
    assert engine_stem("depth", "int8", "tensorrt", "10.13.0", ["8.7"]) == "depth.int8.tensorrt-10.sm87"
    assert engine_stem("depth", "fp16", "tensorrt", "11.0", ["8.0+"]) == "depth.fp16.tensorrt-11.sm80plus"


def test_record_adds_replaces_and_drops(tmp_path):
    fp16, int8 = _recipe("fp16"), _recipe("int8")
    record(tmp_path, fp16, "a", {"simplify.onnx": _write(tmp_path, "yolo12n.onnx")}, {"names": {"0": "person"}})
    assert read_engine_set(tmp_path).default_precision == "fp32"  # only the FP32 graph so far
    record(tmp_path, fp16, "a", _publish(tmp_path, "yolo12n.fp16.onnx", b"v1"), {})
    engine = {"library": "tensorrt-rtx", "library_version": "1.7.1", "runs_on": ["8.6"]}
    record(tmp_path, int8, "b", _publish(tmp_path, "yolo12n.int8.x.engine", b"e", engine), {"names": {}})
    record(tmp_path, fp16, "a", _publish(tmp_path, "yolo12n.fp16.onnx", b"v2"), {})  # rebuilt: replaced
    found = read_engine_set(tmp_path)
    assert [(c.file, c.precision) for c in found.candidates] == [
        ("yolo12n.onnx", "fp32"), ("yolo12n.int8.x.engine", "int8"), ("yolo12n.fp16.onnx", "fp16")]
    assert found.default_precision == "fp16" and set(found.recipes) == {"a", "b"}
    assert found.candidates[1].runs_on == ["8.6"] and found.candidates[1].library == "tensorrt-rtx"
    (tmp_path / "yolo12n.int8.x.engine").unlink()
    record(tmp_path, fp16, "a", _publish(tmp_path, "yolo12n.fp16.onnx", b"v3"), {})
    found = read_engine_set(tmp_path)
    assert [c.file for c in found.candidates] == ["yolo12n.onnx", "yolo12n.fp16.onnx"] and set(found.recipes) == {"a"}
    assert found.recipe_document(found.candidates[0])["precision"]["mode"] == "fp16"


def _write(folder, name: str) -> PublishedFile:
    (folder / name).write_bytes(b"graph")
    return _published(folder / name)


def _valid(folder) -> dict:
    record(folder, _recipe("fp16"), "a", _publish(folder, "yolo12n.onnx", b"graph"), {"names": {"0": "person"}})
    return json.loads((folder / ENGINE_SET_FILE).read_text())


def _with(document: dict, path: str, value) -> dict:
    """`document` with the key at dotted `path` (list indices as numbers) set to `value`."""
    found = copy.deepcopy(document)
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = found
    for key in parents:
        target = target[key]
    target[last] = value
    return found


@pytest.mark.parametrize(("change", "where"), [
    (lambda d: None, ": Input should be an object"),
    (lambda d: [d], ": Input should be an object"),
    (lambda d: _with(d, "schema", 2), " at schema: schema 2; this trtbuild reads schema 1"),
    (lambda d: _with(d, "candidates", "yolo12n.onnx"), " at candidates: Input should be a valid array"),
    (lambda d: _with(d, "candidates.0", None), " at candidates[0]: Input should be an object"),
    (lambda d: _with(d, "candidates.0.size", "big"), " at candidates[0].size: Input should be a valid integer"),
    (lambda d: _with(d, "candidates.0.kind", "zip"), " at candidates[0].kind: Input should be 'engine' or 'onnx'"),
    (lambda d: _with(d, "candidates.0.extra", 1), " at candidates[0].extra: Unexpected keyword argument"),
    (lambda d: _with(d, "recipes", []), " at recipes: Input should be an object"),
    (lambda d: _with(d, "recipes.a.metadata", None), " at recipes.a.metadata: Input should be an object"),
    (lambda d: _with(d, "candidates.0.recipe_digest", "zz"), ": candidates[0].recipe_digest 'zz' is not under recipes"),
    (lambda d: _with(d, "candidates.0.sidecar", "x.json"), ": candidates[0].sidecar 'x.json': an onnx candidate's"),
])
def test_a_manifest_that_is_not_an_engine_set_is_one_line(tmp_path, cache_dir, change, where):
    (tmp_path / ENGINE_SET_FILE).write_text(json.dumps(change(_valid(tmp_path))))
    with pytest.raises(UsageError) as raised:
        read_engine_set(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / ENGINE_SET_FILE}: unreadable engine-set manifest{where}"), message
    assert message.endswith("rebuild with `trtbuild build`") and "\n" not in message


@pytest.mark.parametrize(("path", "value"), [
    ("candidates.0.file", "../secret.onnx"), ("candidates.0.file", "/tmp/secret.onnx"),
    ("candidates.0.file", "sub/yolo12n.onnx"), ("candidates.0.file", ".."),
])
def test_a_file_named_by_a_path_is_refused(tmp_path, cache_dir, path, value):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / ENGINE_SET_FILE).write_text(json.dumps(_with(_valid(folder), path, value)))
    with pytest.raises(UsageError, match=rf"at candidates\[0\]\.file: '{re.escape(value)}' is not a file name "
                                         r"inside the folder \(no path, no '\.\.', no leading dot\)"):
        read_engine_set(folder)


def test_a_symlink_that_leads_out_is_refused_one_inside_is_not(tmp_path, cache_dir):
    folder = tmp_path / "set"
    folder.mkdir()
    document = _valid(folder)
    (tmp_path / "secret.onnx").write_bytes(b"graph")  # the recorded digest: only where it is gives it away
    (folder / "yolo12n.onnx").unlink()
    (folder / "yolo12n.onnx").symlink_to(tmp_path / "secret.onnx")
    with pytest.raises(UsageError, match=r"engines.json: candidates\[0\].file 'yolo12n.onnx' leads outside .*set "
                                         r"\(to .*secret.onnx\); only files inside the folder are loaded"):
        read_engine_set(folder)
    (folder / "yolo12n.onnx").unlink()
    (folder / "copy.onnx").write_bytes(b"graph")
    (folder / "yolo12n.onnx").symlink_to("copy.onnx")
    assert read_engine_set(folder).candidates[0].file == "yolo12n.onnx"
    (folder / ENGINE_SET_FILE).rename(tmp_path / "outside.json")
    (folder / ENGINE_SET_FILE).symlink_to(tmp_path / "outside.json")
    with pytest.raises(UsageError, match=r"engines.json: engines.json 'engines.json' leads outside"):
        read_engine_set(folder)
    assert json.loads((tmp_path / "outside.json").read_text()) == document


def test_an_engines_sidecar_must_be_the_one_beside_it_and_inside(tmp_path, cache_dir):
    engine = {"library": "tensorrt-rtx", "library_version": "1.7.1", "runs_on": ["8.6"]}
    record(tmp_path, _recipe("fp16"), "a", _publish(tmp_path, "m.engine", b"e", engine), {})
    document = json.loads((tmp_path / ENGINE_SET_FILE).read_text())
    (tmp_path / ENGINE_SET_FILE).write_text(json.dumps(_with(document, "candidates.0.sidecar", "../m.engine.json")))
    with pytest.raises(UsageError, match=r"candidates\[0\].sidecar: '../m.engine.json' is not a file name"):
        read_engine_set(tmp_path)
    (tmp_path / ENGINE_SET_FILE).write_text(json.dumps(document))
    (tmp_path / "m.engine.json").rename(tmp_path.parent / "m.engine.json")
    (tmp_path / "m.engine.json").symlink_to(tmp_path.parent / "m.engine.json")
    with pytest.raises(UsageError, match=r"candidates\[0\].sidecar 'm.engine.json' leads outside"):
        read_engine_set(tmp_path)


def test_the_lock_lives_in_the_user_cache_not_in_the_folder(tmp_path, cache_dir):
    folder = tmp_path / "engines" / "yolo12n"
    folder.mkdir(parents=True)
    (folder / f".{ENGINE_SET_FILE}.lock").touch()  # what builds before this version left behind
    _valid(folder)
    assert sorted(p.name for p in folder.iterdir()) == [ENGINE_SET_FILE, "yolo12n.onnx"]
    assert lock_path(folder).parent == cache_dir / "locks" and lock_path(folder).is_file()
    assert lock_path(tmp_path / "engines" / ".." / "engines" / "yolo12n") == lock_path(folder)


def test_a_reader_waits_for_a_publish_in_progress(tmp_path, cache_dir):
    _valid(tmp_path)
    done = threading.Event()

    def read() -> None:
        with reading(tmp_path):
            done.set()

    with publishing(tmp_path):
        reader = threading.Thread(target=read)
        reader.start()
        assert not done.wait(0.3), "a reader got in while a build replaced files"
    assert done.wait(10)
    reader.join()
