"""The Python-API backend shared by every flavor with TensorRT-style bindings (full TensorRT, TensorRT-RTX)."""

from __future__ import annotations

from pathlib import Path

from trtbuild.backends.base import Backend
from trtbuild.core.host import gpus
from trtbuild.tensorrt.built_engine import BuiltEngine, Log
from trtbuild.tensorrt.flavor import Flavor
from trtbuild.tensorrt.plan import BuildPlan
from trtbuild.tensorrt.version import TrtVersion


class PythonApiBackend(Backend):
    def __init__(self, name: str, flavor: Flavor, preference: int, aliases: tuple[str, ...] = ()):
        self.name, self.flavor, self.preference, self.aliases = name, flavor, preference, aliases

    def missing(self) -> str | None:
        if self.flavor.installed_version() is None:
            return f"{self.flavor.title} is not installed ({self.flavor.install_hint})"
        return None

    def version(self) -> TrtVersion | None:
        return self.flavor.parsed_version()

    def build(self, plan: BuildPlan, onnx: Path, log: Log) -> BuiltEngine:
        from trtbuild.core.errors import StageUnavailable
        from trtbuild.tensorrt.compat import gpu_runs_engine
        from trtbuild.tensorrt.python_builder import build_engine

        try:
            trt = self.flavor.import_module()
        except Exception as exc:  # ImportError, or OSError from a wheel without its libraries
            raise StageUnavailable(f"engine: {self.flavor.module} does not import ({type(exc).__name__}: "
                                   f"{' '.join(str(exc).split())[:200]})") from None
        # the engine inspector needs a deserialized engine, so only a GPU the engine runs on can read it back
        local = gpus()
        inspect = bool(local) and gpu_runs_engine(self.flavor, plan.runs_on, local[0].compute_capability)
        return build_engine(trt, plan, onnx, log, inspect=inspect)
