"""Runner parity: the torch and onnxruntime runners agree on both models, on a real image, through the factory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import ASSETS, DEPTH_SEEDED, REPO, YOLO_WEIGHTS
from trtbuild import api
from trtbuild.data import read_images
from trtbuild.feeds import feeds_for
from trtbuild.metrics.parity import compare_outputs
from trtbuild.pipeline import BuildOptions
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.runners.factory import RunnerFiles, available_runners, create_runner, torch_runner
from trtbuild.runners.base import ChangedModelFile
from trtbuild.runners.onnxruntime_runner import CPU_EP, CUDA_EP, OnnxRuntimeRunner, onnx_provider, session_providers

MODELS = {  # recipe -> (overrides, worst max|error| allowed)
    "yolo12n": (Overrides(weights=YOLO_WEIGHTS, precision="fp32"), 0.05),
    "depth": (Overrides(weights=DEPTH_SEEDED, precision="fp32", sets=["inputs[0].shape=[1,3,392,392]"]), 1e-3),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, RunnerFiles]:
    """The precision stage's ONNX per model (the cache directory is shared by the session's modules)."""
    cache = tmp_path_factory.getbasetemp() / "trtbuild-cache"
    out = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        reports = {name: api.build(name, overrides, BuildOptions("precision", out_root=out), cache)
                   for name, (overrides, _) in MODELS.items()}
    return {name: RunnerFiles(onnx=_published_onnx(report)) for name, report in reports.items()}


def _published_onnx(report):
    return Path(next(a.path for a in report.stage("precision").artifacts if a.role == "onnx"))


@pytest.mark.parametrize("name", MODELS)
def test_torch_and_onnxruntime_runners_agree(name, built, in_repo):
    overrides, max_abs = MODELS[name]
    recipe = load_recipe(name, overrides).recipe
    feeds, source = feeds_for(recipe, read_images(ASSETS / "coco8/images/val", "data").first(1))
    assert "images" in source
    with torch_runner(recipe, "cpu") as reference, create_runner("onnxruntime", recipe, built[name]) as candidate:
        stats = compare_outputs(reference.infer(feeds[0]), candidate.infer(feeds[0]))
        described = candidate.describe()
        staged = candidate.device_feed(feeds[0])
        candidate.timed_step(staged)
        assert candidate.timing_mode() == "cpu"
    assert described["providers"] == ["CPUExecutionProvider"]  # what the session got, not what was asked
    for output in stats.values():
        assert output["finite"] and output["max_abs"] < max_abs and output["rel_l2"] < 1e-4


def test_factory_skips_runners_without_their_artifacts(built):
    names, skipped = available_runners(["torch", "onnxruntime", "tensorrt"], RunnerFiles())
    assert names == ["torch"]
    assert "precision stage" in skipped["onnxruntime"] and "engine" in skipped["tensorrt"]
    assert available_runners(["onnxruntime"], built["depth"])[0] == ["onnxruntime"]


def test_with_a_digest_the_session_loads_the_bytes_it_checked(built, monkeypatch):
    depth, yolo = built["depth"].onnx, built["yolo12n"].onnx
    with pytest.raises(ChangedModelFile, match=depth.name):
        OnnxRuntimeRunner(depth, sha256="0" * 64).activate()
    monkeypatch.setattr("trtbuild.runners.onnxruntime_runner.read_model", lambda path, sha256: yolo.read_bytes())
    with OnnxRuntimeRunner(depth, sha256="checked") as runner:  # the checked bytes, not a second read of the file
        assert [i.name for i in runner.inputs()] == ["images"]


@pytest.mark.parametrize(("has_gpu", "available", "provider"), [
    (True, [CUDA_EP, CPU_EP], CUDA_EP), (True, [CPU_EP], CPU_EP), (False, [CUDA_EP, CPU_EP], CPU_EP)])
def test_cuda_provider_only_with_a_gpu_and_an_onnxruntime_that_has_it(has_gpu, available, provider):
    assert onnx_provider(has_gpu, available) == provider
    assert session_providers(provider) == ([CUDA_EP, CPU_EP] if provider == CUDA_EP else [CPU_EP])


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_cuda_execution_provider_with_io_binding_matches_cpu(built, in_repo, cuda_graph):
    onnx = built["depth"].onnx
    x = np.random.default_rng(0).random((1, 3, 392, 392), dtype=np.float32)
    with OnnxRuntimeRunner(onnx, [CPU_EP]) as cpu:
        expected = cpu.infer({"image": x})["depth"]
    with OnnxRuntimeRunner(onnx, [CUDA_EP, CPU_EP], cuda_graph=cuda_graph) as gpu:
        assert gpu.on_gpu()
        staged = gpu.device_feed({"image": x})
        gpu.timed_step(staged)
        np.testing.assert_allclose(gpu.infer({"image": x})["depth"], expected, atol=1e-3)
        assert gpu.timing_mode() == ("cuda graph" if cuda_graph else "device-resident")
