"""The torch runner: host and device-resident paths agree with the module; CUDA-graph replay agrees on a GPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import YOLO_WEIGHTS
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.runners.base import ON_CPU
from trtbuild.runners.factory import torch_runner
from trtbuild.runners.torch_runner import TorchRunner


def _conv_runner(**kwargs) -> tuple[torch.nn.Module, TorchRunner]:
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    return module, TorchRunner(module, ["x"], ["y"], **kwargs)


def test_host_and_device_paths_match_the_module():
    module, runner = _conv_runner()
    x = np.random.default_rng(0).random((1, 3, 16, 16), dtype=np.float32)
    with runner, torch.inference_mode():
        expected = module(torch.from_numpy(x)).numpy()
        np.testing.assert_array_equal(runner.infer({"x": x})["y"], expected)
        np.testing.assert_array_equal(runner.infer_device({"x": torch.from_numpy(x)})["y"].numpy(), expected)
        staged = runner.device_feed({"x": x})
        runner.timed_step(staged)
        assert runner.timing_mode() == ON_CPU and not runner.on_gpu()
        assert runner.describe()["dtype"] == "float32"


def test_cuda_graph_needs_a_cuda_device():
    with pytest.raises(ValueError, match="CUDA"):
        _conv_runner(cuda_graph=True)


@pytest.mark.gpu
def test_cuda_graph_replay_matches_eager_on_yolo(in_repo):
    recipe = load_recipe("yolo12n", Overrides(weights=YOLO_WEIGHTS)).recipe
    x = np.random.default_rng(0).random((1, 3, 640, 640), dtype=np.float32)
    with torch_runner(recipe, "cuda") as eager:
        expected = eager.infer({"images": x})["output0"]
    graphed = torch_runner(recipe, "cuda", options=_graph_options())
    with graphed:
        first = graphed.infer({"images": x})["output0"]
        graphed.timed_step(graphed.device_feed({"images": x}))
        assert graphed.timing_mode() == "cuda graph"
    np.testing.assert_allclose(first, expected, atol=1e-3, rtol=1e-4)


def _graph_options():
    from trtbuild.runners.factory import RunnerOptions

    return RunnerOptions(cuda_graph=True)
