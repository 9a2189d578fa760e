"""A build matrix: cells of (recipe, precision, backend, targets), from the command line or a matrix YAML.

A TensorRT-RTX cell (a backend whose library builds without a GPU) makes one engine for its whole target list; a
full-TensorRT cell builds for the GPU it runs on, so it is one cell per compute capability. `auto` in a farm means the
backend that builds anywhere: which engine a cell makes must not depend on the node that happens to take it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trtbuild.core.errors import UsageError
from trtbuild.recipe import LoadedRecipe, Overrides
from trtbuild.recipe.compute_capability import compute_capability
from trtbuild.recipe.read import read_yaml_mapping

def read_target(value: object) -> str:
    """A `--target` / matrix `targets:` value, read by the recipe's own rule; a bad one is one line naming it."""
    try:
        return compute_capability(value)
    except ValueError as exc:
        raise UsageError(f"target {exc}") from None


def precisions() -> tuple[str, ...]:
    from trtbuild.recipe.schema import PrecisionSpec

    return get_args(PrecisionSpec.model_fields["mode"].annotation)


@dataclass(frozen=True)
class Cell:
    """One engine to build: `overrides` are the recipe's (weights, data, --set), without precision and backend."""

    recipe: str  # name or path, as given
    recipe_name: str
    precision: str
    backend: str
    flavor: str
    anywhere: bool  # the backend builds on any CPU; else only on a GPU of `targets[0]`
    targets: tuple[str, ...]
    overrides: Overrides = field(default_factory=Overrides, compare=False)

    @property
    def name(self) -> str:
        targets = "-".join(t.replace(".", "") for t in self.targets) or "default"
        return f"{self.recipe_name}.{self.precision}.{self.flavor}.sm{targets}"

    def recipe_overrides(self) -> Overrides:
        """The overrides that make this cell out of its recipe."""
        sets = [f"engine.backend={self.backend}"]
        if self.targets:
            sets.append(f"engine.compute_capabilities=[{', '.join(repr(t) for t in self.targets)}]")
        return replace(self.overrides, precision=self.precision, sets=[*self.overrides.sets, *sets])


def expand(loaded: LoadedRecipe, ref: str, overrides: Overrides, precision_list: list[str], targets: list,
           backend: str | None = None) -> list[Cell]:
    """The cells of one recipe; `loaded` is it with `overrides` (defaults: its own precision, backend, targets)."""
    from trtbuild.backends.registry import backends, get_backend

    engine = loaded.recipe.engine
    targets = [read_target(t) for t in (targets or engine.compute_capabilities or [])]
    unknown = [p for p in precision_list if p not in precisions()]
    if unknown:
        raise UsageError(f"precision {unknown[0]!r} is not one of {', '.join(precisions())}")
    requested = backend or engine.backend
    try:
        chosen = get_backend(requested) if requested != "auto" else next(
            b for b in backends() if b.flavor.builds_without_gpu)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    anywhere = chosen.flavor.builds_without_gpu
    if not anywhere and not targets:
        raise UsageError(f"{loaded.recipe.name}: backend {chosen.name} builds for the GPU it runs on: name the "
                         "compute capabilities with --target (one engine each)")
    target_sets = [tuple(targets)] if anywhere else [(t,) for t in dict.fromkeys(targets)]
    return [Cell(ref, loaded.recipe.name, p, chosen.name, chosen.flavor.name, anywhere, t, overrides)
            for p in dict.fromkeys(precision_list or [loaded.recipe.precision.mode]) for t in target_sets]


class MatrixEntry(BaseModel):
    """One recipe of a matrix YAML; paths are relative to the matrix file."""

    model_config = ConfigDict(extra="forbid")
    recipe: str
    weights: Path | None = None
    random_weights: bool = False
    data: Path | None = None
    calib: Path | None = None
    precisions: list[str] = Field(default_factory=list, description="default: the recipe's precision.mode")
    targets: list[str | float] = Field(default_factory=list, description="default: engine.compute_capabilities")
    backend: str | None = None
    set: list[str] = Field(default_factory=list, description="key.path=value, as --set")


class Matrix(BaseModel):
    model_config = ConfigDict(extra="forbid")
    builds: list[MatrixEntry] = Field(min_length=1)


def load_matrix(path: Path) -> Matrix:
    data = read_yaml_mapping(path, str(path), "matrix", "with `builds:` (a list of recipes)")
    try:
        matrix = Matrix.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a misspelt key first
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        problem = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "too_short":
            problem = "is empty: an empty matrix builds nothing"
        raise UsageError(f"{path}: {where}: {problem}") from None
    for entry in matrix.builds:
        for key in ("weights", "data", "calib"):
            value = getattr(entry, key)
            if value is not None and not value.expanduser().is_absolute():
                setattr(entry, key, path.parent / value)
    return matrix


def matrix_cells(matrix: Matrix) -> list[Cell]:
    """Every cell of a matrix, each recipe loaded with its names checked."""
    from trtbuild.build.single_build import load_checked_recipe

    cells = []
    for entry in matrix.builds:
        overrides = Overrides(weights=entry.weights, random_weights=entry.random_weights, sets=list(entry.set),
                              data=entry.data, calib=entry.calib)
        cells += expand(load_checked_recipe(entry.recipe, overrides), entry.recipe, overrides, entry.precisions,
                        entry.targets, entry.backend)
    return cells
