"""trtexec argv from the plan, checked against each version's trtexec option manifest, and the real subprocess path
run against a small fake `trtexec` script (written into tmp_path; it prints trtexec's documented output format)."""

import json
import os
import stat
from pathlib import Path

import pytest

from trtbuild.tensorrt.flavor import TENSORRT as TRT
from trtbuild.tensorrt.plan import make_plan
from trtbuild.tensorrt.trtexec import build_argv, result_marker, run_trtexec, shape_arg, trtexec_version
from trtbuild.tensorrt.version import parse_version

MANIFESTS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "tensorrt_api"
VERSIONS = ("10.3.0", "10.8.0", "10.16.0", "11.0.0", "11.1.0")


def _options(version: str) -> dict:
    return json.loads((MANIFESTS / f"trtexec_options_{version}.json").read_text())


def _flag(arg: str) -> str:
    return arg.split("=", 1)[0]


def _argv(recipe, version: str, tmp_path: Path) -> list[str]:
    plan = make_plan(recipe, TRT, parse_version(version), "8.9", tmp_path)
    return build_argv(plan, Path("m.onnx"), Path("m.engine"), Path("layers.json"))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_flag_is_accepted_and_not_a_noop(version, make_recipe, tmp_path):
    options = _options(version)
    recipes = [make_recipe(engine={"workspace_mib": 4096}), make_recipe(precision={"mode": "fp16"}),
               make_recipe(engine={"version_compatible": True, "hardware_compatibility": "ampere_plus"})]
    for recipe in recipes:
        argv = _argv(recipe, version, tmp_path)
        for arg in argv[1:]:
            assert _flag(arg) in options["accepted"], f"{version}: {arg}"
            assert _flag(arg) not in options["deprecated_or_noop"], f"{version}: {arg}"
            assert arg not in options["deprecated_values"], f"{version}: {arg}"
        assert not any(_flag(a) == "--workspace" for a in argv)
        assert "--fp16" not in argv


@pytest.mark.parametrize("version", ["10.3.0", "10.8.0", "10.16.0"])
def test_fp16_only_in_10x_builder_mode(version, make_recipe, tmp_path):
    argv = _argv(make_recipe(precision={"mode": "fp16", "method": "builder"}), version, tmp_path)
    assert "--fp16" in argv and "--stronglyTyped" not in argv
    assert "--fp16" in _options(version)["accepted"]  # on 10.16 it warns (weak typing deprecated); the plan says so


def test_argv_contents(make_recipe, tmp_path):
    argv = _argv(make_recipe(engine={"workspace_mib": 4096, "optimization_level": 5}), "10.3.0", tmp_path)
    assert argv[:4] == ["trtexec", "--onnx=m.onnx", "--saveEngine=m.engine", "--skipInference"]
    assert "--memPoolSize=workspace:4096M" in argv
    assert "--minShapes=images:1x3x640x640" in argv and "--optShapes=images:2x3x640x640" in argv
    assert "--maxShapes=images:8x3x640x640" in argv and "--stronglyTyped" in argv
    assert "--builderOptimizationLevel=5" in argv and "--profilingVerbosity=detailed" in argv
    assert "--exportLayerInfo=layers.json" in argv
    assert f"--timingCacheFile={tmp_path}/trt-10.3.0-sm89.timing-cache" in argv
    eleven = _argv(make_recipe(), "11.1.0", tmp_path)
    assert "--stronglyTyped" not in eleven and not any(a.startswith("--memPoolSize") for a in eleven)


def test_shape_arg_quotes_names_with_colons():
    assert shape_arg({"x": (1, 3), "in:0": (2,)}) == "x:1x3,'in:0':2"


@pytest.mark.parametrize(("line", "expected"), [
    ("&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec --onnx=m.onnx", ("PASSED", "100300")),
    ("&&&& FAILED TensorRT.trtexec [TensorRT v110100] # trtexec --fp16", ("FAILED", "110100")),
    ("&&&& RUNNING TensorRT.trtexec [TensorRT v101600] # trtexec --help", ("RUNNING", "101600")),
    ("[I] Latency: min = 1 ms", None),
])
def test_result_marker(line, expected):
    assert result_marker(line) == expected


FAKE_TRTEXEC = """#!/bin/sh
# Stand-in for trtexec: prints the documented log format (samples/common/sampleReporting.cpp), exits like trtexec.
echo "&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec $*"
echo "[08/01/2026-10:00:00] [I] TensorRT version: 10.3.0"
case "$*" in
  *--workspace*) echo "[08/01/2026-10:00:00] [E] Unknown option: --workspace 4096" >&2
                 echo "&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec $*"; exit 1 ;;
  *--lie*) echo "&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec $*"; exit 0 ;;
esac
echo "[08/01/2026-10:00:01] [I] Engine built in 1.5 sec."
echo "&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec $*"
"""


@pytest.fixture
def fake_trtexec(tmp_path) -> str:
    path = tmp_path / "trtexec"
    path.write_text(FAKE_TRTEXEC)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_run_passes_and_logs_every_line(fake_trtexec):
    lines = []
    run = run_trtexec([fake_trtexec, "--onnx=m.onnx"], lines.append)
    assert run.passed and run.marker == "PASSED"
    assert lines[0] == f"$ {fake_trtexec} --onnx=m.onnx"
    assert "[08/01/2026-10:00:01] [I] Engine built in 1.5 sec." in lines


def test_run_failure_needs_exit_code_and_marker(fake_trtexec):
    failed = run_trtexec([fake_trtexec, "--workspace=4096"], lambda _: None)
    assert not failed.passed and failed.returncode == 1
    assert failed.failure() == "trtexec exited with 1: Unknown option: --workspace 4096"
    lying = run_trtexec([fake_trtexec, "--lie"], lambda _: None)
    assert lying.returncode == 0 and not lying.passed and "result FAILED" in lying.failure()


def test_trtexec_version_from_running_line(fake_trtexec):
    assert trtexec_version(fake_trtexec) == (10, 3, 0)
    assert trtexec_version(os.devnull) is None
