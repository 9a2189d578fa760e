"""Several real builds at once: each stage runs once, the others wait and reuse; different recipes never wait."""

from __future__ import annotations

import json

import pytest

from reliability.builds import (assert_published_whole, command, launch, report, run, temp_files, tiny_recipe,
                                wait_for, workdirs)
from trtbuild.core.cache import Cache
from trtbuild.recipe import load_recipe
from trtbuild.build.stages.export import ExportStage

pytestmark = pytest.mark.reliability


def test_three_builds_of_one_recipe_two_sharing_a_directory(tmp_path):
    recipe, cache = tiny_recipe(tmp_path), tmp_path / "cache"
    outs = [tmp_path / "shared", tmp_path / "shared", tmp_path / "own"]
    procs = [launch(command(recipe, cache, out, "--until", "check", "--json"), tmp_path) for out in outs]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    for proc, _, err in results:
        assert proc.returncode == 0, err
    reports = [json.loads(stdout) for _, stdout, _ in results]
    for stage in ("export", "simplify", "check"):
        statuses = sorted(s["status"] for r in reports for s in r["stages"] if s["name"] == stage)
        assert statuses == ["cached", "cached", "ran"], f"{stage} ran once, the others reused it"
    for out in set(outs):
        assert temp_files(out) == [], "no temp file left beside published artifacts"
        assert report(out)["status"] == "ok"
        assert_published_whole(out)
    assert workdirs(cache) == []
    assert len(Cache(cache).entries()) == 3


def test_a_held_stage_lock_blocks_its_recipe_but_not_another(tmp_path):
    """Hold recipe A's export lock as a long build would: A waits, B (another recipe) builds meanwhile. A has begun
    (its report.json is written just before it asks for the lock) and B has built from scratch since, yet A has no
    work directory: it has not started the stage."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    a, b = tiny_recipe(tmp_path, "tiny"), tiny_recipe(tmp_path, "small", size=32)
    stage = ExportStage(load_recipe(str(a)).recipe)
    with Cache(cache).lock("export", stage.key(stage.key_material(stage.inputs({})))):
        waiting = launch(command(a, cache, out, "--until", "export"), tmp_path)
        wait_for(lambda: (out / "tiny" / "report.json").exists(), waiting, "recipe A's build began")
        other = run(command(b, cache, out, "--until", "export", "--json"), tmp_path)
        assert other.returncode == 0, other.stderr
        assert json.loads(other.stdout)["stages"][0]["status"] == "ran"
        assert not list((cache / "tmp").glob(f"{waiting.pid}-*")), "recipe A started the stage another build holds"
        assert waiting.poll() is None
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert report(out)["stages"][0]["status"] == "ran", "once the lock is free, A runs the stage itself"
