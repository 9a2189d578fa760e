"""A damaged cache entry is a miss with one warning, never a crash: each kind of damage on a real entry."""

from __future__ import annotations

import json

import pytest

from reliability.builds import command, run, tiny_recipe
from trtbuild import api
from trtbuild.core.cache import CACHE_MANIFEST, Cache
from trtbuild.build.pipeline import BuildOptions

pytestmark = pytest.mark.reliability


def _manifest(value):
    return lambda entry: (entry / CACHE_MANIFEST).write_text(json.dumps(value))


def _edit_manifest(edit):
    def damage(entry):
        data = json.loads((entry / CACHE_MANIFEST).read_text())
        edit(data)
        (entry / CACHE_MANIFEST).write_text(json.dumps(data))
    return damage


def _onnx(entry):
    return entry / "model.onnx"


def _flip_byte(entry):
    data = bytearray(_onnx(entry).read_bytes())
    data[len(data) // 2] ^= 0xFF
    _onnx(entry).write_bytes(bytes(data))


DAMAGE = {
    "manifest {}": _manifest({}),
    "manifest null": _manifest(None),
    "manifest a list": _manifest([1, 2]),
    "manifest a string": _manifest("model.onnx"),
    "artifacts of the wrong type": _edit_manifest(lambda d: d.update(artifacts="model.onnx")),
    "seconds of the wrong type": _edit_manifest(lambda d: d.update(seconds="fast")),
    "sha256 of the wrong type": _edit_manifest(lambda d: d["artifacts"]["onnx"].update(sha256=5)),
    "artifact path escaping the entry": _edit_manifest(lambda d: d["artifacts"]["onnx"].update(file="../../x.onnx")),
    "manifest of another key": _edit_manifest(lambda d: d.update(key="0" * 20)),
    "manifest truncated": lambda e: (e / CACHE_MANIFEST).write_text((e / CACHE_MANIFEST).read_text()[:100]),
    "manifest not UTF-8": lambda e: (e / CACHE_MANIFEST).write_bytes(b"\xff\xfe{"),
    "manifest deleted": lambda e: (e / CACHE_MANIFEST).unlink(),
    "artifact byte flipped": _flip_byte,
    "artifact truncated": lambda e: _onnx(e).write_bytes(_onnx(e).read_bytes()[:1000]),
    "artifact deleted": lambda e: _onnx(e).unlink(),
}


def _simplify_entry(cache):
    return next(e for e in Cache(cache).entries() if e.stage == "simplify")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    recipe, cache = tiny_recipe(root), root / "cache"
    api.build(str(recipe), options=BuildOptions("simplify", out_root=root / "out"), cache_dir=cache)
    return recipe, cache, root


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_entry_is_rebuilt_with_one_warning(built, kind):
    recipe, cache, root = built
    entry = _simplify_entry(cache)
    DAMAGE[kind](entry.path)
    out = root / "out"
    report = api.build(str(recipe), options=BuildOptions("simplify", out_root=out), cache_dir=cache)
    simplify = report.stage("simplify")
    assert (report.stage("export").status, simplify.status) == ("cached", "ran")
    damaged = [w for w in simplify.warnings if "damaged" in w]
    assert len(damaged) == 1 and str(entry.path) in damaged[0], simplify.warnings
    assert (out / "tiny" / "logs" / "simplify.log").read_text().count("was damaged") == 1
    assert Cache(cache).lookup("simplify", simplify.key) is not None, "the rebuilt entry is whole"


def test_cache_info_and_prune_report_damaged_entries(built):
    recipe, cache, root = built
    entry = _simplify_entry(cache)
    (entry.path / CACHE_MANIFEST).write_text("null")
    info = api.cache_info(cache)
    assert [d["path"] for d in info["damaged"]] == [str(entry.path)]
    assert "manifest.json does not match the manifest schema" in info["damaged"][0]["problem"]
    assert api.cache_prune(cache)["damaged"] == 1 and not entry.path.exists()
    api.build(str(recipe), options=BuildOptions("simplify", out_root=root / "out"), cache_dir=cache)


def test_cli_build_over_a_damaged_manifest_warns_once(built, tmp_path):
    recipe, cache, _ = built
    (_simplify_entry(cache).path / CACHE_MANIFEST).write_text("{}")
    out = run(command(recipe, cache, tmp_path / "out", "--until", "simplify"), tmp_path)
    assert out.returncode == 0, out.stderr
    assert " ".join(out.stderr.split()).count("was damaged") == 1 and "Traceback" not in out.stderr
