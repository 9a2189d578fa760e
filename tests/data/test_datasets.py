"""Data sources: Ultralytics dataset YAMLs read by Ultralytics' own rules (checked against Ultralytics itself), image
folders, the bundled samples, which source each stage reads, and the errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ASSETS, COCO8, COCO128, YOLO_WEIGHTS

from trtbuild.data.datasets import (MIN_HOLDOUT_IMAGES, bundled_samples, calibration_set, check_set, describe_roles,
                           read_images, role_warnings, search_set, verify_set)
from trtbuild.core.errors import UsageError
from trtbuild.data.images import list_images
from trtbuild.recipe import Overrides, load_recipe


@pytest.mark.parametrize(("dataset", "split"), [(COCO128, "val"), (COCO8, "val"), (COCO8, "train")])
def test_dataset_split_and_labels_match_ultralytics(dataset, split):
    from ultralytics.data.utils import check_det_dataset, img2label_paths

    found = read_images(dataset, "data", split)
    expected_folder = Path(check_det_dataset(str(dataset), autodownload=False)[split])
    assert found.images == sorted(p for p in expected_folder.iterdir() if p.suffix == ".jpg")
    assert [str(found.labels[p]) for p in found.images] == img2label_paths([str(p) for p in found.images])
    assert found.user_data and found.source == f"{dataset} ({split} split)"


def test_coco128_labels_are_its_label_files():
    found = read_images(COCO128, "data")
    assert len(found.images) == 128
    assert sorted(found.label_files()) == sorted((ASSETS / "coco128/labels/train2017").glob("*.txt"))  # 126: 2 empty


def test_relative_dataset_root_follows_ultralytics(tmp_path, monkeypatch):
    """A relative `path:` is taken from the working directory, as `yolo val data=...` takes it."""
    (tmp_path / "configs").mkdir()
    config = tmp_path / "configs" / "mine.yaml"
    config.write_text(yaml.safe_dump({"path": "coco8", "train": "images/train", "val": "images/val", "nc": 80}))
    monkeypatch.chdir(ASSETS)
    assert read_images(config, "data").images == read_images(COCO8, "data").images


def test_folder_has_no_labels_unless_named():
    folder = ASSETS / "coco8/images/val"
    assert read_images(folder, "data").labels is None
    labelled = read_images(folder, "verify.images", labels_dir=ASSETS / "coco8/labels/val")
    assert all(labelled.labels[p] == ASSETS / "coco8/labels/val" / f"{p.stem}.txt" for p in labelled.images)


@pytest.mark.parametrize(("make", "expected"), [
    (lambda d: d / "nowhere", "data: not found: "),
    (lambda d: _write(d / "empty", "notes.txt", "x"), "data: no images"),
    (lambda d: _write(d, "bad.yaml", "train: [unclosed"), "not a readable dataset YAML"),
    (lambda d: _write(d, "noval.yaml", "train: images\nnc: 1\n"), "no 'val:' key"),
    (lambda d: _write(d, "gone.yaml", "train: images\nval: images\nnc: 1\n"), "'val' images not found at"),
])
def test_bad_sources_are_one_line_usage_errors(tmp_path, make, expected):
    with pytest.raises(UsageError) as info:
        read_images(make(tmp_path), "data")
    assert expected in str(info.value) and "\n" not in str(info.value)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder / name if name.endswith(".yaml") else folder


def test_bundled_samples_are_real_pictures_but_not_user_data():
    samples = bundled_samples()
    assert [p.name for p in samples.images] == ["bus.jpg", "zidane.jpg"] and not samples.user_data


def test_which_source_each_stage_reads():
    bare = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS)).recipe
    assert not check_set(bare).user_data
    assert calibration_set(bare) is None and search_set(bare) is None and verify_set(bare) is None
    data = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO128, calib=COCO8)).recipe
    assert len(check_set(data).images) == 8 and len(search_set(data).images) == 32  # precision.evaluate.max_images
    assert len(verify_set(data).images) == 64 and search_set(data).labels and verify_set(data).labels
    assert calibration_set(data).source == f"{COCO8} (train split)"


def roles(**overrides) -> dict:
    recipe = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, sets=["precision.evaluate.max_images=512",
                                                                          "verify.max_images=512"], **overrides))
    return {"calibration": calibration_set(recipe.recipe), "search": search_set(recipe.recipe),
            "holdout": verify_set(recipe.recipe)}


def test_a_dataset_yaml_calibrates_on_train_and_divides_val_between_search_and_holdout():
    found = roles(data=COCO128)
    val = read_images(COCO128, "data").images
    search, holdout = set(found["search"].images), set(found["holdout"].images)
    assert len(search) == len(holdout) == 64 and not search & holdout and search | holdout == set(val)
    calibration = found["calibration"]  # COCO128's train split is its val split: all but the holdout
    assert calibration.images == sorted(set(read_images(COCO128, "data", split="train").images) - holdout)
    assert calibration.source == f"{COCO128} (train split) without the 64 holdout images"
    assert found["holdout"].source == f"{COCO128} (val split), holdout share 1/2 by file-name hash"
    assert roles(data=COCO128)["holdout"].images == found["holdout"].images  # deterministic


def test_a_folder_is_divided_among_all_three_roles_unless_one_has_its_own_images():
    folder = ASSETS / "coco128/images/train2017"
    found = roles(data=folder)
    assert [len(found[r].images) for r in ("calibration", "search", "holdout")] == [64, 32, 32]
    assert set().union(*(set(f.images) for f in found.values())) == set(list_images(folder))
    assert sum(len(f.images) for f in found.values()) == 128  # disjoint
    with_calib = roles(data=folder, calib=COCO8)
    assert len(with_calib["search"].images) == len(with_calib["holdout"].images) == 64
    assert not set(with_calib["search"].images) & set(with_calib["holdout"].images)


def test_a_folder_too_small_to_divide_is_one_line_naming_the_role_and_its_flag(tmp_path):
    for image in list_images(ASSETS / "coco8/images/val")[:3]:
        (tmp_path / image.name).write_bytes(image.read_bytes())
    with pytest.raises(UsageError) as info:
        roles(data=tmp_path)
    assert str(info.value) == (f"data: 3 images in {tmp_path} are too few to give the search a share "
                               f"(calibration / search / holdout): pass more, or its own images "
                               f"(precision.evaluate.images)")


def test_holdout_flag_replaces_the_holdout_and_the_search_takes_the_whole_val_split():
    found = roles(data=COCO128, holdout=ASSETS / "coco8/images/val")
    assert found["holdout"].source == str(ASSETS / "coco8/images/val") and len(found["holdout"].images) == 4
    assert found["search"].images == read_images(COCO128, "data").images


def test_role_warnings_name_the_same_train_and_val_an_overlap_and_a_small_holdout():
    coco128 = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO128)).recipe
    assert role_warnings(coco128, ["calibration", "search"]) == [
        f"{COCO128}: its train and val splits share 128 images; calibration takes none of the holdout's (pass "
        f"--calib with other images to calibrate on more)"]
    overlapping = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO128, calib=COCO128)).recipe
    warnings = role_warnings(overlapping, ["calibration", "search"])  # --calib is taken as given
    assert len(warnings) == 1 and warnings[0].startswith("64 of the 64 holdout images are also calibration images")
    assert "--calib" in warnings[0]
    coco8 = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO8)).recipe
    assert role_warnings(coco8, ["calibration"]) == [
        f"the holdout has 2 images ({COCO8} (val split), holdout share 1/2 by file-name hash), under the "
        f"{MIN_HOLDOUT_IMAGES} its numbers need: pass a larger --holdout or --data"]
    described = describe_roles({"holdout": verify_set(coco8)})
    assert described["holdout"]["images"] == 2 and all(f.endswith(".jpg") for f in described["holdout"]["files"])


def test_data_flag_replaces_the_recipes_own_image_keys(tmp_path):
    recipe = tmp_path / "mine.yaml"
    data = yaml.safe_load((Path(load_recipe("yolo12n").path)).read_text())
    data["check"]["images"] = str(ASSETS / "coco8/images/train")
    recipe.write_text(yaml.safe_dump(data))
    assert check_set(load_recipe(str(recipe)).recipe).source == str(ASSETS / "coco8/images/train")
    assert check_set(load_recipe(str(recipe), Overrides(data=COCO8)).recipe).source == f"{COCO8} (val split)"


def test_calibration_with_every_image_held_out_is_one_line_naming_the_flags():
    with pytest.raises(UsageError) as info:
        roles(data=COCO8, holdout=ASSETS / "coco8/images/train")
    assert str(info.value) == (f"data: every calibration image of {COCO8} (train split) is also a holdout image: "
                               f"pass --calib with other images, or --holdout")


def test_a_folder_named_by_a_relative_path_is_compared_by_the_same_paths_as_a_datasets(monkeypatch):
    """--holdout ../x/images/train holds the same files as the YAML's train split: calibration sees that."""
    monkeypatch.chdir(ASSETS / "coco128")
    relative = Path("../coco8/images/train")
    assert read_images(relative, "verify.images").images == read_images(COCO8, "data", split="train").images
    with pytest.raises(UsageError, match="every calibration image"):
        roles(data=COCO8, holdout=relative)


def test_the_search_never_falls_back_to_the_holdout():
    """precision.evaluate.images unset, no `data`: no search set, though a holdout is given (schema description)."""
    recipe = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, holdout=ASSETS / "coco8/images/val")).recipe
    assert recipe.precision.evaluate.images is None and len(verify_set(recipe).images) == 4
    assert search_set(recipe) is None


def test_evaluate_max_images_caps_the_search_and_the_precision_stages_holdout():
    recipe = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO128,
                                              sets=["precision.evaluate.max_images=5"])).recipe
    assert len(search_set(recipe).images) == 5
    assert len(verify_set(recipe, recipe.precision.evaluate.max_images).images) == 5  # the precision stage's share
    assert len(verify_set(recipe).images) == 64  # verify's: verify.max_images (128) of the 64-image holdout
