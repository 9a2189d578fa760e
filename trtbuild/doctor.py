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


def engine_details() -> dict:
    """What the engine stage would use here: backend, TensorRT version (and whether trtbuild supports it), GPU."""
    from trtbuild.host import gpus, tensorrt_version
    from trtbuild.stages.engine import choose_backend
    from trtbuild.tensorrt.trtexec import trtexec_path, trtexec_version
    from trtbuild.tensorrt.version import SUPPORTED, parse_version, unsupported_reason

    python_version, trtexec = tensorrt_version(), trtexec_path()
    details = {"supported_range": SUPPORTED, "tensorrt_python": python_version or "not installed",
               "trtexec": trtexec or "not on PATH"}
    if python_version:
        try:
            details["tensorrt_python_supported"] = unsupported_reason(parse_version(python_version)) or "yes"
        except ValueError:
            details["tensorrt_python_supported"] = f"unparseable version {python_version!r}"
    if trtexec:
        version = trtexec_version(trtexec)
        details["trtexec_version"] = str(version) if version else "unknown (no &&&& RUNNING line)"
    details["auto_backend"] = choose_backend("auto", python_version, trtexec)[0] or "none"
    details["gpu"] = ", ".join(f"{g.name} (sm {g.compute_capability}, driver {g.driver})" for g in gpus()) or "none"
    return details


def diagnose() -> dict:
    from trtbuild.stages.engine import engine_unavailable_reason

    return {
        "host": host_summary(),
        "versions": tool_versions(TOOLS),
        "onnxruntime_providers": working_onnxruntime_providers(),
        "tensorrt_import": tensorrt_import(),
        "engine_stage": engine_unavailable_reason() or "available",
        "engine": engine_details(),
    }
