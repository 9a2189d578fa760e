"""TensorRT versions: parsing `trt.__version__` / trtexec's `[TensorRT vMMmmpp]` tag, and the supported range."""

from __future__ import annotations

import re
from typing import NamedTuple

SUPPORTED = "10.3 through 11.x"
# Ultralytics blocks these releases for regressions (ultralytics PRs #14239 and #24367); they are below 10.3 anyway,
# but naming them gives the user the real reason.
KNOWN_BAD = {(10, 1, 0): "TensorRT 10.1.0 has known build regressions",
             (10, 2, 0): "TensorRT 10.2.0 has known build regressions"}


class TrtVersion(NamedTuple):
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def strongly_typed_only(self) -> bool:
        """TensorRT 11 removed weak typing: precision comes from the graph, never from builder flags."""
        return self.major >= 11


def parse_version(text: str) -> TrtVersion:
    """'10.3.0.26' / '11.1.0' / '10.16.0.post1' -> TrtVersion; the build number is not part of the identity."""
    match = re.match(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        raise ValueError(f"not a TensorRT version: {text!r}")
    major, minor, patch = match.groups()
    return TrtVersion(int(major), int(minor), int(patch or 0))


def parse_trtexec_tag(tag: str) -> TrtVersion:
    """trtexec prints `[TensorRT v100300]` (major*10000 + minor*100 + patch)."""
    number = int(tag.lstrip("v"))
    return TrtVersion(number // 10000, number // 100 % 100, number % 100)


def unsupported_reason(version: TrtVersion) -> str | None:
    """Why trtbuild refuses this TensorRT, or None when it is in the supported range."""
    if tuple(version) in KNOWN_BAD:
        return f"{KNOWN_BAD[tuple(version)]}; install 10.3 or newer (supported: {SUPPORTED})"
    if version < (10, 3) or version.major > 11:
        return f"TensorRT {version} is outside the supported range ({SUPPORTED})"
    return None
