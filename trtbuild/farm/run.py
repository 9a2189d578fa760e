"""Run a matrix: every cell's recipe loaded and its inputs checked on the driver first (bad input stops everything
before any build, in one line), then the cells one after another in this process, or as Ray tasks; `--dry-run`
stops after saying where each cell would run and how much of it the cache already holds."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from trtbuild.core.cache import Cache, default_cache_dir
from trtbuild.core.errors import Interrupted, TrtbuildError, UsageError
from trtbuild.farm.cells import Cell
from trtbuild.build.pipeline import BuildOptions
from trtbuild.recipe import LoadedRecipe
from trtbuild.build.stages import STAGE_NAMES


@dataclass
class FarmOptions:
    build: BuildOptions = field(default_factory=BuildOptions)
    cache_dir: Path | None = None  # with a cluster: a path every node mounts, else each node's own default
    ray: bool = False
    address: str | None = None  # None with ray: a local instance
    dry_run: bool = False


@dataclass
class CellResult:
    """A row of the live view and of the summary."""

    cell: str
    status: str = "waiting"  # waiting | running | ok | failed | unplaceable | cancelled | planned
    node: str = ""
    tries: int = 0
    seconds: float = 0.0
    cached: str = ""  # "n/m": stages taken from the cache
    engine: str = ""
    error: str = ""
    started: float = 0.0


def run_matrix(cells: list[Cell], options: FarmOptions, view) -> list[CellResult]:
    """`view`: the live view (trtbuild.farm.view.FarmView) or None."""
    from trtbuild.build import single_build

    if not cells:
        raise UsageError("the matrix is empty: no cell to build")
    if options.ray and options.address:  # an unreachable cluster says so before minutes of checking inputs
        from trtbuild.farm.ray_cluster import reachable

        reachable(options.address)
    names = [c.name for c in cells]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        raise UsageError(f"cell {twice} is in the matrix twice")
    loaded = {c.name: single_build.load_checked_recipe(c.recipe, c.recipe_overrides()) for c in cells}
    for recipe in loaded.values():
        single_build.check_inputs(recipe, options.build.until)
    results = {c.name: CellResult(c.name) for c in cells}
    if view:
        view.start(list(results.values()))
    try:
        if options.dry_run:
            _forecast(cells, loaded, options, results)
        elif options.ray:
            _run_on_ray(cells, loaded, options, results, view)
        else:
            _run_here(cells, options, results, view)
    finally:
        if view:
            view.stop()
    return list(results.values())


def _forecast(cells, loaded, options: FarmOptions, results) -> None:
    """--dry-run: where each cell would run and how many of its stages the cache holds; builds nothing."""
    from trtbuild.farm import placement

    cache = Cache(options.cache_dir or default_cache_dir())
    nodes = _cluster_nodes(options) if options.ray else None
    for cell in cells:
        row = results[cell.name]
        row.status = "planned"
        row.node = placement.where(cell, nodes) if nodes is not None else "this process"
        row.cached = f"{cached_stages(loaded[cell.name], cache, options.build.until)}/{_stage_count(options)}"


def _cluster_nodes(options: FarmOptions) -> list[dict]:
    from trtbuild.farm import ray_cluster

    with ray_cluster.session(options.address):
        return ray_cluster.nodes()


def _stage_count(options: FarmOptions) -> int:
    return STAGE_NAMES.index(options.build.until) + 1


def cached_stages(loaded: LoadedRecipe, cache: Cache, until: str) -> int:
    """How many of the build's stages, in order, the cache holds (keys as this host computes them)."""
    from trtbuild.build.stages import stage_class
    from trtbuild.build.stages.base import cached_artifacts

    artifacts: dict[str, Path] = {}
    for count, name in enumerate(STAGE_NAMES[: STAGE_NAMES.index(until) + 1]):
        stage = stage_class(name)(loaded.recipe)
        if stage.unavailable():
            return count
        entry = cache.lookup(name, stage.key(stage.key_material(stage.inputs(artifacts))))
        if entry is None:
            return count
        artifacts.update(cached_artifacts(name, entry))
    return STAGE_NAMES.index(until) + 1


def _run_here(cells, options: FarmOptions, results, view) -> None:
    """One after another in this process: each cell is a plain local build into OUT/<recipe>/."""
    from trtbuild.build import single_build
    from trtbuild.farm.publish import keep_cell_report
    from trtbuild.build.report import load_report

    for cell in cells:
        row = results[cell.name]
        _started(row, "this process")
        if view:
            view.update()
        folder = options.build.out_root / cell.recipe_name
        try:
            report = single_build.build(cell.recipe, cell.recipe_overrides(), options.build, options.cache_dir,
                                        view.listener() if view else None)
        except Interrupted:
            raise
        except TrtbuildError as exc:
            report = load_report(folder / "report.json") if (folder / "report.json").is_file() else None
            _ended(row, report, str(exc))
        else:
            _ended(row, report, None)
        if report is not None:
            keep_cell_report(report, folder, cell.name)
        if view:
            view.update()


def _run_on_ray(cells, loaded, options: FarmOptions, results, view) -> None:
    from trtbuild.farm import placement, ray_cluster
    from trtbuild.farm.inputs import pack
    from trtbuild.farm.publish import publish

    files_of: dict[tuple, object] = {}  # the cells of one recipe (same files) share one copy
    with ray_cluster.session(options.address):
        nodes = ray_cluster.nodes()
        jobs = []
        for cell in cells:
            reason = placement.unplaceable_reason(cell, nodes)
            if reason:
                _ended(results[cell.name], None, reason, status="unplaceable")
                continue
            recipe = loaded[cell.name].recipe
            source = (cell.recipe, repr(cell.overrides))
            if source not in files_of:
                files_of[source] = pack(recipe)
            jobs.append((cell, recipe.model_dump(mode="json"), files_of[source]))
        submitted = ray_cluster.Submitted(jobs, options.build, options.cache_dir, nodes)
        try:
            while submitted.pending:
                ended = submitted.wait(timeout_s=0.5)
                for name, attempts in submitted.where().items():  # before `ended`: a retry may have just finished
                    (node, _), (_, first) = attempts[-1], attempts[0]
                    _started(results[name], node, len(attempts), first)
                for cell, output, error in ended:
                    report = None
                    if output is not None:
                        report = publish(output, loaded[cell.name], cell.name, options.build.out_root)
                        error = output.error
                    _ended(results[cell.name], report, error)
                if view:
                    view.update()
        except KeyboardInterrupt:
            cancelled = submitted.cancel()
            for row in results.values():
                if row.status in ("waiting", "running"):
                    row.status = "cancelled"
            raise Interrupted(f"interrupted: {cancelled} cells cancelled, nothing of them published") from None


def _started(row: CellResult, node: str, tries: int = 1, when: float | None = None) -> None:
    if row.status == "waiting":
        row.status = "running"
    row.node, row.tries, row.started = node, tries, row.started or when or time.time()


def _ended(row: CellResult, report, error: str | None, status: str = "failed") -> None:
    row.status = status if error else "ok"
    row.seconds = round(time.time() - row.started, 1) if row.started else 0.0
    row.error = error or ""
    if report is not None:
        row.cached = f"{sum(s.status == 'cached' for s in report.stages)}/{len(report.stages)}"
        engine = report.stage("engine")
        row.engine = next((Path(a.path).name for a in engine.artifacts if a.role == "engine"), "") if engine else ""
