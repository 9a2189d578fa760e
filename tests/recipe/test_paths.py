"""Recipe paths: relative to the recipe file (from any working directory), `~` and $VARS expanded, command-line values
relative to the working directory; packaged recipes hold no paths; `show` says where each path points."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import COCO8

from trtbuild import api
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.recipe.find import PACKAGED_DIR
from trtbuild.recipe.paths import path_fields


def _project(tmp_path: Path) -> Path:
    """A user's project: recipes/mine.yaml naming its data and checkpoint relative to itself."""
    data = yaml.safe_load((PACKAGED_DIR / "yolo12n.yaml").read_text())
    data.update(name="mine", data="../data/coco8.yaml")
    data["model"]["weights"] = "../weights/best.pt"
    data["precision"]["calibration"]["images"] = "$CALIB_DIR/images"
    data["verify"]["labels"] = "~/labels"
    (tmp_path / "recipes").mkdir()
    recipe = tmp_path / "recipes" / "mine.yaml"
    recipe.write_text(yaml.safe_dump(data))
    return recipe


def test_recipe_paths_resolve_from_the_recipe_file(tmp_path, monkeypatch):
    recipe = _project(tmp_path)
    monkeypatch.setenv("CALIB_DIR", "/srv/calib")
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.chdir("/")
    loaded = load_recipe(str(recipe)).recipe
    assert loaded.data == tmp_path / "data" / "coco8.yaml"
    assert loaded.model.weights == tmp_path / "weights" / "best.pt"
    assert loaded.precision.calibration.images == Path("/srv/calib/images")
    assert loaded.verify.labels == Path("/home/someone/labels")


def test_command_line_paths_stay_relative_to_the_working_directory(tmp_path, monkeypatch):
    recipe = _project(tmp_path)
    monkeypatch.setenv("HOME", "/home/someone")
    loaded = load_recipe(str(recipe), Overrides(weights=Path("w.pt"), data=Path("~/sets/a.yaml"),
                                                sets=["precision.calibration.images=calib"])).recipe
    assert loaded.model.weights == Path("w.pt") and loaded.precision.calibration.images == Path("calib")
    assert loaded.data == Path("/home/someone/sets/a.yaml")


def test_packaged_recipes_hold_no_paths():
    """At most the checkpoint's file name, which users pass with --weights or download beside them (yolo12n.pt);
    resnet18 names none (torchvision builds it)."""
    for recipe_file in sorted(PACKAGED_DIR.glob("*.yaml")):
        recipe = load_recipe(str(recipe_file)).recipe
        named = {key: value for key, _, _, value in path_fields(recipe)}
        assert set(named) <= {"model.weights"} and all(p.parent == Path(".") for p in named.values()), recipe_file
        assert "../" not in recipe_file.read_text()


def test_show_prints_resolved_paths_and_whether_they_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = api.show_recipe("yolo12n", Overrides(weights=Path("absent.pt"), data=COCO8))
    assert shown["paths"]["model.weights"] == {"path": str(tmp_path / "absent.pt"), "exists": False}
    assert shown["paths"]["data"] == {"path": str(COCO8), "exists": True}
    assert shown["images"]["holdout"] == \
        f"2 images from {COCO8} (val split), holdout share 1/2 by file-name hash, 2 label files"
    assert shown["images"]["calibration"] == f"4 images from {COCO8} (train split), 4 label files"
    bare = api.show_recipe("yolo12n", Overrides(weights=Path("absent.pt")))["images"]
    assert bare["check"].startswith("2 images from ultralytics' bundled samples")
    assert bare["holdout"].startswith("none: accuracy and gates not measured (pass --data")
