"""Whether the running packages are the ones requirements.lock pins (the hash-checked set `make setup` installs)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from trtbuild.core.host import package_version

LOCK_NAME = "requirements.lock"


def repo_lock() -> Path | None:
    """The lock beside the package in a repo checkout (editable install); None for an installed wheel."""
    path = Path(__file__).resolve().parents[2] / LOCK_NAME
    return path if path.is_file() else None


def locked_pins(text: str) -> dict[str, str]:
    """name -> version for each `name==version` line of a pip-compile lock (hash and comment lines skipped; a line
    whose environment marker does not hold here is left out)."""
    pins = {}
    for line in text.splitlines():
        if not line or line[0] in " \t#-":
            continue
        pin, _, marker = line.rstrip(" \\").partition(";")
        if marker.strip() and not _holds(marker):
            continue
        name, _, version = pin.partition("==")
        pins[name.partition("[")[0].strip()] = version.strip()
    return pins


def _holds(marker: str) -> bool:
    from packaging.markers import Marker  # only for a lock with markers: packaging costs ~50 ms to import

    return Marker(marker.strip()).evaluate()


def lock_status(path: Path | None = None) -> dict:
    """`status` is "matches", "N of M differ" or "no lock file"; `differ` names each package that is off."""
    path = path or repo_lock()
    if path is None:
        return {"file": None, "status": "no lock file (not a repo checkout)", "differ": {}}
    pins = locked_pins(path.read_text())
    listed = _listed_versions()
    differ = {}
    for name, locked in sorted(pins.items()):
        if listed.get(_normalized(name)) == locked:
            continue
        installed = package_version(name)  # from its metadata: the folder's name may spell the version otherwise
        if installed is None or not _same_version(installed, locked):
            differ[name] = f"installed {installed or 'none'}, lock {locked}"
    status = f"{len(differ)} of {len(pins)} differ" if differ else f"matches ({len(pins)} packages)"
    return {"file": str(path), "status": status, "differ": differ}


def _listed_versions() -> dict[str, str]:
    """Normalized name -> version from the `name-version.dist-info` folders on sys.path (the first one wins, as for
    imports): one directory listing instead of reading ~100 METADATA files, which made every build start ~0.1 s
    slower. Versions never contain "-", names may."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if folder.endswith(".dist-info"):
                name, _, version = folder.removesuffix(".dist-info").rpartition("-")
                found.setdefault(_normalized(name), version)
    return found


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _same_version(installed: str, locked: str) -> bool:
    from packaging.version import Version

    return Version(installed) == Version(locked)
