"""Fixtures for the TensorRT tests: the manifest-generated stand-in module, one per supported version."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from trtbuild.recipe.schema import Recipe

_spec = importlib.util.spec_from_file_location("fake_tensorrt", Path(__file__).with_name("fake_tensorrt.py"))
fake_tensorrt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_tensorrt)


@pytest.fixture
def fake():
    """The stand-in generator module (make_module, manifest, VERSIONS)."""
    return fake_tensorrt


@pytest.fixture(params=fake_tensorrt.VERSIONS)
def trt(request, monkeypatch):
    """`import tensorrt` gives the stand-in for one manifest version (each test runs once per version)."""
    module = fake_tensorrt.make_module(request.param)
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    return module


@pytest.fixture
def make_recipe():
    def make(precision: dict | None = None, engine: dict | None = None, dynamic: bool = True) -> Recipe:
        image = {"name": "images", "shape": [1, 3, 640, 640]}
        if dynamic:
            image["dynamic"] = {0: {"min": 1, "opt": 2, "max": 8}}
        return Recipe.model_validate({
            "name": "tiny", "task": "other", "model": {"adapter": "python"},
            "inputs": [image, {"name": "scale", "shape": [1]}],
            "precision": precision or {}, "engine": engine or {},
        })

    return make
