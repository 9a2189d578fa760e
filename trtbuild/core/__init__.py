"""The foundation: errors, host facts, digests, atomic writes, the stage cache and the engine set; stdlib, pydantic
and matplotlib only. The build and the runtime both stand on it."""

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """The user cache: TRTBUILD_CACHE_DIR, else ~/.cache/trtbuild. Stage outputs (trtbuild.core.cache), engine-set
    locks and parsed recipes (trtbuild.recipe.read) live under it. Here, not in core.cache, so that reading a recipe
    imports neither pydantic nor filelock."""
    env = os.environ.get("TRTBUILD_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "trtbuild"
