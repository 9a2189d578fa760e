"""`trtbuild doctor`: what this host can run, tested for real rather than read from package metadata."""

from __future__ import annotations

import contextlib
import io

from trtbuild.core.host import host_summary, tool_versions
from trtbuild.core.lock import lock_status

TOOLS = ("torch", "torchvision", "ultralytics", "onnx", "onnxsim", "onnxslim", "onnxruntime", "onnxruntime-gpu",
         "nvidia-modelopt", "onnxconverter-common")


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
    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: a provider that cannot start is reported below, not logged
    results = {}
    for provider in ort.get_available_providers():
        # ONNX Runtime prints a provider's failure and its fallback to stdout, which would corrupt `doctor --json`
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                session = ort.InferenceSession(blob, options, providers=[provider])
            got = session.get_providers()[0]
            session.run(None, {"x": np.ones(2, np.float32)})
            results[provider] = "ok" if got == provider else f"fell back to {got}: {_why(printed.getvalue())}"
        except Exception as exc:  # a provider that is listed but cannot start (missing CUDA libs, no GPU)
            results[provider] = " ".join(str(exc).split())[:160]
    return results


def _why(printed: str) -> str:
    """The first line of ONNX Runtime's own fallback message (e.g. a library it could not load), shortened."""
    lines = [line for line in printed.splitlines() if line.startswith("EP Error")]
    return " ".join(lines[0].split())[:240] if lines else "ONNX Runtime gave no reason"


def engine_backends() -> dict:
    """Each registered backend: can it build here (or why not), its library and version, and the GPUs its engines
    run on, including whether this host's GPU is one of them."""
    from trtbuild.backends.registry import backends, select_backend
    from trtbuild.core.host import gpus
    from trtbuild.tensorrt.compat import gpu_runs_engine

    local = gpus()
    found = {}
    for backend in backends():
        flavor = backend.flavor
        targets = (", ".join(flavor.default_compute_capabilities) + f" by default (can target "
                   f"{', '.join(flavor.compute_capabilities)}; builds without a GPU)") if flavor.builds_without_gpu \
            else "the GPU it builds on (Ampere+ with engine.hardware_compatibility=ampere_plus)"
        entry = {"builds_here": backend.unavailable_reason() or "yes", "library": flavor.title,
                 "version": str(backend.version() or "not installed"), "supported": flavor.supported_range,
                 "engines_run_on": targets}
        if local:
            runs_on = flavor.default_compute_capabilities or (local[0].compute_capability,)
            entry["runs_on_this_gpu"] = "yes" if gpu_runs_engine(flavor, runs_on, local[0].compute_capability) \
                else f"no ({local[0].name} is compute capability {local[0].compute_capability})"
        found[backend.name] = entry
    auto, _ = select_backend("auto")
    found["auto"] = auto.name if auto else "none"
    return found


def onnxruntime_packages(versions: dict[str, str | None]) -> str:
    """`onnxruntime` and `onnxruntime-gpu` install the same `onnxruntime` folder: with both, the one installed last
    wins and removing either breaks the other, so a GPU host keeps only the GPU one."""
    cpu, gpu = versions.get("onnxruntime"), versions.get("onnxruntime-gpu")
    if cpu and gpu:
        return (f"onnxruntime {cpu} and onnxruntime-gpu {gpu} are both installed and share one package folder: "
                "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu")
    return "ok"


def diagnose() -> dict:
    from trtbuild.backends.registry import library_versions, select_backend

    versions = tool_versions(TOOLS)
    return {
        "host": host_summary(library_versions()),
        "versions": versions,
        "lock": lock_status(),
        "onnxruntime_packages": onnxruntime_packages(versions),
        "onnxruntime_providers": working_onnxruntime_providers(),
        "engine_stage": select_backend("auto")[1] or "available",
        "engine_backends": engine_backends(),
    }
