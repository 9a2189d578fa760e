"""TensorRT-family runner: reads the sidecar to pick the library flavor (TensorRT or TensorRT-RTX) and check the host
before deserializing, binds I/O by tensor name, runs `execute_async_v3` on a torch CUDA stream (torch owns the
device memory: no cuda-python dependency), optionally through a CUDA graph. Flavors that compile kernels at load time
keep them in a runtime cache file beside the engine, so the second start is fast.

Nothing touches CUDA or imports a TensorRT library before `activate()`, so worker processes may create it freely."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trtbuild.errors import StageFailed, StageUnavailable
from trtbuild.runners.base import Runner, TensorInfo, read_model
from trtbuild.stale import write_atomically
from trtbuild.tensorrt.compat import check_compat, incompatible_message
from trtbuild.tensorrt.dtypes import dtype_name
from trtbuild.tensorrt.flavor import Flavor, get_flavor
from trtbuild.tensorrt.sidecar import EngineSidecar, sidecar_path

if TYPE_CHECKING:  # choosing a runner (every build through verify or bench) must not import numpy
    import numpy as np


def runtime_cache_path(engine_path: Path) -> Path:
    """Kernels compiled at load time (TensorRT-RTX) are kept beside the engine, or in the user cache when the engine
    folder is read-only (an installed application's engines)."""
    import os

    from trtbuild.cache import default_cache_dir

    name = engine_path.name + ".runtime-cache"
    if os.access(engine_path.parent, os.W_OK):
        return engine_path.with_name(name)
    return default_cache_dir() / "runtime-cache" / name


@dataclass(frozen=True)
class EngineCheck:
    problem: str | None  # why the engine cannot run here (one line); None: it can
    sidecar: EngineSidecar | None = None
    flavor: Flavor | None = None
    notes: tuple[str, ...] = ()  # it runs, but worth saying (another GPU model of the same compute capability)


def check_engine(engine: Path, gpu: tuple[str, str] | None,
                 installed: dict[str, str | None] | None = None) -> EngineCheck:
    """Can this engine run on this host's library and `gpu` (compute capability, name)? Decided from its sidecar and
    package metadata before any library is imported or the engine deserialized (e.g. a TensorRT-RTX engine on a
    Hopper GPU). The runner factory asks before choosing a runner, `activate` before loading, `trtbuild.load`
    before choosing (with `installed`: flavor -> bindings version, the host facts it chose by): the same answer."""
    sidecar_file = sidecar_path(engine)
    if not sidecar_file.is_file():
        return EngineCheck(f"no sidecar beside {engine.name}: cannot tell which library and GPU it was built for; "
                           "rebuild it with trtbuild")
    try:
        sidecar = EngineSidecar.read(sidecar_file)
        flavor = get_flavor(sidecar.library)
    except (OSError, ValueError, KeyError) as exc:
        return EngineCheck(f"unreadable sidecar {sidecar_file.name} ({' '.join(str(exc).split())[:160]}); "
                           "rebuild the engine")
    runtime = flavor.parsed_version(None if installed is None else installed.get(flavor.name) or "")
    if runtime is None:
        return EngineCheck(f"{flavor.title} is not installed, so its engines cannot run here ({flavor.install_hint})",
                           sidecar, flavor)
    if gpu is None:
        return EngineCheck(f"no NVIDIA GPU found (nvidia-smi lists none); {flavor.title} engines run on a GPU",
                           sidecar, flavor)
    compat = check_compat(sidecar, flavor, runtime, *gpu)
    problem = None if compat.ok else incompatible_message(engine.name, sidecar, flavor, compat)
    return EngineCheck(problem, sidecar, flavor, tuple(compat.notes))


class TensorRTRunner(Runner):
    """Runs an engine of any TensorRT-family library (runner name `engine`)."""

    name = "engine"

    def __init__(self, engine_path: Path, device: int = 0, cuda_graph: bool = False, sha256: str | None = None):
        self.engine_path = Path(engine_path)
        self.sha256 = sha256  # given: the engine's bytes must hash to it (ChangedModelFile)
        self.device_index = device
        self.cuda_graph = cuda_graph
        self.sidecar: EngineSidecar | None = None
        self.notes: list[str] = []
        self.engine = self.context = self.stream = self.runtime_cache = None
        self.flavor = None
        self._io: dict[str, tuple[bool, object]] = {}  # name -> (is_input, torch dtype)
        self._shapes: dict[str, tuple[int, ...]] | None = None
        self._inputs: dict = {}  # static input buffers (CUDA-graph mode: the graph reads these addresses)
        self._outputs: dict = {}
        self._graph = None

    def activate(self) -> None:
        import torch

        device = torch.device("cuda", self.device_index)
        compute_capability = "{}.{}".format(*torch.cuda.get_device_capability(device))
        checked = check_engine(self.engine_path, (compute_capability, torch.cuda.get_device_name(device)))
        if checked.problem:
            raise StageUnavailable(checked.problem)
        self.sidecar, self.flavor = checked.sidecar, checked.flavor
        self.notes += checked.notes
        trt = self.flavor.import_module()

        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        if self.sidecar.version_compatible:
            runtime.engine_host_code_allowed = True  # off for every other engine
            self.notes.append("host code allowed: a version-compatible engine carries the lean runtime it runs")
        self.engine = runtime.deserialize_cuda_engine(read_model(self.engine_path, self.sha256))
        if self.engine is None:
            raise StageFailed(f"engine: {self.engine_path} did not deserialize (the library's message is in the log)")
        self.context = self._create_context(trt)
        self.stream = torch.cuda.Stream(device)
        self.device = device
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            is_input = self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            self._io[name] = (is_input, getattr(torch, dtype_name(self.engine.get_tensor_dtype(name))))

    def _create_context(self, trt):
        """Flavors with load-time kernel compilation get a runtime config: the runtime cache (kernels compiled on
        an earlier start) and, when asked, the library's own CUDA-graph capture."""
        if not self.flavor.runtime_cache:
            return self.engine.create_execution_context()
        runtime_config = self.engine.create_runtime_config()
        self.runtime_cache = runtime_config.create_runtime_cache()
        cache_file = runtime_cache_path(self.engine_path)
        if cache_file.is_file() and not self.runtime_cache.deserialize(cache_file.read_bytes()):
            self.notes.append(f"runtime cache {cache_file.name} is from another GPU/driver/version; recompiling")
        runtime_config.set_runtime_cache(self.runtime_cache)
        if self.cuda_graph and self.flavor.builtin_cuda_graph:
            runtime_config.cuda_graph_strategy = trt.CudaGraphStrategy.WHOLE_GRAPH_CAPTURE
        return self.engine.create_execution_context(runtime_config)

    def _uses_torch_graph(self) -> bool:
        return self.cuda_graph and not self.flavor.builtin_cuda_graph

    def deactivate(self) -> None:
        if self.runtime_cache is not None:  # a concurrent start never reads half a cache
            cache_file = runtime_cache_path(self.engine_path)
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(cache_file, bytes(self.runtime_cache.serialize()))
        self._graph = self.context = self.engine = self.stream = self.runtime_cache = None
        self._inputs, self._outputs, self._shapes = {}, {}, None

    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(name, tuple(None if d < 0 else d for d in self.engine.get_tensor_shape(name)),
                           str(dtype).removeprefix("torch."))
                for name, (is_input, dtype) in self._io.items() if is_input]

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        outputs = self.infer_device(self.device_feed(feed))
        self.stream.synchronize()
        return {name: (t.float() if t.dtype == torch.bfloat16 else t).cpu().numpy() for name, t in outputs.items()}

    def on_gpu(self) -> bool:
        return True

    def device_feed(self, feed: dict[str, np.ndarray]) -> dict:
        import numpy as np
        import torch

        return {name: torch.from_numpy(np.ascontiguousarray(feed[name])).to(self.device, dtype)
                for name, (is_input, dtype) in self._io.items() if is_input}

    def timed_step(self, staged: dict) -> None:
        self.infer_device(staged)
        self.stream.synchronize()

    def infer_device(self, feed: dict) -> dict:
        """Device-resident inference for benchmarks: CUDA tensors in, CUDA tensors out (valid on the caller's
        current stream; no host synchronization). The output tensors are reused: the next call overwrites them."""
        import torch

        feed = {name: feed[name].to(self.device, dtype).contiguous()
                for name, (is_input, dtype) in self._io.items() if is_input}
        shapes = {name: tuple(t.shape) for name, t in feed.items()}
        if shapes != self._shapes:
            self._bind(shapes)
        with torch.cuda.stream(self.stream):
            self.stream.wait_stream(torch.cuda.current_stream(self.device))
            if self._uses_torch_graph():
                for name, tensor in feed.items():
                    self._inputs[name].copy_(tensor, non_blocking=True)
                self._replay()
            else:
                for name, tensor in feed.items():
                    tensor.record_stream(self.stream)  # keep the caching allocator off it until TensorRT is done
                    self.context.set_tensor_address(name, tensor.data_ptr())
                self._execute()
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        return dict(self._outputs)

    def _bind(self, shapes: dict[str, tuple[int, ...]]) -> None:
        """New input shapes: set them, size the outputs, and drop any captured graph (it holds the old shapes)."""
        import torch

        for name, shape in shapes.items():
            if not self.context.set_input_shape(name, shape):
                raise StageFailed(f"engine: input {name} shape {shape} is outside the engine's profile")
        self._outputs = {}
        for name, (is_input, dtype) in self._io.items():
            if is_input:
                continue
            shape = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise StageFailed(f"engine: output {name} has a data-dependent shape {shape} (not supported)")
            self._outputs[name] = torch.empty(shape, dtype=dtype, device=self.device)
            self.context.set_tensor_address(name, self._outputs[name].data_ptr())
        if self._uses_torch_graph():
            self._inputs = {name: torch.empty(shape, dtype=self._io[name][1], device=self.device)
                            for name, shape in shapes.items()}
            for name, buffer in self._inputs.items():
                self.context.set_tensor_address(name, buffer.data_ptr())
        self._shapes, self._graph = shapes, None

    def _execute(self) -> None:
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise StageFailed("engine: execute_async_v3 failed (the library's message is in the log)")

    def _replay(self) -> None:
        import torch

        if self._graph is None:
            self._execute()  # one plain run first: TensorRT finishes deferred shape work outside the capture
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=self.stream):
                self._execute()
            self._graph = graph
        self._graph.replay()

    def describe(self) -> dict:
        import torch

        graph = ("library" if self.flavor.builtin_cuda_graph else "torch") if self.cuda_graph else None
        info = {"runner": self.name, "engine": str(self.engine_path), "library": self.flavor.name,
                "library_version": self.flavor.installed_version(),
                "device": torch.cuda.get_device_name(self.device_index), "cuda_graph": graph,
                "io": {name: str(dtype).removeprefix("torch.") for name, (_, dtype) in self._io.items()},
                "precision": self.sidecar.precision, "built_with": self.sidecar.library_version,
                "built_for": self.sidecar.runs_on}
        if self.notes:
            info["notes"] = self.notes
        return info
