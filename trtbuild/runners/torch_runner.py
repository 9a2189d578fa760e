"""PyTorch reference runner: the adapter's module on CPU or CUDA, fp32 or fp16."""

from __future__ import annotations

import numpy as np
import torch

from trtbuild.runners.base import Runner, TensorInfo


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, module: torch.nn.Module, input_names: list[str], output_names: list[str],
                 device: str = "cpu", half: bool = False):
        self.module = module
        self.input_names = input_names
        self.output_names = output_names
        self.device = torch.device(device)
        self.half = half

    def activate(self) -> None:
        self.module = self.module.to(self.device).eval()
        if self.half:
            self.module = self.module.half()

    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(n, (), "float16" if self.half else "float32") for n in self.input_names]

    @torch.inference_mode()
    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        dtype = torch.float16 if self.half else torch.float32
        args = [torch.from_numpy(feed[n]).to(self.device, dtype) for n in self.input_names]
        out = self.module(*args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return {n: t.float().cpu().numpy() for n, t in zip(self.output_names, outs)}

    def describe(self) -> dict:
        return {"runner": self.name, "device": str(self.device), "dtype": "float16" if self.half else "float32",
                "torch": torch.__version__}
