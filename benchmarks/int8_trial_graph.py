"""An INT8 search trial's graph: ONNX Runtime's quantizer run again with nodes excluded, against the fully quantized
graph with those nodes' Q/DQ pairs removed (trtbuild.precision.qdq_graph.keep_fp32), on the real graphs.

Per model and FP32-node set (random, seeded): seconds of each, whether the Q/DQ counts match and the largest output
difference on one calibration image, both graphs on ONNX Runtime with simulated Q/DQ. Ranges: minmax on 4
calibration images (the graph's shape, not its accuracy, is what is compared).

    .venv/bin/python benchmarks/int8_trial_graph.py --out benchmarks/results/int8_trial_graph.json --work /tmp/i8t
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from int8_search_speed import MODELS, build, overrides

SET_SIZES = [1, 5, 20, 60]


def compare(name: str, work: Path, seed: int) -> dict:
    import onnx
    import onnxruntime as ort

    from trtbuild.data.datasets import required_calibration
    from trtbuild.data.feeds import image_feeds
    from trtbuild.precision.int8 import calibrate, quantize_int8
    from trtbuild.precision.policy import name_nodes
    from trtbuild.precision.qdq_graph import keep_fp32, quantized_nodes
    from trtbuild.recipe import load_recipe
    from trtbuild.runners.onnxruntime_runner import SIMULATED_QDQ

    report, _ = build(name, "int8", work / name, [], until="simplify")
    recipe = load_recipe(name, overrides(name, "int8", [])).recipe
    model = onnx.load(next(a.path for a in report.stages[-1].artifacts if a.role == "onnx"))
    name_nodes(model)
    source, full, excluded = work / f"{name}.fp32.onnx", work / f"{name}.int8.onnx", work / f"{name}.excluded.onnx"
    onnx.save(model, str(source))
    feeds = image_feeds(recipe, required_calibration(recipe).images[:4])
    ranges = calibrate(source, feeds, "minmax")
    quantize_int8(source, full, ranges, [])
    quantized = onnx.load(str(full))
    names = sorted(quantized_nodes(quantized))
    options = ort.SessionOptions()
    options.add_session_config_entry(*SIMULATED_QDQ)

    def outputs(graph) -> list[np.ndarray]:
        return ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(
            None, feeds[0])

    def counts(graph) -> Counter:
        return Counter(n.op_type for n in graph.node if n.op_type.endswith("QuantizeLinear"))

    rng, trials = np.random.default_rng(seed), []
    for size in SET_SIZES:
        nodes = sorted(rng.choice(names, size=min(size, len(names)), replace=False).tolist())
        start = time.perf_counter()
        quantize_int8(source, excluded, ranges, nodes)
        quantizer_s = time.perf_counter() - start
        start = time.perf_counter()
        edited = keep_fp32(quantized, model, nodes)
        edit_s = time.perf_counter() - start
        expected = onnx.load(str(excluded))
        trials.append({"fp32_nodes": size, "quantizer_s": round(quantizer_s, 2), "keep_fp32_s": round(edit_s, 2),
                       "same_qdq_counts": counts(expected.graph) == counts(edited.graph),
                       "max_abs_output_diff": max(float(np.max(np.abs(a - b))) for a, b in
                                                  zip(outputs(expected), outputs(edited)))})
        print(name, trials[-1], flush=True)
    return {"quantized_nodes": len(names), "trials": trials}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="outputs and fresh stage caches go here")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = {"command": " ".join(map(shlex.quote, sys.argv)), "cpus": os.cpu_count(),
               "models": {name: compare(name, args.work, args.seed) for name in args.models}}
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
