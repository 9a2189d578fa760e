"""report.json (schema-versioned, validated) and its views: the terminal table and a Markdown page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
Status = Literal["ran", "cached", "skipped", "failed", "unavailable"]


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
    status: Literal["ok", "failed", "unavailable", "running"] = "running"
    exit_code: int = 0
    error: str | None = None
    host: dict
    tools: dict[str, str | None]
    stages: list[StageRecord] = Field(default_factory=list)

    def stage(self, name: str) -> StageRecord | None:
        return next((s for s in self.stages if s.name == name), None)

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)


def json_schema() -> dict:
    return BuildReport.model_json_schema()


def load_report(path: Path) -> BuildReport:
    return BuildReport.model_validate(json.loads(path.read_text()))
