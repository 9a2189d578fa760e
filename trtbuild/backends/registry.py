"""The engine backends, in `auto` preference order, each name with its module's `BACKEND` and the old spellings
recipes may still use; picks one for a recipe. Listing names imports no backend module."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from trtbuild.core.registry import Part, Registry
from trtbuild.tensorrt.flavor import FLAVORS

if TYPE_CHECKING:  # the backend modules import it; names and aliases need none of them
    from trtbuild.backends.base import Backend

BACKENDS = Registry("engine backend", [
    Part("tensorrt-bindings", "trtbuild.backends.tensorrt:BACKEND", aliases=("tensorrt", "python")),
    Part("trtexec", "trtbuild.backends.trtexec:BACKEND"),
    Part("tensorrt-rtx-bindings", "trtbuild.backends.tensorrt_rtx:BACKEND", aliases=("tensorrt-rtx",)),
], plural="backends")


@functools.cache
def backends() -> tuple[Backend, ...]:
    """All registered backends, in `auto` preference order."""
    return tuple(BACKENDS.load(name) for name in BACKENDS)


def backend_names() -> tuple[str, ...]:
    """Every name a recipe may give `engine.backend` (old spellings are in `backend_aliases`)."""
    return ("auto", *BACKENDS)


def backend_aliases() -> dict[str, str]:
    """Old spelling -> backend name; recipes may still use them (the loader notes the new name)."""
    return BACKENDS.aliases


def get_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise KeyError(f"unknown engine backend {name!r} (backends: {', '.join(backend_names())})")
    return BACKENDS.load(name)


def select_backend(requested: str) -> tuple[Backend | None, str | None]:
    """-> (backend, None) or (None, why it cannot build here). `auto`: the first available by preference."""
    if requested != "auto":
        backend = get_backend(requested)
        reason = backend.unavailable_reason()
        return (None, reason) if reason else (backend, None)
    reasons = []
    for backend in backends():
        reason = backend.unavailable_reason()
        if reason is None:
            return backend, None
        reasons.append(f"{backend.name}: {reason}")
    return None, "no engine backend can build here (" + "; ".join(reasons) + ")"


def library_versions() -> dict[str, str | None]:
    """Installed version of every flavor's bindings (for host-bound cache keys and reports)."""
    return {f.name: f.installed_version() for f in FLAVORS}
