"""One recipe's build, as `trtbuild build` runs it: the recipe loaded with every name checked, its inputs checked
before the first stage, the pipeline, the Markdown view. Below `trtbuild.api` and `trtbuild.farm`, which both run
builds through it (a farm cell is one of these builds), so neither imports the other's layer upward."""

from __future__ import annotations

import contextlib
from pathlib import Path

from trtbuild.core.cache import Cache, default_cache_dir
from trtbuild.core.errors import CannotWrite, StageFailed
from trtbuild.build.pipeline import BuildOptions, Listener, run_pipeline
from trtbuild.recipe import LoadedRecipe, Overrides, load_recipe
from trtbuild.build.registries import recipe_names
from trtbuild.build.report import BuildReport
from trtbuild.build.stages import STAGE_NAMES


def load_checked_recipe(ref: str, overrides: Overrides | None = None) -> LoadedRecipe:
    """A recipe with every name checked against the registries (old spellings: a RenamedWarning each)."""
    return load_recipe(ref, overrides, recipe_names())


def build(
    ref: str,
    overrides: Overrides | None = None,
    options: BuildOptions | None = None,
    cache_dir: Path | None = None,
    listener: Listener | None = None,
) -> BuildReport:
    loaded = load_checked_recipe(ref, overrides)
    options = options or BuildOptions()
    out_dir = options.out_root / loaded.recipe.name
    check_inputs(loaded, options.until)
    try:
        report = run_pipeline(loaded, Cache(cache_dir or default_cache_dir()), options, listener)
        if options.strict and report.not_measured:
            _fail_unmeasured(report, out_dir)
    except BaseException:  # the Markdown view follows report.json, failed builds included
        with contextlib.suppress(CannotWrite):  # the build's own error is the one to report
            _write_markdown(out_dir)
        raise
    _write_markdown(out_dir)
    return report


def check_inputs(loaded: LoadedRecipe, until: str) -> None:
    """Before the first stage: every image source the stages up to `until` read, and the engine plan (exit 2)."""
    from trtbuild.data.datasets import preflight

    if until in STAGE_NAMES:
        stages = STAGE_NAMES[: STAGE_NAMES.index(until) + 1]
        preflight(loaded.recipe, stages)
        if "engine" in stages:
            from trtbuild.backends.preflight import check_engine_plan

            check_engine_plan(loaded.recipe)


def _fail_unmeasured(report: BuildReport, out_dir: Path) -> None:
    """--strict: accuracy that could not be measured fails the build (exit 1), in the report as well."""
    error = StageFailed(f"accuracy not measured (--strict): {'; '.join(report.not_measured)}")
    report.status, report.exit_code, report.error = "failed", error.exit_code, str(error)
    report.write(out_dir / "report.json")
    raise error


def _write_markdown(out_dir: Path) -> None:
    from trtbuild.build.report import load_report
    from trtbuild.build.report_markdown import write_markdown

    if not (out_dir / "report.json").exists():
        return
    try:
        write_markdown(load_report(out_dir / "report.json"), out_dir)
    except OSError as exc:
        raise CannotWrite(f"cannot write {out_dir / 'report.md'}: {exc.strerror or exc} (make room there or choose "
                          "another place with --out)") from None
