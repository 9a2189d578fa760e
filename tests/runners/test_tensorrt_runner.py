"""TensorRT runner: safe to create anywhere (no CUDA or tensorrt import before activate).

On a CUDA GPU, the runner's own code runs for real against the stand-in bindings (standin_tensorrt.py, registered as
two flavors by conftest.py): streams, events, static buffers, pinned staging, CUDA graphs, the runtime cache file.
Where the library can (full TensorRT; TensorRT-RTX off Hopper), real engines built through the Python backend run with
static and dynamic batch, with and without CUDA graphs, and a plan from another compute capability is refused before
deserialization."""

import gc
import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_tensorrt
from trtbuild.core.errors import StageFailed, StageUnavailable
from trtbuild.runners.tensorrt_runner import TensorRTRunner, check_engine
from trtbuild.tensorrt.sidecar import EngineSidecar, sidecar_path

TESTS = Path(__file__).resolve().parents[1]
STANDINS = ["standin-tensorrt", "standin-tensorrt-rtx"]  # like full TensorRT; like TensorRT-RTX
GRAPH_MODE = {"standin-tensorrt": "torch", "standin-tensorrt-rtx": "library"}
SLEEP_CYCLES = 1 << 30  # torch.cuda._sleep: about half a second of GPU time on an H100


def test_import_and_construction_touch_neither_cuda_nor_tensorrt():
    code = ("import sys, torch; from trtbuild.runners.tensorrt_runner import TensorRTRunner; "
            "r = TensorRTRunner('x.engine', cuda_graph=True); "
            "print('tensorrt' in sys.modules, 'tensorrt_rtx_bindings' in sys.modules, torch.cuda.is_initialized())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def _runs_here(backend: str) -> None:
    """Skip unless `backend` builds here and its engines run on this GPU (TensorRT-RTX: RTX / Ampere+, not 9.0)."""
    from trtbuild.backends.registry import get_backend
    from trtbuild.core.host import gpus
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
    from trtbuild.build.stages.base import StageContext
    from trtbuild.build.stages.engine import EngineStage

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
    assert info["runner"] == "engine" and info["io"]["output0"] == "float32"
    assert bool(info["cuda_graph"]) is cuda_graph  # "torch" capture, or the library's own (TensorRT-RTX)


@pytest.mark.gpu
def test_second_start_reuses_the_runtime_cache(tiny_engine):
    with TensorRTRunner(tiny_engine) as first:
        first.infer({"images": np.ones((1, 3, 8, 8), np.float32)})
        cache = first.describe().get("runtime_cache")
    if not first.flavor.runtime_cache:
        assert cache is None
        return
    assert Path(cache).stat().st_size > 0  # kernels compiled at load time were kept
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


# --- the runner's own code, against the stand-in bindings ---------------------------------------------------------


def _expected(x):
    return np.maximum(2 * x + 1, 0)


def test_check_engine_finds_a_registered_flavor_in_package_metadata(standin_engine):
    """The stand-in's flavors come from the registry, its version from its dist-info, its GPUs from the sidecar."""
    for flavor in STANDINS:
        engine = standin_engine(flavor)
        runs_on = EngineSidecar.read(sidecar_path(engine)).runs_on
        assert check_engine(engine, (runs_on[0], "NVIDIA H100 80GB HBM3")).problem is None
        assert "5.0" in check_engine(engine, ("5.0", "an old GPU")).problem


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
@pytest.mark.parametrize("flavor", STANDINS)
def test_standin_dynamic_batch_host_and_device(standin_engine, flavor, cuda_graph):
    import torch

    rng = np.random.default_rng(0)
    with TensorRTRunner(standin_engine(flavor), cuda_graph=cuda_graph) as runner:
        assert [(i.name, i.shape, i.dtype) for i in runner.inputs()] == [("images", (None, 3, 8, 8), "float32")]
        for batch in (1, 4, 4, 2, 1):  # new shapes bind new buffers (and graphs); known ones reuse theirs
            x = rng.standard_normal((batch, 3, 8, 8), dtype=np.float32)
            np.testing.assert_array_equal(runner.infer({"images": x})["output0"], _expected(x))
            frame = torch.from_numpy(x).cuda()
            y = runner.infer_device({"images": frame})["output0"]
            assert y.is_cuda and torch.equal(y, torch.relu(2 * frame + 1))
        info = runner.describe()
        assert runner.timing_mode() == ("cuda graph" if cuda_graph else "device-resident")
    assert info["runner"] == "engine" and info["io"] == {"images": "float32", "output0": "float32"}
    assert info["cuda_graph"] == (GRAPH_MODE[flavor] if cuda_graph else None)


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
@pytest.mark.parametrize("flavor", STANDINS)
def test_runner_waits_for_the_frame_written_on_the_callers_stream(standin_engine, flavor, cuda_graph):
    """Defect 1: the frame is written on the caller's stream behind half a second of GPU sleep; a runner that does
    not wait for the caller's stream reads the old contents (-10 -> relu(-19) = 0)."""
    import torch

    caller = torch.cuda.Stream()
    with TensorRTRunner(standin_engine(flavor), cuda_graph=cuda_graph) as runner:
        runner.infer_device({"images": torch.zeros(2, 3, 8, 8, device="cuda")})  # binds and captures beforehand
        x = torch.randn(2, 3, 8, 8, device="cuda")
        frame = torch.full_like(x, -10.0)
        torch.cuda.synchronize()
        with torch.cuda.stream(caller):
            torch.cuda._sleep(SLEEP_CYCLES)
            frame.copy_(x)
            result = runner.infer_device({"images": frame})["output0"].clone()
        torch.cuda.synchronize()
    assert torch.equal(result, torch.relu(2 * x + 1))


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
@pytest.mark.parametrize("flavor", STANDINS)
def test_outputs_are_ready_on_the_callers_stream(standin_engine, flavor, cuda_graph):
    """The caller reads the outputs on its own stream at once; the runner's stream is held back by half a second of
    GPU sleep, so a caller that does not wait for it reads the previous frame's results."""
    import torch

    with TensorRTRunner(standin_engine(flavor), cuda_graph=cuda_graph) as runner:
        a, b = torch.randn(2, 3, 8, 8, device="cuda"), torch.randn(2, 3, 8, 8, device="cuda")
        runner.infer_device({"images": a})
        torch.cuda.synchronize()
        with torch.cuda.stream(runner.stream.stream):
            torch.cuda._sleep(SLEEP_CYCLES)
        result = runner.infer_device({"images": b})["output0"].clone()  # on the default stream
        torch.cuda.synchronize()
    assert torch.equal(result, torch.relu(2 * b + 1))


@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
@pytest.mark.parametrize("flavor", STANDINS)
def test_no_device_allocation_per_frame(standin_engine, flavor, cuda_graph):
    """After the first frame of a shape, neither path asks torch's allocator for device memory (the counts cover
    only the runner's calls; the test's own reference maths allocates)."""
    import torch

    frames = [torch.randn(2, 3, 8, 8, device="cuda") for _ in range(8)]
    expected = [torch.relu(2 * frame + 1) for frame in frames]
    arrays = [frame.cpu().numpy() for frame in frames]

    def allocations() -> int:
        return torch.cuda.memory_stats()["allocation.all.allocated"]

    with TensorRTRunner(standin_engine(flavor), cuda_graph=cuda_graph) as runner:
        runner.infer({"images": arrays[0]})  # warm-up: buffers, pinned staging, graph
        runner.infer_device({"images": frames[0]})
        grown = 0
        for frame, array, reference in zip(frames, arrays, expected):
            before = allocations()
            y = runner.infer_device({"images": frame})["output0"]
            grown += allocations() - before
            assert torch.equal(y, reference)
            before = allocations()
            host = runner.infer({"images": array})["output0"]
            grown += allocations() - before
            np.testing.assert_array_equal(host, _expected(array))
    assert grown == 0


@pytest.mark.gpu
def test_numpy_frames_are_copied_from_pinned_memory(standin_engine):
    """No pageable copy per frame: every host<->device copy of `infer` is from or to pinned memory (CUPTI's view)."""
    from torch.profiler import ProfilerActivity, profile

    x = np.ones((2, 3, 8, 8), np.float32)
    with TensorRTRunner(standin_engine(), cuda_graph=True) as runner:
        runner.infer({"images": x})
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(4):
                runner.infer({"images": x})
    copies = [e.name for e in prof.events() if e.name.startswith("Memcpy")]
    assert any("Pinned" in name for name in copies), copies
    assert not any("Pageable" in name for name in copies), copies


@pytest.mark.gpu
def test_runtime_cache_saved_after_first_inference_and_reused(standin_engine, cache_dir):
    import torch

    engine = standin_engine("standin-tensorrt-rtx")
    x = np.ones((2, 3, 8, 8), np.float32)
    first = TensorRTRunner(engine)
    first.activate()
    path = Path(first.describe()["runtime_cache"])
    # in the user's cache, keyed by the engine's digest, the GPU and the driver; never beside the engine
    assert path.is_relative_to(cache_dir / "runtime-cache") and not path.is_relative_to(engine.parent)
    assert hashlib.sha256(engine.read_bytes()).hexdigest() in path.parts
    assert "cc{}.{}".format(*torch.cuda.get_device_capability()) in path.name and "driver" in path.name
    assert not path.exists()
    first.infer({"images": x})
    assert path.is_file() and first.runtime_cache.compiled == 1  # saved after the first inference, before close
    first.infer({"images": x})
    assert first.runtime_cache.compiled == 1
    first.deactivate()
    with TensorRTRunner(engine) as second:
        np.testing.assert_array_equal(second.infer({"images": x})["output0"], _expected(x))
        assert second.runtime_cache.compiled == 0  # its kernel came from the file
        assert not any("runtime cache" in note for note in second.notes)


@pytest.mark.gpu
def test_runtime_cache_saved_when_the_runner_is_never_closed(standin_engine):
    """The README's usage never closes a Model: the cache is saved when the runner goes (and at interpreter exit)."""
    runner = TensorRTRunner(standin_engine("standin-tensorrt-rtx"))
    runner.activate()
    x = np.ones((1, 3, 8, 8), np.float32)
    runner.infer({"images": x})
    path = Path(runner.describe()["runtime_cache"])
    path.unlink()
    runner.infer({"images": x})  # a known shape: nothing new to save
    assert not path.exists()
    del runner
    gc.collect()
    assert path.is_file()


# Run in a child process: torch releases before pytorch#180395 (2.11 among them) leave the caching allocator believing
# a capture is still under way after one fails, which would spoil every later capture in this process.
FAILED_CAPTURE = """
import importlib.util, json, sys
import numpy as np, torch
site, fixtures_file, engine = sys.argv[1:]
sys.path.insert(0, site)
spec = importlib.util.spec_from_file_location("runner_fixtures", fixtures_file)
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)
from trtbuild.runners.tensorrt_runner import TensorRTRunner
from trtbuild.tensorrt.flavor import add_flavor
add_flavor(fixtures.STANDIN_TENSORRT)
rng, right = np.random.default_rng(1), []
with TensorRTRunner(engine, cuda_graph=True) as runner:
    for batch in (2, 2, 3):
        x = rng.standard_normal((batch, 3, 8, 8), dtype=np.float32)
        right.append(bool(np.array_equal(runner.infer({"images": x})["output0"], np.maximum(2 * x + 1, 0))))
        frame = torch.from_numpy(x).cuda()
        right.append(bool(torch.equal(runner.infer_device({"images": frame})["output0"], torch.relu(2 * frame + 1))))
    print(json.dumps({"right": right, "graph": runner.describe()["cuda_graph"], "timing": runner.timing_mode()}))
"""


@pytest.mark.gpu
def test_failed_capture_runs_without_a_graph_and_says_so(standin, standin_engine):
    """An engine whose execution waits on the host cannot be captured: it runs without a graph, describe() says why."""
    engine = standin_engine(host_sync=True)
    child = subprocess.run([sys.executable, "-c", FAILED_CAPTURE, str(Path(standin.__file__).parent),
                            str(Path(__file__).with_name("conftest.py")), str(engine)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    found = json.loads(child.stdout.splitlines()[-1])
    assert found["right"] == [True] * 6
    assert found["graph"].startswith("off: capture failed (") and "enqueueV3" in found["graph"], found["graph"]
    assert found["timing"] == "device-resident"


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["INT4", "FP4", "E8M0"])
def test_io_dtype_the_runner_cannot_carry_is_refused_in_one_line(standin_engine, dtype):
    with pytest.raises(StageUnavailable, match=rf"I/O tensor 'output0' is {dtype} \(") as refused:
        TensorRTRunner(standin_engine(output_dtype=dtype)).activate()
    assert "\n" not in str(refused.value) and "float32 or float16 I/O" in str(refused.value)


@pytest.mark.gpu
def test_library_messages_reach_the_errors(standin_engine):
    garbage = standin_engine()
    garbage.write_bytes(b"\x00 not an engine")
    with pytest.raises(StageFailed, match="did not deserialize: .*Magic tag does not match"):
        TensorRTRunner(garbage).activate()
    with pytest.raises(StageFailed, match="no execution context could be created: .*out of memory"):
        TensorRTRunner(standin_engine(device_memory=1 << 50)).activate()  # 1 PiB of activation memory
    with TensorRTRunner(standin_engine()) as runner:
        with pytest.raises(StageFailed, match="outside the engine's profile: .*satisfyProfile"):
            runner.infer({"images": np.ones((5, 3, 8, 8), np.float32)})  # the profile's batch is 1..4
        x = np.ones((3, 3, 8, 8), np.float32)
        np.testing.assert_array_equal(runner.infer({"images": x})["output0"], _expected(x))


@pytest.mark.gpu
def test_deactivate_waits_for_queued_work(standin_engine):
    import torch

    caller = torch.cuda.Stream()
    runner = TensorRTRunner(standin_engine())
    runner.activate()
    frame = torch.ones(2, 3, 8, 8, device="cuda")
    runner.infer_device({"images": frame})
    torch.cuda.synchronize()
    stream = runner.stream.stream
    with torch.cuda.stream(caller):
        torch.cuda._sleep(SLEEP_CYCLES)
        runner.infer_device({"images": frame})  # queued behind the caller's sleep
    assert not stream.query()
    runner.deactivate()
    assert stream.query()  # the context and buffers went only after their work was done


@pytest.mark.gpu
def test_deserialises_and_runs_on_its_own_device(standin_engine):
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs (e.g. nvidia-h100-x2)")
    torch.cuda.set_device(0)
    x = np.ones((2, 3, 8, 8), np.float32)
    with TensorRTRunner(standin_engine(), device=1) as runner:
        assert runner.engine.device == 1 and torch.cuda.current_device() == 0
        frame = torch.from_numpy(x).to("cuda:1")
        y = runner.infer_device({"images": frame})["output0"]
        assert y.device == torch.device("cuda", 1) and torch.equal(y, torch.relu(2 * frame + 1))
        np.testing.assert_array_equal(runner.infer({"images": x})["output0"], _expected(x))
