"""ONNX Runtime runner; reports the execution providers the session really got, not the ones asked for.

`simulated_qdq` (accuracy evaluation of INT8 Q/DQ graphs): DequantizeLinear stays a float op, so every CPU computes
the same simulated quantization that TensorRT's INT8 math approximates. By default ONNX Runtime fuses Q/DQ into its
u8/s8 integer kernels, whose results depend on the CPU: without VNNI (VPMADDUBSW) their 16-bit intermediate sums
saturate (the depth INT8 graph: rel MSE 0.9 % on a VNNI CPU, 92.5 % on another). TensorRT never runs those kernels.

On the CUDA execution provider the runner owns the device path (device_io.py):
- One stream: the runner's own torch CUDA stream is ONNX Runtime's compute stream (provider option
  `user_compute_stream`; copies stay on it too, `do_copy_in_default_stream` keeps its default). `RunnerStream.ordered`
  orders it against the caller's stream on the device, and runs pass `disable_synchronize_execution_providers`, so
  frames that are already CUDA tensors (`infer_device`) do not make the host wait (a graph replay may: the CUDA
  provider of some ONNX Runtime versions synchronises its stream after each replay).
- Static buffers per bound input shape: torch tensors for every input and output, bound once by address (IO
  binding) and reused every frame. Output shapes come from the session (a symbolic batch axis follows the input
  batch), dtypes from its I/O types. Floating-point feeds of another float dtype are converted into the buffers.
- Host arrays (`infer`): pinned staging per shape, the H2D copy, the run and the D2H copy on the runner's stream,
  one stream synchronisation; the results are fresh pinned arrays the caller may keep.
- CUDA graphs (`cuda_graph`): one per bound shape, told apart by the run option `gpu_graph_id` (ids from 1: ONNX
  Runtime reserves 0, and -1 runs without a graph). ONNX Runtime captures an id after plain runs of it and then
  replays it, reading and writing the addresses bound at capture: the static buffers. A shape is captured when it is
  bound, on zeroed inputs: one run with id -1 first (ONNX Runtime's memory arena grows outside the capture, where
  allocating is allowed), then GRAPH_ID_RUNS runs under the shape's id. A session or a capture ONNX Runtime cannot
  make (a node left on the CPU, a kernel that synchronises) leaves the runner on plain IO binding on a new session,
  and describe() says why, as trtexec does. ONNX Runtime keeps graphs per calling thread and captures in CUDA's
  global mode: bind shapes (warm up) from the thread that infers, before other threads start CUDA work.
On the CPU provider `infer` stays a plain `session.run` on the host arrays (the fastest there), and `infer_device`
binds CPU tensors the same way as CUDA ones.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trtbuild.core.errors import StageUnavailable, UsageError
from trtbuild.runners.base import Runner, TensorInfo, read_model
from trtbuild.runners.device_io import RunnerStream, copy_frames, copy_from_host, hand_over

CUDA_EP = "CUDAExecutionProvider"
CPU_EP = "CPUExecutionProvider"
SIMULATED_QDQ = ("session.disable_quant_qdq", "1")
SIMULATED_QDQ_MODE = "simulated (session.disable_quant_qdq)"  # how reports name it
INT8_CPU_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")  # what picks ORT's int8 kernels
NO_HOST_SYNC = ("disable_synchronize_execution_providers", "1")  # run option: Run returns once its work is enqueued
GRAPH_ID = "gpu_graph_id"  # run option: which captured CUDA graph a run replays
NO_GRAPH = -1
GRAPH_ID_RUNS = 3  # ONNX Runtime captures an id after 1 or 2 plain runs of it (by version), then replays it
BINDABLE = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
            "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int16)": "int16", "tensor(int8)": "int8",
            "tensor(uint8)": "uint8", "tensor(bool)": "bool"}  # I/O types -> the numpy and torch dtype of that name
FLOATS = ("float16", "bfloat16", "float32", "float64")


@dataclass
class BoundShape:
    """One input shape: static buffers (torch tensors on the runner's device), the IO binding over their addresses
    and the run options of its runs (its CUDA graph's id, if any)."""

    inputs: dict
    outputs: dict
    binding: object
    run_options: object
    graph_id: int | None = None
    staging: dict = field(default_factory=dict)  # host arrays: pinned copies of the inputs, made on first use


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, model_path: Path, providers: list[str] | None = None, threads: int | None = None,
                 cuda_graph: bool = False, device_id: int = 0, simulated_qdq: bool = False, sha256: str | None = None):
        self.model_path = Path(model_path)
        self.sha256 = sha256  # given: the model's bytes must hash to it (ChangedModelFile)
        self.simulated_qdq = simulated_qdq
        self.requested = providers or [CPU_EP]
        self.threads = threads
        self.cuda_graph = cuda_graph  # asked for, until ONNX Runtime cannot capture (then graph_fallback says why)
        self.graph_fallback: str | None = None
        self.device_id = device_id
        self.session = None
        self.stream = None  # RunnerStream while the session runs on the CUDA provider
        self._model = self._options = None
        self._inputs: list[TensorInfo] = []  # the session's I/O as plain data (its NodeArgs would keep it alive)
        self._outputs: list[TensorInfo] = []
        self._bound: dict[tuple, BoundShape] = {}

    def activate(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
        if self.simulated_qdq:
            options.add_session_config_entry(*SIMULATED_QDQ)
        self._options = options
        # with a digest, the session gets the very bytes checked; else ONNX Runtime reads the file (and any external
        # data beside it) itself
        self._model = read_model(self.model_path, self.sha256) if self.sha256 else str(self.model_path)
        if CUDA_EP in self.requested:
            self.stream = _runner_stream(self.device_id)
        try:
            self.session = self._open_session(self.cuda_graph)
        except Exception as exc:
            if not self.cuda_graph:
                raise
            self._drop_graphs(exc)
        if not self.on_gpu():
            if self.cuda_graph:
                raise RuntimeError(f"onnxruntime: CUDA graphs need {CUDA_EP}, the session got "
                                   f"{self.session.get_providers()}")
            self.stream = None  # the CUDA provider was not given: host arrays straight in, as on the CPU
        self._inputs, self._outputs = ([TensorInfo(a.name, tuple(a.shape), a.type) for a in args]
                                       for args in (self.session.get_inputs(), self.session.get_outputs()))

    def deactivate(self) -> None:
        if self.stream is not None:  # nothing in flight reads the buffers when they go, the caller's reads included
            import torch

            torch.cuda.synchronize(self.stream.device)
        self.session, self.stream, self._bound = None, None, {}

    def inputs(self) -> list[TensorInfo]:
        return list(self._inputs)

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.stream is None:
            names = [o.name for o in self._outputs]
            return dict(zip(names, self.session.run(names, feed)))
        bound = self._bound_for(feed)
        with self.stream.ordered():
            copy_from_host(bound.inputs, feed, bound.staging)
            self._run(bound)
            return self.stream.to_host(bound.outputs)

    def infer_device(self, feed: dict) -> dict:
        """torch tensors in (any device; a floating-point dtype is converted to the model's), the runner's static
        output tensors out: on the CUDA provider CUDA tensors valid on the caller's current stream, with no host
        synchronisation. The next call overwrites them: a caller that keeps them clones them first."""
        bound = self._bound_for(feed)
        with self._ordered():
            copy_frames(bound.inputs, feed)
            self._run(bound)
        return hand_over(bound.outputs)

    def on_gpu(self) -> bool:
        return self.session is not None and self.session.get_providers()[0] == CUDA_EP

    def device_feed(self, feed: dict[str, np.ndarray]) -> object:
        if self.stream is None:
            return feed
        bound = self._bound_for(feed)
        with self.stream.ordered():
            copy_from_host(bound.inputs, feed, bound.staging)
        return bound

    def timed_step(self, staged: object) -> None:
        if self.stream is None:
            self.session.run(None, staged)
            return
        with self.stream.ordered():
            self._run(staged)
        self.stream.synchronize()

    def describe(self) -> dict:
        import onnxruntime as ort

        info = {"runner": self.name, "model": self.model_path.name,
                "providers": self.session.get_providers() if self.session else [],
                "requested": self.requested, "cuda_graph": self.cuda_graph, "onnxruntime": ort.__version__,
                "qdq": SIMULATED_QDQ_MODE if self.simulated_qdq else "fused integer kernels",
                "cpu_int8_flags": int8_cpu_flags()}
        if self.stream is not None:
            import torch

            info.update(device=torch.cuda.get_device_name(self.stream.device),
                        io_binding="static buffers per input shape, on the runner's own CUDA stream")
        if self.cuda_graph:
            info["cuda_graphs"] = {_shape_key(b.inputs): b.graph_id for b in self._bound.values()}
        if self.graph_fallback:
            info["cuda_graph_fallback"] = self.graph_fallback
        return info

    def _open_session(self, graph: bool):
        import onnxruntime as ort

        cuda = {"device_id": str(self.device_id), "enable_cuda_graph": "1" if graph else "0"}
        if self.stream is not None:
            cuda["user_compute_stream"] = str(self.stream.handle)
        providers = [(p, cuda) if p == CUDA_EP else p for p in self.requested]
        return ort.InferenceSession(self._model, self._options, providers=providers)

    def _drop_graphs(self, exc: Exception) -> None:
        """ONNX Runtime could not make a graph: plain IO binding on a new session from now on (the old one's
        bindings and any half-made graph go with it)."""
        self.graph_fallback = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        self.cuda_graph, self._bound = False, {}
        self.session = self._open_session(graph=False)

    def _ordered(self):
        return self.stream.ordered() if self.stream is not None else nullcontext()

    def _bound_for(self, feed: dict) -> BoundShape:
        """The static buffers for this feed's shapes (numpy arrays or torch tensors), bound on first use; the feed
        is checked against the model's inputs on every call (names, ranks, fixed axes, dtypes)."""
        self._check(feed)
        key = tuple(tuple(feed[info.name].shape) for info in self._inputs)
        if key not in self._bound:
            self._bound[key] = self._bind(dict(zip((info.name for info in self._inputs), key)))
        return self._bound[key]

    def _check(self, feed: dict) -> None:
        model = self.model_path.name
        expected = {info.name: info for info in self._inputs}
        if set(feed) != set(expected):
            raise UsageError(f"onnxruntime: the feed has inputs {sorted(feed)}, {model} takes {sorted(expected)}")
        for name, value in feed.items():
            info, shape = expected[name], tuple(value.shape)
            if len(shape) != len(info.shape) or any(isinstance(d, int) and d != s for d, s in zip(info.shape, shape)):
                raise UsageError(f"onnxruntime: input {name} has shape {list(shape)}, {model} takes "
                                 f"{list(info.shape)}")
            have, want = str(value.dtype).removeprefix("torch."), _bindable(info, "input")
            if have != want and not (have in FLOATS and want in FLOATS):
                raise UsageError(f"onnxruntime: input {name} is {have}, {model} takes {want} (only a floating-point "
                                 "input is converted)")

    def _bind(self, shapes: dict[str, tuple]) -> BoundShape:
        import torch

        device = self.stream.device if self.stream is not None else torch.device("cpu")
        batch = next((shape[0] for shape in shapes.values() if shape), 1)
        with self._ordered():  # CUDA buffers belong to the stream that uses them (the caching allocator's rule)
            inputs = {info.name: torch.zeros(shapes[info.name], dtype=_torch_dtype(info, "input"), device=device)
                      for info in self._inputs}
            outputs = {info.name: torch.empty(self._static_shape(info, batch), dtype=_torch_dtype(info, "output"),
                                              device=device) for info in self._outputs}
        binding = self.session.io_binding()
        where = (device.type, device.index or 0)
        for name, tensor in inputs.items():
            binding.bind_input(name, *where, _numpy_dtype(tensor), list(tensor.shape), tensor.data_ptr())
        for name, tensor in outputs.items():
            binding.bind_output(name, *where, _numpy_dtype(tensor), list(tensor.shape), tensor.data_ptr())
        graph_id = len(self._bound) + 1 if self.cuda_graph else None
        bound = BoundShape(inputs, outputs, binding, _run_options(graph_id), graph_id)
        if graph_id is not None:
            try:
                self._capture(bound)
            except Exception as exc:  # ONNX Runtime raises its own exception types, not a common base
                self._drop_graphs(exc)
                return self._bind(shapes)
        return bound

    def _static_shape(self, info: TensorInfo, batch: int) -> tuple[int, ...]:
        """An output's shape for this batch: the session's fixed axes; a symbolic axis 0 is the input batch."""
        shape = tuple(batch if axis == 0 and not isinstance(d, int) else d for axis, d in enumerate(info.shape))
        if not all(isinstance(d, int) for d in shape):
            raise UsageError(f"onnxruntime: output {info.name} of {self.model_path.name} has shape {list(info.shape)}; "
                             "static buffers need every axis but the batch (0) fixed: export with fixed shapes")
        return shape

    def _capture(self, bound: BoundShape) -> None:
        with self.stream.ordered():
            self.session.run_with_iobinding(bound.binding, _run_options(NO_GRAPH))
            for _ in range(GRAPH_ID_RUNS):
                self._run(bound)

    def _run(self, bound: BoundShape) -> None:
        self.session.run_with_iobinding(bound.binding, bound.run_options)


def onnx_provider(has_gpu: bool, available: Collection[str]) -> str:
    """Where ONNX Runtime runs, one rule for the runner factory and `trtbuild.load`: its CUDA provider when torch can
    drive a GPU here (`host.torch_drives_gpus`: the CUDA provider's static buffers are torch's) and the installed
    onnxruntime offers that provider, else its CPU one."""
    return CUDA_EP if has_gpu and CUDA_EP in available else CPU_EP


def session_providers(provider: str) -> list[str]:
    """A session's providers for the chosen one: the CUDA provider leaves the ops it lacks to the CPU one."""
    return [CUDA_EP, CPU_EP] if provider == CUDA_EP else [CPU_EP]


def int8_cpu_flags() -> list[str]:
    """The x86 flags that decide which integer kernels ONNX Runtime's CPU provider runs (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return [f for f in INT8_CPU_FLAGS if f in flags]


def _runner_stream(device_id: int):
    """The runner's CUDA stream; its buffers are torch tensors, so the CUDA provider needs torch with CUDA."""
    import torch

    if not torch.cuda.is_available():
        raise StageUnavailable(f"onnxruntime: its CUDA provider runs here on torch's CUDA streams and buffers, and "
                               f"torch {torch.__version__} finds no CUDA device; install a CUDA build of torch, or run "
                               "on the CPU provider")
    return RunnerStream(torch.device("cuda", device_id))


def _run_options(graph_id: int | None):
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry(*NO_HOST_SYNC)  # the runner orders and synchronises its own stream
    if graph_id is not None:
        options.add_run_config_entry(GRAPH_ID, str(graph_id))
    return options


def _bindable(info: TensorInfo, kind: str) -> str:
    if info.dtype not in BINDABLE:
        raise UsageError(f"onnxruntime: {kind} {info.name} is {info.dtype}, which the runner's buffers cannot carry "
                         f"({', '.join(BINDABLE)} can); export the model with float32 or float16 inputs and outputs")
    return BINDABLE[info.dtype]


def _torch_dtype(info: TensorInfo, kind: str):
    import torch

    return getattr(torch, _bindable(info, kind))


def _numpy_dtype(tensor) -> np.dtype:
    return np.dtype(str(tensor.dtype).removeprefix("torch."))


def _shape_key(tensors: dict) -> str:
    return ",".join("x".join(map(str, t.shape)) for t in tensors.values())
