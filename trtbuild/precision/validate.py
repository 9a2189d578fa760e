"""The stage never emits a graph that fails onnx.checker or does not load and run in ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.core.errors import StageFailed


def validate_graph(path: Path, feed: dict[str, np.ndarray]) -> None:
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise StageFailed(f"precision: converted graph fails onnx.checker: {_short(exc)}") from None
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs = session.run(None, feed)
    except Exception as exc:  # ORT raises its own exception types for load and run failures
        raise StageFailed(f"precision: ONNX Runtime cannot load/run the converted graph: {_short(exc)}") from None
    bad = [o.name for o, value in zip(session.get_outputs(), outputs) if not np.isfinite(value).all()]
    if bad:
        raise StageFailed(f"precision: converted graph outputs NaN/Inf in {', '.join(bad)}")


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:400]
