"""ONNX Runtime runner; reports the execution providers the session really got, not the ones asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.runners.base import Runner, TensorInfo


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, model_path: Path, providers: list[str] | None = None, threads: int | None = None):
        self.model_path = model_path
        self.requested = providers or ["CPUExecutionProvider"]
        self.threads = threads
        self.session = None

    def activate(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
        self.session = ort.InferenceSession(str(self.model_path), options, providers=self.requested)

    def deactivate(self) -> None:
        self.session = None

    def inputs(self) -> list[TensorInfo]:
        return [TensorInfo(i.name, tuple(i.shape), i.type) for i in self.session.get_inputs()]

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, feed)))

    def describe(self) -> dict:
        import onnxruntime as ort

        return {"runner": self.name, "providers": self.session.get_providers() if self.session else [],
                "requested": self.requested, "onnxruntime": ort.__version__}
