"""What this host offers, found without importing torch, onnx, onnxruntime or tensorrt (cache decisions stay fast)."""

from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata


@functools.cache  # a build asks for the same versions for every stage's key; they do not change mid-process
def package_version(dist: str) -> str | None:
    """metadata.version(dist), or None when it is not installed. The Version header is read off the top of METADATA
    when it is a plain one-line header there (what pip writes); anything else goes through the email parser that
    metadata.version uses (~4 ms a package; a build asks for six)."""
    try:
        found = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return None
    return _version_header(found.read_text("METADATA")) or found.version


_HEADER = re.compile(r"[\x21-\x39\x3b-\x7e]+:")  # a header's name and colon (RFC 5322 field name)


def _version_header(text: str | None) -> str | None:
    """The value metadata's email parser gives the first Version header of `text`, when the headers up to it are
    plain `Name: value` lines and it is not folded onto the next line; else None (let the parser say)."""
    lines = (text or "").split("\n")
    for index, line in enumerate(lines):
        line = line.rstrip("\r")
        if not _HEADER.match(line):
            return None  # the end of the headers, a folded line or something the parser may read otherwise
        name, _, value = line.partition(":")
        if name.lower() == "version":
            following = lines[index + 1] if index + 1 < len(lines) else ""
            return None if following[:1] in (" ", "\t") else value.lstrip(" \t") or None
    return None


def tool_versions(dists: tuple[str, ...] | list[str]) -> dict[str, str | None]:
    return {d: package_version(d) for d in dists}


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: str
    driver: str
    memory_mib: int


@functools.cache
def gpus() -> tuple[Gpu, ...]:
    """GPUs as nvidia-smi reports them; empty without a driver."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return ()
    query = "--query-gpu=name,compute_cap,driver_version,memory.total"
    try:
        out = subprocess.run([smi, query, "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    found = []
    for line in out.stdout.strip().splitlines() if out.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            found.append(Gpu(parts[0], parts[1], parts[2], int(float(parts[3])) if parts[3][0].isdigit() else 0))
    return tuple(found)


def torch_drives_gpus() -> bool:
    """An NVIDIA GPU is here and the installed torch is a CUDA build: what every GPU runner needs (their buffers and
    streams are torch's). From nvidia-smi and package metadata: a CPU wheel's version carries the local label
    `+cpu`, a CUDA wheel's none (PyPI) or `+cuNNN`; torch is not imported."""
    version = package_version("torch")
    return bool(gpus()) and version is not None and not version.endswith("+cpu")


def host_summary(engine_libraries: dict[str, str | None]) -> dict:
    """`engine_libraries`: each engine library's installed version (the backend registry knows which exist)."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": _cpu_count(),
        "gpus": [asdict(g) for g in gpus()],
        "engine_libraries": engine_libraries,
        "trtexec": shutil.which("trtexec"),
    }


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
