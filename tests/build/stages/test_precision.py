"""Real FP16/INT8 conversions of YOLO12n and Depth-Anything-V2 (392, seeded weights) on CPU, through the pipeline.

Bounds (ONNX Runtime CPU vs PyTorch FP32; CPU ORT may compute FP16 ops in FP32, the GPU numbers come from
benchmarks/precision_gpu.py) are the values measured on this 2-core machine with the headroom each test states:
YOLO INT8 (8 calibration images, no search) drop 0.86 %; depth (392) FP16 rel MSE 2.2e-5 %, AbsRel 8.6e-4;
depth INT8 (16 calibration images, no search) rel MSE 0.62 %, AbsRel 0.142 (over the recipe's 0.1 target: the
search's job, tested with the long marker).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from conftest import COCO8, COCO128, DEPTH_SEEDED, YOLO_WEIGHTS

from trtbuild.api import build
from trtbuild.data.feeds import image_feeds
from trtbuild.data.images import list_images
from trtbuild.accuracy.depth import depth_errors
from trtbuild.build.pipeline import BuildOptions
from trtbuild.precision.graph_stats import node_compute_dtypes
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner, int8_cpu_flags

QUICK = ["precision.evaluate.max_images=8", "precision.calibration.count=8", "check.max_images=2",
         "precision.int8.auto_keep_fp32=false"]  # the search has its own test
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
        patch.chdir(Path(__file__).resolve().parents[3])
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


def test_real_labels_fp32_candidate_equals_the_checkpoint_and_fp16_reports_its_drop(shared_cache, yolo_fp16):
    """With a dataset that has labels, both models are scored against the labels on the same letterboxed inputs:
    the FP32 ONNX must match the checkpoint's mAP50-95 (within 0.1 %); FP16 reports its drop beside the paired one."""
    fp32, _ = run(shared_cache, "yolo12n", "fp32")
    exact = fp32.metrics["accuracy_vs_pytorch_fp32"]
    assert exact["basis"] == "labels" and exact["role"] == "holdout"
    assert exact["inputs"] == f"8 images from {COCO128} (val split), holdout share 1/2 by file-name hash, 8 label files"
    assert 0.5 < exact["map50_95_pytorch"] < 1.0
    assert exact["map50_95"] == pytest.approx(exact["map50_95_pytorch"], rel=1e-3)
    assert abs(exact["map50_95_drop_pct"]) <= 0.1
    half = yolo_fp16[0].metrics["accuracy_vs_pytorch_fp32"]
    assert half["map50_95_pytorch"] == exact["map50_95_pytorch"]  # same images, same reference
    for key in ("map50_95", "map50", "map50_95_drop_pct", "map50_drop_pct", "map50_95_drop_vs_pytorch_pct"):
        assert np.isfinite(half[key]), key
    assert "labels; paired" in yolo_fp16[0].headline()


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
    assert calibration["images"] == 8 and len(calibration["sha256"]) == 64
    assert calibration["method"] == "percentile" and calibration["percentile"] == 99.999  # the recipe's
    assert calibration["source"] == f"{COCO128} (train split) without the 64 holdout images"
    assert any("int8 calibrated on 8 images" in w and "300+ recommended" in w and "--calib" in w
               for w in stage.warnings)
    # fully quantized, calibrated on 8 images the holdout does not hold: 2.97 % measured on its first 8 images
    # (3.31 % on the 64 search images); 8 images are coarse, so 0.5 of headroom
    assert stage.metrics["accuracy_vs_pytorch_fp32"]["map50_95_drop_pct"] <= 3.5


def test_depth_fp16_keeps_layernorm_and_softmax_fp32(shared_cache, in_repo_module):
    stage, path = run(shared_cache, "depth", "fp16", "precision.evaluate.max_images=2")
    assert_islands_are_fp32(stage, path)
    reasons = stage.metrics["fp32_reasons"]
    assert reasons["LayerNormalization (default policy)"] == 28 and reasons["Softmax (default policy)"] == 12
    accuracy = stage.metrics["accuracy_vs_pytorch_fp32"]
    # measured 2.2e-5 % and 8.6e-4: 9x and 6x headroom for CPUs whose ORT runs FP16 kernels natively
    assert accuracy["finite"] and accuracy["depth_rel_mse_pct"] <= 2e-4 and accuracy["depth_abs_rel"] <= 5e-3


def test_depth_int8_matmuls_are_quantized(shared_cache, in_repo_module):
    """16 real calibration photos (COCO128). The stage scores simulated Q/DQ, the same on every CPU; the graph also
    holds under ONNX Runtime's fused integer kernels of this CPU (their flags are in the report)."""
    stage, path = run(shared_cache, "depth", "int8", "precision.calibration.count=16", "precision.evaluate.max_images=2")
    model = onnx.load(str(path))
    producer = {o: n for n in model.graph.node for o in n.output}
    matmuls = [n for n in model.graph.node if n.op_type == "MatMul"]
    assert matmuls and all(producer[n.input[0]].op_type == "DequantizeLinear" for n in matmuls)
    assert stage.metrics["calibration"]["images"] == 16
    assert stage.metrics["qdq_evaluation"] == {"mode": "simulated (session.disable_quant_qdq)",
                                               "cpu_int8_flags": int8_cpu_flags()}
    accuracy = stage.metrics["accuracy_vs_pytorch_fp32"]
    # measured rel MSE 0.62 % (2x headroom), AbsRel 0.142: fully quantized it misses the AbsRel target (long test)
    assert accuracy["finite"] and accuracy["depth_rel_mse_pct"] <= 1.2 and 0.1 < accuracy["depth_abs_rel"] <= 0.2
    _, fp32 = run(shared_cache, "depth", "fp32", "precision.evaluate.max_images=2")
    recipe = load_recipe("depth", BASE["depth"]).recipe
    feeds = image_feeds(recipe, list_images(COCO8.parent / "images" / "val", 2))
    with OnnxRuntimeRunner(fp32) as reference:
        expected = [reference.infer(f)["depth"] for f in feeds]
    # ONNX Runtime's fused integer kernels saturate their 16-bit sums on x86 CPUs without VNNI (measured 91-92.5 % rel
    # MSE on such a CPU, 0.9 % with VNNI); TensorRT never runs them, so they meet the bound only where VNNI is
    vnni = {"avx512_vnni", "avx_vnni"} & set(int8_cpu_flags())
    for simulated in (True, False) if vnni else (True,):
        with OnnxRuntimeRunner(path, simulated_qdq=simulated) as candidate:
            errors = [depth_errors(e, candidate.infer(f)["depth"]) for e, f in zip(expected, feeds)]
        # per image, measured 0.48 / 0.76 % simulated and 0.48 / 0.73 % with this CPU's integer kernels: 2x headroom
        assert all(e["finite"] and e["rel_mse_pct"] <= 1.5 for e in errors), (simulated, errors)


def test_builder_method_passes_fp32_through(shared_cache, in_repo_module):
    stage, path = run(shared_cache, "yolo12n", "fp16", "precision.method=builder")
    assert stage.metrics["builder_flags"] == ["fp16"]
    assert set(node_compute_dtypes(onnx.load(str(path))).values()) <= {"float32", "other"}


@pytest.mark.long
def test_yolo_int8_search_keeps_the_most_sensitive_nodes_fp32(shared_cache, in_repo_module):
    """A real search on a small budget: the nodes it keeps are the top of its ranking, carry no Q/DQ in the graph,
    and the graph it ships scores no worse than the fully quantized one (trial 0) on the target metric."""
    stage, path = run(shared_cache, "yolo12n", "int8", "precision.int8.auto_keep_fp32=true",
                      "precision.int8.max_fp32_nodes=4", "precision.int8.max_evaluations=3")
    search = stage.metrics["int8_search"]
    ranked = [r["node"] for r in search["ranking"]]
    errors = [r["rel_mse_pct"] for r in search["ranking"]]
    assert len(ranked) >= 10 and errors == sorted(errors, reverse=True) and errors[0] > 0
    kept = list(search["kept"])
    assert kept == ranked[: len(kept)] and len(kept) <= 4 and search["evaluations"] <= 3
    assert search["trials"][0]["fp32_nodes"] == 0 and search["target"] == [{"metric": "map50_95_drop_pct", "max": 1.0}]
    assert search["after"]["map50_95_drop_pct"] <= search["before"]["map50_95_drop_pct"]
    assert all(stage.metrics["fp32_nodes"][n].startswith("int8 sensitivity rank") for n in kept)
    model = onnx.load(str(path))
    producer = {o: n for n in model.graph.node for o in n.output}
    fed_by_dq = {n.name: any(producer.get(i) is not None and producer[i].op_type == "DequantizeLinear"
                             for i in n.input) for n in model.graph.node if n.op_type in ("Conv", "MatMul")}
    assert not any(fed_by_dq[n] for n in kept) and sum(fed_by_dq.values()) == len(fed_by_dq) - len(kept)


@pytest.mark.long
def test_depth_int8_search_meets_the_abs_rel_target_too(shared_cache, in_repo_module):
    """The recipe's search on: on its search images the graph it ships meets the AbsRel target as well as rel MSE,
    where the fully quantized graph misses it (test_depth_int8_matmuls_are_quantized). The holdout is held to the
    recipe's gate (rel MSE); its AbsRel is not promised: measured 0.122 against 0.0996 on the 2 search images."""
    stage, _ = run(shared_cache, "depth", "int8", "precision.calibration.count=16", "precision.evaluate.max_images=4",
                   "precision.int8.auto_keep_fp32=true")
    search = stage.metrics["int8_search"]
    assert search["target"] == [{"metric": "depth_rel_mse_pct", "max": 5.0}, {"metric": "depth_abs_rel", "max": 0.1}]
    assert search["before"]["depth_abs_rel"] > 0.1 and search["passed"], search["trials"]
    assert search["after"]["depth_abs_rel"] <= 0.1 and search["after"]["depth_rel_mse_pct"] <= 5.0
    assert stage.metrics["accuracy_vs_pytorch_fp32"]["depth_rel_mse_pct"] <= 5.0


@pytest.mark.long
def test_shipped_yolo12n_int8_meets_its_target_on_coco128(shared_cache, in_repo_module):
    """The shipped recipe's INT8 as a user runs it with COCO128, whose train split is its val split: the val split
    is divided 64 / 64 between search and holdout by file-name hash, percentile calibration takes the 64 that are not
    the holdout's, the search aims at the recipe's 1 % mAP50-95 drop on its 64 (met when the whole 95 % interval is
    under it), and the shipped graph is reported
    on the holdout, which nothing saw: measured 0.32 % [-0.38, 0.78] on the search set, 0.74 % [0.12, 1.27] on the
    holdout with 20 nodes FP32 (benchmarks/results/int8_holdout_yolo12n.json). The holdout bound is verify's 1 % gate plus 0.2 % for what
    another CPU's float rounding can move on 64 images; scored with simulated Q/DQ, so no CPU's INT8 kernels count."""
    stage, _ = run(shared_cache, "yolo12n", "int8", "precision.calibration.count=512",
                   "precision.evaluate.max_images=128", "precision.int8.auto_keep_fp32=true")
    search = stage.metrics["int8_search"]
    assert stage.metrics["calibration"]["images"] == 64 and stage.metrics["calibration"]["method"] == "percentile"
    assert search["target"] == [{"metric": "map50_95_drop_pct", "max": 1.0}] and search["passed"], search["trials"]
    assert 0 < len(search["kept"]) <= 24 and search["before"]["map50_95_drop_pct"] > 1.0
    assert stage.metrics["accuracy_search_set"]["map50_95_drop_pct"] == search["after"]["map50_95_drop_pct"]
    accuracy = stage.metrics["accuracy_vs_pytorch_fp32"]
    assert accuracy["basis"] == "labels" and accuracy["role"] == "holdout" and accuracy["samples"] == 64
    assert accuracy["map50_95_drop_pct"] <= 1.2
    roles = stage.metrics["data_roles"]
    assert {role: found["images"] for role, found in roles.items()} == {"calibration": 64, "search": 64, "holdout": 64}
    assert not set(roles["calibration"]["files"]) & set(roles["holdout"]["files"])
