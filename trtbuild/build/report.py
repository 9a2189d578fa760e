"""report.json (schema-versioned, validated). Its views live elsewhere: the terminal table in console.py, report.md in
report_markdown.py; both show what each stage declares (its Metrics and their headline, trtbuild.build.stages)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trtbuild.build.stages import stage_class
from trtbuild.build.stages.bench import BenchMetrics
from trtbuild.build.stages.verify import VerifyMetrics
from trtbuild.core.errors import UsageError
from trtbuild.core.stale import write_atomically

# 2: verify and bench sections; 3: gate status (pass | fail | not measured); 4: 95 % intervals, the gates' third
# outcome (cannot tell), verify's verdict and per-batch check. Every older version reads as it is: what 4 added
# is optional.
SCHEMA_VERSION = 4
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
    # [] (copied for each instance), not default_factory=list: pydantic would parse the builtin's text signature
    artifacts: list[ArtifactRecord] = []
    metrics: dict = Field(default_factory=dict)  # the stage's Metrics, as stored (StageMetrics.record)
    warnings: list[str] = []
    error: str | None = None
    log: str | None = None

    def headline(self) -> str:
        """The one line a reader looks for first: the error, else what the stage's Metrics say."""
        if self.error:
            return self.error[:80]
        if not self.metrics:
            return ""
        return stage_class(self.name).Metrics.model_validate(_finite_or_none(self.metrics)).headline()


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
    stages: list[StageRecord] = []
    verify: VerifyMetrics | None = None  # derived from the verify stage's metrics on every write
    # "stage: reason (the flag to pass)" for each stage that had no data to measure accuracy on; derived on write
    not_measured: list[str] = []
    bench: BenchMetrics | None = None

    def stage(self, name: str) -> StageRecord | None:
        return next((s for s in self.stages if s.name == name), None)

    def write(self, path: Path) -> None:
        self.verify = _section(VerifyMetrics, self.stage("verify"))
        self.bench = _section(BenchMetrics, self.stage("bench"))
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
    """A report of this schema version or an older one (what later versions added is optional)."""
    data = json.loads(path.read_text())
    if data.get("schema_version", 0) > SCHEMA_VERSION:
        raise UsageError(f"{path}: report schema {data['schema_version']} is newer than this trtbuild's "
                         f"({SCHEMA_VERSION}); upgrade trtbuild to read it")
    return BuildReport.model_validate(data)
