"""What a worker needs to build a cell, as bytes: the resolved recipe and every file or folder its paths name.

Workers share no paths with the driver. The driver packs the checkpoint, dataset YAMLs (with their dataset root) and
image folders; a worker writes them once under a folder named by their digest (so every node, and every run, sees
the same paths, and cache keys that contain a path agree) and builds from a recipe file that points there.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from trtbuild.data.datasets import DATASET_SUFFIXES
from trtbuild.recipe import Recipe
from trtbuild.recipe.paths import path_fields
from trtbuild.core.stale import write_atomically


@dataclass(frozen=True)
class Files:
    """A recipe's files: one copy serves every cell of the recipe (on Ray: one object in the store)."""

    content: dict[str, bytes]  # relative path -> bytes
    places: dict[str, str]  # recipe key of a path -> where its file or folder is among `content`

    @property
    def digest(self) -> str:
        h = hashlib.sha256(json.dumps(self.places, sort_keys=True).encode())
        for name in sorted(self.content):
            h.update(name.encode() + hashlib.sha256(self.content[name]).digest())
        return h.hexdigest()[:20]


def pack(recipe: Recipe) -> Files:
    content: dict[str, bytes] = {}
    places: dict[str, str] = {}
    for index, (key, _, _, value) in enumerate(path_fields(recipe)):
        if not value.exists():  # the worker fails on it as a local build would
            continue
        place = str(index) if value.is_dir() else f"{index}/{value.name}"
        if value.is_dir():
            content.update(_tree(value, place))
        elif value.suffix.lower() in DATASET_SUFFIXES:
            content.update(_dataset(value, place))
        else:
            content[place] = value.read_bytes()
        places[key] = place
    return Files(content, places)


def materialize(recipe: dict, files: Files, root: Path | None = None) -> Path:
    """Write the files (once per digest, atomically) and a recipe file naming them; returns that recipe file."""
    root = root or Path(tempfile.gettempdir()) / f"trtbuild-farm-{os.getuid()}" / "inputs"
    folder = root / files.digest
    if not folder.is_dir():
        work = root / f".{files.digest}.{os.getpid()}-{uuid.uuid4().hex}"
        try:
            for name, content in files.content.items():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_bytes(content)
            work.mkdir(parents=True, exist_ok=True)
            try:
                work.rename(folder)
            except OSError:  # another cell on this node wrote the same files first
                pass
        finally:
            shutil.rmtree(work, ignore_errors=True)
    data = copy.deepcopy(recipe)  # the resolved recipe, model_dump(mode="json")
    for key, place in files.places.items():
        _set(data, key, str(folder / place))
    text = yaml.safe_dump(data, sort_keys=False)
    recipe_file = folder / f"recipe-{hashlib.sha256(text.encode()).hexdigest()[:20]}.yaml"
    write_atomically(recipe_file, text.encode())
    return recipe_file


def _tree(folder: Path, place: str) -> dict[str, bytes]:
    return {f"{place}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _dataset(path: Path, place: str) -> dict[str, bytes]:
    """An Ultralytics dataset YAML with its root folder beside it (its `path:` dropped: the root is its folder)."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    root = Path(os.path.expanduser(str(spec.pop("path")))) if spec.get("path") else path.resolve().parent
    if not root.is_absolute():
        root = path.parent / root
    found = _tree(root, place.rsplit("/", 1)[0]) if root.is_dir() else {}
    found[place] = yaml.safe_dump(spec, sort_keys=False).encode()
    return found


def _set(data: dict, dotted: str, value: str) -> None:
    keys = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    for key in keys[:-1]:
        data = data[key]
    data[keys[-1]] = value
