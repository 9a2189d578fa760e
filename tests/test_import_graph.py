"""trtbuild's imports follow its layers (docs/structure.md), imports inside functions included: read with ast by
benchmarks/import_graph.py, without importing trtbuild. A module in no layer fails here too: place it in LAYERS."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def graph() -> dict:
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "benchmarks" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.analyse(REPO)


def test_no_import_circles(graph):
    assert graph["circle_members"] == []


def test_no_upward_imports(graph):
    assert graph["upward"] == []


def test_build_and_runtime_stand_side_by_side(graph):
    assert graph["peer"] == []
