"""The engine set of a recipe: every engine and ONNX candidate under engines/<recipe>/, listed in `engines.json`.

An engine's file name carries what tells two engines of one recipe apart (precision, library flavor and major
version, target compute capabilities), so a second flavor or target never overwrites the first. Every build that
publishes a candidate records it here with its digest, its resolved recipe and the export metadata (class names...),
so `trtbuild.load` chooses from this file and the sidecars alone, before deserializing anything.

The folder is input that users copy and share: `engines.json` is validated as a whole, and every file it names must
stay inside the folder (a plain name, no symlink that leads out). A build replaces candidate files and records them
under an exclusive lock and `trtbuild.load` reads under a shared one, so a load during a rebuild gets each candidate
with its own digest, never a new file under an old record. The lock lives in the user cache, not in the folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trtbuild.core.cache import default_cache_dir
from trtbuild.core.errors import UsageError
from trtbuild.core.stale import write_atomically

ENGINE_SET_FILE = "engines.json"
SCHEMA = 1
# (stage, artifact role) -> (candidate kind, its precision; None: the recipe's): what an application can run. The
# simplified graph is the FP32 candidate every build has, which ONNX Runtime's CPU provider runs fastest.
CANDIDATE_ROLES = {("simplify", "onnx"): ("onnx", "fp32"), ("precision", "onnx"): ("onnx", None),
                   ("engine", "engine"): ("engine", None)}
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


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


def _plain_name(name: str) -> str:
    if not _PLAIN_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a file name inside the folder (no path, no '..', no leading dot)")
    return name


FileName = Annotated[str, AfterValidator(_plain_name)]


@dataclass
class Candidate:
    __pydantic_config__ = ConfigDict(extra="forbid")

    file: FileName  # in the engine-set folder
    kind: Literal["engine", "onnx"]
    precision: str
    sha256: str
    size: Annotated[int, Field(ge=0)]
    recipe_digest: str
    built: float
    sidecar: FileName | None = None  # engines: the sidecar file
    library: str | None = None  # engines: flavor (tensorrt | tensorrt-rtx)
    library_version: str | None = None
    # a lambda, not `list`: pydantic reads a factory's signature, the builtin's from text (~4 ms on first use)
    runs_on: list[str] = field(default_factory=lambda: [])


class _Recorded(BaseModel):
    recipe: dict[str, Any]  # trtbuild.recipe validates it where it is used (the runtime)
    metadata: dict[str, Any]


class _Manifest(BaseModel):
    """engines.json as written by `record`; anything else is refused as a whole."""

    model_config = ConfigDict(extra="forbid")
    schema_: int = Field(alias="schema")
    recipe: str
    task: str
    default_precision: str
    candidates: list[Candidate]
    recipes: dict[str, _Recorded]

    @field_validator("schema_")
    @classmethod
    def _known(cls, value: int) -> int:
        if value != SCHEMA:
            raise ValueError(f"schema {value}; this trtbuild reads schema {SCHEMA} (a newer trtbuild wrote it?)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> _Manifest:
        for index, c in enumerate(self.candidates):
            if c.recipe_digest not in self.recipes:
                raise ValueError(f"candidates[{index}].recipe_digest {c.recipe_digest!r} is not under recipes")
            sidecar = f"{c.file}.json" if c.kind == "engine" else None  # where the engine runner reads it
            if c.sidecar != sidecar:
                raise ValueError(f"candidates[{index}].sidecar {c.sidecar!r}: a{'n engine' if sidecar else 'n onnx'} "
                                 f"candidate's sidecar is {sidecar!r}")
        return self


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

    def path(self, candidate: Candidate, entry: str = "candidate") -> Path:
        """The candidate's file (and an engine's sidecar) inside the folder, or one line naming the entry."""
        if candidate.sidecar:
            _inside(self.folder, candidate.sidecar, f"{entry}.sidecar")
        return _inside(self.folder, candidate.file, f"{entry}.file")

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
        data = _Manifest.model_validate_json(_inside(folder, ENGINE_SET_FILE, ENGINE_SET_FILE).read_bytes())
    except ValidationError as exc:
        raise unreadable(folder, exc) from None
    except OSError as exc:
        raise UsageError(f"{manifest}: unreadable engine-set manifest ({exc.strerror or exc}); rebuild with "
                         "`trtbuild build`") from None
    if not data.candidates:
        raise UsageError(f"{manifest}: lists neither an engine nor an ONNX model; build with `trtbuild build`")
    found = EngineSet(folder, data.recipe, data.task, data.default_precision, data.candidates,
                      {digest: r.model_dump() for digest, r in data.recipes.items()})
    for index, c in enumerate(found.candidates):
        found.path(c, f"candidates[{index}]")
    return found


def unreadable(folder: Path, exc: ValidationError, under: tuple = ()) -> UsageError:
    """The first problem pydantic found in `folder`'s engines.json (at `under` + its place), as one line."""
    error = exc.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in (*under, *error["loc"])).lstrip(".")
    at = f" at {where}" if where else ""  # none: the whole document, or a rule that names its entry itself
    problem = " ".join(error["msg"].removeprefix("Value error, ").split())[:200]
    return UsageError(f"{folder / ENGINE_SET_FILE}: unreadable engine-set manifest{at}: {problem}; rebuild with "
                      "`trtbuild build`")


def _inside(folder: Path, name: str, entry: str) -> Path:
    """folder/name, refused with one line when it resolves outside the folder (a symlink that leads out)."""
    path = folder / name
    resolved = path.resolve()
    if not resolved.is_relative_to(folder.resolve()):
        raise UsageError(f"{folder / ENGINE_SET_FILE}: {entry} {name!r} leads outside {folder} (to {resolved}); only "
                         "files inside the folder are loaded: rebuild with `trtbuild build`")
    return path


def lock_path(folder: Path) -> Path:
    """The engine set's lock, keyed by the folder's resolved path, in the user cache (TRTBUILD_CACHE_DIR, else
    ~/.cache/trtbuild; never --cache-dir, so a build and a server agree whichever --cache-dir each is given): it
    does not travel with the folder."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:32]
    return default_cache_dir() / "locks" / f"engines-{key}.lock"


@contextmanager
def _locked(folder: Path, mode: int) -> Iterator[None]:
    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:  # the kernel releases a flock when its holder dies: nothing stale to clean
        fcntl.flock(handle, mode)
        yield


@contextmanager
def reading(folder: Path) -> Iterator[None]:
    """Shared with other readers, exclusive of `publishing`: for reading engines.json and the files it names."""
    with ExitStack() as held:
        try:
            held.enter_context(_locked(folder, fcntl.LOCK_SH))
        except OSError:  # a read-only user cache: no build of this user can publish here either, so read unlocked
            pass
        yield


@contextmanager
def publishing(folder: Path) -> Iterator[Callable[..., None]]:
    """Exclusive: replace candidate files, then call the yielded `record(recipe, recipe_digest, published,
    metadata)`; a concurrent `reading` sees the set before or after, never a file under another file's record."""
    with _locked(folder, fcntl.LOCK_EX):
        (folder / f".{ENGINE_SET_FILE}.lock").unlink(missing_ok=True)  # where builds before this version kept it
        yield partial(_record, folder)


def _portable(recipe) -> dict:
    """The resolved recipe with its checkpoint as an absolute path, so `load(runtime="torch")` finds it from any
    working directory."""
    dump = recipe.model_dump(mode="json")
    if recipe.model.weights is not None:
        dump["model"]["weights"] = str(Path(recipe.model.weights).resolve())
    return dump


def _record(folder: Path, recipe, recipe_digest: str, published: dict[str, PublishedFile], metadata: dict) -> None:
    """`publishing`'s record: add the candidates a stage just published (`published`: "stage.role" -> file in
    `folder`), replacing entries of the same file and dropping entries whose file is gone; the newest build's
    precision becomes the default once it has a candidate (until then FP32, which every build has)."""
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
