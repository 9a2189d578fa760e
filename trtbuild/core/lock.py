"""Whether the running packages are the ones requirements.lock pins (the hash-checked set `make setup` installs)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from trtbuild.core.host import package_version

LOCK_NAME = "requirements.lock"


def repo_lock() -> Path | None:
    """The lock beside the package in a repo checkout (editable install); None for an installed wheel."""
    path = Path(__file__).resolve().parents[2] / LOCK_NAME
    return path if path.is_file() else None


def locked_pins(text: str) -> dict[str, str]:
    """name -> version for each `name==version` line of a pip-compile lock (hash and comment lines skipped)."""
    pins = {}
    for line in text.splitlines():
        if not line or line[0] in " \t#-":
            continue
        requirement = Requirement(line.rstrip(" \\"))
        if requirement.marker is None or requirement.marker.evaluate():
            pins[requirement.name] = next(iter(requirement.specifier)).version
    return pins


def lock_status(path: Path | None = None) -> dict:
    """`status` is "matches", "N of M differ" or "no lock file"; `differ` names each package that is off."""
    path = path or repo_lock()
    if path is None:
        return {"file": None, "status": "no lock file (not a repo checkout)", "differ": {}}
    pins = locked_pins(path.read_text())
    differ = {}
    for name, locked in sorted(pins.items()):
        installed = package_version(name)
        if installed is None or Version(installed) != Version(locked):
            differ[name] = f"installed {installed or 'none'}, lock {locked}"
    status = f"{len(differ)} of {len(pins)} differ" if differ else f"matches ({len(pins)} packages)"
    return {"file": str(path), "status": status, "differ": differ}
