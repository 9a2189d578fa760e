"""`trtbuild.load` on engine sets a user was handed: files outside the folder, manifests that are not engine sets,
and a set republished while it loads. Real engine sets, real ONNX Runtime sessions."""

from __future__ import annotations

import json
import shutil
import threading

import onnx
import pytest

from trtbuild import load
from trtbuild.core.digest import file_digest
from trtbuild.core.engine_set import ENGINE_SET_FILE, PublishedFile, publishing
from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Recipe


@pytest.fixture
def folder(yolo_engines, tmp_path, cache_dir):
    copy = tmp_path / "yolo12n"
    shutil.copytree(yolo_engines, copy)
    return copy


def _edit(folder, change) -> dict:
    document = json.loads((folder / ENGINE_SET_FILE).read_text())
    change(document)
    (folder / ENGINE_SET_FILE).write_text(json.dumps(document))
    return document


def _fp32(document: dict) -> dict:
    return next(c for c in document["candidates"] if c["file"] == "yolo12n.onnx")


def test_a_candidate_outside_the_folder_is_never_loaded(folder, tmp_path):
    shutil.copy(folder / "yolo12n.onnx", tmp_path / "secret.onnx")  # the recorded digest: a copy of the real graph
    recorded = (folder / ENGINE_SET_FILE).read_text()
    _edit(folder, lambda d: _fp32(d).update(file="../secret.onnx"))
    with pytest.raises(UsageError, match=r"engines.json: unreadable engine-set manifest at candidates\[\d\]\.file: "
                                         r"'\.\./secret\.onnx' is not a file name inside the folder"):
        load(folder, runtime="onnxruntime", precision="fp32")
    (folder / ENGINE_SET_FILE).write_text(recorded)
    (folder / "yolo12n.onnx").unlink()
    (folder / "yolo12n.onnx").symlink_to(tmp_path / "secret.onnx")
    with pytest.raises(UsageError, match=r"candidates\[\d\]\.file 'yolo12n\.onnx' leads outside .*yolo12n \(to "
                                         r".*secret\.onnx\); only files inside the folder are loaded"):
        load(folder)


@pytest.mark.parametrize(("change", "message"), [
    (None, r"engines.json: unreadable engine-set manifest: Input should be an object"),
    ([], r"engines.json: unreadable engine-set manifest: Input should be an object"),
    ({"schema": 7}, r"engines.json: unreadable engine-set manifest at schema: schema 7; this trtbuild reads schema 1"),
])
def test_a_manifest_that_is_not_an_engine_set_is_one_line(folder, change, message):
    document = json.loads((folder / ENGINE_SET_FILE).read_text())
    (folder / ENGINE_SET_FILE).write_text(json.dumps({**document, **change} if isinstance(change, dict) else change))
    with pytest.raises(UsageError, match=message):
        load(folder)


def test_a_recorded_recipe_this_trtbuild_cannot_read_is_one_line(folder):
    document = _edit(folder, lambda d: next(iter(d["recipes"].values()))["recipe"]["inputs"][0].update(shape="big"))
    digest = next(iter(document["recipes"]))
    with pytest.raises(UsageError, match=rf"unreadable engine-set manifest at recipes\.{digest}\.recipe\.inputs\[0\]\."
                                         r"shape: Input should be a valid list; rebuild"):
        load(folder)


def test_a_load_during_a_republish_waits_for_it_and_gets_the_new_set(folder):
    """What a build does (replace a candidate's file, then record it) under the set's lock, with a load started in
    between: the load waits, then runs the new file under its new digest (without the lock it would read the old
    record and the new bytes: a digest mismatch)."""
    document = json.loads((folder / ENGINE_SET_FILE).read_text())
    digest = _fp32(document)["recipe_digest"]
    graph = onnx.load(str(folder / "yolo12n.onnx"))
    graph.doc_string = "rebuilt"  # other bytes, the same network
    loaded: list = []
    with publishing(folder) as record_in_set:
        onnx.save(graph, str(folder / "new.onnx"))
        (folder / "new.onnx").replace(folder / "yolo12n.onnx")
        loader = threading.Thread(target=lambda: loaded.append(load(folder, runtime="onnxruntime", precision="fp32")))
        loader.start()
        loader.join(0.5)
        assert loader.is_alive(), "the load went ahead while the set was being republished"
        new = PublishedFile(folder / "yolo12n.onnx", file_digest(folder / "yolo12n.onnx"),
                            (folder / "yolo12n.onnx").stat().st_size)
        record_in_set(Recipe.model_validate(document["recipes"][digest]["recipe"]), digest, {"simplify.onnx": new},
                      document["recipes"][digest]["metadata"])
    loader.join(60)
    (model,) = loaded
    assert model.option.candidate.sha256 == new.sha256 != _fp32(document)["sha256"]
    model.close()
