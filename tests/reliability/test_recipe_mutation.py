"""Property-based recipe mutation (hypothesis): any mutant of a real recipe is either valid (exit 0, silent) or one
`error:` line naming the file (exit 2); never a traceback. `trtbuild show` runs in this process, 300 cases in all."""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability.builds import invoke_cli
from trtbuild.recipe.find import PACKAGED_DIR

pytestmark = pytest.mark.reliability

BASES = [yaml.safe_load((PACKAGED_DIR / f"{name}.yaml").read_text()) for name in ("yolo12n", "depth")]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["", "../../etc/passwd", "~", "$HOME/x", "0x10", "1e999", "[", "{", "a\x00b", "x" * 600,
                     "torchvision.models:resnet18", "!!python/object:os.system"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), inner, max_size=4),
                      max_leaves=12)


def _paths(node, prefix=()):
    """Every key path in a document (mapping keys and list indices)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


@st.composite
def mutants(draw) -> bytes:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent = doc
        for part in parent_path:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(VALUES)
        else:
            parent[key] = draw(VALUES)
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans())).encode()


@st.composite
def damaged_bytes(draw) -> bytes:
    data = bytearray(yaml.safe_dump(draw(st.sampled_from(BASES))).encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "overwrite", "truncate"]))
        if action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b"&a ", b"*a", b"!!", b"\t", b":"]))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        elif action == "overwrite" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            del data[at:]
    return bytes(data)


def _assert_clean(tmp_path, capfd, content: bytes) -> None:
    path = tmp_path / "mutant.yaml"
    path.write_bytes(content)
    code, lines = invoke_cli(["show", str(path)], capfd)
    assert (code, lines) == (0, []) or (code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {path}")), \
        (code, lines, content[:2000])


@SETTINGS
@given(content=mutants())
def test_mutated_values_and_keys(tmp_path, capfd, content):
    _assert_clean(tmp_path, capfd, content)


@SETTINGS
@given(content=damaged_bytes())
def test_mutated_bytes(tmp_path, capfd, content):
    _assert_clean(tmp_path, capfd, content)
