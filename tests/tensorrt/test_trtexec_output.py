"""trtexec's performance summary and --exportTimes parsers on fixtures written from the documented format
(samples/common/sampleReporting.cpp; anchors.md §2.3): prefixed log lines, C++ default float formatting."""

import json

import pytest

from trtbuild.tensorrt.trtexec_output import export_times_stats, parse_summary, result_marker

LOG = """\
&&&& RUNNING TensorRT.trtexec [TensorRT v110100] # trtexec --loadEngine=m.engine
[08/01/2026-10:00:02] [I] Warmup completed 412 queries over 200 ms
[08/01/2026-10:00:05] [I] Timing trace has 6100 queries over 3.00049 s
[08/01/2026-10:00:05] [I] === Trace details ===
[08/01/2026-10:00:05] [I] Average on 10 runs - GPU latency: 0.48 ms - Host latency: 0.49 ms (enqueue 0.01 ms)
[08/01/2026-10:00:05] [I] === Performance summary ===
[08/01/2026-10:00:05] [I] Throughput: 2033.1 qps
[08/01/2026-10:00:05] [I] Latency: min = 0.474121 ms, max = 1.2e+01 ms, mean = 0.49 ms, median = 0.48 ms, percentile(90%) = 0.5 ms, percentile(95%) = 0.51 ms, percentile(99%) = 0.6 ms
[08/01/2026-10:00:05] [I] Enqueue Time: min = 1.2e-05 ms, max = 0.03 ms, mean = 0.0101 ms, median = 0.01 ms, percentile(90%) = 0.011 ms, percentile(95%) = 0.012 ms, percentile(99.9%) = 0.02 ms
[08/01/2026-10:00:05] [I] H2D Latency: min = 0 ms, max = 0 ms, mean = 0 ms, median = 0 ms, percentile(90%) = 0 ms, percentile(95%) = 0 ms, percentile(99%) = 0 ms
[08/01/2026-10:00:05] [I] GPU Compute Time: min = 0.47 ms, max = 12 ms, mean = 0.48 ms, median = 0.475 ms, percentile(90%) = 0.49 ms, percentile(95%) = 0.5 ms, percentile(99%) = 0.59 ms
[08/01/2026-10:00:05] [I] D2H Latency: min = 0 ms, max = 0 ms, mean = 0 ms, median = 0 ms, percentile(90%) = 0 ms, percentile(95%) = 0 ms, percentile(99%) = 0 ms
[08/01/2026-10:00:05] [I] Total Host Walltime: 3.00049 s
[08/01/2026-10:00:05] [I] Total GPU Compute Time: 2.928 s
[08/01/2026-10:00:05] [W] * GPU compute time is unstable, with coefficient of variance = 30.1%.
&&&& PASSED TensorRT.trtexec [TensorRT v110100] # trtexec --loadEngine=m.engine
"""


def test_summary_block():
    summary = parse_summary(LOG)
    assert summary.throughput_qps == 2033.1
    assert summary.total_host_walltime_s == 3.00049 and summary.total_gpu_compute_s == 2.928
    assert set(summary.stats) == {"latency", "enqueue", "h2d", "gpu_compute", "d2h"}
    latency = summary.stats["latency"]
    assert (latency.min_ms, latency.max_ms, latency.mean_ms, latency.median_ms) == (0.474121, 12.0, 0.49, 0.48)
    assert latency.percentiles_ms == {90.0: 0.5, 95.0: 0.51, 99.0: 0.6}
    assert summary.stats["enqueue"].min_ms == 1.2e-05 and summary.stats["enqueue"].percentiles_ms[99.9] == 0.02


def test_no_summary_when_inference_skipped():
    assert parse_summary("[I] Engine built in 3 sec.\n&&&& PASSED TensorRT.trtexec [TensorRT v100300] # x") is None


@pytest.mark.parametrize(("line", "expected"), [
    ("&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec --onnx=m.onnx", ("PASSED", "100300")),
    ("&&&& FAILED TensorRT.trtexec [TensorRT v110100] # trtexec --fp16", ("FAILED", "110100")),
    ("&&&& RUNNING TensorRT.trtexec [TensorRT v101600] # trtexec --help", ("RUNNING", "101600")),
    ("[I] Latency: min = 1 ms", None),
])
def test_result_marker(line, expected):
    assert result_marker(line) == expected


def test_export_times(tmp_path):
    records = [{"startEnqMs": i, "endEnqMs": i + 0.01, "startH2dMs": i, "endH2dMs": i, "startComputeMs": i,
                "endComputeMs": i + 0.5, "startD2hMs": i + 0.5, "endD2hMs": i + 0.5, "h2dMs": 0,
                "computeMs": 0.5 + i * 1e-3, "d2hMs": 0, "latencyMs": 0.5 + i * 1e-3} for i in range(100)]
    path = tmp_path / "times.json"
    path.write_text(json.dumps(records))
    stats = export_times_stats(path)
    assert stats.min_ms == 0.5 and stats.max_ms == pytest.approx(0.599)
    assert stats.median_ms == pytest.approx(0.5495) and stats.percentiles_ms[99] == pytest.approx(0.598)
    assert export_times_stats(records, "computeMs").percentiles_ms[90] == pytest.approx(0.589)  # index 100-1-10
    with pytest.raises(ValueError, match="no timing records"):
        export_times_stats([])
