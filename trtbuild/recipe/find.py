"""Where recipes come from: a YAML path, a project-local `recipes/` folder, or the recipes shipped in the package."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trtbuild.core.errors import UsageError
from trtbuild.recipe.read import read_recipe_file

PACKAGED_DIR = Path(__file__).resolve().parent.parent / "recipes"


@dataclass(frozen=True)
class RecipeEntry:
    name: str
    path: Path
    description: str
    aliases: tuple[str, ...]


def search_dirs() -> list[Path]:
    """Project-local recipes shadow packaged ones of the same name."""
    local = Path.cwd() / "recipes"
    dirs = [local] if local.is_dir() and local.resolve() != PACKAGED_DIR else []
    return [*dirs, PACKAGED_DIR]


def list_recipes() -> list[RecipeEntry]:
    seen: dict[str, RecipeEntry] = {}
    for directory in search_dirs():
        for path in sorted(directory.glob("*.y*ml")):
            entry = _entry(path)
            seen.setdefault(entry.name, entry)
    return list(seen.values())


def find_recipe(ref: str) -> Path:
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        if not path.is_file():
            raise UsageError(f"recipe file not found: {ref} (give a path to a .yaml file or a name from `trtbuild list`)")
        return path
    entries = list_recipes()
    for entry in entries:
        if ref in (entry.name, entry.path.stem, *entry.aliases):
            return entry.path
    known = ", ".join(e.name for e in entries)
    raise UsageError(f"unknown recipe {ref!r}; known recipes: {known} (or pass a path to a .yaml file)")


def _entry(path: Path) -> RecipeEntry:
    data = read_recipe_file(path) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a recipe must be a mapping of keys, got {type(data).__name__}")
    name = str(data.get("name", path.stem))
    aliases = data.get("aliases")
    return RecipeEntry(name, path, str(data.get("description", ""))[:200],
                       tuple(map(str, aliases)) if isinstance(aliases, list) else ())

