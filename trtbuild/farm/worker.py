"""One cell on a worker: its files written locally, the normal pipeline into a private output folder, and what that
build published handed back as bytes, for the driver to publish exactly as a local build would (trtbuild.farm.publish).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from trtbuild.core.engine_set import ENGINE_SET_FILE, read_engine_set
from trtbuild.core.errors import TrtbuildError
from trtbuild.farm.inputs import Files, materialize
from trtbuild.build.pipeline import BuildOptions

# written by the driver for the whole engine set, not copied from one cell
DRIVER_WRITES = {ENGINE_SET_FILE, "report.json", "report.md"}


@dataclass
class CellOutput:
    folder: str  # the worker's OUT/<recipe>/, which the report's paths name
    report: str | None  # report.json, when the build got far enough to write one
    files: dict[str, bytes] = field(default_factory=dict)  # what it published, relative to `folder`; none on failure
    metadata: dict = field(default_factory=dict)  # the export metadata its engine set records (class names...)
    error: str | None = None
    exit_code: int = 0


def build_cell(recipe: dict, files: Files, options: BuildOptions, cache_dir: str | None) -> CellOutput:
    """`recipe`: the cell's resolved recipe (model_dump); `cache_dir`: a path this node mounts, or None (its own)."""
    from trtbuild.build.single_build import build

    recipe_file = materialize(recipe, files)
    with tempfile.TemporaryDirectory(prefix="trtbuild-cell-") as out_root:
        folder = Path(out_root) / recipe["name"]
        try:
            build(str(recipe_file), None, replace(options, out_root=Path(out_root)),
                  Path(cache_dir) if cache_dir else None)
        except TrtbuildError as exc:
            return CellOutput(str(folder), _read(folder / "report.json"), error=str(exc), exit_code=exc.exit_code)
        engine_set = read_engine_set(folder)
        published = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
                     if p.is_file() and p.name not in DRIVER_WRITES}
        metadata = next(iter(engine_set.recipes.values()))["metadata"]
        return CellOutput(str(folder), _read(folder / "report.json"), published, metadata)


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None
