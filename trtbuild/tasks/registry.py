"""Tasks by name: each name with its module's `TASK` (a Task subclass), so the recipe schema validates `task:` without
importing numpy or any task, and a helper module beside the tasks is no task."""

from __future__ import annotations

from trtbuild.core.registry import Part, Registry

TASKS = Registry("task", [
    Part("classify", "trtbuild.tasks.classify:TASK"),
    Part("depth", "trtbuild.tasks.depth:TASK"),
    Part("detect", "trtbuild.tasks.detect:TASK"),
    Part("other", "trtbuild.tasks.other:TASK"),
])


def task_class(name: str):
    """The Task subclass named `name` (KeyError for a name not in TASKS)."""
    return TASKS.load(name)


def create_task(recipe, metadata: dict | None = None):
    """The recipe's task object; `metadata` is the export stage's adapter metadata (class names, ...)."""
    return task_class(recipe.task)(recipe, metadata)
