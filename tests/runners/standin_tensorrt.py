"""A stand-in for the TensorRT Python bindings: the part the engine runner calls, so that the runner's own GPU code
(streams, events, static buffers, pinned staging, CUDA graphs, the runtime cache file) runs on a CUDA GPU where no
TensorRT engine can (the lent Hopper refuses TensorRT-RTX engines; full TensorRT is not installed there).

Names and behaviour follow TensorRT's documented API (shared/reference/tensorrt_api/ lists the real names):
`Runtime(logger).deserialize_cuda_engine(blob)` returns None and logs an error for bytes that are no engine; an engine
lists its I/O tensors (name, mode, dtype, shape with -1 for dynamic axes); `create_execution_context` allocates the
engine's activation memory on the current device and returns None, with a logged error, when it cannot;
`set_input_shape` refuses shapes outside the profile; `set_tensor_address` wants 256-byte aligned addresses;
`execute_async_v3(stream_handle)` only enqueues work on that CUDA stream, reading and writing the bound addresses, and
returns False with a logged error when it cannot. The runtime config and runtime cache are TensorRT-RTX's: the first
execution at a shape compiles its kernel into the runtime cache (`IRuntimeCache.compiled` counts compilations), and
CudaGraphStrategy.WHOLE_GRAPH_CAPTURE makes the library capture and replay one CUDA graph per shapes and addresses.

An engine file is a JSON description (`write_engine`): y = relu(scale * x + bias), elementwise, one input and one
output of the same shape, the batch dynamic within a [min, max] profile. `host_sync` makes execution wait for the
stream on the host, as TensorRT does for layers with data-dependent output shapes, which no CUDA graph can capture.
`install(site)` lays the module out as pip would (module + dist-info), so flavor detection finds it in package
metadata as it finds the real bindings."""

from __future__ import annotations

import enum
import json
import shutil
import sys
from pathlib import Path

import torch

__version__ = "1.0.0"
DISTRIBUTION = "trtbuild-standin-tensorrt"
MODULE = "standin_tensorrt"
ENGINE_FORMAT = "trtbuild stand-in engine"
CACHE_FORMAT = "trtbuild stand-in runtime cache"
ALIGNMENT = 256  # TensorRT's documented minimum alignment of I/O addresses


class _Severity(enum.IntEnum):
    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3
    VERBOSE = 4


class ILogger:
    Severity = _Severity
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = _Severity

    def __init__(self):
        pass

    def log(self, severity, msg):  # pure virtual in TensorRT: subclasses implement it
        raise NotImplementedError


class Logger(ILogger):
    def __init__(self, min_severity=_Severity.WARNING):
        super().__init__()
        self.min_severity = min_severity

    def log(self, severity, msg):
        if severity <= self.min_severity:
            print(f"[stand-in TensorRT] {msg}", file=sys.stderr)


DataType = enum.Enum("DataType", "FLOAT HALF BF16 INT8 INT32 INT64 BOOL UINT8 FP8 INT4 FP4 E8M0")
TensorIOMode = enum.Enum("TensorIOMode", "NONE INPUT OUTPUT")
CudaGraphStrategy = enum.Enum("CudaGraphStrategy", "DISABLED WHOLE_GRAPH_CAPTURE")
# what the maths runs in: numpy typestr of the bound memory, and the torch dtype it is viewed as
_MEMORY = {"FLOAT": ("<f4", torch.float32), "HALF": ("<f2", torch.float16), "BF16": ("<u2", torch.bfloat16)}


class Dims(tuple):
    """trt.Dims: a sequence of ints, -1 for a dynamic axis."""


def engine_description(*, name: str = "images", output: str = "output0", shape=(3, 8, 8), batch=(1, 2, 4),
                       dtype: str = "FLOAT", output_dtype: str | None = None, scale: float = 2.0, bias: float = 1.0,
                       host_sync: bool = False, device_memory: int = 1 << 20) -> dict:
    """y = relu(scale * x + bias) with x of (batch, *shape); batch (min, opt, max)."""
    return {"format": ENGINE_FORMAT, "version": __version__,
            "inputs": [{"name": name, "dtype": dtype, "shape": [-1, *shape],
                        "profile": [[b, *shape] for b in batch]}],
            "outputs": [{"name": output, "dtype": output_dtype or dtype}],
            "scale": scale, "bias": bias, "host_sync": host_sync, "device_memory": device_memory}


def write_engine(path: Path, **description) -> dict:
    described = engine_description(**description)
    path.write_text(json.dumps(described))
    return described


def install(site: Path) -> None:
    """This module and its dist-info in `site`, as `pip install --target site` would lay them out."""
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(__file__, site / f"{MODULE}.py")
    write_distribution(site, DISTRIBUTION, __version__, [f"{MODULE}.py"])


def write_distribution(site: Path, distribution: str, version: str, files: list[str]) -> None:
    """The dist-info pip writes for an installed distribution (METADATA, and RECORD listing `files`)."""
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    (info / "RECORD").write_text("".join(f"{path},,\n" for path in [*files, f"{info.name}/METADATA",
                                                                     f"{info.name}/RECORD"]))


def _device_identity() -> str:
    if not torch.cuda.is_available():
        return "no GPU"
    return "{} {}.{}".format(torch.cuda.get_device_name(), *torch.cuda.get_device_capability())


class Runtime:
    def __init__(self, logger):
        self.logger = logger
        self.engine_host_code_allowed = False

    def deserialize_cuda_engine(self, serialized_engine):
        try:
            description = json.loads(bytes(serialized_engine))
        except (ValueError, UnicodeDecodeError):
            description = None
        if not isinstance(description, dict) or description.get("format") != ENGINE_FORMAT:
            self.logger.log(ILogger.ERROR, "IRuntime::deserializeCudaEngine: Error Code 1: Serialization "
                                           "(Serialization assertion magicTagRead == kMAGIC_TAG failed. Magic tag "
                                           "does not match)")
            return None
        if description["version"] != __version__:
            self.logger.log(ILogger.ERROR, "IRuntime::deserializeCudaEngine: Error Code 1: Serialization "
                                           f"(the engine was built with {description['version']}, this is "
                                           f"{__version__})")
            return None
        return ICudaEngine(description, self.logger)


class ICudaEngine:
    def __init__(self, description: dict, logger):
        self._description = description
        self._logger = logger
        self.device = torch.cuda.current_device() if torch.cuda.is_available() else None  # weights load here
        self._inputs = {t["name"]: t for t in description["inputs"]}
        self._outputs = {t["name"]: t for t in description["outputs"]}

    @property
    def num_io_tensors(self) -> int:
        return len(self._inputs) + len(self._outputs)

    def get_tensor_name(self, index: int) -> str:
        return [*self._inputs, *self._outputs][index]

    def get_tensor_mode(self, name: str):
        return TensorIOMode.INPUT if name in self._inputs else \
            TensorIOMode.OUTPUT if name in self._outputs else TensorIOMode.NONE

    def get_tensor_dtype(self, name: str):
        return DataType[{**self._inputs, **self._outputs}[name]["dtype"]]

    def get_tensor_shape(self, name: str) -> Dims:
        return Dims(self._description["inputs"][0]["shape"])  # the output has the input's shape

    def create_runtime_config(self):
        return IRuntimeConfig()

    def create_execution_context(self, runtime_config=None):
        try:  # activation memory, on the current device as TensorRT allocates it
            memory = torch.empty(self._description["device_memory"], dtype=torch.uint8, device="cuda")
        except torch.cuda.OutOfMemoryError as exc:
            self._logger.log(ILogger.ERROR, "IExecutionContext::createExecutionContext: Error Code 1: Cuda Runtime "
                                           f"(out of memory: {str(exc).splitlines()[0]})")
            return None
        return IExecutionContext(self, runtime_config, memory)


class IRuntimeConfig:
    def __init__(self):
        self._runtime_cache = None
        self.cuda_graph_strategy = CudaGraphStrategy.DISABLED

    def create_runtime_cache(self):
        return IRuntimeCache()

    def set_runtime_cache(self, cache) -> bool:
        self._runtime_cache = cache
        return isinstance(cache, IRuntimeCache)

    def get_runtime_cache(self):
        return self._runtime_cache


class IRuntimeCache:
    def __init__(self):
        self.kernels: set[str] = set()
        self.compiled = 0  # kernels compiled by this process (not taken from a deserialized cache)

    def serialize(self) -> bytes:
        return json.dumps({"format": CACHE_FORMAT, "version": __version__, "device": _device_identity(),
                           "kernels": sorted(self.kernels)}).encode()

    def deserialize(self, blob) -> bool:
        """False, and the cache unchanged, for a blob of another version or GPU or no cache at all."""
        try:
            data = json.loads(bytes(blob))
        except (ValueError, UnicodeDecodeError):
            return False
        if not isinstance(data, dict) or (data.get("format"), data.get("version"), data.get("device")) != (
                CACHE_FORMAT, __version__, _device_identity()):
            return False
        self.kernels = set(data["kernels"])
        return True

    def reset(self) -> None:
        self.kernels.clear()


class _DeviceArray:
    """Raw device memory as the CUDA array interface describes it (what torch.as_tensor wraps without copying)."""

    def __init__(self, address: int, shape: tuple, typestr: str):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (address, False), "version": 2}


class IExecutionContext:
    def __init__(self, engine: ICudaEngine, runtime_config: IRuntimeConfig | None, device_memory):
        self.engine = engine
        self._config = runtime_config
        self._device_memory = device_memory
        self._shapes: dict[str, tuple] = {}
        self._addresses: dict[str, int] = {}
        self._views: dict[tuple, tuple] = {}  # per shapes and addresses: the bound memory as torch tensors
        self._graphs: dict[tuple, torch.cuda.CUDAGraph] = {}  # library capture: per shapes and addresses

    def _error(self, message: str) -> bool:
        self.engine._logger.log(ILogger.ERROR, message)
        return False

    def set_input_shape(self, name: str, shape) -> bool:
        spec = self.engine._inputs.get(name)
        if spec is None:
            return self._error(f"IExecutionContext::setInputShape: Error Code 3: API Usage Error (no input {name})")
        low, high = spec["profile"][0], spec["profile"][-1]
        shape = tuple(int(d) for d in shape)
        if len(shape) != len(low) or not all(lo <= d <= hi for lo, d, hi in zip(low, shape, high)):
            return self._error("IExecutionContext::setInputShape: Error Code 3: API Usage Error (Parameter check "
                               f"failed, condition: satisfyProfile. Set dimension {list(shape)} for tensor {name} "
                               f"does not satisfy any optimization profiles. Valid range for profile 0: {low}..{high}.)")
        self._shapes[name] = shape
        return True

    def get_tensor_shape(self, name: str) -> Dims:
        first = self.engine._description["inputs"][0]
        return Dims(self._shapes.get(first["name"], first["shape"]))

    def set_tensor_address(self, name: str, memory: int) -> bool:
        if self.engine.get_tensor_mode(name) == TensorIOMode.NONE:
            return self._error(f"IExecutionContext::setTensorAddress: Error Code 3: API Usage Error (no tensor {name})")
        if int(memory) % ALIGNMENT:
            return self._error(f"IExecutionContext::setTensorAddress: Error Code 3: API Usage Error (address of "
                               f"{name} is not aligned to {ALIGNMENT} bytes)")
        self._addresses[name] = int(memory)
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        unset = [n for n in self.engine._inputs if n not in self._shapes] + \
                [n for n in (*self.engine._inputs, *self.engine._outputs) if n not in self._addresses]
        if unset:
            return self._error(f"IExecutionContext::enqueueV3: Error Code 3: API Usage Error (shape or address of "
                               f"{unset[0]} not set)")
        dtype = self.engine._description["inputs"][0]["dtype"]
        if dtype not in _MEMORY or self.engine._description["outputs"][0]["dtype"] != dtype:
            return self._error(f"IExecutionContext::enqueueV3: Error Code 9: API Usage Error (no kernel for {dtype})")
        stream = torch.cuda.ExternalStream(stream_handle)
        try:
            self._compile()
            key = (tuple(sorted(self._shapes.items())), tuple(sorted(self._addresses.items())))
            if key not in self._views:  # wrapped before any capture: wrapping asks CUDA which device owns the memory
                self._views[key] = (self._view(self.engine._description["inputs"][0]["name"]),
                                    self._view(self.engine._description["outputs"][0]["name"]))
            if self._config is not None and self._config.cuda_graph_strategy == CudaGraphStrategy.WHOLE_GRAPH_CAPTURE:
                self._replay_library_graph(stream, key)
            else:
                self._enqueue(stream, *self._views[key])
        except RuntimeError as exc:  # CUDA refused (e.g. a host wait inside someone's graph capture)
            return self._error(f"IExecutionContext::enqueueV3: Error Code 1: Cuda Runtime ({str(exc).splitlines()[0]})")
        return True

    def _compile(self) -> None:
        """TensorRT-RTX's JIT: the kernel of these shapes is compiled unless the runtime cache already holds it."""
        cache = self._config.get_runtime_cache() if self._config is not None else None
        if cache is None:
            return
        kernel = f"relu({self.engine._description['scale']}x+{self.engine._description['bias']}) " \
                 f"{self.engine._description['inputs'][0]['dtype']} {sorted(self._shapes.items())}"
        if kernel not in cache.kernels:
            cache.kernels.add(kernel)
            cache.compiled += 1

    def _view(self, name: str) -> torch.Tensor:
        """The bound memory of tensor `name` as a torch tensor of its shape and dtype (no copy)."""
        typestr, dtype = _MEMORY[{**self.engine._inputs, **self.engine._outputs}[name]["dtype"]]
        array = _DeviceArray(self._addresses[name], tuple(self.get_tensor_shape(name)), typestr)
        return torch.as_tensor(array, device=torch.device("cuda", torch.cuda.current_device())).view(dtype)

    def _enqueue(self, stream, x: torch.Tensor, y: torch.Tensor) -> None:
        """The engine's maths on `stream`, in place: nothing allocated, as TensorRT's kernels allocate nothing."""
        description = self.engine._description
        with torch.cuda.stream(stream):
            torch.mul(x, description["scale"], out=y)
            y.add_(description["bias"]).relu_()
            if description["host_sync"]:
                stream.synchronize()

    def _replay_library_graph(self, stream, key: tuple) -> None:
        if key not in self._graphs:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
                self._enqueue(stream, *self._views[key])
            self._graphs[key] = graph
        with torch.cuda.stream(stream):
            self._graphs[key].replay()
