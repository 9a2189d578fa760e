"""The backend contract: can it build here, with which library version, for which GPUs, and the build itself."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from trtbuild.core.host import gpus
from trtbuild.recipe.schema import Recipe
from trtbuild.tensorrt.built_engine import BuiltEngine, Log
from trtbuild.tensorrt.flavor import Flavor
from trtbuild.tensorrt.plan import BuildPlan, make_plan
from trtbuild.tensorrt.version import TrtVersion


class Backend(ABC):
    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    preference: ClassVar[int]  # `engine.backend: auto` takes the available backend with the lowest value
    flavor: Flavor  # the library whose engines it builds (the runner loads them with this flavor)

    @abstractmethod
    def missing(self) -> str | None:
        """Why the backend's tool or bindings are absent, or None."""

    @abstractmethod
    def version(self) -> TrtVersion | None:
        """The library version a build would use (None: unknown)."""

    @abstractmethod
    def build(self, plan: BuildPlan, onnx: Path, log: Log) -> BuiltEngine: ...

    def unavailable_reason(self) -> str | None:
        """Why this backend cannot build here (one line), or None."""
        missing = self.missing()
        if missing:
            return missing
        if not self.flavor.builds_without_gpu and not gpus():
            return f"no NVIDIA GPU found (nvidia-smi lists none); {self.flavor.title} builds for the GPU it runs on"
        version = self.version()
        if version is None:
            return f"cannot tell the {self.flavor.title} version of the {self.name} backend"
        return self.flavor.unsupported_reason(version)

    def local_compute_capability(self) -> str | None:
        """The GPU the engine is bound to, for flavors that build for the local GPU; None for ahead-of-time ones."""
        found = gpus()
        return None if self.flavor.builds_without_gpu or not found else found[0].compute_capability

    def make_plan(self, recipe: Recipe, timing_cache_dir: Path | None) -> BuildPlan:
        return make_plan(recipe, self.flavor, self.version(), self.local_compute_capability(), timing_cache_dir)

    def host_material(self) -> dict:
        """What binds this backend's engines to the host (the engine stage's cache key): the library version, and
        the GPU for flavors that build for the local GPU. Ahead-of-time engines do not depend on the build host."""
        material = {"backend": self.name, "library": self.flavor.name, "version": str(self.version())}
        if not self.flavor.builds_without_gpu:
            material["gpus"] = [g.__dict__ for g in gpus()]
        return material
