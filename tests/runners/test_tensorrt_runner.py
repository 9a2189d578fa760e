"""TensorRT runner: safe to create anywhere (no CUDA or tensorrt import before activate); on a GPU host, real
engines built through the Python backend run with static and dynamic batch, with and without CUDA graphs, and a
plan from another compute capability is refused before deserialization."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_tensorrt
from trtbuild.errors import StageUnavailable
from trtbuild.runners.tensorrt_runner import TensorRTRunner

TESTS = Path(__file__).resolve().parents[1]


def test_import_and_construction_touch_neither_cuda_nor_tensorrt():
    code = ("import sys, torch; from trtbuild.runners.tensorrt_runner import TensorRTRunner; "
            "r = TensorRTRunner('x.engine', cuda_graph=True); "
            "print('tensorrt' in sys.modules, 'tensorrt_rtx_bindings' in sys.modules, torch.cuda.is_initialized())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def _runs_here(backend: str) -> None:
    """Skip unless `backend` builds here and its engines run on this GPU (TensorRT-RTX: RTX / Ampere+, not 9.0)."""
    from trtbuild.backends.registry import get_backend
    from trtbuild.host import gpus
    from trtbuild.tensorrt.compat import gpu_runs_engine

    if backend == "tensorrt":
        needs_tensorrt()
        return
    flavor = get_backend(backend).flavor
    reason = get_backend(backend).unavailable_reason()
    if reason or not gpu_runs_engine(flavor, flavor.default_compute_capabilities, gpus()[0].compute_capability):
        pytest.skip(reason or f"{flavor.title} engines do not run on compute capability {gpus()[0].compute_capability}")


@pytest.fixture(params=["tensorrt", "tensorrt-rtx"])
def tiny_engine(request, tmp_path, cache_dir):  # cache_dir: the timing cache goes there
    """A real engine + sidecar built by the engine stage from a tiny ONNX (y = relu(2x + 1), dynamic batch 1..4)."""
    _runs_here(request.param)
    from trtbuild.recipe.schema import Recipe
    from trtbuild.stages.base import StageContext
    from trtbuild.stages.engine import EngineStage

    spec = importlib.util.spec_from_file_location("tiny_onnx", TESTS / "tensorrt" / "tiny_onnx.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    recipe = Recipe.model_validate({"name": "tiny", "task": "other", "model": {"adapter": "python"},
                                    "inputs": [{"name": "images", "shape": [1, 3, 8, 8],
                                                "dynamic": {0: {"min": 1, "opt": 2, "max": 4}}}],
                                    "engine": {"backend": request.param}})
    onnx = tiny.write_tiny_onnx(tmp_path / "model.onnx")
    work = tmp_path / "work"
    work.mkdir()
    metadata = tmp_path / "metadata.json"
    metadata.write_text("{}")  # what the export stage of a `python` adapter model writes
    out = EngineStage(recipe).run(StageContext(recipe, work, {"onnx": onnx, "metadata": metadata}, tmp_path / "stage.log"))
    return work / out.artifacts["engine"]


def _expected(x: np.ndarray) -> np.ndarray:
    return np.maximum(2 * x + 1, 0)


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_runs_dynamic_batch(tiny_engine, cuda_graph):
    rng = np.random.default_rng(0)
    with TensorRTRunner(tiny_engine, cuda_graph=cuda_graph) as runner:
        assert [(i.name, i.shape, i.dtype) for i in runner.inputs()] == [("images", (None, 3, 8, 8), "float32")]
        for batch in (1, 4, 4, 2):  # shape changes re-bind (and re-capture the graph)
            x = rng.standard_normal((batch, 3, 8, 8), dtype=np.float32)
            np.testing.assert_allclose(runner.infer({"images": x})["output0"], _expected(x), rtol=1e-6, atol=1e-6)
        info = runner.describe()
    assert info["runner"] == "tensorrt" and info["io"]["output0"] == "float32"
    assert bool(info["cuda_graph"]) is cuda_graph  # "torch" capture, or the library's own (TensorRT-RTX)


@pytest.mark.gpu
def test_second_start_reuses_the_runtime_cache(tiny_engine):
    from trtbuild.runners.tensorrt_runner import runtime_cache_path

    with TensorRTRunner(tiny_engine) as first:
        flavor = first.flavor
        first.infer({"images": np.ones((1, 3, 8, 8), np.float32)})
    cache = runtime_cache_path(tiny_engine)
    if not flavor.runtime_cache:
        assert not cache.exists()
        return
    assert cache.stat().st_size > 0  # kernels compiled at load time were kept
    with TensorRTRunner(tiny_engine) as second:
        second.infer({"images": np.ones((1, 3, 8, 8), np.float32)})
        assert not any("runtime cache" in note for note in second.notes)  # accepted, not recompiled


@pytest.mark.gpu
def test_device_path(tiny_engine):
    import torch

    x = torch.randn(2, 3, 8, 8, device="cuda")
    with TensorRTRunner(tiny_engine, cuda_graph=True) as runner:
        y = runner.infer_device({"images": x})["output0"]
        torch.cuda.synchronize()
        runner.timed_step(runner.device_feed({"images": np.ones((4, 3, 8, 8), np.float32)}))
        assert runner.on_gpu() and runner.timing_mode() == "cuda graph"
    assert y.is_cuda and torch.allclose(y, torch.relu(2 * x + 1))


@pytest.mark.gpu
def test_other_compute_capability_is_refused(tiny_engine):
    sidecar = tiny_engine.with_name(tiny_engine.name + ".json")
    data = json.loads(sidecar.read_text())
    data["runs_on"] = ["5.0"]
    sidecar.write_text(json.dumps(data))
    with pytest.raises(StageUnavailable, match="built for compute capabilit(y|ies) 5.0"):
        TensorRTRunner(tiny_engine).activate()
