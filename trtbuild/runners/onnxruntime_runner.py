"""ONNX Runtime runner; reports the execution providers the session really got, not the ones asked for.

`simulated_qdq` (accuracy evaluation of INT8 Q/DQ graphs): DequantizeLinear stays a float op, so every CPU computes
the same simulated quantization that TensorRT's INT8 math approximates. By default ONNX Runtime fuses Q/DQ into its
u8/s8 integer kernels, whose results depend on the CPU: without VNNI (VPMADDUBSW) their 16-bit intermediate sums
saturate (the depth INT8 graph: rel MSE 0.9 % on a VNNI CPU, 92.5 % on another). TensorRT never runs those kernels.

On the CUDA execution provider, benchmarks bind inputs and outputs to device memory (IO binding) and can let
ONNX Runtime replay a CUDA graph (`enable_cuda_graph`, which needs fixed device addresses: one staged feed).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from trtbuild.runners.base import Runner, TensorInfo, read_model

CUDA_EP = "CUDAExecutionProvider"
CPU_EP = "CPUExecutionProvider"
SIMULATED_QDQ = ("session.disable_quant_qdq", "1")
SIMULATED_QDQ_MODE = "simulated (session.disable_quant_qdq)"  # how reports name it
INT8_CPU_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")  # what picks ORT's int8 kernels


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, model_path: Path, providers: list[str] | None = None, threads: int | None = None,
                 cuda_graph: bool = False, device_id: int = 0, simulated_qdq: bool = False, sha256: str | None = None):
        self.model_path = Path(model_path)
        self.sha256 = sha256  # given: the model's bytes must hash to it (ChangedModelFile)
        self.simulated_qdq = simulated_qdq
        self.requested = providers or [CPU_EP]
        self.threads = threads
        self.cuda_graph = cuda_graph
        self.device_id = device_id
        self.session = None
        self._binding = None
        self._device_inputs: dict = {}

    def activate(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
        if self.simulated_qdq:
            options.add_session_config_entry(*SIMULATED_QDQ)
        # with a digest, the session gets the very bytes checked; else ONNX Runtime reads the file (and any external
        # data beside it) itself
        model = read_model(self.model_path, self.sha256) if self.sha256 else str(self.model_path)
        self.session = ort.InferenceSession(model, options, providers=self._provider_options())
        if self.cuda_graph and not self.on_gpu():
            got = self.session.get_providers()
            raise RuntimeError(f"onnxruntime: CUDA graphs need {CUDA_EP}, the session got {got}")

    def deactivate(self) -> None:
        self.session, self._binding, self._device_inputs = None, None, {}

    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(i.name, tuple(i.shape), i.type) for i in self.session.get_inputs()]

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.cuda_graph:  # a graph-enabled session runs through its one IO binding
            binding = self.device_feed(feed)
            self.timed_step(binding)
            return dict(zip(self._output_names(), (v.numpy() for v in binding.get_outputs())))
        names = self._output_names()
        return dict(zip(names, self.session.run(names, feed)))

    def infer_device(self, feed: dict) -> dict:
        """torch tensors in, torch tensors out on the same device, bound in place (IO binding): a CUDA frame's input
        never visits the host. Float32 I/O; a symbolic output axis 0 follows the batch."""
        import torch

        device = next(iter(feed.values())).device
        kind, index = ("cuda", device.index or 0) if device.type == "cuda" else ("cpu", 0)
        binding = self.session.io_binding()
        for name, tensor in feed.items():
            tensor = feed[name] = tensor.float().contiguous()
            binding.bind_input(name, kind, index, np.float32, list(tensor.shape), tensor.data_ptr())
        batch = len(next(iter(feed.values())))
        outputs = {}
        for output in self.session.get_outputs():
            shape = [batch if axis == 0 and not isinstance(d, int) else d for axis, d in enumerate(output.shape)]
            if not all(isinstance(d, int) for d in shape):
                raise ValueError(f"onnxruntime: output {output.name} has a data-dependent shape {output.shape}")
            outputs[output.name] = torch.empty(shape, dtype=torch.float32, device=device)
            binding.bind_output(output.name, kind, index, np.float32, shape, outputs[output.name].data_ptr())
        if kind == "cuda":  # ONNX Runtime reads the inputs on its own stream
            torch.cuda.current_stream(device).synchronize()
        self.session.run_with_iobinding(binding)
        return outputs

    def on_gpu(self) -> bool:
        return self.session is not None and self.session.get_providers()[0] == CUDA_EP

    def device_feed(self, feed: dict[str, np.ndarray]) -> object:
        if not self.on_gpu():
            return feed
        import onnxruntime as ort

        same_shapes = self._binding is not None and all(
            self._device_inputs[n].shape() == list(a.shape) for n, a in feed.items())
        if same_shapes:  # keep the addresses a captured graph points at
            for name, array in feed.items():
                self._device_inputs[name].update_inplace(np.ascontiguousarray(array))
            return self._binding
        if self._binding is not None and self.cuda_graph:
            raise ValueError("onnxruntime: a CUDA-graph session takes one input shape; create a new runner")
        binding = self.session.io_binding()
        self._device_inputs = {n: ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(a), "cuda", self.device_id)
                               for n, a in feed.items()}
        for name, value in self._device_inputs.items():
            binding.bind_ortvalue_input(name, value)
        for output in self.session.get_outputs():
            if self.cuda_graph:  # the graph writes to fixed buffers, so allocate them up front
                binding.bind_ortvalue_output(output.name, ort.OrtValue.ortvalue_from_shape_and_type(
                    _static_shape(output), _numpy_type(output.type), "cuda", self.device_id))
            else:
                binding.bind_output(output.name, "cuda", self.device_id)
        self._binding = binding
        return binding

    def timed_step(self, staged: object) -> None:
        if not self.on_gpu():
            self.session.run(None, staged)
            return
        self.session.run_with_iobinding(staged)
        staged.synchronize_outputs()

    def describe(self) -> dict:
        import onnxruntime as ort

        return {"runner": self.name, "model": self.model_path.name,
                "providers": self.session.get_providers() if self.session else [],
                "requested": self.requested, "cuda_graph": self.cuda_graph, "onnxruntime": ort.__version__,
                "qdq": SIMULATED_QDQ_MODE if self.simulated_qdq else "fused integer kernels",
                "cpu_int8_flags": int8_cpu_flags()}

    def _provider_options(self) -> list:
        graph = {"enable_cuda_graph": "1" if self.cuda_graph else "0", "device_id": str(self.device_id)}
        return [(p, graph) if p == CUDA_EP else p for p in self.requested]

    def _output_names(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]


def onnx_provider(has_gpu: bool, available: Collection[str]) -> str:
    """Where ONNX Runtime runs, one rule for the runner factory and `trtbuild.load`: its CUDA provider when there is
    a GPU (nvidia-smi lists one) and the installed onnxruntime offers that provider, else its CPU one."""
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


def _static_shape(output) -> list[int]:
    if not all(isinstance(d, int) for d in output.shape):
        raise ValueError(f"onnxruntime: CUDA graphs need static output shapes; {output.name} is {output.shape}")
    return list(output.shape)


def _numpy_type(ort_type: str) -> type:
    return {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
            "tensor(int32)": np.int32}[ort_type]
