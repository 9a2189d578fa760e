"""Recipes: find, load (with overrides) and validate.

The names below are imported from their modules on first use, so finding and listing recipes (`trtbuild list`)
does not load the schema and pydantic."""

import importlib

_MODULE_OF = {"list_recipes": "find", "LoadedRecipe": "load", "Overrides": "load", "load_recipe": "load",
              "Recipe": "schema"}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
