"""The runtime cache file: kernels a flavor compiles when it loads an engine (TensorRT-RTX's JIT), kept between starts.

One file per engine digest, GPU model, compute capability and driver, in the user's cache (trtbuild.core.cache's
directory, `runtime-cache/`): never beside the engine, where it would travel with a shipped engine folder to other
GPUs. Written atomically (a concurrent start reads the old file or the new one, never half of one; two Models of one
engine in separate processes: the last writer wins). A file that cannot be read or written costs a recompilation,
never the inference: failures come back as one-line notes and go to the log."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from trtbuild.core.cache import default_cache_dir
from trtbuild.core.stale import write_atomically

_LOG = logging.getLogger(__name__)
_WRITING = threading.Lock()  # the temp file is named per process: one writer per process at a time


@dataclass(frozen=True)
class RuntimeCacheFile:
    path: Path

    @classmethod
    def for_engine(cls, engine_sha256: str, gpu_name: str, compute_capability: str, driver: str) -> RuntimeCacheFile:
        gpu = re.sub(r"[^A-Za-z0-9]+", "-", gpu_name).strip("-")
        return cls(default_cache_dir() / "runtime-cache" / engine_sha256 /
                   f"{gpu}-cc{compute_capability}-driver{driver}.bin")

    def load(self, runtime_cache) -> str | None:
        """Fill `runtime_cache` (a library IRuntimeCache) from the file, if there is one; a note when it is unusable."""
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._noted(f"runtime cache {self.path} unreadable ({exc.strerror or exc}); compiling kernels again")
        if not runtime_cache.deserialize(blob):
            return self._noted(f"runtime cache {self.path} was refused by the library (another library version or "
                               "a damaged file); compiling kernels again")
        return None

    def save(self, runtime_cache) -> str | None:
        """Write what `runtime_cache` holds now; a note (never an exception) when the file cannot be written."""
        blob = bytes(runtime_cache.serialize())
        try:
            with _WRITING:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(self.path, blob)
        except OSError as exc:
            return self._noted(f"runtime cache not saved to {self.path} ({exc.strerror or exc}); the next start "
                               "compiles its kernels again")
        return None

    @staticmethod
    def _noted(note: str) -> str:
        _LOG.warning(note)  # also seen when nobody reads the runner's notes (a save at interpreter exit)
        return note
