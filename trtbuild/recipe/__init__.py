"""Recipes: find, load (with overrides) and validate."""

from trtbuild.recipe.find import list_recipes
from trtbuild.recipe.load import LoadedRecipe, Overrides, load_recipe
from trtbuild.recipe.schema import STAGE_NAMES, Recipe

__all__ = ["STAGE_NAMES", "LoadedRecipe", "Overrides", "Recipe", "list_recipes", "load_recipe"]
