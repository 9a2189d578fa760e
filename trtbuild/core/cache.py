"""Content-addressed store of stage outputs (Olive-style `runs/<stage>/<key>/`).

An entry is a directory of artifacts plus `manifest.json`. It appears atomically (built in `tmp/<pid>-<id>/`, then
renamed), reads validate the manifest and re-hash every artifact (anything damaged is a miss, never a crash), and a
per-key file lock keeps two builds from running the same stage at once: the second one waits and then finds the first
one's entry. Work directories of killed builds are removed once the pid in their name is no longer alive; their name
also carries the host, so a cache that several hosts mount (a farm) never removes another host's work.

Size limit (`config.json` max_size, as ccache's): after a stage adds an entry, the least recently used entries go
until the cache fits; an entry a running build holds (a shared flock on its manifest, taken when the build looked
it up or made it and released when the build ends, or by the kernel when the build dies) is never evicted.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trtbuild.core import default_cache_dir, stale  # noqa: F401 - the cache's default root, for its users
from trtbuild.core.digest import file_digest

CACHE_MANIFEST = "manifest.json"
CONFIG = "config.json"
HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"
_HOST_TAGGED = re.compile(r"^\d+-[0-9a-f]{32}-(?P<host>.+)$")


class ArtifactInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # a plain name inside the entry, never a path
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str
    key: str
    key_material: dict = Field(default_factory=dict)
    artifacts: dict[str, ArtifactInfo]
    metrics: dict
    warnings: list[str]
    seconds: float
    created: float


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    manifest: dict  # a validated Manifest, as plain data

    @property
    def stage(self) -> str:
        return self.manifest["stage"]

    @property
    def key(self) -> str:
        return self.manifest["key"]

    def artifact(self, role: str) -> Path:
        return self.path / self.manifest["artifacts"][role]["file"]

    def size(self) -> int:
        return stale.size_of(self.path)


class Cache:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._held: dict[Path, int] = {}  # entry -> open manifest fd with a shared flock (see `hold`)

    def _entry_dir(self, stage: str, key: str) -> Path:
        return self.root / "runs" / stage / key

    def lock(self, stage: str, key: str) -> FileLock:
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{stage}-{key}.lock"))

    def lookup(self, stage: str, key: str, on_damage: Callable[[str], None] | None = None) -> CacheEntry | None:
        """The entry if present and intact. A damaged one is discarded (so the stage reruns) and `on_damage` is told
        why, once; an absent one is a plain miss."""
        path = self._entry_dir(stage, key)
        if not path.exists():
            return None
        manifest, problem = _read_manifest(path)
        if manifest and (manifest["stage"], manifest["key"]) != (stage, key):
            problem = f"{CACHE_MANIFEST} is for {manifest['stage']}/{manifest['key']}"
        problem = problem or _artifact_problem(path, manifest)
        if problem:
            shutil.rmtree(path, ignore_errors=True)
            if on_damage:
                on_damage(f"cache entry {path} was damaged ({problem}); discarded and rebuilt")
            return None
        os.utime(path / CACHE_MANIFEST)  # its last use, for eviction
        return CacheEntry(path, manifest)

    def hold(self, entry: CacheEntry) -> None:
        """Keep `entry` from eviction until `release` (or this process's end); take it under the entry's lock."""
        if entry.path not in self._held:
            fd = os.open(entry.path / CACHE_MANIFEST, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._held[entry.path] = fd

    def release(self) -> None:
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()

    @property
    def max_size(self) -> int | None:
        try:
            return json.loads((self.root / CONFIG).read_text()).get("max_size")
        except (OSError, ValueError, AttributeError):
            return None

    def set_max_size(self, max_size: int | None) -> int:
        """Set (None: remove) the size limit and evict down to it now; returns the bytes freed."""
        self.root.mkdir(parents=True, exist_ok=True)
        stale.write_atomically(self.root / CONFIG, json.dumps({"max_size": max_size}).encode())
        return self.trim()

    def trim(self) -> int:
        """Evict least recently used entries until the cache fits its max_size; returns the bytes freed. Entries that
        a build holds or is writing are skipped."""
        limit = self.max_size
        if limit is None:
            return 0
        entries = sorted(self.entries(), key=lambda e: (e.path / CACHE_MANIFEST).stat().st_mtime)
        sizes = {e.path: e.size() for e in entries}
        total, freed = sum(sizes.values()), 0
        for entry in entries:
            if total <= limit:
                break
            if self._evict(entry):
                total -= sizes[entry.path]
                freed += sizes[entry.path]
        return freed

    def _evict(self, entry: CacheEntry) -> bool:
        try:
            lock = self.lock(entry.stage, entry.key)
            lock.acquire(timeout=0)
        except (Timeout, OSError):  # a build is making or reading it right now
            return False
        try:
            fd = os.open(entry.path / CACHE_MANIFEST, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # refused while a build holds it
                shutil.rmtree(entry.path, ignore_errors=True)
                return True
            finally:
                os.close(fd)
        except OSError:  # held, or gone meanwhile
            return False
        finally:
            lock.release()

    def new_workdir(self) -> Path:
        """A fresh directory under tmp/ whose name says which process on which host owns it."""
        path = self.root / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}-{HOST}"
        path.mkdir(parents=True)
        return path

    def commit(self, workdir: Path, manifest: dict) -> CacheEntry:
        """Record digests of the artifacts in `workdir` and move it into place in one rename."""
        for info in manifest["artifacts"].values():
            artifact = workdir / info["file"]
            info["sha256"] = file_digest(artifact)
            info["size"] = artifact.stat().st_size
        manifest["created"] = time.time()
        text = json.dumps(manifest, indent=2, default=str)
        Manifest.model_validate_json(text)  # what lookup will demand of it
        (workdir / CACHE_MANIFEST).write_text(text)
        target = self._entry_dir(manifest["stage"], manifest["key"])
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # a forced rerun replaces the old entry
            shutil.rmtree(target)
        os.replace(workdir, target)
        return CacheEntry(target, json.loads(text))

    def discard(self, workdir: Path) -> None:
        shutil.rmtree(workdir, ignore_errors=True)

    def entries(self) -> list[CacheEntry]:
        """Entries whose manifest is valid (artifacts are not re-hashed here)."""
        found = []
        for path in self._entry_dirs():
            manifest, problem = _read_manifest(path)
            if not problem:
                found.append(CacheEntry(path, manifest))
        return found

    def damaged(self) -> list[tuple[Path, str]]:
        """Entry directories whose manifest is missing or invalid."""
        return [(path, problem) for path in self._entry_dirs() for _, problem in [_read_manifest(path)] if problem]

    def stale_workdirs(self) -> list[Path]:
        """Work directories under tmp/ of this host whose process is gone (killed builds); another host's are its
        own to judge."""
        tmp = self.root / "tmp"
        if not tmp.is_dir():
            return []
        return [p for p in tmp.iterdir()
                if _owner_host(p.name) in (None, HOST) and not stale.owner_alive(_owner_pid(p.name), p)]

    def remove_stale(self) -> int:
        return stale.remove(self.stale_workdirs())

    def remove_damaged(self) -> tuple[int, int]:
        """Remove entries whose manifest is damaged, each under its lock (a build may be replacing it right now,
        then it is skipped); returns (entries removed, bytes freed)."""
        removed = freed = 0
        for path, _ in self.damaged():
            try:
                lock = self.lock(path.parent.name, path.name)
                lock.acquire(timeout=0)
            except (Timeout, OSError):  # busy, or a read-only cache: nothing to remove there
                continue
            try:
                if _read_manifest(path)[1]:
                    freed += stale.remove([path])
                    removed += 1
            finally:
                lock.release()
        return removed, freed

    def clean(self, stage: str | None = None) -> int:
        """Remove entries (of one stage, or all) and leftovers of killed builds; returns bytes freed."""
        freed = 0
        for entry in self.entries():
            if stage is None or entry.stage == stage:
                freed += stale.remove([entry.path])
        if stage is None:
            freed += self.remove_damaged()[1] + self.remove_stale()
        return freed

    def _entry_dirs(self) -> list[Path]:
        return sorted(p for p in (self.root / "runs").glob("*/*") if p.is_dir())


def _owner_pid(name: str) -> int:
    pid, _, _ = name.partition("-")
    return int(pid) if pid.isdigit() else -1  # not our naming: no live owner


def _owner_host(name: str) -> str | None:
    """The host of `<pid>-<uuid>-<host>`; None for other names (work directories from before hosts were named)."""
    tagged = _HOST_TAGGED.match(name)
    return tagged["host"] if tagged else None


def _read_manifest(path: Path) -> tuple[dict | None, str | None]:
    """The manifest as parsed JSON (NaN metrics stay NaN) once it matches the schema, else why not."""
    try:
        text = (path / CACHE_MANIFEST).read_text()
    except FileNotFoundError:
        return None, f"{CACHE_MANIFEST} is missing"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{CACHE_MANIFEST} is unreadable: {exc}"
    try:
        Manifest.model_validate_json(text)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"])) or "document"
        return None, f"{CACHE_MANIFEST} does not match the manifest schema at {where}: {err['msg']}"
    return json.loads(text), None


def _artifact_problem(path: Path, manifest: dict) -> str | None:
    for info in manifest["artifacts"].values():
        artifact = path / info["file"]
        if artifact.is_symlink():  # an entry holds its own bytes; a link could lead anywhere
            return f"{info['file']} is a symlink"
        if not artifact.is_file():
            return f"{info['file']} is missing"
        if artifact.stat().st_size != info["size"] or file_digest(artifact) != info["sha256"]:
            return f"{info['file']} does not match its recorded sha256"
    return None
