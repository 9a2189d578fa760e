"""Recipes: find, load (with overrides) and validate."""

from trtbuild.recipe.find import list_recipes
from trtbuild.recipe.load import LoadedRecipe, Overrides, load_recipe
from trtbuild.recipe.schema import Recipe

__all__ = ["LoadedRecipe", "Overrides", "Recipe", "list_recipes", "load_recipe"]
