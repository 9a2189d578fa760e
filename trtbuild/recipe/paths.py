"""Paths in a recipe: `~` and $VARS expand everywhere; a relative path written in a recipe file resolves from that
file's folder, so a recipe works from any directory. Values given on the command line (--weights, --data, --calib,
--set) stay relative to the working directory, and so do packaged recipes' values: a packaged recipe has no folder
of its own, and its only path is the checkpoint name users download (yolo12n.pt)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel


def path_fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, BaseModel, str, Path]]:
    """(dotted key, owning model, field name, value) for every Path-valued field, nested blocks and lists included."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, Path):
            yield key, model, name, value
        elif isinstance(value, BaseModel):
            yield from path_fields(value, f"{key}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from path_fields(item, f"{key}.{index}.")


def resolve_paths(model: BaseModel, base: Path | None, cli_keys: list[str]) -> None:
    """Expand every path in place; those from the recipe file (not under a key in `cli_keys`) join `base`."""
    cli = [_normal(key) for key in cli_keys]
    for key, owner, name, value in list(path_fields(model)):
        path = Path(os.path.expandvars(os.path.expanduser(str(value))))
        from_cli = any(key == k or key.startswith(f"{k}.") for k in cli)
        if base is not None and not from_cli and not path.is_absolute():
            path = Path(os.path.normpath(base / path))
        if path != value:
            setattr(owner, name, path)


def _normal(key: str) -> str:
    """`inputs[0].shape` and `inputs.0.shape` name the same key."""
    return key.replace("[", ".").replace("]", "").strip(".")
