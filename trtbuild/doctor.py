"""`trtbuild doctor`: what this host can run, tested for real rather than read from package metadata."""

from __future__ import annotations

from trtbuild.host import host_summary, tool_versions

TOOLS = ("torch", "torchvision", "ultralytics", "onnx", "onnxsim", "onnxslim", "onnxruntime", "onnxruntime-gpu",
         "nvidia-modelopt", "onnxconverter-common", "tensorrt")


def working_onnxruntime_providers() -> dict[str, str]:
    """Each available execution provider -> 'ok' if a tiny model really ran on it, else why not."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["y"])], "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    blob = model.SerializeToString()
    onnx.checker.check_model(model)
    results = {}
    for provider in ort.get_available_providers():
        try:
            session = ort.InferenceSession(blob, providers=[provider])
            got = session.get_providers()[0]
            session.run(None, {"x": np.ones(2, np.float32)})
            results[provider] = "ok" if got == provider else f"fell back to {got}"
        except Exception as exc:  # a provider that is listed but cannot start (missing CUDA libs, no GPU)
            results[provider] = " ".join(str(exc).split())[:160]
    return results


def tensorrt_import() -> str:
    try:
        import tensorrt
    except Exception as exc:  # ImportError, or OSError from a stub wheel without libraries
        return f"not importable: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    return f"ok ({tensorrt.__version__})"


def diagnose() -> dict:
    from trtbuild.stages.engine import engine_unavailable_reason

    return {
        "host": host_summary(),
        "versions": tool_versions(TOOLS),
        "onnxruntime_providers": working_onnxruntime_providers(),
        "tensorrt_import": tensorrt_import(),
        "engine_stage": engine_unavailable_reason() or "available",
    }
