"""Tasks by name: a task is a module of this package named after it that defines `TASK` (a Task subclass).

Names come from the file names, so the recipe schema validates `task:` without importing numpy or any task."""

from __future__ import annotations

import functools
import importlib
import pkgutil

_NOT_TASKS = {"base", "registry"}


@functools.cache
def task_names() -> tuple[str, ...]:
    import trtbuild.tasks as package

    return tuple(sorted(i.name for i in pkgutil.iter_modules(package.__path__) if i.name not in _NOT_TASKS))


def task_class(name: str):
    if name not in task_names():
        raise KeyError(f"unknown task {name!r} (tasks: {', '.join(task_names())})")
    return importlib.import_module(f"trtbuild.tasks.{name}").TASK


def create_task(recipe, metadata: dict | None = None):
    """The recipe's task object; `metadata` is the export stage's adapter metadata (class names, ...)."""
    return task_class(recipe.task)(recipe, metadata)
