"""Latency and accuracy baselines for both recipes at batch 1, every runner mode side by side.

On a GPU host: torch eager fp32/fp16 and CUDA graph fp32/fp16; ONNX Runtime with the CUDA execution provider, IO bound
on the GPU, with and without CUDA graphs, on the FP32 and FP16 ONNX; then verify-style accuracy of each ONNX
candidate against PyTorch (FP32 on the CPU, the verify stage's reference). Without a GPU the same script runs the
CPU variants (labelled "cpu") and records why each GPU variant was skipped.

ONNX paths may be given; missing ones are built here through the pipeline (until=precision).

    .venv/bin/python benchmarks/gpu_baselines.py --out benchmarks/results/h100.json
    .venv/bin/python benchmarks/gpu_baselines.py --out benchmarks/results/cpu.json --depth-size 392 --duration 5
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = {  # paths inside the shared data folder (--shared)
    "yolo12n": {"weights": "assets/yolo12n-coco128.pt", "images": "assets/coco128/images/train2017",
                "labels": "assets/coco128/labels/train2017"},
    "depth": {"weights": "reference/depth_anything_v2_vits_seeded.pth", "images": "assets/coco8/images/val"},
}
CHECK_IMAGES = "assets/coco8/images/val"
CALIBRATION_IMAGES = "assets/coco128/images/train2017"  # what the packaged recipes named before they held no paths
PRECISIONS = ("fp32", "fp16", "int8")


def main() -> None:
    args = _parse()
    from trtbuild.backends.registry import library_versions
    from trtbuild.core.host import host_summary
    from trtbuild.runners.factory import use_gpu

    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "started": time.time(),
               "device": "cuda" if use_gpu() else "cpu", "host": host_summary(library_versions()), "models": {}}
    for name in args.models:
        results["models"][name] = _model(name, args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=str))  # partial results survive a crash
    print(_table(results))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON results file")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    for name in MODELS:
        parser.add_argument(f"--{name}-weights", type=Path, default=None)
        for precision in PRECISIONS:
            parser.add_argument(f"--{name}-onnx-{precision}", type=Path, default=None,
                                help=f"{name} {precision} ONNX (default: built through the pipeline)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "fp16"], choices=PRECISIONS,
                        help="ONNX candidates timed on ONNX Runtime and verified")
    parser.add_argument("--depth-size", type=int, default=518, help="depth input H=W (multiple of 14)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per variant")
    parser.add_argument("--duration", type=float, default=10.0, help="timed seconds per variant")
    parser.add_argument("--verify-images", type=int, default=128, help="images for the accuracy check")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="the shared data folder")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "trtbuild-gpu-baselines",
                        help="cache and output root for ONNX built here")
    return parser.parse_args()


def _model(name: str, args) -> dict:
    from trtbuild.recipe import Overrides, load_recipe

    paths = {key: args.shared / rel for key, rel in MODELS[name].items()}
    weights = getattr(args, f"{name}_weights") or paths["weights"]
    sets = [f"verify.max_images={args.verify_images}", f"verify.images={paths['images']}",
            f"check.images={args.shared / CHECK_IMAGES}",
            f"precision.calibration.images={args.shared / CALIBRATION_IMAGES}"]
    if "labels" in paths:
        sets.append(f"verify.labels={paths['labels']}")
    if name == "depth":
        sets.append(f"inputs[0].shape=[1,3,{args.depth_size},{args.depth_size}]")
    onnx = {p: getattr(args, f"{name}_onnx_{p}") or _built(name, weights, sets, p, "precision", args.work)["onnx"]
            for p in args.precisions}
    recipe = load_recipe(name, Overrides(weights=weights, precision="fp32", sets=sets)).recipe
    metadata = _built(name, weights, sets, "fp32", "export", args.work)["metadata"]  # class names for the slices
    return {"input_shape": recipe.inputs[0].shape, "onnx": {p: str(path) for p, path in onnx.items()},
            "latency": _latencies(recipe, onnx, args),
            "accuracy": {p: _accuracy(recipe, path, metadata) for p, path in onnx.items()}}


def _built(name: str, weights: Path, sets: list[str], precision: str, until: str, work: Path) -> dict[str, Path]:
    """The artifacts of `until`, by role, from a build to that stage (cached after the first)."""
    from trtbuild import api
    from trtbuild.build.pipeline import BuildOptions
    from trtbuild.recipe import Overrides

    report = api.build(name, Overrides(weights=weights, precision=precision, sets=sets),
                       BuildOptions(until, out_root=work / precision), work / "cache")
    return {a.role: Path(a.path) for a in report.stage(until).artifacts}


def _variants(onnx: dict[str, Path]) -> list[tuple[str, object]]:
    """(label, zero-argument runner factory or the reason it cannot run here)."""
    from trtbuild.runners.factory import RunnerOptions, onnxruntime_runner, torch_runner, use_gpu

    gpu = use_gpu()
    found = []
    for half in (False, True):
        precision = "fp16" if half else "fp32"
        for graph in (False, True):
            label = f"torch {precision} {'cuda graph' if graph else 'eager'}"
            if gpu or not (half or graph):  # fp16 convolutions and CUDA graphs are GPU-only here
                found.append((label, lambda r, h=half, g=graph: torch_runner(
                    r, "cuda" if gpu else "cpu", RunnerOptions(cuda_graph=g, half=h))))
            else:
                found.append((label, "needs a CUDA GPU"))
    for precision in onnx:
        for graph in (False, True):
            label = f"onnxruntime {precision} {'cuda graph' if graph else ('io-bound' if gpu else 'cpu')}"
            if graph and not gpu:
                found.append((label, "needs a CUDA GPU and onnxruntime-gpu"))
            else:
                found.append((label, lambda r, p=precision, g=graph: onnxruntime_runner(onnx[p], cuda_graph=g)))
    return found


def _latencies(recipe, onnx: dict[str, Path], args) -> list[dict]:
    from trtbuild.bench.loop import LoopConfig
    from trtbuild.bench.session import time_active_runner
    from trtbuild.data.datasets import check_set
    from trtbuild.data.feeds import feeds_for

    feed = feeds_for(recipe, check_set(recipe).first(1))[0][0]
    config = LoopConfig(args.warmup, args.duration)
    records = []
    for label, factory in _variants(onnx):
        if isinstance(factory, str):
            records.append({"variant": label, "skipped": factory})
            continue
        try:
            with factory(recipe) as runner:
                record, _ = time_active_runner(runner, feed, config, recipe.bench.leak_mib_per_min)
        except Exception as exc:  # one broken variant (e.g. an EP without CUDA graph support) must not end the run
            records.append({"variant": label, "skipped": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"})
            continue
        record.pop("memory")
        records.append({"variant": label, **record})
        print(f"{recipe.name:8} {label:32} median {record['stats']['median_ms']:9.3f} ms  ({record['mode']})",
              flush=True)
    torch_median = next((r["stats"]["median_ms"] for r in records if r["variant"] == "torch fp32 eager"), None)
    for record in records:
        if "stats" in record and torch_median:
            record["speedup_vs_torch_fp32_eager"] = torch_median / record["stats"]["median_ms"]
    return records


def _accuracy(recipe, onnx: Path, metadata: Path) -> dict:
    """The verify stage's evaluation with this ONNX as the candidate (gates reported, not raised)."""
    from trtbuild.core.errors import StageFailed
    from trtbuild.build.stages.base import StageContext
    from trtbuild.build.stages.verify import VerifyStage

    stage = VerifyStage(recipe)
    inputs = stage.inputs({"precision.onnx": onnx, "export.metadata": metadata})
    with tempfile.TemporaryDirectory() as work:
        try:
            ran = stage.run(StageContext(recipe, Path(work), inputs, Path(work) / "verify.log"))
            metrics = ran.metrics.record()
        except StageFailed as failed:
            metrics = failed.metrics
    return {key: metrics.get(key) for key in ("candidate", "samples", "values", "table", "parity", "gates", "passed")}


def _table(results: dict) -> str:
    lines = [f"device: {results['device']}"]
    for name, model in results["models"].items():
        for record in model["latency"]:
            if "stats" in record:
                s = record["stats"]
                lines.append(f"{name:8} {record['variant']:32} median {s['median_ms']:9.3f}  p99 {s['p99_ms']:9.3f}"
                             f"  x{record.get('speedup_vs_torch_fp32_eager', 0):.2f}")
            else:
                lines.append(f"{name:8} {record['variant']:32} skipped: {record['skipped']}")
        for precision, acc in model["accuracy"].items():
            lines.append(f"{name:8} {precision} accuracy: {json.dumps(acc['values'])} passed={acc['passed']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
