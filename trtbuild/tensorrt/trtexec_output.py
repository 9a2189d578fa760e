"""Reading trtexec: the `&&&&` result line, the performance summary block, the `--exportTimes` JSON, and the
benchmark flags that make 10.x and 11.x measure the same thing (their defaults differ).

Format: samples/common/sampleReporting.cpp, unchanged from 8.6 to 11.x (see docs/engine.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from trtbuild.bench.stats import median, percentile
from trtbuild.tensorrt.version import TrtVersion

_F = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"  # C++ ostream default float (may be scientific)
_PREFIX = r"^(?:\[[^\]]*\]\s*)*"  # [date] [I] [TRT] prefixes
_STAT = re.compile(
    _PREFIX + r"(Latency|Enqueue Time|H2D Latency|GPU Compute Time|D2H Latency): "
    rf"min = ({_F}) ms, max = ({_F}) ms, mean = ({_F}) ms, median = ({_F}) ms((?:, percentile\({_F}%\) = {_F} ms)*)")
_PERCENTILE = re.compile(rf"percentile\(({_F})%\) = ({_F}) ms")
_THROUGHPUT = re.compile(_PREFIX + rf"Throughput: ({_F}) qps")
_TOTAL = re.compile(_PREFIX + rf"Total (Host Walltime|GPU Compute Time): ({_F}) s")
_MARKER = re.compile(r"^&&&& (RUNNING|PASSED|FAILED|WAIVED) TensorRT\.trtexec(?: \[TensorRT v(\d+)\])?")
_STAT_KEYS = {"Latency": "latency", "Enqueue Time": "enqueue", "H2D Latency": "h2d",
              "GPU Compute Time": "gpu_compute", "D2H Latency": "d2h"}


@dataclass(frozen=True)
class ReportedLatency:
    """One statistics line as trtexec prints it (or as computed from --exportTimes with trtexec's rules)."""

    min_ms: float
    max_ms: float
    mean_ms: float
    median_ms: float
    percentiles_ms: dict[float, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PerformanceSummary:
    throughput_qps: float | None
    stats: dict[str, ReportedLatency]  # latency, enqueue, h2d, gpu_compute, d2h
    total_host_walltime_s: float | None
    total_gpu_compute_s: float | None


def result_marker(line: str) -> tuple[str, str | None] | None:
    """`&&&& PASSED TensorRT.trtexec [TensorRT v100300] # ...` -> ("PASSED", "100300")."""
    match = _MARKER.match(line.strip())
    return (match.group(1), match.group(2)) if match else None


def parse_summary(text: str) -> PerformanceSummary | None:
    """The `=== Performance summary ===` block; None when the output has none (e.g. --skipInference)."""
    _, found, block = text.partition("=== Performance summary ===")
    if not found:
        return None
    stats, throughput, totals = {}, None, {}
    for line in block.splitlines():
        line = line.strip()
        if m := _STAT.match(line):
            pct = {float(p): float(v) for p, v in _PERCENTILE.findall(m.group(6))}
            stats[_STAT_KEYS[m.group(1)]] = ReportedLatency(*(float(m.group(i)) for i in range(2, 6)), pct)
        elif m := _THROUGHPUT.match(line):
            throughput = float(m.group(1))
        elif m := _TOTAL.match(line):
            totals[m.group(1)] = float(m.group(2))
    return PerformanceSummary(throughput, stats, totals.get("Host Walltime"), totals.get("GPU Compute Time"))


def export_times_stats(source: Path | list[dict], key: str = "latencyMs",
                       percentiles: tuple[float, ...] = (90, 95, 99)) -> ReportedLatency:
    """Statistics of one field of `--exportTimes` JSON (a list of per-query timing records, warm-ups excluded)."""
    records = json.loads(source.read_text()) if isinstance(source, Path) else source
    values = sorted(float(r[key]) for r in records)
    if not values:
        raise ValueError("exportTimes holds no timing records")
    return ReportedLatency(values[0], values[-1], sum(values) / len(values), median(values),
                        {p: percentile(values, p) for p in percentiles})


def benchmark_flags(version: TrtVersion, include_transfers: bool = False) -> list[str]:
    """Flags for GPU-compute latency with CUDA graphs, spin-wait and a separate profiling run on either major.

    10.x defaults to no CUDA graph, with H2D/D2H transfers and blocking sync, so it has to ask; 11.x made those the
    defaults and turned the 10.x flags into deprecated no-ops (and only 11.x has --includeDataTransfers)."""
    if version.major >= 11:
        return ["--includeDataTransfers"] if include_transfers else []
    flags = ["--useCudaGraph", "--useSpinWait", "--separateProfileRun"]
    return flags if include_transfers else [*flags, "--noDataTransfers"]
