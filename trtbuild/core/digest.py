"""Content digests of files and JSON-able values, the currency of cache keys."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

_CHUNK = 1 << 20
# (resolved path, size, mtime_ns, inode) -> sha256: a path is hashed once per process unless it changes.
_memo: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: Path) -> str:
    st = path.stat()
    memo_key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if memo_key not in _memo:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        _memo[memo_key] = h.hexdigest()
    return _memo[memo_key]


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
