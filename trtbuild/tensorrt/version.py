"""TensorRT-family versions: parsing `trt.__version__` / trtexec's `[TensorRT vMMmmpp]` tag. Which versions are
supported, and what each one can do, is declared per flavor (trtbuild/tensorrt/flavor.py)."""

from __future__ import annotations

import re
from typing import NamedTuple


class TrtVersion(NamedTuple):
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str) -> TrtVersion:
    """'10.3.0.26' / '11.1.0' / '1.7.1.116' / '10.16.0.post1' -> TrtVersion; the build number is not identity."""
    match = re.match(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        raise ValueError(f"not a TensorRT version: {text!r}")
    major, minor, patch = match.groups()
    return TrtVersion(int(major), int(minor), int(patch or 0))


def parse_trtexec_tag(tag: str) -> TrtVersion:
    """trtexec prints `[TensorRT v100300]` (major*10000 + minor*100 + patch)."""
    number = int(tag.lstrip("v"))
    return TrtVersion(number // 10000, number // 100 % 100, number % 100)
