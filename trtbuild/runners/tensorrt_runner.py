"""TensorRT-family runner: reads the sidecar to pick the library flavor (TensorRT or TensorRT-RTX) and check the host
before deserializing, binds I/O by tensor name and runs `execute_async_v3` on its own torch CUDA stream (torch owns
the device memory: no cuda-python dependency).

Per frame nothing is allocated and nothing pageable is copied: each bound set of input shapes gets static device
buffers for every input and output, pinned host staging for numpy feeds, and with `cuda_graph` one CUDA graph over
those addresses (captured by torch for full TensorRT, by the library itself where the flavor has built-in graphs).
The stream ordering against the caller's and the host transfers are device_io.py's, as for ONNX Runtime. Flavors that compile kernels at load time keep them in a runtime cache file
(runtime_cache.py), saved after the first inference of each shape, at `deactivate` and at exit.

Nothing touches CUDA or imports a TensorRT library before `activate()`, so worker processes may create it freely."""

from __future__ import annotations

import hashlib
import logging
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from trtbuild.core.errors import StageFailed, StageUnavailable
from trtbuild.runners.base import DEVICE_RESIDENT, Runner, TensorInfo, read_model
from trtbuild.runners.device_io import RunnerStream, copy_frames, copy_from_host, hand_over
from trtbuild.runners.runtime_cache import RuntimeCacheFile
from trtbuild.tensorrt.compat import check_compat, incompatible_message
from trtbuild.tensorrt.dtypes import dtype_name, uncarried_reason
from trtbuild.tensorrt.flavor import Flavor, get_flavor
from trtbuild.tensorrt.sidecar import EngineSidecar, sidecar_path

if TYPE_CHECKING:  # choosing a runner (every build through verify or bench) must not import numpy
    import numpy as np

_LOG = logging.getLogger(__name__)  # the library's own messages; its errors also end the exceptions raised here


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
    """Runs an engine of any TensorRT-family library (runner name `engine`) on CUDA device `device`."""

    name = "engine"

    def __init__(self, engine_path: Path, device: int = 0, cuda_graph: bool = False, sha256: str | None = None):
        self.engine_path = Path(engine_path)
        self.sha256 = sha256  # given: the engine's bytes must hash to it (ChangedModelFile)
        self.device_index = device
        self.cuda_graph = cuda_graph
        self.sidecar: EngineSidecar | None = None
        self.flavor: Flavor | None = None
        self.notes: list[str] = []
        self.device = self.engine = self.context = None
        self.stream: RunnerStream | None = None
        self.runtime_config = self.runtime_cache = None  # flavors with a runtime cache; live as long as the context
        self.runtime = self._logger = None
        self._io: dict[str, tuple[bool, object]] = {}  # name -> (is_input, torch dtype)
        self._bound: dict[tuple, _Bound] = {}  # input shapes -> their static buffers and graph
        self._current: _Bound | None = None  # what the context's shapes and addresses are set to
        self._graph_failure: str | None = None  # why torch capture is off after it failed once
        self._cache_file: RuntimeCacheFile | None = None
        self._save_cache = None  # weakref.finalize: saves the runtime cache at deactivate, or at exit without one

    def activate(self) -> None:
        import torch

        from trtbuild.tensorrt.python_builder import make_logger

        device = torch.device("cuda", self.device_index)
        compute_capability = "{}.{}".format(*torch.cuda.get_device_capability(device))
        gpu_name = torch.cuda.get_device_name(device)
        checked = check_engine(self.engine_path, (compute_capability, gpu_name))
        if checked.problem:
            raise StageUnavailable(checked.problem)
        self.sidecar, self.flavor = checked.sidecar, checked.flavor
        self.notes += checked.notes
        trt = self._import_bindings()
        data = read_model(self.engine_path, self.sha256)
        with torch.cuda.device(device):  # the engine and its context belong to `device`, not the thread's current one
            self.device, self.stream = device, RunnerStream(device)
            self._logger = make_logger(trt, _LOG.info)  # keeps the library's errors for the messages below
            self.runtime = trt.Runtime(self._logger)
            if self.sidecar.version_compatible:
                self.runtime.engine_host_code_allowed = True  # off for every other engine
                self.notes.append("host code allowed: a version-compatible engine carries the lean runtime it runs")
            errors = len(self._logger.errors)
            self.engine = self.runtime.deserialize_cuda_engine(data)
            if self.engine is None:
                raise StageFailed(f"engine: {self.engine_path.name} did not deserialize: {self._library_error(errors)}")
            self._io = self._read_io(trt, torch)
            self.context = self._create_context(trt, data, gpu_name, compute_capability)

    def _import_bindings(self):
        try:
            return self.flavor.import_module()
        except (ImportError, OSError) as exc:  # OSError: bindings without their libraries
            raise StageUnavailable(f"{self.flavor.title}: {self.flavor.module} does not import "
                                   f"({type(exc).__name__}: {_one_line(exc)})") from None

    def _read_io(self, trt, torch) -> dict[str, tuple[bool, object]]:
        """I/O names, directions and torch dtypes; a dtype torch buffers cannot hold is refused here, in one line."""
        io = {}
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            trt_dtype = self.engine.get_tensor_dtype(name)
            reason = uncarried_reason(trt_dtype, torch)
            if reason:
                raise StageUnavailable(f"{self.engine_path.name}: I/O tensor {name!r} is {trt_dtype.name} ({reason}), "
                                       "which the engine runner cannot carry; rebuild the engine with float32 or "
                                       "float16 I/O (the low precision stays inside the network)")
            io[name] = (self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT,
                        getattr(torch, dtype_name(trt_dtype)))
        return io

    def _create_context(self, trt, data: bytes, gpu_name: str, compute_capability: str):
        config = (self._runtime_config(trt, data, gpu_name, compute_capability),) if self.flavor.runtime_cache else ()
        errors = len(self._logger.errors)
        context = self.engine.create_execution_context(*config)
        if context is None:  # out of device memory, or kernels that failed to compile
            raise StageFailed(f"engine: {self.engine_path.name}: no execution context could be created: "
                              f"{self._library_error(errors)}")
        return context

    def _runtime_config(self, trt, data: bytes, gpu_name: str, compute_capability: str):
        """For flavors that compile kernels at load time: the runtime cache (kernels compiled on an earlier start) and,
        when asked, the library's own CUDA-graph capture. Kept as an attribute: NVIDIA's samples keep it as long as
        the context."""
        from trtbuild.core.host import gpus

        self.runtime_config = self.engine.create_runtime_config()
        runtime_cache = self.runtime_config.create_runtime_cache()
        found = gpus()
        cache_file = RuntimeCacheFile.for_engine(self.sha256 or hashlib.sha256(data).hexdigest(), gpu_name,
                                                 compute_capability, found[0].driver if found else "unknown")
        self._note(cache_file.load(runtime_cache))
        errors = len(self._logger.errors)
        if self.runtime_config.set_runtime_cache(runtime_cache):
            self.runtime_cache, self._cache_file = runtime_cache, cache_file
            self._save_cache = weakref.finalize(self, cache_file.save, runtime_cache)  # runs at exit if never called
        else:
            self.notes.append(f"the library refused its runtime cache ({self._library_error(errors)}); kernels are "
                              "compiled at every start")
        if self.cuda_graph and self.flavor.builtin_cuda_graph:
            self.runtime_config.cuda_graph_strategy = trt.CudaGraphStrategy.WHOLE_GRAPH_CAPTURE
        return self.runtime_config

    def _uses_torch_graph(self) -> bool:
        return self.cuda_graph and not self.flavor.builtin_cuda_graph and self._graph_failure is None

    def deactivate(self) -> None:
        if self.stream is not None:
            self.stream.synchronize()  # queued work still reads the buffers and the context released below
        if self._save_cache is not None:
            self._note(self._save_cache())  # a finalizer runs once: this save replaces the one at exit
        self._bound, self._current = {}, None
        self.context = self.runtime_config = self.runtime_cache = self.engine = self.runtime = None
        self.stream = self._save_cache = self._cache_file = None

    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(name, tuple(None if d < 0 else d for d in self.engine.get_tensor_shape(name)),
                           str(dtype).removeprefix("torch."))
                for name, (is_input, dtype) in self._io.items() if is_input]

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Numpy in, numpy out (new arrays): staged through pinned host buffers, copied on the runner's stream."""
        with self.stream.ordered():
            bound = self._bind(self._input_shapes(feed))
            copy_from_host(bound.inputs, feed, bound.staging)
            self._run(bound)
            return self.stream.to_host(bound.outputs)

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

    def timing_mode(self) -> str:
        return DEVICE_RESIDENT if self._graph_failure else super().timing_mode()

    def infer_device(self, feed: dict) -> dict:
        """CUDA tensors written on the caller's current stream in; CUDA tensors out, valid on the caller's current
        stream, with no host synchronization. The outputs are the runner's static buffers: the next call overwrites
        them (clone what you keep)."""
        with self.stream.ordered():
            bound = self._bind(self._input_shapes(feed))
            copy_frames(bound.inputs, feed)  # casts to the engine's dtypes on the way
            self._run(bound)
        return hand_over(bound.outputs)

    def _input_shapes(self, feed: dict) -> dict[str, tuple[int, ...]]:
        return {name: tuple(feed[name].shape) for name, (is_input, _) in self._io.items() if is_input}

    def _bind(self, shapes: dict[str, tuple[int, ...]]) -> _Bound:
        """The static buffers of these input shapes (made the first time), with the context set to them."""
        import torch

        key = tuple(shapes.values())
        bound = self._bound.get(key)
        if bound is self._current and bound is not None:
            return bound
        self._current = None  # the context changes below; a failure leaves it set to nothing we know
        for name, shape in shapes.items():
            errors = len(self._logger.errors)
            if not self.context.set_input_shape(name, shape):
                raise StageFailed(f"engine: input {name} shape {shape} is outside the engine's profile: "
                                  f"{self._library_error(errors)}")
        if bound is None:
            inputs = {name: torch.empty(shape, dtype=self._io[name][1], device=self.device)
                      for name, shape in shapes.items()}
            bound = self._bound[key] = _Bound(inputs, self._output_buffers())
        for name, tensor in {**bound.inputs, **bound.outputs}.items():
            errors = len(self._logger.errors)
            if not self.context.set_tensor_address(name, tensor.data_ptr()):
                raise StageFailed(f"engine: the library refused the address of {name}: {self._library_error(errors)}")
        self._current = bound
        return bound

    def _output_buffers(self) -> dict:
        import torch

        outputs = {}
        for name, (is_input, dtype) in self._io.items():
            if is_input:
                continue
            shape = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise StageFailed(f"engine: output {name} has a data-dependent shape {shape} (not supported)")
            outputs[name] = torch.empty(shape, dtype=dtype, device=self.device)
        return outputs

    def _run(self, bound: _Bound) -> None:
        if bound.graph is not None:
            bound.graph.replay()
            return
        self._execute()
        if bound.ran:
            return
        bound.ran = True  # the first run at these shapes compiled their kernels and finished deferred shape work
        if self._cache_file is not None:
            self._note(self._cache_file.save(self.runtime_cache))  # kept now, not only if the runner is closed
        if self._uses_torch_graph():
            bound.graph = self._capture()

    def _execute(self) -> None:
        errors = len(self._logger.errors)
        if not self.context.execute_async_v3(self.stream.handle):
            raise StageFailed(f"engine: {self.engine_path.name}: inference failed: {self._library_error(errors)}")

    def _capture(self):
        """One `execute_async_v3` over the bound addresses as a CUDA graph, captured in thread-local mode (CUDA calls
        of other threads cannot spoil it). A library that cannot be captured runs without a graph, as trtexec does,
        and `describe()` says why."""
        import torch

        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=self.stream.stream, capture_error_mode="thread_local"):
                self._execute()
        except (RuntimeError, StageFailed) as exc:  # execute refused, or CUDA invalidated the capture
            self._graph_failure = f"off: capture failed ({_first_cause(exc)})"
            self.notes.append(f"CUDA graph {self._graph_failure}; running without a graph")
            return None
        return graph

    def _library_error(self, since: int = 0) -> str:
        """The library's last error message logged after the first `since`."""
        errors = self._logger.errors[since:]
        return errors[-1][:300] if errors else "the library logged no error"

    def _note(self, note: str | None) -> None:
        if note:
            self.notes.append(note)

    def describe(self) -> dict:
        import torch

        graph = None
        if self.cuda_graph:
            graph = "library" if self.flavor.builtin_cuda_graph else self._graph_failure or "torch"
        info = {"runner": self.name, "engine": str(self.engine_path), "library": self.flavor.name,
                "library_version": self.flavor.installed_version(), "bindings": str(self.flavor.installed()),
                "device": torch.cuda.get_device_name(self.device_index), "cuda_graph": graph,
                "io": {name: str(dtype).removeprefix("torch.") for name, (_, dtype) in self._io.items()},
                "precision": self.sidecar.precision, "built_with": self.sidecar.library_version,
                "built_for": self.sidecar.runs_on}
        if self._cache_file is not None:
            info["runtime_cache"] = str(self._cache_file.path)
        if self.notes:
            info["notes"] = self.notes
        return info


@dataclass
class _Bound:
    """What one set of input shapes runs with, made once; a graph captured over these addresses stays valid."""

    inputs: dict  # name -> static CUDA tensor
    outputs: dict
    staging: dict = field(default_factory=dict)  # name -> pinned host copy of an input, for numpy feeds
    graph: object | None = None  # torch.cuda.CUDAGraph
    ran: bool = False


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _first_cause(exc: BaseException) -> str:
    """The error that started a chain (a failed capture reports the library's refusal, then CUDA's invalidation)."""
    while exc.__context__ is not None:
        exc = exc.__context__
    return _one_line(exc)
