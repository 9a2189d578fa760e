"""Per model and precision: size, node count, ONNX Runtime CPU median latency and accuracy vs PyTorch FP32.

Builds fp32/fp16/int8 through the pipeline (until=precision), evaluates on the full image sets (YOLO: COCO128,
128 images; depth: COCO8 val at 392). GPU numbers for the same graphs come from benchmarks/gpu_baselines.py.

    .venv/bin/python benchmarks/precision_cpu.py --out benchmarks/results/precision_cpu.json --work /tmp/precision_bench
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

CALIBRATION = "../shared/assets/coco128/images/train2017"  # what the packaged recipes named before they held no paths
MODELS = {
    "yolo12n": {"weights": "../shared/assets/yolo12n-coco128.pt", "sets": [],
                "images": "../shared/assets/coco128/images/train2017"},
    "depth": {"weights": "../shared/reference/depth_anything_v2_vits_seeded.pth",
              "sets": ["inputs.0.shape=[1,3,392,392]"], "images": "../shared/assets/coco8/images/val"},
}


def main() -> None:
    import onnx
    import onnxruntime as ort

    from trtbuild.api import build
    from trtbuild.bench.loop import LoopConfig, run_loop
    from trtbuild.bench.stats import summarize
    from trtbuild.bench.timer import PerfCounterTimer
    from trtbuild.data.feeds import image_feeds
    from trtbuild.data.images import list_images
    from trtbuild.build.pipeline import BuildOptions
    from trtbuild.accuracy.reference import PyTorchReference
    from trtbuild.accuracy.graph_accuracy import graph_on_cpu, task_accuracy
    from trtbuild.recipe import Overrides, load_recipe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="the ONNX files go here")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--iterations", type=int, default=20, help="timed ONNX Runtime runs per graph")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = {"command": " ".join(map(shlex.quote, sys.argv)), "onnxruntime": ort.__version__,
               "threads": "ONNX Runtime default (all cores)", "models": {}}
    for name in args.models:
        cfg = MODELS[name]
        sets = [*cfg["sets"], f"precision.evaluate.images={cfg['images']}", "precision.evaluate.max_images=1000",
                f"precision.calibration.images={CALIBRATION}"]
        recipe = load_recipe(name, Overrides(weights=Path(cfg["weights"]), sets=sets)).recipe
        feeds = image_feeds(recipe, list_images(Path(cfg["images"])))
        reference = PyTorchReference(recipe, feeds)
        reference.record()  # one PyTorch pass, replayed against each precision
        rows = {}
        for mode in ("fp32", "fp16", "int8"):
            start = time.perf_counter()
            report = build(name, Overrides(weights=Path(cfg["weights"]), precision=mode, sets=sets),
                           BuildOptions(until="precision", out_root=args.work))
            seconds = round(time.perf_counter() - start, 1)
            path = Path(next(a.path for a in report.stages[-1].artifacts if a.role == "onnx"))
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            rows[mode] = {
                "onnx": str(path), "build_s_until_precision": seconds,
                "size_mb": round(path.stat().st_size / 2**20, 2), "nodes": len(onnx.load(str(path)).graph.node),
                "ort_cpu_median_ms": summarize(run_loop(lambda: session.run(None, feeds[0]), PerfCounterTimer(),
                                                        LoopConfig(1.0, 0.0, args.iterations)).latencies_ms).median_ms,
                "accuracy_vs_pytorch_fp32": {"images": len(feeds), **task_accuracy(reference, graph_on_cpu(path))},
                "stage_metrics": {k: v for k, v in report.stages[-1].metrics.items()
                                  if k in ("tool", "fp32_reasons", "calibration", "repaired_mixed_type_nodes")},
            }
            print(name, mode, json.dumps({k: v for k, v in rows[mode].items() if k != "stage_metrics"}), flush=True)
        results["models"][name] = {"precisions": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
