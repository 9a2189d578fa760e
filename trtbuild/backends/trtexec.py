"""trtexec (TensorRT's tar/deb packages and NGC containers; pip wheels have none): builds full-TensorRT engines on the
local GPU when the Python bindings are absent. The TensorRT runner still needs the bindings to run them."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

from trtbuild.backends.base import Backend
from trtbuild.core.errors import StageFailed
from trtbuild.tensorrt.flavor import TENSORRT
from trtbuild.tensorrt.built_engine import BuiltEngine, Log
from trtbuild.tensorrt.layer_info import normalize
from trtbuild.tensorrt.plan import BuildPlan
from trtbuild.tensorrt.sidecar import IoTensor
from trtbuild.tensorrt.trtexec import build_argv, run_trtexec, trtexec_path, trtexec_version
from trtbuild.tensorrt.version import TrtVersion


class TrtexecBackend(Backend):
    name = "trtexec"
    preference = 1
    flavor = TENSORRT

    def missing(self) -> str | None:
        if trtexec_path() is None:
            return ("trtexec is not on PATH (it ships in TensorRT's tar/deb packages and NGC containers, not in pip "
                    "wheels); use engine.backend: tensorrt-bindings or auto")
        return None

    def version(self) -> TrtVersion | None:
        path = trtexec_path()
        return _version_of(path) if path else None

    def build(self, plan: BuildPlan, onnx: Path, log: Log) -> BuiltEngine:
        with tempfile.TemporaryDirectory(prefix="trtexec-") as tmp:
            engine, layers = Path(tmp) / "model.engine", Path(tmp) / "layers.json"
            run = run_trtexec(build_argv(plan, onnx, engine, layers, trtexec_path()), log)
            if not run.passed:
                raise StageFailed(f"engine: {run.failure()}")
            info = json.loads(layers.read_text())
            return BuiltEngine(engine.read_bytes(), io_from_layer_info(normalize(info), plan), info)


@functools.cache
def _version_of(path: str) -> TrtVersion | None:
    return trtexec_version(path)


def io_from_layer_info(layers: dict, plan: BuildPlan) -> list[IoTensor]:
    """I/O from exported layer info: 11.x lists mode/dtype/shape, 10.x names only, so inputs fall back to the plan's
    input shapes and unknowns stay 'unknown' / []."""
    profile = {name: [list(d) for d in triple] for p in plan.profiles for name, triple in p.shapes.items()}
    io = []
    for t in layers["io_tensors"]:
        declared = plan.input_shapes.get(t["name"])
        io.append(IoTensor(name=t["name"], mode=t["mode"] or ("input" if declared else "output"),
                           dtype=t["dtype"] or "unknown", shape=t["shape"] or list(declared or []),
                           profile=profile.get(t["name"])))
    return io


BACKEND = TrtexecBackend()
