"""report.json (schema-versioned, validated). Its views live elsewhere: the terminal table in console.py, report.md in
report_markdown.py."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trtbuild.bench.stats import LatencyStats
from trtbuild.core.stale import write_atomically

SCHEMA_VERSION = 3  # 2: verify and bench sections; 3: gate status (pass | fail | not measured)
Status = Literal["ran", "cached", "skipped", "failed", "unavailable", "interrupted"]


class ArtifactRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    path: str  # the published copy under engines/<recipe>/
    sha256: str
    size: int


class StageRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    status: Status
    seconds: float = 0.0
    key: str | None = None
    artifacts: list[ArtifactRecord] = Field(default_factory=list)
    metrics: dict = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None
    log: str | None = None


class GateRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str
    value: float | None  # None: not a number (NaN/Inf in JSON is written as null)
    max: float | None
    min: float | None
    passed: bool
    excess: float | None  # how far past the bound; 0 when passed
    status: Literal["pass", "fail", "not measured"]  # not measured: no data to judge on, never a pass


class TableRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str
    pytorch: float | None
    candidate: float | None


class VerifySection(BaseModel):
    """The verify stage's result: the candidate against PyTorch on the same images."""

    model_config = ConfigDict(extra="forbid")
    task: str
    candidate_runner: str
    reference: dict
    candidate: dict
    inputs: str
    samples: int
    values: dict[str, float | None]  # gateable metrics by name
    table: list[TableRow]
    detail: dict
    parity: dict[str, dict]  # per output: max_abs, rel_l2, finite
    gates: list[GateRecord]
    passed: bool | None  # None: not measured
    not_measured: str | None = None  # why the gates were not measured (no data) and the flag to pass
    engine_not_judged: str | None = None  # why a built engine was not the candidate here (e.g. no GPU)


class RunnerTiming(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runner: str
    describe: dict
    mode: str  # cpu | device-resident | cuda graph
    timer: str  # perf_counter | cuda_events
    warmup_iterations: int
    wall_s: float
    stats: LatencyStats
    unstable: bool
    memory: dict  # RSS / GPU memory slopes and the leak verdict (trtbuild.bench.stability)
    speedup_vs_torch: float | None


class BenchSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runners: list[RunnerTiming]
    skipped: dict[str, str]
    input: str
    batch: int
    warmup_s: float
    duration_s: float
    iterations: int | None


class BuildReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    trtbuild: str
    recipe: str
    recipe_path: str
    recipe_digest: str
    random_weights: bool
    started: float
    seconds: float = 0.0
    status: Literal["ok", "failed", "unavailable", "interrupted", "running"] = "running"
    exit_code: int = 0
    error: str | None = None
    host: dict
    tools: dict[str, str | None]
    lock: dict | None = None  # trtbuild.core.lock.lock_status(): do the running packages match requirements.lock
    stages: list[StageRecord] = Field(default_factory=list)
    verify: VerifySection | None = None  # derived from the verify stage's metrics on every write
    # "stage: reason (the flag to pass)" for each stage that had no data to measure accuracy on; derived on write
    not_measured: list[str] = Field(default_factory=list)
    bench: BenchSection | None = None

    def stage(self, name: str) -> StageRecord | None:
        return next((s for s in self.stages if s.name == name), None)

    def write(self, path: Path) -> None:
        self.verify = _section(VerifySection, self.stage("verify"))
        self.bench = _section(BenchSection, self.stage("bench"))
        self.not_measured = [f"{s.name}: {s.metrics['not_measured']}" for s in self.stages
                             if s.metrics.get("not_measured")]
        write_atomically(path, self.model_dump_json(indent=2).encode())  # concurrent builds: per-process temp


def _section(model: type[BaseModel], stage: StageRecord | None):
    """The typed view of a stage's metrics; None when the stage did not get as far as measuring."""
    if stage is None or not stage.metrics:
        return None
    return model.model_validate(_finite_or_none(stage.metrics))


def _finite_or_none(value):
    """NaN/Inf -> None, recursively: JSON has no such numbers and writes them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def json_schema() -> dict:
    return BuildReport.model_json_schema()


def load_report(path: Path) -> BuildReport:
    return BuildReport.model_validate(json.loads(path.read_text()))
