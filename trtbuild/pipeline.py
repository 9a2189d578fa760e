"""Run a recipe's stages in order through the cache, publish artifacts and logs, and keep the report current."""

from __future__ import annotations

import os
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from trtbuild import __version__
from trtbuild.cache import Cache, CacheEntry
from trtbuild.capture import output_to
from trtbuild.errors import StageFailed, StageUnavailable, TrtbuildError, UsageError
from trtbuild.host import host_summary, tool_versions
from trtbuild.recipe import STAGE_NAMES, LoadedRecipe
from trtbuild.report import ArtifactRecord, BuildReport, StageRecord
from trtbuild.stages import STAGES
from trtbuild.stages.base import Artifacts, StageContext


class Listener(Protocol):
    """Live progress (the terminal view implements it; tests may pass None)."""

    def stage_started(self, name: str, cached: bool) -> None: ...

    def stage_finished(self, record: StageRecord) -> None: ...


@dataclass
class BuildOptions:
    until: str = STAGE_NAMES[-1]
    force: bool = False
    force_stages: list[str] = field(default_factory=list)
    # build: an unavailable stage ends the build (exit 3); verify/bench: it is recorded and later stages go on
    stop_on_unavailable: bool = True
    out_root: Path = Path("engines")


def run_pipeline(loaded: LoadedRecipe, cache: Cache, options: BuildOptions, listener: Listener | None = None):
    recipe = loaded.recipe
    for name in (options.until, *options.force_stages):
        if name not in STAGE_NAMES:
            raise UsageError(f"unknown stage {name!r} (stages: {', '.join(STAGE_NAMES)})")
    out_dir = options.out_root / recipe.name
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    stages = [cls(recipe) for cls in STAGES[: STAGE_NAMES.index(options.until) + 1]]
    report = BuildReport(
        trtbuild=__version__,
        recipe=recipe.name,
        recipe_path=str(loaded.path),
        recipe_digest=loaded.digest,
        random_weights=recipe.model.random_weights,
        started=time.time(),
        host=host_summary(),
        tools=tool_versions(sorted({d for s in stages for d in s.tool_distributions()})),
    )
    artifacts: Artifacts = {}
    try:
        for stage in stages:
            try:
                record = _run_stage(stage, artifacts, cache, options, out_dir, listener)
            except _Stopped as stop:
                _add(report, stop.record, listener)
                raise stop.error from None
            _add(report, record, listener)
            report.write(out_dir / "report.json")
        report.status = "ok"
    except TrtbuildError as exc:
        report.status = "unavailable" if isinstance(exc, StageUnavailable) else "failed"
        report.exit_code = exc.exit_code
        report.error = str(exc)
        raise
    finally:
        report.seconds = round(time.time() - report.started, 3)
        report.write(out_dir / "report.json")
    return report


def _add(report: BuildReport, record: StageRecord, listener: Listener | None) -> None:
    report.stages.append(record)
    if listener:
        listener.stage_finished(record)


class _Stopped(Exception):
    """A stage ended the build; carries its record (with what it measured) and the error to raise."""

    def __init__(self, record: StageRecord, error: TrtbuildError):
        self.record, self.error = record, error


def _run_stage(stage, artifacts: Artifacts, cache: Cache, options: BuildOptions, out_dir: Path, listener):
    reason = stage.unavailable()
    if reason:
        record = StageRecord(name=stage.name, status="unavailable", error=reason)
        if options.stop_on_unavailable:
            raise _Stopped(record, StageUnavailable(f"{stage.name}: {reason}"))
        return record
    inputs = stage.inputs(artifacts)
    material = stage.key_material(inputs)
    key = stage.key(material)
    forced = options.force or stage.name in options.force_stages
    log_dst = out_dir / "logs" / f"{stage.name}.log"
    with cache.lock(stage.name, key):
        entry = None if forced else cache.lookup(stage.name, key)
        if listener:
            listener.stage_started(stage.name, cached=entry is not None)
        start = time.perf_counter()
        status = "cached" if entry else "ran"
        if entry is None:
            entry = _execute(stage, inputs, material, key, cache, log_dst)
        seconds = time.perf_counter() - start
    artifacts.update({f"{stage.name}.{role}": entry.artifact(role) for role in entry.manifest["artifacts"]})
    _copy(entry.path / "stage.log", log_dst)
    return StageRecord(
        name=stage.name,
        status=status,
        seconds=round(seconds if status == "cached" else entry.manifest["seconds"], 3),
        key=key,
        artifacts=_publish(stage, entry, out_dir),
        metrics=entry.manifest["metrics"],
        warnings=entry.manifest["warnings"],
        log=str(log_dst),
    )


def _execute(stage, inputs, material, key, cache: Cache, log_dst: Path) -> CacheEntry:
    workdir = cache.new_workdir()
    log_path = workdir / "stage.log"
    ctx = StageContext(stage.recipe, workdir, inputs, log_path, cache.root, stage.recipe.model.random_weights)
    ctx.log(f"# trtbuild {__version__} stage {stage.name} key {key}")
    start = time.perf_counter()
    try:
        with output_to(log_path):
            output = stage.run(ctx)
    except Exception as exc:
        if not isinstance(exc, TrtbuildError):
            ctx.log(traceback.format_exc())
            exc = StageFailed(f"{stage.name}: {type(exc).__name__}: {' '.join(str(exc).split())[:400]} (log: {log_dst})")
        _copy(log_path, log_dst)
        cache.discard(workdir)
        record = StageRecord(name=stage.name, status="failed", seconds=round(time.perf_counter() - start, 3),
                             metrics=exc.metrics, error=str(exc), log=str(log_dst))
        raise _Stopped(record, exc) from None
    manifest = {
        "stage": stage.name,
        "key": key,
        "key_material": material,
        "artifacts": {role: {"file": name} for role, name in output.artifacts.items()},
        "metrics": output.metrics,
        "warnings": output.warnings,
        "seconds": round(time.perf_counter() - start, 3),
    }
    return cache.commit(workdir, manifest)


def _publish(stage, entry: CacheEntry, out_dir: Path) -> list[ArtifactRecord]:
    """Hard-link (or copy) artifacts to stable names under engines/<recipe>/."""
    records = []
    names = {"name": stage.recipe.name, "precision": stage.recipe.precision.mode}
    for role, info in entry.manifest["artifacts"].items():
        template = stage.publish.get(role)
        source = entry.path / info["file"]
        target = out_dir / template.format(**names) if template else source
        if template:
            _copy(source, target)
        records.append(ArtifactRecord(role=role, path=str(target), sha256=info["sha256"], size=info["size"]))
    return records


def _copy(source: Path, target: Path) -> None:
    """Atomic replace of `target` by a hard link to `source` (a copy across file systems)."""
    if not source.exists():
        return
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    tmp.replace(target)
