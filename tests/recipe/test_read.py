"""Reading recipe YAML defensively: size, encoding, anchors/aliases, nesting and unconstructible values."""

from __future__ import annotations

import pytest

from trtbuild.core.errors import UsageError
from trtbuild.recipe.read import MAX_RECIPE_BYTES, parse_yaml, read_recipe_file


@pytest.mark.parametrize(("content", "expected"), [
    (b"a: 1\n" + b"#" * MAX_RECIPE_BYTES, "larger than the 1 MiB limit"),
    ("a: 1\n".encode("utf-16"), "starts with a UTF-16 byte-order mark"),
    (b"a: 1\nb: caf\xe9\n", "not UTF-8: byte 0xe9 at byte offset 11 (line 2)"),
    (b"a: &x [1]\nb: *x\n", "line 1, column 4: YAML anchor 'x' found"),
    (b"b: *x\n", "line 1, column 4: YAML alias 'x' found"),
    (b"a: " + b"[" * 40 + b"]" * 40, "nested deeper than 32 levels"),
    (b"when: 2001-13-45\n", "line 1, column 7: cannot read this value (month must be in 1..12)"),
    (b"a: !!python/name:os.system\n", "could not determine a constructor"),
])
def test_refused_with_the_place(tmp_path, content, expected):
    path = tmp_path / "r.yaml"
    path.write_bytes(content)
    with pytest.raises(UsageError) as info:
        read_recipe_file(path)
    assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_utf8_with_bom_and_plain_yaml_are_read(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes("\ufeffname: café\nshape: [1, 3]\n".encode())
    assert read_recipe_file(path) == {"name": "café", "shape": [1, 3]}


def test_set_values_use_the_same_rules():
    assert parse_yaml("[1, 3, 64, 64]", "--set") == [1, 3, 64, 64]
    with pytest.raises(UsageError, match="--set: not valid YAML at line 1, column 5: YAML anchor"):
        parse_yaml("{a: &a 1, b: *a}", "--set")
