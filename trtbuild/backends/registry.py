"""Finds every backend module in this package (a module that defines `BACKEND`) and picks one for a recipe."""

from __future__ import annotations

import functools
import importlib
import pkgutil

from trtbuild.backends.base import Backend
from trtbuild.tensorrt.flavor import FLAVORS, get_flavor  # noqa: F401 - get_flavor: trtbuild.runtime reads it here

_NOT_BACKENDS = {"base", "registry", "python_api"}


@functools.cache
def backends() -> tuple[Backend, ...]:
    """All registered backends, in `auto` preference order."""
    import trtbuild.backends as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in _NOT_BACKENDS:
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            if hasattr(module, "BACKEND"):
                found.append(module.BACKEND)
    return tuple(sorted(found, key=lambda b: b.preference))


def backend_names() -> tuple[str, ...]:
    """Every name a recipe may give `engine.backend` (old spellings are in `backend_aliases`)."""
    return ("auto", *(b.name for b in backends()))


def backend_aliases() -> dict[str, str]:
    """Old spelling -> backend name; recipes may still use them (the loader notes the new name)."""
    return {alias: b.name for b in backends() for alias in b.aliases}


def get_backend(name: str) -> Backend:
    for backend in backends():
        if name == backend.name or name in backend.aliases:
            return backend
    raise KeyError(f"unknown engine backend {name!r} (backends: {', '.join(backend_names())})")


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
