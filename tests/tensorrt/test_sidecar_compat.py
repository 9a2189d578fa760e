"""Sidecar round trip and the pre-deserialize compatibility decisions, for full TensorRT and TensorRT-RTX engines."""

import pytest

from trtbuild.tensorrt.flavor import TENSORRT as TRT
from trtbuild.tensorrt.flavor import TENSORRT_RTX as RTX
from trtbuild.tensorrt.compat import check_compat, gpu_runs_engine, incompatible_message
from trtbuild.tensorrt.sidecar import EngineSidecar, GpuInfo, IoTensor, UltralyticsMeta, sidecar_path
from trtbuild.tensorrt.version import TrtVersion


def sidecar(**changes) -> EngineSidecar:
    base = dict(
        recipe="yolo12n", recipe_digest="r" * 64, onnx_sha256="o" * 64, engine_sha256="p" * 64, library="tensorrt",
        library_version="10.3.0", backend="tensorrt", runs_on=["8.9"],
        gpu=GpuInfo(name="NVIDIA L4", compute_capability="8.9", driver="575.57"),
        precision="fp16", precision_method="graph", strongly_typed=True, network_flags=["STRONGLY_TYPED"],
        builder_flags=[], memory_pools={"WORKSPACE": 4096 << 20}, optimization_level=3, version_compatible=False,
        hardware_compatibility="NONE", profiles=[{"images": [[1, 3, 640, 640], [2, 3, 640, 640], [8, 3, 640, 640]]}],
        io=[IoTensor(name="images", mode="input", dtype="float32", shape=[-1, 3, 640, 640],
                     profile=[[1, 3, 640, 640], [2, 3, 640, 640], [8, 3, 640, 640]]),
            IoTensor(name="output0", mode="output", dtype="float32", shape=[-1, 84, 8400])],
        build_seconds=61.2, rebuild_command="trtbuild build yolo12n --precision fp16",
        ultralytics=UltralyticsMeta(names={0: "person", 1: "bicycle"}, stride=32, imgsz=[640, 640], task="detect",
                                    batch=8))
    return EngineSidecar(**{**base, **changes})


def test_round_trip(tmp_path):
    original = sidecar()
    path = sidecar_path(tmp_path / "yolo12n.fp16.engine")
    assert path.name == "yolo12n.fp16.engine.json"
    original.write(path)
    assert EngineSidecar.read(path) == original
    assert EngineSidecar.read(path).ultralytics.names[0] == "person"  # int keys survive JSON


def test_unknown_keys_are_refused(tmp_path):
    path = tmp_path / "x.engine.json"
    path.write_text(sidecar().model_dump_json().replace('"backend"', '"backnd"'))
    with pytest.raises(ValueError):
        EngineSidecar.read(path)


def test_same_host_is_compatible():
    assert check_compat(sidecar(), TRT, TrtVersion(10, 3, 0), "8.9", "NVIDIA L4").ok


def test_other_version_is_refused_with_rebuild_command():
    compat = check_compat(sidecar(), TRT, TrtVersion(10, 8, 0), "8.9", "NVIDIA L4")
    assert compat.problems == ["it was built with TensorRT 10.3.0 and this host has 10.8.0"]
    message = incompatible_message("yolo12n.fp16.engine", sidecar(), TRT, compat)
    assert message.startswith("yolo12n.fp16.engine cannot run here: it was built with TensorRT 10.3.0")
    assert "trtbuild build yolo12n --precision fp16" in message


def test_version_compatible_runs_forward_only():
    vc = sidecar(version_compatible=True)
    assert check_compat(vc, TRT, TrtVersion(10, 8, 0), "8.9", "NVIDIA L4").ok
    assert check_compat(vc, TRT, TrtVersion(11, 1, 0), "8.9", "NVIDIA L4").ok  # 10 -> 11 works for VC plans
    assert "runs only on 10.3.0 or newer" in check_compat(vc, TRT, TrtVersion(10, 2, 0), "8.9", "x").problems[0]


def test_compute_capability():
    compat = check_compat(sidecar(), TRT, TrtVersion(10, 3, 0), "9.0", "NVIDIA H100")
    assert compat.problems == ["it was built for compute capability 8.9 (NVIDIA L4) and this GPU is NVIDIA H100 (9.0)"]
    same_sm = check_compat(sidecar(), TRT, TrtVersion(10, 3, 0), "8.9", "NVIDIA RTX 4090")
    assert same_sm.ok and "same compute capability 8.9" in same_sm.notes[0]


def test_ampere_plus():
    portable = sidecar(hardware_compatibility="AMPERE_PLUS", runs_on=["8.0+"])
    assert check_compat(portable, TRT, TrtVersion(10, 3, 0), "9.0", "NVIDIA H100").ok
    assert "older than Ampere" in check_compat(portable, TRT, TrtVersion(10, 3, 0), "7.5", "Tesla T4").problems[0]


def test_both_differ():
    assert len(check_compat(sidecar(), TRT, TrtVersion(11, 0, 0), "9.0", "NVIDIA H100").problems) == 2


RTX_TARGETS = ["8.0", "8.6", "8.9", "12.0", "12.1"]


def rtx_sidecar(**changes) -> EngineSidecar:
    return sidecar(**{"library": "tensorrt-rtx", "library_version": "1.7.1", "backend": "tensorrt-rtx", "gpu": None,
                      "runs_on": RTX_TARGETS, "network_flags": [],
                      "rebuild_command": "trtbuild build depth --precision fp16", **changes})


def test_rtx_engine_on_hopper_is_refused_in_one_actionable_line():
    compat = check_compat(rtx_sidecar(), RTX, TrtVersion(1, 7, 1), "9.0", "NVIDIA H200")
    message = incompatible_message("depth.fp16.engine", rtx_sidecar(), RTX, compat)
    assert message == ("depth.fp16.engine cannot run here: it was built for compute capabilities 8.0, 8.6, 8.9, 12.0, "
                       "12.1 and this GPU is NVIDIA H200 (9.0) (TensorRT-RTX has no target for 9.0; build with full "
                       "TensorRT on this host: --set engine.backend=tensorrt-bindings). Rebuild it: trtbuild build depth "
                       "--precision fp16")
    assert "\n" not in message and "version_compatible" not in message  # no TensorRT-only advice for RTX


def test_rtx_engine_runs_on_its_targets_with_the_same_version_only():
    assert check_compat(rtx_sidecar(), RTX, TrtVersion(1, 7, 1), "8.9", "NVIDIA GeForce RTX 4090").ok
    assert check_compat(rtx_sidecar(), RTX, TrtVersion(1, 7, 1), "12.0", "NVIDIA GeForce RTX 5090").ok
    newer = check_compat(rtx_sidecar(), RTX, TrtVersion(1, 8, 0), "8.6", "NVIDIA GeForce RTX 3080")
    assert newer.problems == ["it was built with TensorRT-RTX 1.7.1 and this host has 1.8.0"]


def test_rtx_target_it_could_have_had_is_suggested():
    narrow = rtx_sidecar(runs_on=["8.9"])
    compat = check_compat(narrow, RTX, TrtVersion(1, 7, 1), "8.6", "NVIDIA GeForce RTX 3060 Laptop GPU")
    assert compat.problems[0].endswith("(add it with --set 'engine.compute_capabilities=[8.6]')")


def test_engine_of_another_flavor_is_refused():
    compat = check_compat(rtx_sidecar(), TRT, TrtVersion(10, 3, 0), "8.9", "NVIDIA L4")
    assert compat.problems[0] == "it is a tensorrt-rtx engine and this runtime is TensorRT"


def test_gpu_runs_engine():
    assert gpu_runs_engine(RTX, RTX_TARGETS, "8.6") and not gpu_runs_engine(RTX, RTX_TARGETS, "9.0")
    assert gpu_runs_engine(TRT, ["8.0+"], "10.0") and not gpu_runs_engine(TRT, ["8.0+"], "7.5")
