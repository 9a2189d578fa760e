"""Cells of a build matrix: from the command line's options and from a matrix YAML; bad input is one line."""

from __future__ import annotations

import pytest
from conftest import COCO128, YOLO_WEIGHTS

from trtbuild import api
from trtbuild.core.errors import UsageError
from trtbuild.farm.cells import read_target


def test_tensorrt_rtx_makes_one_cell_per_precision_for_all_targets():
    cells = api.recipe_cells("yolo12n", None, ["fp32", "fp16", "fp16"], ["8.6", 12])
    assert [c.name for c in cells] == ["yolo12n.fp32.tensorrt-rtx.sm86-120", "yolo12n.fp16.tensorrt-rtx.sm86-120"]
    assert all(c.anywhere and c.targets == ("8.6", "12.0") for c in cells)
    overrides = cells[1].recipe_overrides()
    loaded = api.load_checked_recipe("yolo12n", overrides)
    assert loaded.recipe.precision.mode == "fp16"
    assert loaded.recipe.engine.compute_capabilities == ["8.6", "12.0"]


def test_full_tensorrt_makes_one_cell_per_compute_capability():
    cells = api.recipe_cells("yolo12n", api.Overrides(sets=["engine.backend=tensorrt-bindings"]), [], ["8.9", "8.0"])
    assert [(c.precision, c.targets, c.anywhere) for c in cells] == [("fp16", ("8.9",), False),
                                                                      ("fp16", ("8.0",), False)]


def test_full_tensorrt_needs_targets():
    with pytest.raises(UsageError, match="--target"):
        api.recipe_cells("yolo12n", api.Overrides(sets=["engine.backend=tensorrt-bindings"]), ["fp16"], [])


@pytest.mark.parametrize("bad", ["8.65", "86", "sm_86", "9.5", "", True])
def test_a_target_that_is_not_a_compute_capability_is_one_line(bad):
    with pytest.raises(UsageError, match="is not a compute capability") as caught:
        read_target(bad)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value", ["9.9", "8.65", 9.5, "sm_86"])
def test_a_bad_target_is_refused_the_same_in_a_recipe_and_a_farm(value):
    with pytest.raises(UsageError) as by_recipe:
        api.load_checked_recipe("yolo12n", api.Overrides(sets=[f"engine.compute_capabilities=[{value!r}]"]))
    with pytest.raises(UsageError) as by_farm:
        read_target(value)
    assert f"engine.compute_capabilities: {value!r} is not a compute capability" in str(by_recipe.value)
    assert f"target {value!r} is not a compute capability" in str(by_farm.value)
    assert "\n" not in str(by_recipe.value) + str(by_farm.value)


@pytest.mark.parametrize("value, read", [("8.6", "8.6"), (12, "12.0"), (8.9, "8.9")])
def test_a_good_target_reads_the_same_in_a_recipe_and_a_farm(value, read):
    loaded = api.load_checked_recipe("yolo12n", api.Overrides(sets=[f"engine.compute_capabilities=[{value!r}]"]))
    assert loaded.recipe.engine.compute_capabilities == [read] == [read_target(value)]


def test_unknown_precision_is_one_line():
    with pytest.raises(UsageError, match="'int4' is not one of fp32, fp16, bf16, int8"):
        api.recipe_cells("yolo12n", None, ["int4"], [])


def _matrix(tmp_path, text: str):
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    return path


def test_matrix_yaml_cells_and_paths_relative_to_it(tmp_path):
    (tmp_path / "w.pt").write_bytes(YOLO_WEIGHTS.read_bytes())
    path = _matrix(tmp_path, f"builds:\n  - recipe: yolo12n\n    weights: w.pt\n    data: {COCO128}\n"
                             "    precisions: [fp32, int8]\n    targets: [8.6]\n")
    cells = api.matrix_cells(path)
    assert [c.name for c in cells] == ["yolo12n.fp32.tensorrt-rtx.sm86", "yolo12n.int8.tensorrt-rtx.sm86"]
    assert cells[0].overrides.weights == tmp_path / "w.pt"


@pytest.mark.parametrize(("text", "line"), [
    ("builds:\n  - recipe: yolo12n\n    wieghts: w.pt\n", "builds[0].wieghts: unknown key"),
    ("bilds: []\n", "bilds: unknown key"),
    ("builds: []\n", "builds: is empty: an empty matrix builds nothing"),
    ("builds:\n  - recipe: yolo12n\n    targets: [8.65]\n", "target 8.65 is not a compute capability"),
    ("- yolo12n\n", "a matrix YAML is a mapping"),
])
def test_bad_matrix_yaml_is_one_line_naming_the_problem(tmp_path, text, line):
    with pytest.raises(UsageError) as caught:
        api.matrix_cells(_matrix(tmp_path, text))
    assert line in str(caught.value) and "\n" not in str(caught.value)
