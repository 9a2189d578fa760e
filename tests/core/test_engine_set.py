"""engines.json follows what builds publish: candidates added and replaced, vanished files dropped, one default."""

from __future__ import annotations

import json

from trtbuild.core.digest import file_digest
from trtbuild.core.engine_set import PublishedFile, engine_stem, publishing, read_engine_set
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
