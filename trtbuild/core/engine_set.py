"""The engine set of a recipe: every engine and ONNX candidate under engines/<recipe>/, listed in `engines.json`.

An engine's file name carries what tells two engines of one recipe apart (precision, library flavor and major
version, target compute capabilities), so a second flavor or target never overwrites the first. Every build that
publishes a candidate records it here with its digest, its resolved recipe and the export metadata (class names...),
so `trtbuild.load` chooses from this file and the sidecars alone, before deserializing anything.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from trtbuild.core.errors import UsageError
from trtbuild.core.stale import write_atomically

ENGINE_SET_FILE = "engines.json"
SCHEMA = 1
# (stage, artifact role) -> (candidate kind, its precision; None: the recipe's): what an application can run. The
# simplified graph is the FP32 candidate every build has, which ONNX Runtime's CPU provider runs fastest.
CANDIDATE_ROLES = {("simplify", "onnx"): ("onnx", "fp32"), ("precision", "onnx"): ("onnx", None),
                   ("engine", "engine"): ("engine", None)}


def engine_stem(recipe: str, precision: str, library: str, library_version: str, runs_on: list[str]) -> str:
    """'yolo12n', 'fp16', 'tensorrt-rtx', '1.7.1.116', ['8.0', '8.6'] -> 'yolo12n.fp16.tensorrt-rtx-1.sm80-86'."""
    major = library_version.split(".")[0] or "unknown"
    targets = "-".join(t.replace(".", "").replace("+", "plus") for t in runs_on) or "any"
    return f"{recipe}.{precision}.{library}-{major}.sm{targets}"


class PublishedFile(NamedTuple):
    """A file a build published, with the digest and size its cache entry already verified (not hashed again)."""

    path: Path
    sha256: str
    size: int


@dataclass
class Candidate:
    file: str  # relative to the engine-set folder
    kind: str  # engine | onnx
    precision: str
    sha256: str
    size: int
    recipe_digest: str
    built: float
    sidecar: str | None = None  # engines: the sidecar file
    library: str | None = None  # engines: flavor (tensorrt | tensorrt-rtx)
    library_version: str | None = None
    runs_on: list[str] = field(default_factory=list)


@dataclass
class EngineSet:
    folder: Path
    recipe: str
    task: str
    default_precision: str
    candidates: list[Candidate]
    recipes: dict[str, dict]  # recipe digest -> {"recipe": resolved recipe, "metadata": export metadata}

    def newest(self) -> Candidate:
        return max(self.candidates, key=lambda c: c.built)

    def recipe_document(self, candidate: Candidate) -> dict:
        """The resolved recipe `candidate` was built from, as recorded (trtbuild.recipe validates it)."""
        return self.recipes[candidate.recipe_digest]["recipe"]

    def metadata_for(self, candidate: Candidate) -> dict:
        return self.recipes[candidate.recipe_digest]["metadata"]

    def path(self, candidate: Candidate) -> Path:
        return self.folder / candidate.file

    def as_json(self) -> dict:
        return {"schema": SCHEMA, "recipe": self.recipe, "task": self.task, "default_precision": self.default_precision,
                "candidates": [asdict(c) for c in self.candidates], "recipes": self.recipes}


def read_engine_set(folder: Path) -> EngineSet:
    manifest = folder / ENGINE_SET_FILE
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder (build one with `trtbuild build RECIPE`, which writes "
                         f"engines/<recipe>/{ENGINE_SET_FILE})")
    if not manifest.is_file():
        raise UsageError(f"{folder}: no {ENGINE_SET_FILE}, so nothing to choose from (build it with `trtbuild build "
                         f"RECIPE --out {folder.parent}`; builds before this version did not write it)")
    try:
        data = json.loads(manifest.read_text())
        if data.get("schema") != SCHEMA:
            raise ValueError(f"schema {data.get('schema')!r}, this trtbuild reads {SCHEMA}")
        found = EngineSet(folder, data["recipe"], data["task"], data["default_precision"],
                          [Candidate(**c) for c in data["candidates"]], data["recipes"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{manifest}: unreadable engine-set manifest ({' '.join(str(exc).split())[:200]}); "
                         "rebuild with `trtbuild build`") from None
    if not found.candidates:
        raise UsageError(f"{manifest}: lists neither an engine nor an ONNX model; build with `trtbuild build`")
    return found


def _portable(recipe) -> dict:
    """The resolved recipe with its checkpoint as an absolute path, so `load(runtime="torch")` finds it from any
    working directory."""
    dump = recipe.model_dump(mode="json")
    if recipe.model.weights is not None:
        dump["model"]["weights"] = str(Path(recipe.model.weights).resolve())
    return dump


def record(folder: Path, recipe, recipe_digest: str, published: dict[str, PublishedFile], metadata: dict) -> None:
    """Add the candidates a stage just published (`published`: "stage.role" -> file in `folder`), replacing entries
    of the same file and dropping entries whose file is gone; the newest build's precision becomes the default
    once it has a candidate (until then FP32, which every build has)."""
    from filelock import FileLock

    new = []
    for (stage, role), (kind, precision) in CANDIDATE_ROLES.items():
        found = published.get(f"{stage}.{role}")
        if found is None:
            continue
        candidate = Candidate(file=found.path.name, kind=kind, precision=precision or recipe.precision.mode,
                              sha256=found.sha256, size=found.size, recipe_digest=recipe_digest,
                              built=round(time.time(), 3))
        if kind == "engine":
            sidecar_file = published["engine.sidecar"].path
            sidecar = json.loads(sidecar_file.read_text())
            candidate.sidecar = sidecar_file.name
            candidate.library, candidate.library_version = sidecar["library"], sidecar["library_version"]
            candidate.runs_on = sidecar["runs_on"]
        new.append(candidate)
    if not new:
        return
    with FileLock(str(folder / f".{ENGINE_SET_FILE}.lock")):  # two builds of one recipe (say fp16 and int8) at once
        try:
            current = read_engine_set(folder)
            kept = [c for c in current.candidates if (folder / c.file).is_file()
                    and c.file not in {n.file for n in new}]
            recipes = current.recipes
        except UsageError:  # none yet, or unreadable: start over from what this build made
            kept, recipes = [], {}
        candidates = kept + new
        recipes = {d: r for d, r in recipes.items() if any(c.recipe_digest == d for c in candidates)}
        recipes[recipe_digest] = {"recipe": _portable(recipe), "metadata": metadata}
        default = recipe.precision.mode if any(c.precision == recipe.precision.mode for c in candidates) else "fp32"
        found = EngineSet(folder, recipe.name, recipe.task, default, candidates, recipes)
        write_atomically(folder / ENGINE_SET_FILE, (json.dumps(found.as_json(), indent=1) + "\n").encode())
