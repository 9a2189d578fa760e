"""Engine sets built for real once per session (the CPU-only host gets their ONNX candidates)."""

from __future__ import annotations

import pytest

from conftest import DEPTH_SEEDED, YOLO_WEIGHTS
from trtbuild import api
from trtbuild.build.pipeline import BuildOptions
from trtbuild.recipe import Overrides


@pytest.fixture(scope="session")
def yolo_engines(tmp_path_factory):
    """engines/yolo12n/ through the precision stage: the FP32 (simplified) and FP16 ONNX candidates."""
    root = tmp_path_factory.mktemp("runtime")
    api.build("yolo12n", Overrides(weights=YOLO_WEIGHTS), BuildOptions("precision", out_root=root / "engines"),
              cache_dir=root / "cache")
    return root / "engines" / "yolo12n"


@pytest.fixture(scope="session")
def depth_engines(tmp_path_factory):
    """engines/depth/ through simplify at 392x392 (the seeded checkpoint): the FP32 ONNX candidate."""
    root = tmp_path_factory.mktemp("runtime_depth")
    api.build("depth", Overrides(weights=DEPTH_SEEDED, sets=["inputs[0].shape=[1,3,392,392]"]),
              BuildOptions("simplify", out_root=root / "engines"), cache_dir=root / "cache")
    return root / "engines" / "depth"


@pytest.fixture(scope="session")
def classify_engines(tmp_path_factory):
    """engines/resnet18/ through simplify at 64x64 (torchvision's seeded random weights): the FP32 ONNX candidate."""
    root = tmp_path_factory.mktemp("runtime_classify")
    api.build("resnet18", Overrides(sets=["inputs[0].shape=[1,3,64,64]"]),
              BuildOptions("simplify", out_root=root / "engines"), cache_dir=root / "cache")
    return root / "engines" / "resnet18"
