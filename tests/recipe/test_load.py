"""Recipe loading: packaged recipes resolve by name and alias, overrides apply, bad input is one precise line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trtbuild.core.errors import UsageError
from trtbuild.recipe import Overrides, list_recipes, load_recipe
from trtbuild.recipe.find import PACKAGED_DIR
from trtbuild.recipe.names import RenamedWarning
from trtbuild.build.registries import recipe_names


def test_packaged_recipes_are_listed_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = {e.name for e in list_recipes()}
    assert {"yolo12n", "depth"} <= names


@pytest.mark.parametrize("ref", ["depth", "depth-anything-v2-vits", "dav2", str(PACKAGED_DIR / "depth.yaml")])
def test_names_aliases_and_paths_resolve(ref):
    assert load_recipe(ref).recipe.name == "depth"


def test_project_local_recipe_shadows_packaged(tmp_path, monkeypatch):
    (tmp_path / "recipes").mkdir()
    data = yaml.safe_load((PACKAGED_DIR / "yolo12n.yaml").read_text())
    data["description"] = "local copy"
    (tmp_path / "recipes" / "yolo12n.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    assert load_recipe("yolo12n").recipe.description == "local copy"


def test_overrides_apply_before_validation():
    loaded = load_recipe("depth", Overrides(weights=Path("w.pth"), precision="int8", workspace_mib=4096,
                                            sets=["inputs[0].shape=[1,3,392,392]", "inputs.0.dynamic={0: {min: 1, opt: 1, max: 4}}"]))
    r = loaded.recipe
    assert (r.model.weights, r.precision.mode, r.engine.workspace_mib) == (Path("w.pth"), "int8", 4096)
    assert r.inputs[0].shape == [1, 3, 392, 392]
    assert r.inputs[0].shape_at("max") == [4, 3, 392, 392]


def test_digest_changes_with_any_override():
    assert load_recipe("depth").digest != load_recipe("depth", Overrides(workspace_mib=1)).digest


def _write(tmp_path: Path, mutate) -> str:
    data = yaml.safe_load((PACKAGED_DIR / "depth.yaml").read_text())
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


BAD_RECIPES = [
    (lambda d: d["engine"].update(workspce=4096), "engine.workspce: unknown key (did you mean 'workspace_mib'?"),
    (lambda d: d["inputs"][0].update(shape=[1, 3, 500, 518]), "needs multiples of 14, got 500 (nearest: 504)"),
    (lambda d: d["engine"].update(workspace_mib="lots"), "engine.workspace_mib: Input should be a valid integer"),
    (lambda d: d["engine"].update(workspace_mib=0), "engine.workspace_mib: Input should be greater than or equal to 1"),
    (lambda d: d["precision"].update(mode="fp8"), "precision.mode: Input should be 'fp32', 'fp16', 'bf16' or 'int8'"),
    (lambda d: d.pop("inputs"), "inputs: required key is missing"),
    (lambda d: d["model"].update(adapter="timm"), "model.adapter: unknown adapter 'timm' (adapters: ultralytics, "),
    (lambda d: d["bench"].update(runners=["torch", "tensorflow"]), "bench.runners: unknown runner 'tensorflow'"),
    (lambda d: d["verify"].update(runner="torch"), "verify.runner: torch is the reference"),
    (lambda d: d["inputs"][0].update(dynamic={0: {"min": 4, "opt": 2, "max": 8}}), "need min <= opt <= max"),
    (lambda d: d["engine"].update(optimization_level=9), "engine.optimization_level: Input should be less than"),
    (lambda d: d["verify"]["gates"].append({"metric": "abs_rel"}), "gate on 'abs_rel' needs `max` or `min`"),
    (lambda d: d["precision"].update(method="builder", mode="int8"), "method 'builder' supports fp16 only"),
    (lambda d: d.update(name="Depth Model"), "name: String should match pattern"),
    (lambda d: d["verify"].update(cannot_tell="pass"), "verify.cannot_tell: Input should be 'fail' or 'warn'"),
    (lambda d: d["verify"].update(batch_rel_l2=0), "verify.batch_rel_l2: Input should be greater than 0"),
]


@pytest.mark.parametrize(("mutate", "expected"), BAD_RECIPES)
def test_bad_recipe_is_one_line_naming_file_and_key(tmp_path, mutate, expected):
    path = _write(tmp_path, mutate)
    with pytest.raises(UsageError) as info:
        load_recipe(path, names=recipe_names())
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(("ref", "sets", "expected"), [
    ("nosuch", [], "unknown recipe 'nosuch'; known recipes:"),
    ("missing/recipe.yaml", [], "recipe file not found: missing/recipe.yaml"),
    ("depth", ["engine.workspace_mib"], "--set 'engine.workspace_mib': expected key.path=value"),
    ("depth", ["inputs[5].shape=[1]"], "index 5 out of range"),
    ("depth", ["engine.backend=[unclosed"], "--set 'engine.backend=[unclosed': value: not valid YAML"),
])
def test_bad_reference_or_override(ref, sets, expected):
    with pytest.raises(UsageError, match=None) as info:
        load_recipe(ref, Overrides(sets=sets))
    assert expected in str(info.value)


def test_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(UsageError, match=r"broken.yaml: not valid YAML"):
        load_recipe(str(path))


@pytest.mark.parametrize(("sets", "expected"), [
    (["inputs[0].shape=[1,3,100000,100000]"], "inputs[0]: shape 1x3x100000x100000 has 30,000,000,000 elements, "
                                              "over the per-input limit of 268,435,456"),
    (["inputs.0.dynamic={0: {min: 1, opt: 1, max: 100000}}", "inputs[0].shape=[1,3,518,518]"],
     "shape 100000x3x518x518 has"),
    (["description=" + "d" * 501], "description: String should have at most 500 characters (got 'ddd"),
    (["model.options={\"a\\u0085b\": 1}", "model.x\u2028y=1"], "model.'x\\u2028y': unknown key"),
])
def test_limits_and_odd_keys_are_one_line(sets, expected):
    with pytest.raises(UsageError) as info:
        load_recipe("depth", Overrides(sets=sets))
    assert expected in str(info.value) and len(str(info.value).splitlines()) == 1


def test_old_spellings_load_as_the_new_names_with_one_note_each(tmp_path):
    path = _write(tmp_path, lambda d: (d["engine"].update(backend="python"), d["bench"].update(runners=["tensorrt"]),
                                       d["verify"].update(runner="tensorrt")))
    with pytest.warns(RenamedWarning) as notes:
        recipe = load_recipe(path, names=recipe_names()).recipe
    assert (recipe.engine.backend, recipe.bench.runners, recipe.verify.runner) == ("tensorrt-bindings", ["engine"],
                                                                                     "engine")
    assert [str(n.message) for n in notes] == [
        "engine.backend: 'python' is now called 'tensorrt-bindings'; the old name still works, update the recipe",
        "verify.runner: 'tensorrt' is now called 'engine'; the old name still works, update the recipe",
        "bench.runners[0]: 'tensorrt' is now called 'engine'; the old name still works, update the recipe"]


@pytest.mark.parametrize("command", ["build", "verify"])
def test_a_bad_cannot_tell_is_one_line_exit_2_before_any_stage(command, tmp_path, in_repo, capfd):
    from typer.testing import CliRunner

    from trtbuild.cli import app

    result = CliRunner().invoke(app, [command, "depth", "--random-weights", "--cannot-tell", "maybe",
                                      "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 2
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "verify.cannot_tell: Input should be 'fail' or 'warn' (got 'maybe')" in errors[0]
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()
