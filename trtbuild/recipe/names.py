"""The names a recipe may use (model adapters, engine backends, runners, tasks) belong to registries above the recipe
layer. Whoever loads a recipe hands them to validation as pydantic's context (trtbuild.build.registries.recipe_names()), so
the schema checks every name without importing what it names. A recipe validated without them (a bare
`Recipe.model_validate`) has its names checked only when a registry looks them up."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationInfo


class RenamedWarning(FutureWarning):
    """A recipe used an old spelling of a name; it still works (the CLI prints it as one `note:` line)."""


@dataclass(frozen=True)
class RecipeNames:
    adapters: Mapping[str, Any]  # name -> its registry entry (.spatial_multiple, .weights_optional)
    backends: Sequence[str]
    runners: Sequence[str]
    tasks: Sequence[str]
    aliases: Mapping[str, Mapping[str, str]]  # "backends"/"runners" -> {old spelling: name}


def given(info: ValidationInfo) -> RecipeNames | None:
    return (info.context or {}).get("names")


def known(info: ValidationInfo, kind: str, name: str, where: str, also: Sequence[str] = ()) -> str:
    """`name` if the `kind` registry (or `also`) has it; an old spelling gives its new name and a RenamedWarning."""
    names = given(info)
    if names is None:
        return name
    renamed = names.aliases.get(kind, {}).get(name)
    if renamed:
        warnings.warn(f"{where}: {name!r} is now called {renamed!r}; the old name still works, update the recipe",
                      RenamedWarning, stacklevel=2)
        return renamed
    choices = [*also, *getattr(names, kind)]
    if name not in choices:
        raise ValueError(f"unknown {kind.removesuffix('s')} {name!r} ({kind}: {', '.join(choices)})")
    return name
