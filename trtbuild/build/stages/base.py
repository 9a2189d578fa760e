"""The stage contract: declared inputs and parameters (the cache key) and one `run` that writes artifacts."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from trtbuild.core.cache import CacheEntry, default_cache_dir
from trtbuild.core.digest import file_digest, tree_digest, value_digest
from trtbuild.core.host import gpus, tool_versions
from trtbuild.core.parallel import IN_PROCESS, Spreader
from trtbuild.recipe.schema import Recipe

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def package_digest(root: Path = PACKAGE_ROOT) -> str:
    """Digest of every module of the package under `root`, by path relative to it and content: the code part of
    every stage's key. The whole package, because what a stage runs is more than its import graph: registries load
    modules by name (stages, tasks, backends, adapters, runners). Recipes and other data files are left out: what
    they say reaches a key through the stage's params and inputs. Computed once per process (cost: docs/guide.md)."""
    h = hashlib.sha256()
    for rel, path in _modules(str(root)):
        with open(path, "rb") as f:
            h.update(f"{rel}\0{hashlib.sha256(f.read()).hexdigest()}\n".encode())
    return h.hexdigest()


def _modules(root: str) -> list[tuple[str, str]]:
    """(path relative to `root` with "/", path) of every *.py file under it, sorted; symlinked folders are not entered
    (as Path.rglob, which took twice as long: ~5 ms of every build)."""
    found = []
    for folder, _, files in os.walk(root):
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        found += [(name if rel == "." else f"{rel}/{name}", os.path.join(folder, name))
                  for name in files if name.endswith(".py")]
    return sorted(found)

# Upstream artifacts by "stage.role" (e.g. "simplify.onnx"), filled in by the pipeline as stages finish.
Artifacts = dict[str, Path]


def artifact_key(stage: str, role: str) -> str:
    """The name a stage's file goes by in Artifacts, engines.json and the farm's published files."""
    return f"{stage}.{role}"


def cached_artifacts(stage: str, entry: CacheEntry) -> Artifacts:
    """A cached stage's files, by the keys later stages look them up with."""
    return {artifact_key(stage, role): entry.artifact(role) for role in entry.manifest["artifacts"]}


@dataclass
class StageContext:
    recipe: Recipe
    workdir: Path  # fresh and empty; everything the stage writes goes here
    inputs: dict[str, Path | list[Path]]
    log_path: Path
    cache_root: Path = field(default_factory=default_cache_dir)  # state shared across builds (timing caches)
    random_weights: bool = False
    on_progress: Callable[[str, int, int, str], None] | None = None  # the terminal's live view, when there is one
    spreader: Spreader = IN_PROCESS  # where the stage's independent pieces run (BuildOptions.spreader)

    def log(self, message: str) -> None:
        with self.log_path.open("a") as f:
            f.write(message.rstrip() + "\n")

    def export_metadata(self) -> dict:
        """The export stage's metadata (class names, ...), for a stage whose inputs take it as "metadata"."""
        return json.loads(self.inputs["metadata"].read_text())

    def progress(self, task: str, done: int, total: int, note: str = "") -> None:
        """A step of long work (`done` of `total`): a plain line in the log, and a live bar on the terminal."""
        self.log(f"{task} {done}/{total}{'  ' + note if note else ''}")
        if self.on_progress:
            self.on_progress(task, done, total, note)


class StageMetrics(BaseModel):
    """What a stage measured, as the stage declares it: typed fields under the names report.json has always used,
    and `headline`, the one line the terminal table and report.md show for the stage. A stage's subclass lives in
    its module and is named by its `Metrics` class attribute."""

    model_config = ConfigDict(extra="forbid")

    def headline(self) -> str:
        return ""

    def record(self) -> dict:
        """The fields the stage set, as report.json and the cache store them (a key the stage did not write stays
        out, as it always has)."""
        return self.model_dump(exclude_unset=True)


class Parity(BaseModel):
    """One output's worst tensor agreement with its reference (trtbuild.accuracy.parity)."""

    model_config = ConfigDict(extra="forbid")
    max_abs: float | None  # None: not a number (NaN/Inf is null in JSON)
    rel_l2: float | None
    finite: bool


class IntervalRecord(BaseModel):
    """An accuracy number with its 95 % interval (trtbuild.accuracy.intervals.Interval, as stored: a bound NaN in
    memory is null in JSON, when too few images resample)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)
    value: float | None
    low: float | None
    high: float | None
    method: str
    images: int

    def bounds(self) -> str:
        return f"[{_num(self.low)}, {_num(self.high)}]"

    def __str__(self) -> str:
        return f"{_num(self.value)} {self.bounds()}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


@dataclass
class StageOutput:
    artifacts: dict[str, str] = field(default_factory=dict)  # role -> file name inside the workdir
    metrics: StageMetrics = field(default_factory=StageMetrics)
    warnings: list[str] = field(default_factory=list)


class Stage(ABC):
    name: ClassVar[str]  # its module's: trtbuild/build/stages/<name>.py (the names and their order: trtbuild.build.stages)
    tools: ClassVar[tuple[str, ...]] = ()  # distributions whose versions change the output
    host_bound: ClassVar[bool] = False  # GPU, driver and the engine libraries' versions enter the key
    publish: ClassVar[dict[str, str]] = {}  # role -> stable file name under engines/<recipe>/ (publish_fields)
    Metrics: ClassVar[type[StageMetrics]] = StageMetrics  # what `run` measures (its StageOutput.metrics)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = cls.__module__.rpartition(".")[2]

    def __init__(self, recipe: Recipe):
        self.recipe = recipe

    @abstractmethod
    def params(self) -> dict:
        """The recipe values that shape this stage's output."""

    def inputs(self, artifacts: Artifacts) -> dict[str, Path | list[Path]]:
        """Files whose content shapes the output: upstream artifacts, weights, image folders."""
        return {}

    def tool_distributions(self) -> tuple[str, ...]:
        return self.tools

    def unavailable(self) -> str | None:
        """Why this stage cannot run on this host, or None."""
        return None

    @abstractmethod
    def run(self, ctx: StageContext) -> StageOutput: ...

    def publish_fields(self, metrics: dict) -> dict[str, str]:
        """What `publish` templates may name, given the stage's metrics: {name} (recipe) and {precision}."""
        return {"name": self.recipe.name, "precision": self.recipe.precision.mode}

    def published_name(self, role: str, file: str, metrics: dict) -> str | None:
        """The stable name of an artifact under engines/<recipe>/, or None to leave it in the cache only."""
        template = self.publish.get(role)
        return template.format(**self.publish_fields(metrics)) if template else None

    def key_material(self, inputs: dict[str, Path | list[Path]]) -> dict:
        material = {
            "stage": self.name,
            "params": self.params(),
            "inputs": {role: _digest(value) for role, value in sorted(inputs.items())},
            "tools": tool_versions(self.tool_distributions()),
            "code": package_digest(),
        }
        if self.host_bound:
            from trtbuild.backends.registry import library_versions

            material["host"] = {"libraries": library_versions(), "gpus": [g.__dict__ for g in gpus()]}
        return material

    @staticmethod
    def key(material: dict) -> str:
        return value_digest(material)[:20]


def _digest(value: Path | list[Path]) -> str:
    return tree_digest(value) if isinstance(value, list) else file_digest(value)
