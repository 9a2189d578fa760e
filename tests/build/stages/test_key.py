"""A stage's key is never stale: it digests the whole package's source, so editing any module a stage runs, imported
or loaded by name through a registry, reruns the stage; data files and the package's location do not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trtbuild.build.report import load_report
from trtbuild.build.stages.base import PACKAGE_ROOT, package_digest


def _copy_package(dst: Path, src: Path = PACKAGE_ROOT) -> Path:
    """A copy of the package (packaged recipes included, as a wheel has them) under `dst`; its new root."""
    root = dst / "trtbuild"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("__pycache__"))  # follows the recipes link
    return root


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n_EDITED = True  # a change of code, not of behaviour\n")


def test_digest_ignores_location_and_data_files_but_not_a_new_module(tmp_path):
    first = _copy_package(tmp_path / "a")
    moved = _copy_package(tmp_path / "b", first)
    (moved / "recipes" / "depth.yaml").write_text("# not code: a recipe reaches keys through params\n")
    (moved / "tasks" / "notes.txt").write_text("not code\n")
    assert package_digest(moved) == package_digest(first)

    grown = _copy_package(tmp_path / "c", first)
    (grown / "tasks" / "extra.py").write_text("TASK = None\n")  # a module nothing imports: found by name later
    assert package_digest(grown) != package_digest(first)


def _build(package_parent: Path, tmp_path: Path) -> dict[str, str]:
    """`trtbuild build resnet18 --until check` in a fresh process that imports the package copy; stage statuses."""
    env = {**os.environ, "PYTHONPATH": str(package_parent), "TRTBUILD_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("TRTBUILD_DATA", None)  # check then reads the bundled sample images (through images.py)
    out = tmp_path / "engines"
    command = [sys.executable, "-m", "trtbuild", "build", "resnet18", "--until", "check", "--out", str(out)]
    subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True)  # cwd holds no other trtbuild
    return {s.name: s.status for s in load_report(out / "resnet18" / "report.json").stages}


@pytest.mark.long  # three real builds in fresh processes, ~35 s: CI runs it with the long tests
def test_editing_a_module_the_stage_imports_or_loads_by_name_reruns_it(tmp_path):
    root = _copy_package(tmp_path / "pkg")
    all_ran = {"export": "ran", "simplify": "ran", "check": "ran"}
    assert _build(root.parent, tmp_path) == all_ran

    _edit(root / "data" / "images.py")  # check decodes its sample images with it (data -> feeds -> images)
    assert _build(root.parent, tmp_path) == all_ran

    _edit(root / "tasks" / "classify.py")  # check reaches it only by name: feeds -> create_task -> task_class
    assert _build(root.parent, tmp_path) == all_ran

    depth = root / "recipes" / "depth.yaml"  # data, and another recipe's at that
    depth.write_text(depth.read_text() + "# edited\n")
    assert _build(root.parent, tmp_path) == {"export": "cached", "simplify": "cached", "check": "cached"}
