"""Real FP16/INT8 conversions of YOLO12n and Depth-Anything-V2 (392, seeded weights) on CPU, through the pipeline.

Documented bounds (ONNX Runtime CPU vs PyTorch FP32; CPU ORT may compute FP16 ops in FP32, the GPU numbers come
from benchmarks/precision_gpu.py): YOLO FP16 mAP50-95 drop <= 0.5 %, INT8 (8 calibration images) <= 15 %;
depth FP16 rel MSE <= 0.01 %, INT8 <= 5 %.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import COCO8, COCO128, DEPTH_SEEDED, YOLO_WEIGHTS

from trtbuild.api import build
from trtbuild.pipeline import BuildOptions
from trtbuild.precision.graph_stats import node_compute_dtypes
from trtbuild.recipe import Overrides

QUICK = ["precision.evaluate.max_images=8", "precision.calibration.count=8", "check.max_images=2"]
BASE = {"yolo12n": Overrides(weights=YOLO_WEIGHTS, sets=QUICK, data=COCO128),  # calibration: its train split
        "depth": Overrides(weights=DEPTH_SEEDED, sets=[*QUICK, "inputs.0.shape=[1,3,392,392]"], data=COCO8,
                           calib=COCO128)}


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("precision")


def run(shared_cache: Path, model: str, mode: str, *extra: str):
    base = BASE[model]
    overrides = Overrides(weights=base.weights, precision=mode, sets=[*base.sets, *extra], data=base.data,
                          calib=base.calib)
    report = build(model, overrides, BuildOptions(until="precision", out_root=shared_cache / "out"),
                   cache_dir=shared_cache / "cache")
    stage = report.stages[-1]
    return stage, Path(next(a.path for a in stage.artifacts if a.role == "onnx"))


@pytest.fixture(scope="module")
def yolo_fp16(shared_cache, in_repo_module):
    return run(shared_cache, "yolo12n", "fp16")


@pytest.fixture(scope="module")
def in_repo_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(Path(__file__).resolve().parents[2])
        yield


def assert_islands_are_fp32(stage, path: Path) -> None:
    dtypes = node_compute_dtypes(onnx.load(str(path)))
    kept = stage.metrics["fp32_nodes"]
    assert kept and all(dtypes[name] == "float32" for name in kept), {n: dtypes[n] for n in kept}
    assert sum(d == "float16" for d in dtypes.values()) > len(dtypes) // 2


def test_yolo_fp16_keeps_softmax_fp32_and_matches_pytorch(yolo_fp16):
    stage, path = yolo_fp16
    assert_islands_are_fp32(stage, path)
    assert stage.metrics["fp32_reasons"]["Softmax (default policy)"] == 9  # YOLO12n area attention
    accuracy = stage.metrics["accuracy_vs_pytorch_fp32"]
    assert accuracy["samples"] == 8 and accuracy["basis"] == "labels" and accuracy["map50_95_drop_pct"] <= 0.5
    graph = stage.metrics["graph"]
    assert graph["size_bytes"] < 0.55 * stage.metrics["source_graph"]["size_bytes"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(float)" and session.get_outputs()[0].type == "tensor(float)"


def test_cache_reuses_the_stage_and_a_policy_change_invalidates_it(shared_cache, yolo_fp16):
    again, _ = run(shared_cache, "yolo12n", "fp16")
    assert again.status == "cached" and again.key == yolo_fp16[0].key
    changed, path = run(shared_cache, "yolo12n", "fp16", "precision.keep_fp32.op_types=[Softmax,Sigmoid]")
    assert changed.status == "ran" and changed.key != yolo_fp16[0].key
    assert any(r.startswith("Sigmoid") for r in changed.metrics["fp32_reasons"])
    assert_islands_are_fp32(changed, path)


def test_yolo_int8_has_qdq_around_convs_and_runs(shared_cache, in_repo_module):
    stage, path = run(shared_cache, "yolo12n", "int8")
    model = onnx.load(str(path))
    producer = {o: n for n in model.graph.node for o in n.output}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    fed_by_dq = [all(producer.get(i) is not None and producer[i].op_type == "DequantizeLinear" for i in n.input[:2])
                 for n in convs]
    assert convs and all(fed_by_dq)
    assert stage.metrics["graph"]["quantize_linear"] > 100
    calibration = stage.metrics["calibration"]
    assert calibration["images"] == 8 and calibration["method"] == "minmax" and len(calibration["sha256"]) == 64
    assert calibration["source"] == f"{COCO128} (train split)"
    assert any("int8 calibrated on 8 images" in w and "300+ recommended" in w and "--calib" in w
               for w in stage.warnings)
    assert stage.metrics["accuracy_vs_pytorch_fp32"]["map50_95_drop_pct"] <= 15.0


def test_depth_fp16_keeps_layernorm_and_softmax_fp32(shared_cache, in_repo_module):
    stage, path = run(shared_cache, "depth", "fp16", "precision.evaluate.max_images=2")
    assert_islands_are_fp32(stage, path)
    reasons = stage.metrics["fp32_reasons"]
    assert reasons["LayerNormalization (default policy)"] == 28 and reasons["Softmax (default policy)"] == 12
    accuracy = stage.metrics["accuracy_vs_pytorch_fp32"]
    assert accuracy["finite"] and accuracy["depth_rel_mse_pct"] <= 0.01 and accuracy["depth_abs_rel"] <= 0.02


def test_depth_int8_matmuls_are_quantized(shared_cache, in_repo_module):
    stage, path = run(shared_cache, "depth", "int8", "precision.calibration.count=4", "precision.evaluate.max_images=1")
    model = onnx.load(str(path))
    producer = {o: n for n in model.graph.node for o in n.output}
    matmuls = [n for n in model.graph.node if n.op_type == "MatMul"]
    assert matmuls and all(producer[n.input[0]].op_type == "DequantizeLinear" for n in matmuls)
    accuracy = stage.metrics["accuracy_vs_pytorch_fp32"]
    assert accuracy["finite"] and accuracy["depth_rel_mse_pct"] <= 5.0
    out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"image": np.zeros((1, 3, 392, 392), np.float32)})[0]
    assert np.isfinite(out).all()


def test_builder_method_passes_fp32_through(shared_cache, in_repo_module):
    stage, path = run(shared_cache, "yolo12n", "fp16", "precision.method=builder")
    assert stage.metrics["builder_flags"] == ["fp16"]
    assert set(node_compute_dtypes(onnx.load(str(path))).values()) <= {"float32", "other"}
