"""PyTorch runner: the adapter's module on CPU or CUDA, fp32 or fp16, optionally replayed from a CUDA graph.

Nothing touches CUDA before `activate`, so a runner can be created in a parent and used in a worker process.
"""

from __future__ import annotations

import numpy as np
import torch

from trtbuild.runners.base import Runner, TensorInfo

GRAPH_WARMUP_STEPS = 3  # eager runs on a side stream before capture (cuDNN autotuning, lazy allocations)


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, module: torch.nn.Module, input_names: list[str], output_names: list[str],
                 device: str = "cpu", half: bool = False, cuda_graph: bool = False):
        if cuda_graph and not device.startswith("cuda"):
            raise ValueError("cuda_graph needs a CUDA device")
        self.module = module
        self.input_names = input_names
        self.output_names = output_names
        self.device = torch.device(device)
        self.half = half
        self.cuda_graph = cuda_graph
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static_inputs: list[torch.Tensor] = []
        self._static_outputs: tuple[torch.Tensor, ...] = ()

    @property
    def dtype(self) -> torch.dtype:
        return torch.float16 if self.half else torch.float32

    def activate(self) -> None:
        self.module = self.module.to(self.device).eval()
        if self.half:
            self.module = self.module.half()

    def deactivate(self) -> None:
        self._graph, self._static_inputs, self._static_outputs = None, [], ()

    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(n, (), "float16" if self.half else "float32") for n in self.input_names]

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.infer_device({n: torch.from_numpy(feed[n]) for n in self.input_names})
        return {n: t.float().cpu().numpy() for n, t in outputs.items()}

    @torch.inference_mode()
    def infer_device(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Tensors in, tensors out on the runner's device (the zero-copy path for applications).

        With a CUDA graph the returned tensors are the graph's static outputs: the next call overwrites them.
        """
        args = self._to_device(tensors)
        if self.cuda_graph:
            self._load_graph_inputs(args)
            self._graph.replay()
            outs = self._static_outputs
        else:
            outs = _as_tuple(self.module(*args))
        return dict(zip(self.output_names, outs))

    def on_gpu(self) -> bool:
        return self.device.type == "cuda"

    def device_feed(self, feed: dict[str, np.ndarray]) -> list[torch.Tensor]:
        args = self._to_device({n: torch.from_numpy(feed[n]) for n in self.input_names})
        if self.cuda_graph:
            with torch.inference_mode():
                self._load_graph_inputs(args)
        return args

    @torch.inference_mode()
    def timed_step(self, staged: list[torch.Tensor]) -> None:
        if self.cuda_graph:
            self._graph.replay()  # reads the static inputs `device_feed` filled
        else:
            self.module(*staged)
        if self.on_gpu():
            torch.cuda.synchronize(self.device)

    def describe(self) -> dict:
        described = {"runner": self.name, "device": str(self.device), "dtype": "float16" if self.half else "float32",
                     "cuda_graph": self.cuda_graph, "torch": torch.__version__}
        if self.on_gpu():  # fp32 convolutions may run in TF32 on Ampere and later (torch's default)
            described.update(gpu=torch.cuda.get_device_name(self.device), tf32_conv=torch.backends.cudnn.allow_tf32)
        return described

    def _to_device(self, tensors: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return [tensors[n].to(self.device, self.dtype, non_blocking=True) for n in self.input_names]

    def _load_graph_inputs(self, args: list[torch.Tensor]) -> None:
        """Copy into the captured graph's input buffers; (re)capture when there is none for these shapes."""
        if self._graph is None or [a.shape for a in args] != [s.shape for s in self._static_inputs]:
            self._capture([a.clone() for a in args])
        for static, arg in zip(self._static_inputs, args):
            static.copy_(arg)

    def _capture(self, static_inputs: list[torch.Tensor]) -> None:
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(GRAPH_WARMUP_STEPS):
                self.module(*static_inputs)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._static_outputs = _as_tuple(self.module(*static_inputs))
        self._graph, self._static_inputs = graph, static_inputs


def _as_tuple(out) -> tuple[torch.Tensor, ...]:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)
