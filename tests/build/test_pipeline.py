"""The staged pipeline on real models: caching, invalidation, published artifacts, logs and the report."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import COCO8, DEPTH_SEEDED, REPO, YOLO_WEIGHTS
from trtbuild import api
from trtbuild.core.errors import StageFailed, StageUnavailable, UsageError
from trtbuild.build.pipeline import BuildOptions
from trtbuild.recipe import Overrides
from trtbuild.build.report import load_report


def _statuses(report):
    return {s.name: s.status for s in report.stages}


def test_cold_export_runs_every_stage_and_publishes(yolo_export):
    report, _, engines = yolo_export
    assert _statuses(report) == {"export": "ran", "simplify": "ran", "check": "ran"}
    out = engines / "yolo12n"
    assert (out / "yolo12n.raw.onnx").is_file() and (out / "yolo12n.onnx").is_file()
    export, simplify, check = report.stages
    assert export.metrics["opset"] == 17 and export.metrics["outputs"] == ["output0"]
    assert simplify.metrics["tool"] == "onnxsim" and simplify.metrics["nodes_after"] < export.metrics["nodes"]
    # measured here: max_abs 4.3e-4 (box pixels up to 640), rel_l2 1.2e-7; 10x headroom for other CPUs' kernels,
    # still far inside the recipe's gate (0.05, 1e-4), which the stage itself enforces
    parity = check.metrics["outputs"]["output0"]
    assert check.metrics["samples"] == 4 and parity["max_abs"] < 4e-3 and parity["rel_l2"] < 1.2e-6
    assert "YOLO12n summary" in (out / "logs" / "export.log").read_text(), "tool output is captured in the log"
    assert load_report(out / "report.json").status == "ok"


def test_second_run_is_all_cached_without_importing_torch(yolo_export, in_repo):
    _, cache, engines = yolo_export
    code = (
        "import sys; from trtbuild import api; from trtbuild.build.pipeline import BuildOptions; "
        "from trtbuild.recipe import Overrides; "
        f"r = api.build('yolo12n', Overrides(weights={str(YOLO_WEIGHTS)!r}, data={str(COCO8)!r}), "
        f"BuildOptions('check', out_root=__import__('pathlib').Path({str(engines)!r})), cache_dir={str(cache)!r}); "
        "heavy = [m for m in ('torch', 'ultralytics', 'onnx', 'onnxruntime') if m in sys.modules]; "
        "print([s.status for s in r.stages], heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "['cached', 'cached', 'cached'] []"


def test_changing_simplify_reruns_only_downstream(yolo_export, in_repo, tmp_path):
    _, cache, _ = yolo_export
    report = api.build("yolo12n", Overrides(weights=YOLO_WEIGHTS, sets=["simplify.tool=onnxslim"]),
                       BuildOptions("check", out_root=tmp_path), cache_dir=cache)
    assert _statuses(report) == {"export": "cached", "simplify": "ran", "check": "ran"}
    assert report.stages[1].metrics["tool"] == "onnxslim"


def test_force_stage_reruns_that_stage(yolo_export, in_repo, tmp_path):
    _, cache, _ = yolo_export
    report = api.build("yolo12n", Overrides(weights=YOLO_WEIGHTS),
                       BuildOptions("simplify", force_stages=["simplify"], out_root=tmp_path), cache_dir=cache)
    assert _statuses(report) == {"export": "cached", "simplify": "ran"}


def test_check_tolerance_exceeded_fails_the_build(yolo_export, in_repo, tmp_path):
    _, cache, _ = yolo_export
    with pytest.raises(StageFailed, match=r"check: ONNX Runtime disagrees with PyTorch: output0 max_abs .* > 1e-09"):
        api.build("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO8, sets=["check.default.max_abs=1e-9"]),
                  BuildOptions("check", out_root=tmp_path), cache_dir=cache)
    report = load_report(tmp_path / "yolo12n" / "report.json")
    assert report.status == "failed" and report.exit_code == 1
    assert report.stage("check").status == "failed" and report.stage("check").metrics["samples"] == 4


def test_unavailable_backend_stops_the_build_at_engine(yolo_export, in_repo, tmp_path):
    from trtbuild.backends.registry import get_backend

    _, cache, _ = yolo_export
    if get_backend("tensorrt").unavailable_reason() is None:
        pytest.skip("this host can build full-TensorRT engines")
    with pytest.raises(StageUnavailable, match="engine: TensorRT is not installed") as info:
        api.build("yolo12n", Overrides(weights=YOLO_WEIGHTS, precision="fp32", sets=["engine.backend=tensorrt-bindings"]),
                  BuildOptions("engine", out_root=tmp_path), cache_dir=cache)
    assert info.value.exit_code == 3
    report = load_report(tmp_path / "yolo12n" / "report.json")
    assert report.stages[-1].name == "engine" and report.stages[-1].status == "unavailable"
    assert report.status == "unavailable"


def test_missing_weights_is_a_usage_error(in_repo, cache_dir, tmp_path):
    with pytest.raises(UsageError, match=r"model.weights: file not found: nope.pt \(pass --weights PATH"):
        api.build("yolo12n", Overrides(weights="nope.pt"), BuildOptions("export", out_root=tmp_path))
    assert not list(cache_dir.glob("runs/*/*")), "nothing half-written in the cache"


def test_random_weights_are_reported_loudly(in_repo, cache_dir, tmp_path):
    report = api.build("yolo12n", Overrides(random_weights=True), BuildOptions("export", out_root=tmp_path))
    assert report.random_weights and "RANDOM WEIGHTS" in report.stages[0].warnings[0]


def test_depth_export_check_at_392(in_repo, cache_dir, tmp_path):
    report = api.build("depth", Overrides(weights=DEPTH_SEEDED, sets=["inputs[0].shape=[1,3,392,392]"]),
                       BuildOptions("check", out_root=tmp_path))
    check = report.stage("check")
    assert check.metrics["outputs"]["depth"]["max_abs"] < 1e-4
    assert json.loads((tmp_path / "depth" / "report.json").read_text())["recipe"] == "depth"


def test_concurrent_builds_run_a_stage_once(yolo_export, in_repo, tmp_path):
    """Two processes on one cache: the lock makes the second wait and reuse the first one's entry."""
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "trtbuild", "build", "yolo12n", "--until", "export", "--weights", str(YOLO_WEIGHTS),
           "--cache-dir", str(cache), "--json"]
    procs = [subprocess.Popen([*cmd, "--out", str(tmp_path / f"out{i}")], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, cwd=REPO) for i in range(2)]
    statuses = sorted(json.loads(p.communicate()[0])["stages"][0]["status"] for p in procs)
    assert statuses == ["cached", "ran"]


def test_republishing_the_same_file_leaves_no_temp_name(tmp_path):
    """Two builds publishing one cache entry: renaming a hard link onto a link of the same file is a no-op in POSIX,
    which used to leave `.name.tmpPID` files beside the published artifacts."""
    from trtbuild.build.pipeline import _copy

    source, target = tmp_path / "entry.onnx", tmp_path / "published.onnx"
    source.write_bytes(b"onnx")
    _copy(source, target)
    _copy(source, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.onnx", "published.onnx"]
