"""Hostile and malformed recipes through real `trtbuild show` and `trtbuild build`: exit 2 and one line that names the
key or the byte offset, quickly, without a traceback and without building anything."""

from __future__ import annotations

import pytest
import yaml

from reliability.builds import TRTBUILD, invoke_cli, run, stderr_lines, tiny_recipe

pytestmark = pytest.mark.reliability

BASE = "name: tiny\ntask: other\nmodel: {adapter: python, options: {target: 'torchvision.models:resnet18'}}\n"
INPUTS = "inputs: [{name: image, shape: [1, 3, 64, 64]}]\n"


def _alias_bomb(where: str) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    body = "\n".join(f"  {line}" for line in lines)
    if where == "options":
        return BASE.replace("options: {", "options: {bomb: {x: 1}, ") + INPUTS + f"extra:\n{body}\n"
    return BASE + INPUTS + f"unknown_key:\n{body}\n"


HOSTILE = {  # name -> (file bytes, what the one line must say)
    "latin-1 value": ((BASE + INPUTS + "description: café\n").encode("latin-1"),
                      f"byte 0xe9 at byte offset {len(BASE + INPUTS) + 16}"),
    "UTF-16 with BOM": ((BASE + INPUTS).encode("utf-16"), "UTF-16 byte-order mark"),
    "0x80 in a comment": (b"# \x80 comment\n" + (BASE + INPUTS).encode(), "byte 0x80 at byte offset 2 (line 1)"),
    "alias bomb in model.options": (_alias_bomb("options").encode(), "anchors and aliases"),
    "alias bomb under an unknown key": (_alias_bomb("top").encode(), "anchors and aliases"),
    "10 MB comment": (b"#" + b"x" * 10_000_000 + b"\n" + (BASE + INPUTS).encode(), "larger than the 1 MiB limit"),
    "10 MB description": ((BASE + INPUTS + "description: " + "d" * 10_000_000 + "\n").encode(),
                          "larger than the 1 MiB limit"),
    "long description": ((BASE + INPUTS + "description: " + "d" * 600 + "\n").encode(),
                         "description: String should have at most 500 characters"),
    "huge image shape": ((BASE + "inputs: [{name: image, shape: [1, 3, 100000, 100000]}]\n").encode(),
                         "inputs[0]: shape 1x3x100000x100000 has 30,000,000,000 elements, over the per-input limit"),
    "huge dynamic batch": ((BASE + "inputs: [{name: image, shape: [1, 3, 640, 640], "
                                   "dynamic: {0: {min: 1, opt: 1, max: 100000}}}]\n").encode(),
                           "inputs[0]: shape 100000x3x640x640 has 122,880,000,000 elements"),
    "deep nesting": ((BASE + INPUTS + "x: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nested deeper than 32"),
    "5000-digit integer": ((BASE + INPUTS + "export: {opset: " + "9" * 5000 + "}\n").encode(),
                           "line 5, column 17: cannot read this value"),
    "python tag": ((BASE + INPUTS + "description: !!python/object/apply:os.system [echo pwned]\n").encode(),
                   "could not determine a constructor for the tag"),
    "NUL byte": ((BASE + INPUTS + "description: a\x00b\n").encode(), "unacceptable character #x0000"),
    "path in the name": ((BASE + INPUTS).replace("name: tiny", "name: ../../etc").encode(), "name: String should match"),
    "very long name": ((BASE + INPUTS).replace("name: tiny", "name: " + "a" * 300).encode(),
                       "name: String should have at most 64 characters"),
    "not a mapping": (b"- a\n- b\n", "a recipe must be a mapping of keys, got list"),
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_recipe_build_is_one_line_exit_2(tmp_path, kind):
    """A real process: quick, no traceback, nothing written."""
    path = _write(tmp_path, kind)
    proc = run([str(TRTBUILD), "build", str(path), "--cache-dir", str(tmp_path / "cache"),
                "--out", str(tmp_path / "out")], tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    _assert_one_line(stderr_lines(proc.stderr), path, kind)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists(), "nothing was built or written"


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_recipe_show_is_one_line_exit_2(tmp_path, capfd, kind):
    path = _write(tmp_path, kind)
    code, lines = invoke_cli(["show", str(path)], capfd)
    assert code == 2
    _assert_one_line(lines, path, kind)


def _write(tmp_path, kind):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(HOSTILE[kind][0])
    return path


def _assert_one_line(lines: list[str], path, kind) -> None:
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and HOSTILE[kind][1] in lines[0], lines
    assert len(lines[0]) < 400, "the line quotes the problem, not the input"


def test_shape_limit_applies_to_set_overrides_too(tmp_path):
    proc = run([str(TRTBUILD), "show", str(tiny_recipe(tmp_path)), "--set", "inputs[0].shape=[64,3,4096,4096]"],
               tmp_path)
    assert proc.returncode == 2 and "3,221,225,472 elements, over the per-input limit of 268,435,456" in proc.stderr


def test_alias_in_a_set_value_is_refused(tmp_path):
    proc = run([str(TRTBUILD), "show", str(tiny_recipe(tmp_path)), "--set", "model.options.x={a: &a [1], b: *a}"],
               tmp_path)
    assert proc.returncode == 2 and "anchors and aliases" in proc.stderr


@pytest.mark.parametrize(("adapter", "imported"), [("ultralytics", False), ("python", True)])
def test_only_the_python_adapter_imports_recipe_code(tmp_path, adapter, imported):
    """`model.options.target` names code that only the `python` adapter imports (the control case shows the planted
    module is importable); under `ultralytics` it is inert."""
    (tmp_path / "planted.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\ndef build(): pass\n")
    recipe = {"name": "y", "task": "detect", "inputs": [{"name": "images", "shape": [1, 3, 64, 64]}],
              "model": {"adapter": adapter, "random_weights": True,
                        "options": {"target": "planted:build", "cfg": "no-such-architecture.yaml"}}}
    (tmp_path / "y.yaml").write_text(yaml.safe_dump(recipe))
    proc = run([str(TRTBUILD), "build", "y.yaml", "--until", "export", "--cache-dir", str(tmp_path / "cache"),
                "--out", str(tmp_path / "out")], tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert (tmp_path / "ran").exists() == imported, proc.stderr


@pytest.mark.parametrize("kind", ["latin-1 value", "alias bomb in model.options", "not a mapping"])
def test_hostile_local_recipe_breaks_list_with_one_line(tmp_path, capfd, monkeypatch, kind):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "bad.yaml").write_bytes(HOSTILE[kind][0])
    monkeypatch.chdir(tmp_path)
    code, lines = invoke_cli(["list"], capfd)
    assert code == 2 and len(lines) == 1 and HOSTILE[kind][1] in lines[0], lines
