"""Data sources: Ultralytics dataset YAMLs read by Ultralytics' own rules (checked against Ultralytics itself), image
folders, the bundled samples, which source each stage reads, and the errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ASSETS, COCO8, COCO128, YOLO_WEIGHTS

from trtbuild.data import bundled_samples, calibration_set, check_set, evaluation_set, read_images, verify_set
from trtbuild.errors import UsageError
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
    assert calibration_set(bare) is None and evaluation_set(bare) is None and verify_set(bare) is None
    data = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO128, calib=COCO8)).recipe
    assert len(check_set(data).images) == 8 and len(evaluation_set(data).images) == 32
    assert len(verify_set(data).images) == 128 and evaluation_set(data).labels
    assert calibration_set(data).source == f"{COCO8} (train split)"


def test_data_flag_replaces_the_recipes_own_image_keys(tmp_path):
    recipe = tmp_path / "mine.yaml"
    data = yaml.safe_load((Path(load_recipe("yolo12n").path)).read_text())
    data["check"]["images"] = str(ASSETS / "coco8/images/train")
    recipe.write_text(yaml.safe_dump(data))
    assert check_set(load_recipe(str(recipe)).recipe).source == str(ASSETS / "coco8/images/train")
    assert check_set(load_recipe(str(recipe), Overrides(data=COCO8)).recipe).source == f"{COCO8} (val split)"
