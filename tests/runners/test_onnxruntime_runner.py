"""The ONNX Runtime runner: parity with the torch runner on both models (a real image, through the factory), its
static buffers per bound shape on the CPU provider, and on a GPU its own stream, device frames, CUDA graph per shape
and fallback (tiny real ONNX models built here with onnx.helper)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from conftest import ASSETS, DEPTH_SEEDED, REPO, YOLO_WEIGHTS
from trtbuild import api
from trtbuild.data.datasets import read_images
from trtbuild.core.errors import UsageError
from trtbuild.data.feeds import feeds_for
from trtbuild.accuracy.parity import compare_outputs
from trtbuild.build.pipeline import BuildOptions
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
        expected = cpu.infer({"image": x})
    with OnnxRuntimeRunner(onnx, [CUDA_EP, CPU_EP], cuda_graph=cuda_graph) as gpu:
        assert gpu.on_gpu()
        staged = gpu.device_feed({"image": x})
        gpu.timed_step(staged)
        found = gpu.infer({"image": x})
        assert gpu.timing_mode() == ("cuda graph" if cuda_graph else "device-resident")
    # FP32 convolutions and matmuls may run in TF32 on the CUDA provider (its use_tf32 default)
    assert compare_outputs(expected, found)["depth"]["rel_l2"] < 1e-2


# --- tiny real models: images (batch, 3, H, W) -> scores = float16(relu(2x + 1)), counts = int64(relu(2x + 1)) ---

BATCHES = (1, 4, 2, 1)  # back to 1: a bound shape is reused, not bound again
TOLERANCE = {"float16": 4e-3, "int64": 1, "float32": 1e-6}  # fp16: one ulp at [2, 4); int64: a floor may flip by one


def _save(path: Path, nodes: list, inputs: list, outputs: list, initializers: list = ()) -> Path:
    model = helper.make_model(helper.make_graph(nodes, path.stem, inputs, outputs, initializer=list(initializers)),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _tiny(path: Path, input_type: str = "float32", hw: tuple = (8, 8)) -> Path:
    """An `input_type` input (a float16 one is cast to float first); axes named in `hw` are symbolic."""
    first = ([helper.make_node("Cast", ["images"], ["x"], to=TensorProto.FLOAT)] if input_type == "float16"
             else [helper.make_node("Identity", ["images"], ["x"])])
    nodes = [*first, helper.make_node("Mul", ["x", "two"], ["m"]), helper.make_node("Add", ["m", "one"], ["a"]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Cast", ["r"], ["scores"], to=TensorProto.FLOAT16),
             helper.make_node("Cast", ["r"], ["counts"], to=TensorProto.INT64)]
    shape = ["batch", 3, *hw]
    elem = TensorProto.FLOAT16 if input_type == "float16" else TensorProto.FLOAT
    return _save(path, nodes, [helper.make_tensor_value_info("images", elem, shape)],
                 [helper.make_tensor_value_info("scores", TensorProto.FLOAT16, shape),
                  helper.make_tensor_value_info("counts", TensorProto.INT64, shape)],
                 [helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0]),
                  helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])])


@pytest.fixture
def tiny(tmp_path) -> Path:
    return _tiny(tmp_path / "tiny.onnx")


def _reference(model: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """A plain session.run on the host arrays (the CPU provider)."""
    with OnnxRuntimeRunner(model, [CPU_EP]) as cpu:
        return cpu.infer({"images": x})


def _assert_close(found: dict, expected: dict[str, np.ndarray]) -> None:
    assert sorted(found) == sorted(expected)
    for name, want in expected.items():
        got = found[name]
        got = got.cpu().numpy() if hasattr(got, "cpu") else got
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=TOLERANCE[want.dtype.name])


def test_cpu_tensors_are_bound_once_per_shape_with_the_sessions_dtypes(tiny):
    rng = np.random.default_rng(0)
    pointers = []
    with OnnxRuntimeRunner(tiny) as runner:
        for batch in BATCHES:
            x = rng.random((batch, 3, 8, 8), dtype=np.float32)
            found = runner.infer_device({"images": torch.from_numpy(x)})
            assert {n: t.dtype for n, t in found.items()} == {"scores": torch.float16, "counts": torch.int64}
            _assert_close(found, _reference(tiny, x))
            pointers.append({name: tensor.data_ptr() for name, tensor in found.items()})
        described = runner.describe()
    assert pointers[-1] == pointers[0]  # batch 1 again: the same buffers
    assert len({p["scores"] for p in pointers}) == 3  # one set per shape
    assert "io_binding" not in described and "cuda_graphs" not in described  # the CPU provider


def test_a_floating_point_feed_is_converted_to_the_models_dtype(tmp_path):
    x = np.random.default_rng(1).random((2, 3, 8, 8))  # float64
    for input_type in ("float32", "float16"):
        model = _tiny(tmp_path / f"{input_type}.onnx", input_type)
        with OnnxRuntimeRunner(model) as runner:
            _assert_close(runner.infer_device({"images": torch.from_numpy(x)}), _reference(model, x.astype(input_type)))


@pytest.mark.parametrize(("feed", "message"), [
    ({"images": ((2, 3, 8, 8), "int32")}, r"input images is int32, tiny.onnx takes float32"),
    ({"images": ((2, 4, 8, 8), "float32")}, r"input images has shape \[2, 4, 8, 8\], tiny.onnx takes \['batch', 3, 8"),
    ({"images": ((3, 8, 8), "float32")}, r"input images has shape \[3, 8, 8\]"),
    ({"image": ((2, 3, 8, 8), "float32")}, r"the feed has inputs \['image'\], tiny.onnx takes \['images'\]"),
])
def test_a_feed_the_model_cannot_take_is_refused_in_one_line(tiny, feed, message):
    tensors = {name: torch.zeros(shape, dtype=getattr(torch, dtype)) for name, (shape, dtype) in feed.items()}
    with OnnxRuntimeRunner(tiny) as runner, pytest.raises(UsageError, match=message):
        runner.infer_device(tensors)


def test_static_buffers_need_outputs_fixed_but_for_the_batch_axis(tmp_path):
    model = _tiny(tmp_path / "any_size.onnx", hw=("height", "width"))
    with OnnxRuntimeRunner(model) as runner:
        with pytest.raises(UsageError, match=r"output scores of any_size.onnx has shape \['batch', 3, 'height'"):
            runner.infer_device({"images": torch.zeros(1, 3, 8, 8)})
        assert runner.infer({"images": np.zeros((1, 3, 8, 8), np.float32)})["counts"].shape == (1, 3, 8, 8)


def test_an_output_type_the_buffers_cannot_carry_is_named(tmp_path):
    model = _save(tmp_path / "bf16.onnx", [helper.make_node("Cast", ["images"], ["y"], to=TensorProto.BFLOAT16)],
                  [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 4])],
                  [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [1, 4])])
    with OnnxRuntimeRunner(model) as runner, pytest.raises(UsageError, match=r"output y is tensor\(bfloat16\)"):
        runner.infer_device({"images": torch.zeros(1, 4)})


def test_the_cpu_provider_runs_host_arrays_through_session_run(tiny):
    x = np.random.default_rng(2).random((2, 3, 8, 8), dtype=np.float32)
    with OnnxRuntimeRunner(tiny) as runner:
        found = runner.infer({"images": x})
        expected = dict(zip(["scores", "counts"], runner.session.run(["scores", "counts"], {"images": x})))
        staged = runner.device_feed({"images": x})
        runner.timed_step(staged)
        assert staged == {"images": x} and runner.timing_mode() == "cpu" and not runner.on_gpu()
    _assert_close(found, expected)


def test_cuda_graphs_need_the_cuda_provider(tiny):
    with pytest.raises(RuntimeError, match="CUDA graphs need CUDAExecutionProvider"):
        OnnxRuntimeRunner(tiny, [CPU_EP], cuda_graph=True).activate()


# --- on a GPU: ONNX Runtime's CUDA provider on the runner's own stream ---


def _cuda_runner(model: Path, cuda_graph: bool) -> OnnxRuntimeRunner:
    return OnnxRuntimeRunner(model, [CUDA_EP, CPU_EP], cuda_graph=cuda_graph)


@pytest.mark.gpu
@pytest.mark.parametrize("input_type", ["float32", "float16"])
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_host_and_device_frames_match_session_run_at_every_batch(tmp_path, cuda_graph, input_type):
    model = _tiny(tmp_path / "tiny.onnx", input_type)
    rng = np.random.default_rng(3)
    with _cuda_runner(model, cuda_graph) as runner:
        for batch in BATCHES:
            x = rng.random((batch, 3, 8, 8), dtype=np.float32)  # float32 frames; an FP16 model gets them converted
            expected = _reference(model, x.astype(input_type))
            _assert_close(runner.infer({"images": x}), expected)
            found = runner.infer_device({"images": torch.from_numpy(x).cuda()})
            assert all(t.is_cuda for t in found.values())
            _assert_close(found, expected)
        described = runner.describe()
    assert described["cuda_graph"] is cuda_graph and "cuda_graph_fallback" not in described
    assert described["io_binding"]
    if cuda_graph:
        assert described["cuda_graphs"] == {"1x3x8x8": 1, "4x3x8x8": 2, "2x3x8x8": 3}


def _sleep_cycles(seconds: float) -> int:
    """torch.cuda._sleep cycles that keep this GPU busy for about `seconds`."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.cuda._sleep(10_000_000)
    end.record()
    end.synchronize()
    return int(10_000_000 * seconds * 1000 / start.elapsed_time(end))


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_the_runner_waits_for_a_delayed_caller_stream_on_the_device(tiny, cuda_graph):
    """The caller writes the frame only after a long kernel on its own stream: a runner that does not make its
    stream (ONNX Runtime's too) wait for the caller's reads the frame before it is written."""
    x = np.random.default_rng(4).random((4, 3, 8, 8), dtype=np.float32)
    expected = _reference(tiny, x)
    cycles = _sleep_cycles(0.3)
    caller = torch.cuda.Stream()
    slept_from, slept_to = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    with _cuda_runner(tiny, cuda_graph) as runner, torch.cuda.stream(caller):
        frame = torch.zeros(x.shape, device="cuda")
        source = torch.from_numpy(x).cuda()
        runner.infer_device({"images": frame})  # binds (and captures) this shape before the delayed call
        caller.synchronize()
        slept_from.record()
        torch.cuda._sleep(cycles)
        slept_to.record()
        frame.copy_(source)
        start = time.perf_counter()
        outputs = runner.infer_device({"images": frame})
        returned_after_ms = (time.perf_counter() - start) * 1000
        found = {name: tensor.clone() for name, tensor in outputs.items()}  # read on the caller's stream
        caller.synchronize()
    _assert_close(found, expected)
    if not cuda_graph:  # no host synchronisation (ONNX Runtime's graph replay may synchronise by version)
        assert returned_after_ms < slept_from.elapsed_time(slept_to) / 2


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_frames_allocate_no_cuda_memory_once_their_shape_is_bound(tiny, cuda_graph):
    """torch's caching allocator counts every allocation request; ONNX Runtime's own arena is apart from it."""
    x = np.random.default_rng(5).random((2, 3, 8, 8), dtype=np.float32)
    with _cuda_runner(tiny, cuda_graph) as runner:
        frame = torch.from_numpy(x).cuda()
        for _ in range(3):  # binds the shape: buffers, pinned staging, the graph
            runner.infer({"images": x})
            runner.infer_device({"images": frame})
        torch.cuda.synchronize()
        before = torch.cuda.memory_stats()["allocation.all.allocated"]
        for _ in range(20):
            runner.infer({"images": x})
            runner.infer_device({"images": frame})
        torch.cuda.synchronize()
        assert torch.cuda.memory_stats()["allocation.all.allocated"] == before


@pytest.mark.gpu
def test_each_bound_shape_replays_its_own_graph(tiny):
    """A replay writes the buffers bound when its graph was captured, whatever a run binds: a probe binding run under
    a shape's graph id stays untouched, the same binding run without a graph (-1) is written."""
    rng = np.random.default_rng(6)
    with _cuda_runner(tiny, cuda_graph=True) as runner:
        for batch in (1, 4, 2):
            runner.infer({"images": rng.random((batch, 3, 8, 8), dtype=np.float32)})
        graphs = runner.describe()["cuda_graphs"]
        assert sorted(graphs.values()) == [1, 2, 3]
        for key, graph_id in graphs.items():
            shape = tuple(int(d) for d in key.split("x"))
            image = torch.rand(shape, device="cuda")
            probe = {name: torch.full(shape, -7, dtype=getattr(torch, dtype), device="cuda")
                     for name, dtype in (("scores", "float16"), ("counts", "int64"))}
            binding = runner.session.io_binding()
            binding.bind_input("images", "cuda", 0, np.float32, list(shape), image.data_ptr())
            for name, tensor in probe.items():
                binding.bind_output(name, "cuda", 0, np.dtype(str(tensor.dtype).removeprefix("torch.")), list(shape),
                                    tensor.data_ptr())
            torch.cuda.synchronize()
            for run_as, written in ((graph_id, False), (-1, True)):
                options = ort.RunOptions()
                options.add_run_config_entry("gpu_graph_id", str(run_as))
                runner.session.run_with_iobinding(binding, options)
                torch.cuda.synchronize()
                assert bool((probe["counts"] != -7).any()) is written, (key, run_as)


FAILED_CAPTURE = """
import json, sys
import numpy as np
from trtbuild.runners.onnxruntime_runner import CPU_EP, CUDA_EP, OnnxRuntimeRunner
x = {"images": np.random.default_rng(7).random((1, 3, 8, 8), dtype=np.float32).round()}  # about half nonzero
with OnnxRuntimeRunner(sys.argv[1], [CPU_EP]) as cpu:
    expected = cpu.infer(x)["total"]
with OnnxRuntimeRunner(sys.argv[1], [CUDA_EP, CPU_EP], cuda_graph=True) as gpu:
    found, described, mode = gpu.infer(x)["total"], gpu.describe(), gpu.timing_mode()
print(json.dumps({"found": float(found), "expected": float(expected), "cuda_graph": described["cuda_graph"],
                  "fallback": described.get("cuda_graph_fallback"), "mode": mode}))
"""


@pytest.mark.gpu
def test_a_graph_onnx_runtime_cannot_capture_leaves_plain_io_binding(tmp_path):
    """NonZero copies its count to the host to size its output: not capturable. The runner says so and goes on. In a
    child process: a capture that fails inside native code must not leave its CUDA state to the tests after it."""
    model = _save(tmp_path / "nonzero.onnx",
                  [helper.make_node("NonZero", ["images"], ["where"]),
                   helper.make_node("Cast", ["where"], ["w"], to=TensorProto.FLOAT),
                   helper.make_node("ReduceSum", ["w"], ["total"], keepdims=0)],
                  [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 8, 8])],
                  [helper.make_tensor_value_info("total", TensorProto.FLOAT, [])])
    child = subprocess.run([sys.executable, "-c", FAILED_CAPTURE, str(model)], capture_output=True, text=True,
                           timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    found = json.loads(child.stdout.splitlines()[-1])
    assert found["found"] == found["expected"]  # sums of integer indices: exact
    assert found["cuda_graph"] is False and found["fallback"] and found["mode"] == "device-resident"
