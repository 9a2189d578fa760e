"""A cell's inputs travel as bytes: packed on the driver, written once per digest on the worker, loaded from there."""

from __future__ import annotations

from conftest import COCO128, YOLO_WEIGHTS

from trtbuild import api
from trtbuild.data.datasets import calibration_set, verify_set
from trtbuild.farm.inputs import materialize, pack
from trtbuild.recipe import Overrides


def test_weights_and_dataset_arrive_as_files_the_worker_loads(tmp_path):
    loaded = api.load_checked_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO128, precision="int8"))
    files = pack(loaded.recipe)
    assert set(files.places) == {"model.weights", "data"}
    recipe_file = materialize(loaded.recipe.model_dump(mode="json"), files, tmp_path)
    assert materialize(loaded.recipe.model_dump(mode="json"), files, tmp_path) == recipe_file  # once per digest
    assert [p.name for p in tmp_path.iterdir()] == [files.digest]

    worker = api.load_checked_recipe(str(recipe_file)).recipe
    assert worker.model.weights.read_bytes() == YOLO_WEIGHTS.read_bytes()
    assert worker.model.weights.is_relative_to(tmp_path) and worker.data.is_relative_to(tmp_path)
    here, there = verify_set(loaded.recipe), verify_set(worker)
    assert [p.name for p in there.images] == [p.name for p in here.images]
    assert len(there.label_files()) == len(here.label_files()) > 0
    assert len(calibration_set(worker).images) == len(calibration_set(loaded.recipe).images)
    assert worker.model_dump(exclude={"model": {"weights"}, "data": True}) == \
        loaded.recipe.model_dump(exclude={"model": {"weights"}, "data": True})


def test_an_image_folder_travels_whole(tmp_path):
    images = sorted((COCO128.parent / "images" / "train2017").iterdir())[:3]
    folder = tmp_path / "calib"
    folder.mkdir()
    for image in images:
        (folder / image.name).write_bytes(image.read_bytes())
    loaded = api.load_checked_recipe("yolo12n", Overrides(random_weights=True, calib=folder, precision="int8"))
    files = pack(loaded.recipe)
    copied = materialize(loaded.recipe.model_dump(mode="json"), files, tmp_path / "w")
    worker = api.load_checked_recipe(str(copied)).recipe
    assert [p.name for p in calibration_set(worker).images] == [p.name for p in images]
