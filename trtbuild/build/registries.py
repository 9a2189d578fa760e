"""Every registry's names, gathered for recipe validation (trtbuild.recipe.names). This module sits above the
registries, so the recipe layer imports none of them; each registry declares its names without importing its parts,
so gathering them is cheap, and adding a task, backend, adapter or runner changes nothing here."""

from __future__ import annotations

from trtbuild.recipe.names import RecipeNames


def recipe_names() -> RecipeNames:
    from trtbuild.backends.registry import BACKENDS, backend_names
    from trtbuild.models.registry import ADAPTERS
    from trtbuild.runners import RUNNERS
    from trtbuild.tasks.registry import TASKS

    return RecipeNames(adapters=ADAPTERS, backends=backend_names(), runners=tuple(RUNNERS), tasks=tuple(TASKS),
                       aliases={"backends": BACKENDS.aliases, "runners": RUNNERS.aliases})
