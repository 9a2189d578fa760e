"""Every registry's names, gathered for recipe validation (trtbuild.recipe.names). This module sits above the
registries, so the recipe layer imports none of them; adding a task, backend, adapter or runner changes nothing here."""

from __future__ import annotations

from trtbuild.recipe.names import RecipeNames


def recipe_names() -> RecipeNames:
    from trtbuild.backends.registry import backend_aliases, backend_names
    from trtbuild.models.registry import ADAPTERS
    from trtbuild.runners import RUNNER_ALIASES, RUNNER_NAMES
    from trtbuild.tasks.registry import task_names

    return RecipeNames(adapters=ADAPTERS, backends=backend_names(), runners=RUNNER_NAMES, tasks=task_names(),
                       aliases={"backends": backend_aliases(), "runners": RUNNER_ALIASES})
