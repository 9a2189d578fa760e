"""The stages in pipeline order, by name: stage `x` is the Stage class of trtbuild/build/stages/x.py, imported only when a
build reaches it, so listing the names (CLI help, --until, --force-stage) imports nothing."""

from __future__ import annotations

import importlib

STAGE_NAMES = ("export", "simplify", "check", "precision", "engine", "verify", "bench")


def stage_class(name: str) -> type:
    """The Stage subclass of trtbuild/build/stages/<name>.py (KeyError for a name not in STAGE_NAMES)."""
    if name not in STAGE_NAMES:
        raise KeyError(f"unknown stage {name!r} (stages: {', '.join(STAGE_NAMES)})")
    from trtbuild.build.stages.base import Stage

    module = importlib.import_module(f"{__name__}.{name}")
    return next(v for v in vars(module).values()
                if isinstance(v, type) and issubclass(v, Stage) and v.__module__ == module.__name__)
