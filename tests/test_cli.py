"""The installed `trtbuild` console script, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, YOLO_WEIGHTS

TRTBUILD = str(Path(sys.executable).parent / "trtbuild")


def run(*args: str, cwd: Path = REPO, env_cache: Path | None = None) -> subprocess.CompletedProcess:
    env = None
    if env_cache is not None:
        import os

        env = {**os.environ, "TRTBUILD_CACHE_DIR": str(env_cache)}
    return subprocess.run([TRTBUILD, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_list_works_from_any_directory(tmp_path):
    out = run("list", cwd=tmp_path)
    assert out.returncode == 0
    assert "yolo12n" in out.stdout and "depth" in out.stdout


@pytest.mark.parametrize("args", [["--help"], ["list"], ["build", "--help"]])
def test_help_and_list_import_nothing_heavy(tmp_path, args):
    """What users and scripts call most starts without numpy or torch (python -X importtime lists every import)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "trtbuild", *args], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    imported = {line.rpartition("|")[2].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert imported and not imported & {"numpy", "torch", "onnx", "onnxruntime", "cv2"}



def test_a_later_start_reads_the_recipes_without_pyyaml(tmp_path):
    """The first `list` parses every recipe and keeps the documents in the user cache (trtbuild.recipe.read); a later
    start reads them back and never imports PyYAML."""
    env = {**os.environ, "TRTBUILD_CACHE_DIR": str(tmp_path / "cache")}
    for first in (True, False):
        out = subprocess.run([sys.executable, "-X", "importtime", "-m", "trtbuild", "list"], capture_output=True,
                             text=True, cwd=tmp_path, env=env, timeout=120)
        assert out.returncode == 0 and "yolo12n" in out.stdout, out.stderr
        imported = {line.rpartition("|")[2].strip() for line in out.stderr.splitlines()}
        assert ("yaml" in imported) == first

def test_show_prints_the_resolved_recipe():
    out = run("show", "dav2", "--fp16", "--workspace", "4096")
    data = json.loads(out.stdout)
    assert data["recipe"]["engine"]["workspace_mib"] == 4096 and data["recipe"]["precision"]["mode"] == "fp16"


@pytest.mark.parametrize(("args", "expected"), [
    (["build", "nosuch"], "unknown recipe 'nosuch'"),
    (["build", "missing.yaml"], "recipe file not found: missing.yaml"),
    (["show", "depth", "--set", "engine.workspace_mib"], "expected key.path=value"),
    (["show", "depth", "--set", "engine.workspce=1"], "engine.workspce: unknown key"),
    (["show", "depth", "--workspace", "0"], "engine.workspace_mib: Input should be greater than or equal to 1"),
    (["show", "depth", "--fp16", "--int8"], "conflicting precision options: fp16, int8"),
    (["show", "depth", "--set", "inputs[0].shape=[1,3,512,512]"], "needs multiples of 14, got 512 (nearest: 518)"),
    (["build", "yolo12n", "--until", "deploy"], "unknown stage 'deploy'"),
    (["build", "yolo12n", "--weights", "nope.pt"], "model.weights: file not found: nope.pt"),
    (["build", "yolo12n", "--weights", "recipes/yolo12n.yaml", "--until", "export"], "is not an Ultralytics checkpoint"),
    (["cache", "clean", "--stage", "nosuch"], "unknown stage 'nosuch'"),
    # brackets print literally (the terminal markup once ate `[tensorrt]` from an install hint)
    (["show", "no[tensorrt]"], "unknown recipe 'no[tensorrt]'"),
    (["build", "yolo12n", "--weights", "w[bold]x[/bold].pt"], "file not found: w[bold]x[/bold].pt"),
    (["build", "yolo12n", "--weights", str(YOLO_WEIGHTS), "--data", "no/such.yaml"], "data: not found: no/such.yaml"),
    (["build", "yolo12n", "--weights", str(YOLO_WEIGHTS), "--int8", "--calib", "README.md"],
     "precision.calibration.images: README.md is neither an image folder nor a dataset .yaml"),
    (["build", "yolo12n", "--weights", str(YOLO_WEIGHTS), "--holdout", "README.md"],
     "verify.images: README.md is neither an image folder nor a dataset .yaml"),
])
def test_bad_input_is_one_line_exit_2(args, expected, tmp_path):
    out = run(*args, "--cache-dir", str(tmp_path / "cache")) if args[0] == "build" else run(*args)
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip() and not line.lstrip().startswith(("┏", "┃", "┡", "│", "└", "trtbuild "))]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], out.stderr
    assert "Traceback" not in out.stderr
    assert not list((tmp_path / "cache").glob("runs/*/*")), "nothing half-written"


def test_export_then_cached_rerun_and_json(tmp_path):
    args = ("export", "yolo12n", "--weights", str(YOLO_WEIGHTS), "--out", str(tmp_path / "engines"), "--json")
    first = run(*args, env_cache=tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    second = run(*args, env_cache=tmp_path / "cache")
    report = json.loads(second.stdout)
    assert [s["status"] for s in report["stages"]] == ["cached"] * 3
    assert (tmp_path / "engines" / "yolo12n" / "logs" / "check.log").is_file()
    listing = run("cache", "ls", env_cache=tmp_path / "cache")
    assert listing.returncode == 0 and "3 entries" in listing.stdout


def test_build_without_an_engine_backend_exits_3_after_precision(tmp_path):
    from trtbuild.backends.registry import get_backend

    if get_backend("tensorrt-bindings").unavailable_reason() is None:
        pytest.skip("this host can build full-TensorRT engines")
    out = run("build", "yolo12n", "--weights", str(YOLO_WEIGHTS), "--fp32", "--out", str(tmp_path),
              "--cache-dir", str(tmp_path / "cache"), "--set", "engine.backend=tensorrt-bindings")
    assert out.returncode == 3, out.stderr
    assert "error: engine: " in out.stderr
    report = json.loads((tmp_path / "yolo12n" / "report.json").read_text())
    assert [s["status"] for s in report["stages"]][:4] == ["ran", "ran", "ran", "ran"]


def test_doctor_reports_providers_and_tensorrt():
    out = run("doctor", "--json")
    info = json.loads(out.stdout)
    assert info["onnxruntime_providers"]["CPUExecutionProvider"] == "ok"
    backends = info["engine_backends"]
    assert {"tensorrt-bindings", "trtexec", "tensorrt-rtx-bindings"} <= set(backends) and "engine_stage" in info
    # the lock installs the [rtx] extra, which builds on any CPU: no host running this suite lacks it
    assert backends["tensorrt-rtx-bindings"]["builds_here"] == "yes"
    assert backends["auto"] in ("tensorrt-bindings", "trtexec", "tensorrt-rtx-bindings")
    assert "8.0, 8.6, 8.9, 12.0, 12.1 by default" in backends["tensorrt-rtx-bindings"]["engines_run_on"]


def test_a_new_users_directory_with_only_a_checkpoint(tmp_path):
    """Outside the repository, no data: check runs on the pictures bundled with ultralytics, the precision stage's
    accuracy is `not measured` (exit 0; terminal, report.json and report.md say so), --strict makes that exit 1, and
    int8 without --calib stops at once with one line naming the flag."""
    shutil.copy(YOLO_WEIGHTS, tmp_path / "yolo12n.pt")
    env = {key: value for key, value in os.environ.items() if key != "TRTBUILD_DATA"}
    env["TRTBUILD_CACHE_DIR"] = str(tmp_path / "cache")

    def build(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([TRTBUILD, "build", "yolo12n", "--weights", "yolo12n.pt", "--until", "precision", *args],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)

    fp16 = build("--fp16")
    assert fp16.returncode == 0, fp16.stderr
    out = tmp_path / "engines" / "yolo12n"
    report = json.loads((out / "report.json").read_text())
    check, precision = report["stages"][2:]
    assert check["metrics"]["inputs"].startswith("2 images from ultralytics' bundled samples")
    assert check["metrics"]["inputs"].endswith("/ultralytics/assets)")
    accuracy = precision["metrics"]["accuracy_vs_pytorch_fp32"]
    assert accuracy["status"] == "not measured" and "--data" in accuracy["reason"] and "map50_95" not in accuracy
    assert precision["metrics"]["finite_on_samples"]["finite"] is True
    assert report["not_measured"] == [
        "precision: no holdout images (pass --data DATASET.yaml or an image folder, or --holdout)"]
    assert "ACCURACY NOT MEASURED precision: no holdout images" in " ".join(fp16.stderr.split())
    assert "**Accuracy not measured**" in (out / "report.md").read_text()

    strict = build("--fp16", "--strict")
    assert strict.returncode == 1, strict.stderr
    assert [line for line in strict.stderr.splitlines() if line.startswith("error:")] == [
        "error: accuracy not measured (--strict): precision: no holdout images (pass --data DATASET.yaml or an "
        "image folder, or --holdout)"]
    assert json.loads((out / "report.json").read_text())["status"] == "failed"

    int8 = build("--int8")
    assert int8.returncode == 2 and "Traceback" not in int8.stderr
    assert int8.stderr.strip().splitlines() == [
        "error: precision.calibration.images: int8 needs calibration images: pass --calib FOLDER or DATASET.yaml "
        "(its train split), 300+ images recommended"]
