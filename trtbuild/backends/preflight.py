"""The engine stage's build plan, made before the first stage runs: a setting the chosen library refuses (a
compute-capability target it lacks, weak typing on a strongly typed library) stops the build in one line, exit 2,
instead of after minutes of export and calibration; `show` prints the same verdict."""

from __future__ import annotations

from trtbuild.backends.registry import select_backend
from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Recipe


def check_engine_plan(recipe: Recipe) -> None:
    """Raises the plan's UsageError; a backend that cannot build here is the engine stage's to report (skipped)."""
    backend, reason = select_backend(recipe.engine.backend)
    if not reason:
        backend.make_plan(recipe, None)


def describe_engine_plan(recipe: Recipe) -> str:
    """One line for `show`: what the engine stage would build, or why it would not."""
    backend, reason = select_backend(recipe.engine.backend)
    if reason:
        return f"skipped here: {reason}"
    try:
        plan = backend.make_plan(recipe, None)
    except UsageError as exc:
        return f"refused: {exc}"
    targets = ", ".join(plan.runs_on) or "this GPU"
    return f"{backend.name} ({backend.flavor.title} {plan.version}, {plan.precision}), engines run on {targets}"
