"""What the CLI calls: one function per command, usable from Python as well."""

from __future__ import annotations

from pathlib import Path

from trtbuild.cache import Cache, default_cache_dir
from trtbuild.pipeline import BuildOptions, Listener, run_pipeline
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.recipe.find import RecipeEntry
from trtbuild.recipe.find import list_recipes as _list_recipes
from trtbuild.report import BuildReport


def list_recipes() -> list[RecipeEntry]:
    return _list_recipes()


def show_recipe(ref: str, overrides: Overrides | None = None) -> dict:
    loaded = load_recipe(ref, overrides)
    return {"path": str(loaded.path), "digest": loaded.digest, "recipe": loaded.recipe.model_dump(mode="json")}


def build(
    ref: str,
    overrides: Overrides | None = None,
    options: BuildOptions | None = None,
    cache_dir: Path | None = None,
    listener: Listener | None = None,
) -> BuildReport:
    loaded = load_recipe(ref, overrides)
    return run_pipeline(loaded, Cache(cache_dir or default_cache_dir()), options or BuildOptions(), listener)


def cache_entries(cache_dir: Path | None = None) -> list[dict]:
    cache = Cache(cache_dir or default_cache_dir())
    return [
        {"stage": e.stage, "key": e.key, "size": e.size(), "created": e.manifest.get("created"), "path": str(e.path)}
        for e in cache.entries()
    ]


def cache_clean(cache_dir: Path | None = None, stage: str | None = None) -> int:
    return Cache(cache_dir or default_cache_dir()).clean(stage)


def doctor() -> dict:
    from trtbuild.doctor import diagnose

    return diagnose()
