"""The trtexec backend: an argv spelled from the build plan, run as a subprocess with its output in the stage log."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trtbuild.tensorrt.plan import BuildPlan
from trtbuild.tensorrt.version import TrtVersion, parse_trtexec_tag

# trtexec's result line (samples/common/sampleReporting.cpp, unchanged from 8.6 to 11.x)
_MARKER = re.compile(r"^&&&& (RUNNING|PASSED|FAILED|WAIVED) TensorRT\.trtexec(?: \[TensorRT v(\d+)\])?")
HARDWARE_VALUES = {"NONE": "none", "AMPERE_PLUS": "ampere+", "SAME_COMPUTE_CAPABILITY": "sameComputeCapability"}


def shape_arg(shapes: dict[str, tuple[int, ...]]) -> str:
    """`name:1x3x640x640,other:...`; names with a colon are single-quoted, as trtexec's parser expects."""
    return ",".join(f"{_quote(name)}:{'x'.join(map(str, dims))}" for name, dims in shapes.items())


def _quote(name: str) -> str:
    return f"'{name}'" if ":" in name else name


def build_argv(plan: BuildPlan, onnx: Path, engine: Path, layers: Path | None, trtexec: str = "trtexec") -> list[str]:
    argv = [trtexec, f"--onnx={onnx}", f"--saveEngine={engine}", "--skipInference"]
    # --workspace was removed in 10.0 (unknown option -> failure); the pool size is MiB by default, M makes it explicit.
    argv += [f"--memPoolSize=workspace:{nbytes >> 20}M" for pool, nbytes in plan.memory_pools.items()
             if pool == "WORKSPACE"]
    for profile in plan.profiles:  # repeating the triple adds a profile
        for flag, index in (("--minShapes", 0), ("--optShapes", 1), ("--maxShapes", 2)):
            argv.append(f"{flag}={shape_arg({name: triple[index] for name, triple in profile.shapes.items()})}")
    if "STRONGLY_TYPED" in plan.network_flags:  # 10.x opt-in; on 11.x the flag is a deprecated no-op
        argv.append("--stronglyTyped")
    if "FP16" in plan.builder_flags:  # 10.x builder mode only; 11.x rejects --fp16 as an unknown option
        argv.append("--fp16")
    if plan.version_compatible:
        argv.append("--versionCompatible")
    if plan.hardware_compatibility != "NONE":
        argv.append(f"--hardwareCompatibilityLevel={HARDWARE_VALUES[plan.hardware_compatibility]}")
    argv.append(f"--builderOptimizationLevel={plan.optimization_level}")
    if plan.timing_cache:
        argv.append(f"--timingCacheFile={plan.timing_cache}")
    argv.append(f"--profilingVerbosity={plan.profiling_verbosity.lower()}")
    if layers:
        argv.append(f"--exportLayerInfo={layers}")
    return argv


@dataclass(frozen=True)
class TrtexecRun:
    returncode: int
    marker: str | None  # PASSED / FAILED / None when trtexec died before printing it
    last_error: str | None

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and self.marker == "PASSED"

    def failure(self) -> str:
        why = self.last_error or (f"result {self.marker}" if self.marker else "no &&&& result line")
        return f"trtexec exited with {self.returncode}: {why}"


def result_marker(line: str) -> tuple[str, str | None] | None:
    """`&&&& PASSED TensorRT.trtexec [TensorRT v100300] # ...` -> ("PASSED", "100300")."""
    match = _MARKER.match(line.strip())
    return (match.group(1), match.group(2)) if match else None


def run_trtexec(argv: list[str], log: Callable[[str], None], timeout_s: float | None = None) -> TrtexecRun:
    """Run trtexec, streaming every line to `log`; success needs exit code 0 AND the `&&&& PASSED` line."""
    log("$ " + " ".join(argv))
    marker, last_error = None, None
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace") as proc:
        for line in proc.stdout:
            log(line.rstrip("\n"))
            found = result_marker(line)
            marker = found[0] if found and found[0] != "RUNNING" else marker
            if re.search(r"\[[EF]\]|Unknown option", line):
                last_error = line.split("] ", 2)[-1].strip()[:300]
        proc.wait(timeout=timeout_s)
    return TrtexecRun(proc.returncode, marker, last_error)


def trtexec_path() -> str | None:
    return shutil.which("trtexec")


def trtexec_version(path: str) -> TrtVersion | None:
    """trtexec prints `&&&& RUNNING TensorRT.trtexec [TensorRT vMMmmpp]` first, even for --help."""
    try:
        out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60, errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in (out.stdout + out.stderr).splitlines():
        found = result_marker(line)
        if found and found[1]:
            return parse_trtexec_tag(found[1])
    return None
