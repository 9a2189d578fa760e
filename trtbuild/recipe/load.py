"""Read a recipe, apply CLI overrides, validate, and turn schema errors into one line naming file and key path."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from trtbuild.core.errors import UsageError
from trtbuild.recipe.find import PACKAGED_DIR, find_recipe
from trtbuild.recipe.names import RecipeNames
from trtbuild.recipe.paths import resolve_paths
from trtbuild.recipe.read import parse_yaml, read_recipe_file
from trtbuild.recipe.schema import Recipe


# the stage image keys `--data` replaces, so the flag wins over a recipe's own defaults
DATA_KEYS = ("check.images", "precision.evaluate.images", "verify.images", "verify.labels")


@dataclass
class Overrides:
    """What the CLI may change; `sets` are `key.path=value` pairs with YAML-typed values."""

    weights: Path | None = None
    random_weights: bool = False
    precision: str | None = None
    workspace_mib: int | None = None
    sets: list[str] = field(default_factory=list)
    data: Path | None = None  # replaces the recipe's image keys (check, evaluation, verify); calibration: `calib`
    calib: Path | None = None
    holdout: Path | None = None  # verify.images: the images only reported and gated on (trtbuild.data.datasets)

    def cli_args(self) -> list[str]:
        """The command-line options that give these overrides (trtbuild.cli_options.RecipeOptions.overrides)."""
        args = ["--precision", self.precision] if self.precision is not None else []
        args += ["--workspace", str(self.workspace_mib)] if self.workspace_mib is not None else []
        args += ["--random-weights"] if self.random_weights else []
        paths = (("--weights", self.weights), ("--data", self.data), ("--calib", self.calib),
                 ("--holdout", self.holdout))
        args += [arg for option, path in paths if path is not None for arg in (option, str(path))]
        return [*args, *(arg for item in self.sets for arg in ("--set", item))]

    def as_pairs(self) -> list[tuple[str, object]]:
        pairs: list[tuple[str, object]] = []
        if self.weights is not None:
            pairs.append(("model.weights", str(self.weights)))
        if self.random_weights:
            pairs.append(("model.random_weights", True))
        if self.precision is not None:
            pairs.append(("precision.mode", self.precision))
        if self.workspace_mib is not None:
            pairs.append(("engine.workspace_mib", self.workspace_mib))
        if self.data is not None:
            pairs += [("data", str(self.data)), *((key, None) for key in DATA_KEYS)]
        if self.calib is not None:
            pairs.append(("precision.calibration.images", str(self.calib)))
        if self.holdout is not None:
            pairs.append(("verify.images", str(self.holdout)))
        for item in self.sets:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise UsageError(f"--set {item!r}: expected key.path=value, e.g. --set engine.workspace_mib=4096")
            pairs.append((key.strip(), parse_yaml(value, f"--set {item!r}: value")))
        return pairs


@dataclass(frozen=True)
class LoadedRecipe:
    recipe: Recipe
    path: Path

    @property
    def digest(self) -> str:
        return recipe_digest(self.recipe)


def recipe_digest(recipe: Recipe) -> str:
    """Digest of the resolved recipe (after overrides): the identity reports and engine sidecars carry."""
    return hashlib.sha256(json.dumps(recipe.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def load_recipe(ref: str, overrides: Overrides | None = None, names: RecipeNames | None = None) -> LoadedRecipe:
    """`names`: what the registries offer (trtbuild.build.registries.recipe_names()); without them names are checked only
    when a registry looks them up."""
    path = find_recipe(ref)
    data = read_recipe_file(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a recipe must be a mapping of keys, got {type(data).__name__}")
    data = copy.deepcopy(data)
    pairs = (overrides or Overrides()).as_pairs()
    for key, value in pairs:
        _set_path(data, key, value, path)
    try:
        recipe = Recipe.model_validate(data, context={"names": names})
    except ValidationError as exc:
        raise UsageError(f"{path}: {describe_error(exc)}") from None
    packaged = path.resolve().parent == PACKAGED_DIR.resolve()
    resolve_paths(recipe, None if packaged else path.parent, [key for key, _ in pairs])
    return LoadedRecipe(recipe, path)


def _set_path(data: dict, dotted: str, value: object, path: Path) -> None:
    """Set `a.b[0].c` (or `a.b.0.c`) in the raw recipe, creating mappings on the way."""
    keys = [int(k) if k.isdigit() else k for k in re.split(r"\.|\[(\d+)\]\.?", dotted) if k]
    node = data
    for depth, key in enumerate(keys):
        where = dotted if depth == len(keys) - 1 else ".".join(map(str, keys[: depth + 1]))
        if isinstance(key, int) != isinstance(node, list):
            kind = "a list" if isinstance(node, list) else "a mapping"
            raise UsageError(f"{path}: --set {dotted}: cannot index {kind} with {key!r} at {where}")
        if isinstance(key, int) and key >= len(node):
            raise UsageError(f"{path}: --set {dotted}: index {key} out of range (list has {len(node)} items)")
        if depth == len(keys) - 1:
            node[key] = value
        else:
            if not isinstance(key, int) and not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]


def describe_error(exc: ValidationError) -> str:
    """The first schema error as `key.path: message`, with the allowed keys for a misspelt one."""
    err = exc.errors()[0]
    loc = _format_loc(err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(err["loc"][:-1])
        hint = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        return f"{loc}: unknown key ({suggestion}allowed: {', '.join(allowed)})"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        message = "required key is missing"
    elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
        message = f"{message} (got {_short_repr(err['input'])})"
    return f"{loc}: {message}" if loc else message


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _short_repr(value: object, limit: int = 80) -> str:
    """A recipe may hold a 1 MiB string: the error line quotes only its start."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "literal[")):  # pydantic's union/literal branch labels
            continue
        else:
            name = str(part) if _PLAIN_KEY.fullmatch(str(part)) else _short_repr(part, 40)  # no line breaks
            out += f".{name}" if out else name
    return out


def _allowed_keys(loc: tuple) -> list[str]:
    model: type[BaseModel] | None = Recipe
    for part in loc:
        if model is None or part not in model.model_fields:  # list index or a user-named dict key
            continue
        model = _inner_model(model.model_fields[part].annotation)
    return sorted(model.model_fields) if model else []


def _inner_model(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found:
            return found
    return None
