"""Run a recipe's stages in order through the cache, publish artifacts and logs, and keep the report current.

Whatever stops a build (a failed stage, Ctrl-C, a full or read-only disk) leaves whole files only: a stage's work
directory is discarded unless committed, published files are replaced by rename, and the report says where it stopped.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import shutil
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from trtbuild.core import interrupts, stale
from trtbuild.backends.registry import library_versions
from trtbuild.core.cache import Cache, CacheEntry
from trtbuild.core.capture import output_to
from trtbuild.core.engine_set import CANDIDATE_ROLES, PublishedFile, lock_path, publishing
from trtbuild.core.errors import CannotWrite, Interrupted, StageFailed, StageUnavailable, TrtbuildError, UsageError
from trtbuild.core.host import host_summary, tool_versions
from trtbuild.core.lock import lock_status
from trtbuild.core.parallel import IN_PROCESS, Spreader
from trtbuild.recipe import LoadedRecipe
from trtbuild.build.report import ArtifactRecord, BuildReport, StageRecord
from trtbuild.build.stages import STAGE_NAMES, stage_class
from trtbuild.build.stages.base import Artifacts, StageContext, artifact_key, cached_artifacts
from trtbuild.version import __version__


class Listener(Protocol):
    """Live progress (the terminal view implements it; tests may pass None)."""

    def stage_started(self, name: str, cached: bool) -> None: ...

    def stage_progress(self, stage: str, task: str, done: int, total: int, note: str) -> None: ...

    def stage_finished(self, record: StageRecord) -> None: ...


@dataclass
class BuildOptions:
    until: str = STAGE_NAMES[-1]
    force: bool = False
    force_stages: list[str] = field(default_factory=list)
    # build: an unavailable stage ends the build (exit 3); verify/bench: it is recorded and later stages go on
    stop_on_unavailable: bool = True
    out_root: Path = Path("engines")
    strict: bool = False  # unmeasured accuracy (no data) is an error (exit 1), not a warning; see single_build.build
    spreader: Spreader = IN_PROCESS  # where a stage's independent pieces run; a farm cell passes its cluster's


def run_pipeline(loaded: LoadedRecipe, cache: Cache, options: BuildOptions, listener: Listener | None = None):
    recipe = loaded.recipe
    for name in (options.until, *options.force_stages):
        if name not in STAGE_NAMES:
            raise UsageError(f"unknown stage {name!r} (stages: {', '.join(STAGE_NAMES)})")
    out_dir = options.out_root / recipe.name
    with _writing(out_dir, "--out"):
        (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    _remove_leftovers(cache, out_dir)
    stages = [stage_class(name)(recipe) for name in STAGE_NAMES[: STAGE_NAMES.index(options.until) + 1]]
    report = BuildReport(
        trtbuild=__version__,
        recipe=recipe.name,
        recipe_path=str(loaded.path),
        recipe_digest=loaded.digest,
        random_weights=recipe.model.random_weights,
        started=time.time(),
        host=host_summary(library_versions()),
        tools=tool_versions(sorted({d for s in stages for d in s.tool_distributions()})),
        lock=lock_status(),
    )
    artifacts: Artifacts = {}
    current = None
    try:
        with _writing(out_dir / "report.json", "--out"):
            report.write(out_dir / "report.json")
        for stage in stages:
            current = stage.name
            try:
                record = _run_stage(stage, loaded, artifacts, cache, options, out_dir, listener)
            except _Stopped as stop:
                _add(report, stop.record, listener)
                raise stop.error from None
            current = None  # committed and published: from here an interrupt loses nothing of it
            _add(report, record, listener)
            report.write(out_dir / "report.json")
        report.status = "ok"
    except KeyboardInterrupt:
        where = f"during {current}; nothing of that stage was kept" if current else "between stages"
        error = Interrupted(f"interrupted {where}")
        if current:
            report.stages.append(StageRecord(name=current, status="interrupted", error=str(error)))
        _record_error(report, "interrupted", error)
        raise error from None
    except TrtbuildError as exc:
        _record_error(report, "unavailable" if isinstance(exc, StageUnavailable) else "failed", exc)
        raise
    except OSError as exc:  # a file operation outside the guarded writes (e.g. an input that cannot be read)
        error = CannotWrite(f"{exc.filename or out_dir}: {exc.strerror or exc}")
        _record_error(report, "failed", error)
        raise error from None
    finally:
        cache.release()
        report.seconds = round(time.time() - report.started, 3)
        try:
            report.write(out_dir / "report.json")
        except OSError:  # the output folder is what failed: the error being raised says so
            pass
    return report


def _record_candidates(record_in_set, loaded: LoadedRecipe, stage: str, published: list[ArtifactRecord],
                       artifacts: Artifacts) -> None:
    """The engine set's manifest follows every published candidate (trtbuild.core.engine_set)."""
    if not any(s == stage for s, _ in CANDIDATE_ROLES):
        return
    files = {artifact_key(stage, a.role): PublishedFile(Path(a.path), a.sha256, a.size) for a in published}
    record_in_set(loaded.recipe, loaded.digest, files, json.loads(artifacts["export.metadata"].read_text()))


def _record_error(report: BuildReport, status: str, error: TrtbuildError) -> None:
    report.status, report.exit_code, report.error = status, error.exit_code, str(error)


@contextmanager
def _writing(path: Path, option: str):
    """An OSError creating or writing `path` -> one line naming it (exit 1), instead of a traceback."""
    try:
        yield
    except OSError as exc:
        raise CannotWrite(f"cannot write {path}: {exc.strerror or exc} "
                          f"(make room there or choose another place with {option})") from None


def _remove_leftovers(cache: Cache, out_dir: Path) -> None:
    """Work directories and temp files of killed builds, once no live process owns them."""
    try:
        cache.remove_stale()
        stale.remove([*stale.stale_temp_files(out_dir), *stale.stale_temp_files(out_dir / "logs")])
    except OSError:  # best effort: a read-only cache is reported where it is first written
        pass


def _add(report: BuildReport, record: StageRecord, listener: Listener | None) -> None:
    report.stages.append(record)
    if listener:
        listener.stage_finished(record)


class _Stopped(Exception):
    """A stage ended the build; carries its record (with what it measured) and the error to raise."""

    def __init__(self, record: StageRecord, error: TrtbuildError):
        self.record, self.error = record, error


def _run_stage(stage, loaded: LoadedRecipe, artifacts: Artifacts, cache: Cache, options: BuildOptions, out_dir: Path,
               listener):
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
    damage: list[str] = []
    with _writing(cache.root, "--cache-dir"), cache.lock(stage.name, key):
        entry = None if forced else cache.lookup(stage.name, key, on_damage=damage.append)
        if listener:
            listener.stage_started(stage.name, cached=entry is not None)
        start = time.perf_counter()
        status = "cached" if entry else "ran"
        if entry is None:
            entry = _execute(stage, inputs, material, key, cache, log_dst, damage, listener, options.spreader)
        cache.hold(entry)  # later stages read its artifacts: no eviction until this build ends
        seconds = time.perf_counter() - start
    if status == "ran":
        cache.trim()
    artifacts.update(cached_artifacts(stage.name, entry))
    with _writing(lock_path(out_dir).parent, "TRTBUILD_CACHE_DIR"), publishing(out_dir) as record_candidates:
        with _writing(out_dir, "--out"):  # files and engines.json at once for a load meanwhile (engine_set)
            _copy(entry.path / "stage.log", log_dst)
            published = _publish(stage, entry, out_dir)
            _record_candidates(record_candidates, loaded, stage.name, published, artifacts)
    return StageRecord(
        name=stage.name,
        status=status,
        seconds=round(seconds if status == "cached" else entry.manifest["seconds"], 3),
        key=key,
        artifacts=published,
        metrics=entry.manifest["metrics"],
        warnings=[*damage, *entry.manifest["warnings"]],
        log=str(log_dst),
    )


# errno values that mean "this place cannot take the write": a full disk or quota, a file-size limit, read-only
_CANNOT_WRITE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}


def _execute(stage, inputs, material, key, cache: Cache, log_dst: Path, damage: list[str],
             listener: Listener | None, spreader: Spreader) -> CacheEntry:
    workdir = cache.new_workdir()
    try:
        return _run_in(workdir, stage, inputs, material, key, cache, log_dst, damage, listener, spreader)
    finally:  # committed: the rename moved it away; failed or interrupted: nothing of it is kept
        cache.discard(workdir)


def _run_in(workdir: Path, stage, inputs, material, key, cache: Cache, log_dst: Path, damage: list[str],
            listener: Listener | None, spreader: Spreader) -> CacheEntry:
    log_path = workdir / "stage.log"
    ctx = StageContext(stage.recipe, workdir, inputs, log_path, cache.root, stage.recipe.model.random_weights,
                       functools.partial(listener.stage_progress, stage.name) if listener else None, spreader)
    ctx.log(f"# trtbuild {__version__} stage {stage.name} key {key}")
    for warning in damage:
        ctx.log(f"warning: {warning}")
    start = time.perf_counter()
    try:
        with output_to(log_path):
            output = stage.run(ctx)
        if interrupts.requested():  # library code swallowed its KeyboardInterrupt: stop anyway, keep nothing
            raise KeyboardInterrupt
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in _CANNOT_WRITE:
            exc = CannotWrite(f"{stage.name}: cannot write in the cache {cache.root}: {exc.strerror} "
                              "(free space there or choose another place with --cache-dir)")
        elif not isinstance(exc, TrtbuildError):
            ctx.log(traceback.format_exc())
            exc = StageFailed(f"{stage.name}: {type(exc).__name__}: {' '.join(str(exc).split())[:400]} (log: {log_dst})")
        _save_log(log_path, log_dst)
        record = StageRecord(name=stage.name, status="failed", seconds=round(time.perf_counter() - start, 3),
                             metrics=exc.metrics, error=str(exc), log=str(log_dst))
        raise _Stopped(record, exc) from None
    manifest = {
        "stage": stage.name,
        "key": key,
        "key_material": material,
        "artifacts": {role: {"file": name} for role, name in output.artifacts.items()},
        "metrics": output.metrics.record(),
        "warnings": output.warnings,
        "seconds": round(time.perf_counter() - start, 3),
    }
    return cache.commit(workdir, manifest)


def _publish(stage, entry: CacheEntry, out_dir: Path) -> list[ArtifactRecord]:
    """Hard-link (or copy) artifacts to stable names under engines/<recipe>/."""
    records = []
    for role, info in entry.manifest["artifacts"].items():
        name = stage.published_name(role, info["file"], entry.manifest["metrics"])
        source = entry.path / info["file"]
        target = out_dir / name if name else source
        if name:
            _copy(source, target)
        records.append(ArtifactRecord(role=role, path=str(target), sha256=info["sha256"], size=info["size"]))
    return records


def _save_log(log_path: Path, log_dst: Path) -> None:
    """A failed stage's log is worth keeping; failing to keep it must not hide the stage's own error."""
    try:
        _copy(log_path, log_dst)
    except OSError:
        pass


def _copy(source: Path, target: Path) -> None:
    """Atomic replace of `target` by a hard link to `source` (a copy across file systems)."""
    if not source.exists() or (target.exists() and os.path.samefile(source, target)):
        return  # renaming a link onto a link of the same file is a no-op that would leave the temp name behind
    tmp = stale.temp_name(target)
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
