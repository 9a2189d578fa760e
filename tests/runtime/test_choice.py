"""The choice of what runs, from engines.json and sidecars alone. The hosts are data (HostFacts): an RTX GPU and
TensorRT-RTX cannot exist on this CPU machine, and `plan` is a pure function of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trtbuild.core.engine_set import ENGINE_SET_FILE, SCHEMA, Candidate, read_engine_set
from trtbuild.core.errors import UsageError
from trtbuild.runtime.choice import CPU_EP, CUDA_EP, HostFacts, choose
from trtbuild.tensorrt.sidecar import EngineSidecar

RTX_TARGETS = ["8.0", "8.6", "8.9", "12.0", "12.1"]
RTX_LAPTOP = HostFacts("NVIDIA GeForce RTX 4070 Laptop GPU", "8.9", {"tensorrt-rtx": "1.7.1", "tensorrt": None},
                       (CUDA_EP, CPU_EP), True)
H200 = HostFacts("NVIDIA H200", "9.0", {"tensorrt-rtx": "1.7.1", "tensorrt": None}, (CUDA_EP, CPU_EP), True)
CPU_ONLY = HostFacts(None, None, {"tensorrt-rtx": "1.7.1", "tensorrt": None}, (CPU_EP,))


def _sidecar(path: Path, runs_on: list[str], precision: str) -> None:
    EngineSidecar(recipe="yolo12n", recipe_digest="d", onnx_sha256="o", engine_sha256="e", library="tensorrt-rtx",
                  library_version="1.7.1", backend="tensorrt-rtx", gpu=None, runs_on=runs_on, precision=precision,
                  precision_method="graph", strongly_typed=True, network_flags=[], builder_flags=[],
                  memory_pools={}, optimization_level=3, version_compatible=False, hardware_compatibility="NONE",
                  profiles=[], io=[], build_seconds=1.0, rebuild_command="trtbuild build yolo12n").write(path)


def _engine_set(folder: Path, default: str = "fp16", weights: str | None = None):
    candidates = []
    for precision, built in (("fp32", 1.0), ("fp16", 2.0), ("int8", 3.0)):
        candidates.append(Candidate(f"yolo12n.{precision}.onnx", "onnx", precision, "s", 1, "d", built))
        engine = f"yolo12n.{precision}.tensorrt-rtx-1.sm80-86-89-120-121.engine"
        _sidecar(folder / f"{engine}.json", RTX_TARGETS, precision)
        candidates.append(Candidate(engine, "engine", precision, "s", 1, "d", built, f"{engine}.json",
                                    "tensorrt-rtx", "1.7.1", RTX_TARGETS))
    recipe = {"model": {"adapter": "ultralytics", "weights": weights}}
    (folder / ENGINE_SET_FILE).write_text(json.dumps({
        "schema": SCHEMA, "recipe": "yolo12n", "task": "detect", "default_precision": default,
        "candidates": [c.__dict__ for c in candidates], "recipes": {"d": {"recipe": recipe, "metadata": {}}}}))
    return read_engine_set(folder)


def _first(found) -> tuple[str, str | None, str | None]:
    option = found.options[0]
    return option.runtime, option.candidate.file if option.candidate else None, option.provider


def test_an_rtx_gpu_gets_the_default_precision_engine(tmp_path):
    found = choose(_engine_set(tmp_path), RTX_LAPTOP)
    assert _first(found) == ("engine", "yolo12n.fp16.tensorrt-rtx-1.sm80-86-89-120-121.engine", None)
    assert found.passed_over == []
    assert _first(choose(_engine_set(tmp_path), RTX_LAPTOP, precision="int8"))[1].startswith("yolo12n.int8.")


def test_hopper_falls_back_to_onnx_on_cuda_and_says_why(tmp_path):
    found = choose(_engine_set(tmp_path), H200)
    assert _first(found) == ("onnxruntime", "yolo12n.fp16.onnx", CUDA_EP)
    assert "built for compute capabilities 8.0, 8.6, 8.9, 12.0, 12.1 and this GPU is NVIDIA H200 (9.0)" \
        in found.passed_over[0]


def test_cpu_takes_fp32_onnx_unless_a_precision_is_asked_for(tmp_path):
    engines = _engine_set(tmp_path)
    found = choose(engines, CPU_ONLY)
    assert _first(found) == ("onnxruntime", "yolo12n.fp32.onnx", CPU_EP)
    assert "no NVIDIA GPU" in found.passed_over[0] and "FP16 graphs slowly" in found.options[0].note
    assert _first(choose(engines, CPU_ONLY, precision="fp16"))[1] == "yolo12n.fp16.onnx"


def test_int8_onnx_only_when_asked_for(tmp_path):
    engines = _engine_set(tmp_path, default="int8")
    found = choose(engines, H200)
    assert _first(found)[1] == "yolo12n.fp16.onnx"
    assert any("INT8 on ONNX Runtime only when asked for" in p for p in found.passed_over)
    assert _first(choose(engines, H200, precision="int8"))[1] == "yolo12n.int8.onnx"


def test_a_library_that_is_not_installed_is_a_reason_not_a_crash(tmp_path):
    no_rtx = HostFacts("RTX 4090", "8.9", {"tensorrt-rtx": None}, (CPU_EP,), True)
    found = choose(_engine_set(tmp_path), no_rtx)
    assert _first(found)[0] == "onnxruntime" and "TensorRT-RTX is not installed" in found.passed_over[0]


@pytest.mark.parametrize("facts", [RTX_LAPTOP, CPU_ONLY, HostFacts("RTX 4090", "8.9", {}, (CPU_EP,))],
                         ids=["rtx", "cpu-only", "rtx-without-cuda-onnxruntime"])
def test_onnx_runtime_provider_is_the_runner_factorys(facts, monkeypatch):
    import onnxruntime

    from trtbuild.runners import factory

    monkeypatch.setattr(factory, "torch_drives_gpus", lambda: facts.torch_cuda)
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: list(facts.onnxruntime_providers))
    assert factory.onnxruntime_runner(Path("model.onnx")).requested[0] == facts.onnxruntime_provider


def test_forcing(tmp_path):
    engines = _engine_set(tmp_path)
    assert _first(choose(engines, CPU_ONLY, runtime="onnxruntime", precision="fp16"))[1] == "yolo12n.fp16.onnx"
    assert _first(choose(engines, CPU_ONLY, engine="yolo12n.int8.onnx"))[1] == "yolo12n.int8.onnx"
    with pytest.raises(UsageError, match=r"cannot run here: no NVIDIA GPU"):
        choose(engines, CPU_ONLY, engine="yolo12n.fp16.tensorrt-rtx-1.sm80-86-89-120-121.engine")
    with pytest.raises(UsageError, match=r"nothing can run here with runtime='engine'"):
        choose(engines, CPU_ONLY, runtime="engine")
    with pytest.raises(UsageError, match=r"engine='nope.engine': not in .*engines.json"):
        choose(engines, CPU_ONLY, engine="nope.engine")
    with pytest.raises(UsageError, match=r"precision='bf16': .* has fp16, fp32, int8"):
        choose(engines, CPU_ONLY, precision="bf16")
    with pytest.raises(UsageError, match=r"runtime='tensorflow': one of auto, torch, onnxruntime, engine"):
        choose(engines, CPU_ONLY, runtime="tensorflow")


def test_torch_only_with_a_checkpoint_on_disk(tmp_path):
    with pytest.raises(UsageError, match="checkpoint None is not on this host"):
        choose(_engine_set(tmp_path), CPU_ONLY, runtime="torch")
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    assert _first(choose(_engine_set(tmp_path, weights=str(weights)), CPU_ONLY, runtime="torch"))[0] == "torch"


def test_a_damaged_sidecar_passes_the_engine_over(tmp_path):
    engines = _engine_set(tmp_path)
    (tmp_path / "yolo12n.fp16.tensorrt-rtx-1.sm80-86-89-120-121.engine.json").write_text("{")
    found = choose(engines, RTX_LAPTOP)
    assert _first(found)[0] == "onnxruntime" and "unreadable sidecar" in found.passed_over[0]


def test_manifest_problems_are_one_line(tmp_path):
    with pytest.raises(UsageError, match=r"no such folder"):
        read_engine_set(tmp_path / "missing")
    with pytest.raises(UsageError, match=r"no engines.json"):
        read_engine_set(tmp_path)
    (tmp_path / ENGINE_SET_FILE).write_text("{not json")
    with pytest.raises(UsageError, match=r"unreadable engine-set manifest"):
        read_engine_set(tmp_path)
