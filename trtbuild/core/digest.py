"""Content digests of files and JSON-able values, the currency of cache keys."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from trtbuild.core.stale import write_atomically

_CHUNK = 1 << 20
STORED_FROM = 1 << 20  # files this large keep their digest across processes; smaller ones hash faster than a lookup
# (resolved path, size, mtime_ns, ctime_ns, inode, device) -> sha256: a path is hashed once per process unless it
# changes. Any write changes ctime, which no user can set, so a file edited in place never keeps an old digest.
_memo: dict[tuple, str] = {}


def file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
    if key not in _memo:
        if st.st_size < STORED_FROM:
            _memo[key] = _sha256(path)
        else:  # a cached build re-reads its weights and cached ONNX files: ~25 ms for yolo12n, seconds for a ViT-L
            _memo[key] = _stored(key) or _store(key, _sha256(path))
    return _memo[key]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _store_path(key: tuple) -> Path:
    from trtbuild.core import default_cache_dir

    return default_cache_dir() / "digests" / value_digest(key)[:40]


def _stored(key: tuple) -> str | None:
    try:
        found = _store_path(key).read_text()
    except OSError:
        return None
    return found if len(found) == 64 else None  # a torn or foreign file: hash again


def _store(key: tuple, digest: str) -> str:
    """Keep `digest` for `key`; a store that cannot be written costs a hash next time, nothing else."""
    path = _store_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, digest.encode())
    except OSError:
        pass
    return digest


def tree_digest(paths: list[Path]) -> str:
    """Digest of a list of files, by name and content (for image folders)."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode())
        h.update(file_digest(path).encode())
    return h.hexdigest()


def value_digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
