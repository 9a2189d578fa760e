"""INT8 accuracy before/after the automatic FP32-node search (precision.int8.auto_keep_fp32), through the pipeline.

One INT8 build per model (until=precision) with the search on: its trial 0 is the fully quantized graph (before),
its chosen trial the graph it ships (after); both scored by the precision stage on the same evaluation set with
simulated Q/DQ on ONNX Runtime CPU. YOLO12n: calibration on all of COCO128 (128 images), evaluation on COCO128 with
its labels; depth (seeded weights, 392): calibration on COCO128, evaluation on the COCO8 val photos.
`--compare-calibration M ...` instead scores the fully quantized graph (search off) once per calibration method.

    .venv/bin/python benchmarks/int8_search.py --out benchmarks/results/int8_search_yolo12n.json --work /tmp/i8 \
        --models yolo12n
    .venv/bin/python benchmarks/int8_search.py --out benchmarks/results/int8_calibration.json --work /tmp/i8c \
        --compare-calibration minmax percentile entropy
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
MODELS = {
    "yolo12n": {"weights": SHARED / "assets/yolo12n-coco128.pt", "data": SHARED / "assets/coco128/coco128.yaml",
                "calib": None, "sets": ["precision.evaluate.max_images=128"]},
    "depth": {"weights": SHARED / "reference/depth_anything_v2_vits_seeded.pth",
              "data": SHARED / "assets/coco8/coco8.yaml", "calib": SHARED / "assets/coco128/coco128.yaml",
              "sets": ["inputs.0.shape=[1,3,392,392]"]},
}


def build_until_precision(name: str, work: Path, sets: list[str]):
    """(precision stage record, seconds) of an INT8 build of `name` with the model's data and `sets`."""
    from trtbuild.api import build
    from trtbuild.build.pipeline import BuildOptions
    from trtbuild.recipe import Overrides

    cfg = MODELS[name]
    overrides = Overrides(weights=cfg["weights"], precision="int8", data=cfg["data"], calib=cfg["calib"],
                          sets=[*cfg["sets"], *sets])
    start = time.perf_counter()
    report = build(name, overrides, BuildOptions(until="precision", out_root=work / "out"), cache_dir=work / "cache")
    return report.stages[-1], round(time.perf_counter() - start, 1)


def search(name: str, work: Path, sets: list[str]) -> dict:
    stage, seconds = build_until_precision(name, work, ["precision.int8.auto_keep_fp32=true", *sets])
    metrics = stage.metrics
    found = metrics["int8_search"]
    return {
        "build_s_until_precision": seconds, "status": stage.status,
        "calibration": {k: v for k, v in metrics["calibration"].items() if k != "sha256"},
        "qdq_evaluation": metrics["qdq_evaluation"], "evaluation": found["inputs"],
        "target": found["target"], "passed": found["passed"],
        "before_all_quantized": found["before"], "after": found["after"],
        "fp32_nodes_kept": found["kept"], "evaluations": found["evaluations"],
        "search_s": found["seconds"], "trials": found["trials"],
        "final_accuracy_vs_pytorch_fp32": metrics["accuracy_vs_pytorch_fp32"], "warnings": stage.warnings,
    }


def compare_calibration(name: str, work: Path, sets: list[str], methods: list[str]) -> dict:
    found = {}
    for method in methods:
        stage, seconds = build_until_precision(
            name, work, ["precision.int8.auto_keep_fp32=false", f"precision.calibration.method={method}", *sets])
        found[method] = {"build_s_until_precision": seconds,
                         "calibration": {k: v for k, v in stage.metrics["calibration"].items() if k != "sha256"},
                         "accuracy_all_quantized": stage.metrics["accuracy_vs_pytorch_fp32"]}
        print(name, method, json.dumps(found[method]["accuracy_all_quantized"]), flush=True)
    return found


def main() -> None:
    import onnxruntime as ort

    from trtbuild.runners.onnxruntime_runner import int8_cpu_flags

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="outputs and the stage cache go here")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--set", dest="sets", action="append", default=[], help="extra recipe overrides")
    parser.add_argument("--compare-calibration", nargs="+", metavar="METHOD",
                        help="score the fully quantized graph per calibration method instead of searching")
    args = parser.parse_args()
    results = {"command": " ".join(map(shlex.quote, sys.argv)), "onnxruntime": ort.__version__,
               "host": {"machine": platform.machine(), "cpu_int8_flags": int8_cpu_flags()}, "models": {}}
    for name in args.models:
        if args.compare_calibration:
            results["models"][name] = compare_calibration(name, args.work, args.sets, args.compare_calibration)
            continue
        results["models"][name] = search(name, args.work, args.sets)
        print(name, json.dumps({k: results["models"][name][k] for k in ("before_all_quantized", "after", "passed",
                                                                         "evaluations", "search_s")}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
