"""Content-addressed store of stage outputs (Olive-style `runs/<stage>/<key>/`).

An entry is a directory of artifacts plus `manifest.json`. It appears atomically (built in `tmp/`, then renamed),
reads re-hash every artifact against the manifest, and a per-key file lock keeps two builds from running the same
stage at once: the second one waits and then finds the first one's entry.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from trtbuild.digest import file_digest

MANIFEST = "manifest.json"


def default_cache_dir() -> Path:
    env = os.environ.get("TRTBUILD_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "trtbuild"


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    manifest: dict

    @property
    def stage(self) -> str:
        return self.manifest["stage"]

    @property
    def key(self) -> str:
        return self.manifest["key"]

    def artifact(self, role: str) -> Path:
        return self.path / self.manifest["artifacts"][role]["file"]

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


class Cache:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _entry_dir(self, stage: str, key: str) -> Path:
        return self.root / "runs" / stage / key

    def lock(self, stage: str, key: str) -> FileLock:
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{stage}-{key}.lock"))

    def lookup(self, stage: str, key: str) -> CacheEntry | None:
        """The entry if present and intact; a damaged entry is discarded so the stage reruns."""
        path = self._entry_dir(stage, key)
        try:
            manifest = json.loads((path / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        for info in manifest["artifacts"].values():
            artifact = path / info["file"]
            if not artifact.is_file() or file_digest(artifact) != info["sha256"]:
                shutil.rmtree(path, ignore_errors=True)
                return None
        return CacheEntry(path, manifest)

    def new_workdir(self) -> Path:
        path = self.root / "tmp" / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def commit(self, workdir: Path, manifest: dict) -> CacheEntry:
        """Record digests of the artifacts in `workdir` and move it into place in one rename."""
        for info in manifest["artifacts"].values():
            artifact = workdir / info["file"]
            info["sha256"] = file_digest(artifact)
            info["size"] = artifact.stat().st_size
        manifest["created"] = time.time()
        (workdir / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
        target = self._entry_dir(manifest["stage"], manifest["key"])
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # a forced rerun replaces the old entry
            shutil.rmtree(target)
        os.replace(workdir, target)
        return CacheEntry(target, manifest)

    def discard(self, workdir: Path) -> None:
        shutil.rmtree(workdir, ignore_errors=True)

    def entries(self) -> list[CacheEntry]:
        found = []
        for manifest_path in sorted((self.root / "runs").glob(f"*/*/{MANIFEST}")):
            try:
                found.append(CacheEntry(manifest_path.parent, json.loads(manifest_path.read_text())))
            except (OSError, ValueError):
                continue
        return found

    def clean(self, stage: str | None = None) -> int:
        """Remove entries (of one stage, or all) and leftovers of interrupted builds; returns bytes freed."""
        freed = 0
        for entry in self.entries():
            if stage is None or entry.stage == stage:
                freed += entry.size()
                shutil.rmtree(entry.path, ignore_errors=True)
        if stage is None:
            shutil.rmtree(self.root / "tmp", ignore_errors=True)
        return freed
