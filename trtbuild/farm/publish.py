"""A finished cell, published on the driver into OUT/<recipe>/ as a local build publishes it: its files, the engine
set's `engines.json`, `report.json` (the last cell's, as after builds one after another) and `report.md`, plus each
cell's own report under `reports/`. All of a cell's files are written under temp names first and then renamed, so a
failure or an interrupt while writing them leaves whole files only; a failed cell publishes its report alone.
"""

from __future__ import annotations

from pathlib import Path

from trtbuild.core import stale
from trtbuild.core.engine_set import PublishedFile, publishing
from trtbuild.farm.worker import CellOutput
from trtbuild.recipe import LoadedRecipe
from trtbuild.build.report import BuildReport
from trtbuild.build.report_markdown import write_markdown
from trtbuild.build.stages.base import artifact_key

REPORTS = "reports"


def publish(output: CellOutput, loaded: LoadedRecipe, cell_name: str, out_root: Path) -> BuildReport | None:
    """`loaded`: the cell's recipe as the driver resolved it (its digest is what a local build records)."""
    folder = out_root / loaded.recipe.name
    report = _relocated_report(output, loaded, folder)
    if report is not None:
        keep_cell_report(report, folder, cell_name)
    if output.error:
        return report
    published = {artifact_key(stage.name, a.role): PublishedFile(Path(a.path), a.sha256, a.size)
                 for stage in report.stages for a in stage.artifacts if Path(a.path).parent == folder}
    with publishing(folder) as record:  # files and engines.json at once for a load meanwhile
        _write_all({folder / name: content for name, content in output.files.items()})
        record(loaded.recipe, loaded.digest, published, output.metadata)
    report.write(folder / "report.json")
    write_markdown(report, folder)
    return report


def keep_cell_report(report: BuildReport, folder: Path, cell_name: str) -> None:
    (folder / REPORTS).mkdir(parents=True, exist_ok=True)
    report.write(folder / REPORTS / f"{cell_name}.json")


def _relocated_report(output: CellOutput, loaded: LoadedRecipe, folder: Path) -> BuildReport | None:
    """The worker's report with its paths moved from the worker's folder to `folder`, and the driver's recipe."""
    if output.report is None:
        return None
    report = BuildReport.model_validate_json(output.report)
    for stage in report.stages:
        for artifact in stage.artifacts:
            artifact.path = _moved(artifact.path, output.folder, folder)
        stage.log = stage.log and _moved(stage.log, output.folder, folder)
    report.recipe_path, report.recipe_digest = str(loaded.path), loaded.digest
    return report


def _moved(path: str, old: str, new: Path) -> str:
    return str(new / Path(path).relative_to(old)) if Path(path).is_relative_to(old) else path


def _write_all(files: dict[Path, bytes]) -> None:
    temps = {}
    try:
        for target, content in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            temps[target] = stale.temp_name(target)
            temps[target].write_bytes(content)
        for target, temp in temps.items():
            temp.replace(target)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
