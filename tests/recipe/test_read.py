"""Reading recipe YAML defensively: size, encoding, anchors/aliases, nesting and unconstructible values; parsed
documents kept in the user cache."""

from __future__ import annotations

import pytest

from trtbuild.core.errors import UsageError
from trtbuild.recipe import read
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


def _read_fresh(path, monkeypatch) -> object:
    """read_recipe_file as a new process would: nothing parsed in this one yet."""
    monkeypatch.setattr(read, "_parsed", {})
    return read_recipe_file(path)


def _never_parse(monkeypatch) -> None:
    def parse(text, source):
        raise AssertionError(f"{source} was parsed")

    monkeypatch.setattr(read, "parse_yaml", parse)


def test_a_parsed_recipe_is_read_back_from_the_user_cache(tmp_path, cache_dir, monkeypatch):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ndynamic: {0: {min: 1, max: 8}}\nrate: .inf\nflags: [yes, ~]\n")
    first = _read_fresh(path, monkeypatch)
    assert first == {"name": "r", "dynamic": {0: {"min": 1, "max": 8}}, "rate": float("inf"), "flags": [True, None]}
    assert len(list((cache_dir / "recipes").iterdir())) == 1
    _never_parse(monkeypatch)
    assert _read_fresh(path, monkeypatch) == first


def test_the_store_is_keyed_by_the_text_and_the_parser(tmp_path, cache_dir, monkeypatch):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\n")
    _read_fresh(path, monkeypatch)
    path.write_text("name: s\n")  # another text: parsed
    assert _read_fresh(path, monkeypatch) == {"name": "s"}
    monkeypatch.setattr(read, "_parser_digest", lambda: "another PyYAML or loader")
    path.write_text("name: r\n")
    _never_parse(monkeypatch)
    with pytest.raises(AssertionError, match="was parsed"):  # the same text under another parser: parsed again
        _read_fresh(path, monkeypatch)


def test_what_is_not_stored_is_parsed_each_time(tmp_path, cache_dir, monkeypatch):
    dated, broken = tmp_path / "dated.yaml", tmp_path / "broken.yaml"
    dated.write_text("name: r\nwhen: 2024-05-01\n")  # marshal keeps builtin types only
    broken.write_bytes(b"a: &x [1]\nb: *x\n")
    assert _read_fresh(dated, monkeypatch)["when"].isoformat() == "2024-05-01"
    for _ in range(2):
        with pytest.raises(UsageError, match="YAML anchor"):
            _read_fresh(broken, monkeypatch)
    assert not (cache_dir / "recipes").exists() or not list((cache_dir / "recipes").iterdir())


def test_a_damaged_or_unwritable_store_only_costs_a_parse(tmp_path, cache_dir, monkeypatch):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\n")
    _read_fresh(path, monkeypatch)
    [stored] = (cache_dir / "recipes").iterdir()
    stored.write_bytes(b"\x00garbage")
    assert _read_fresh(path, monkeypatch) == {"name": "r"}  # parsed again, and stored again
    assert _read_fresh(path, monkeypatch) == {"name": "r"}
    monkeypatch.setenv("TRTBUILD_CACHE_DIR", str(path))  # a file: nothing can be stored under it
    assert _read_fresh(path, monkeypatch) == {"name": "r"}
