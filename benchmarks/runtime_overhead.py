"""Pre- and post-processing per frame against the model's own time, on the runtime `trtbuild.load` picks.

Each stage of `Model.predict` is timed apart, frame after frame on real COCO128 images (no overlap): `prepare`
(letterbox / resize + normalise), `infer` (the runner alone, host arrays in and out) and `post` (NMS + boxes to
frame pixels / depth map back to the frame). Goal on the CPU: prepare + post <= 10 % of infer (issue 16, item 8).
Wall time (perf_counter) and the process's CPU time (process_time, every thread) are both kept: on a host that other
work keeps busy, wall time measures the queue for the cores; with `--threads 1` the CPU time of each stage is what it
costs on one core, whatever else runs.

    .venv/bin/python benchmarks/runtime_overhead.py --detect engines/yolo12n --depth engines/depth \
        --out benchmarks/results/runtime_overhead_cpu.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_PCT = 10.0
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def main() -> None:
    args = _parse()
    from trtbuild.backends.registry import library_versions
    from trtbuild.host import host_summary

    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "host": host_summary(library_versions()),
               "goal_pct": GOAL_PCT, "models": {}}
    frames = _frames(args.images, args.frames)
    for name, folder in (("detect", args.detect), ("depth", args.depth)):
        if folder is not None:
            results["models"][name] = measure(folder, frames, args)
            print(_line(name, results["models"][name]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


def measure(folder: Path, frames: list, args) -> dict:
    import trtbuild
    from trtbuild.bench.stats import summarize

    model = trtbuild.load(folder, runtime=args.runtime, precision=args.precision, threads=args.threads)
    model.warmup()
    times = {clock: {"prepare": [], "infer": [], "post": []} for clock in CLOCKS}
    for _ in range(args.passes):
        for frame in frames:
            batch = _timed(times, "prepare", model.task.prepare, frame)
            outputs = _timed(times, "infer", model.infer, batch[None])
            _timed(times, "post", model.task.results, outputs, [frame])  # the task's defaults (conf 0.25, ...)
    found = {"runtime": model.runtime, "why": model.why, "threads": args.threads, "frames": len(frames),
             "passes": args.passes}
    for clock, stages in times.items():
        stats = {stage: summarize(values).as_dict() for stage, values in stages.items()}
        found[clock] = {"stages": stats, "overhead_pct_of_infer": 100 * (
            stats["prepare"]["median_ms"] + stats["post"]["median_ms"]) / stats["infer"]["median_ms"]}
    return found


def _timed(times: dict, stage: str, work, *args, **kwargs):
    start = {clock: read() for clock, read in CLOCKS.items()}
    found = work(*args, **kwargs)
    for clock, read in CLOCKS.items():
        times[clock][stage].append((read() - start[clock]) * 1000)
    return found


def _frames(folder: Path, count: int) -> list:
    import cv2

    paths = sorted(folder.glob("*.jpg"))[:count]
    if not paths:
        sys.exit(f"--images {folder}: no .jpg images")
    return [cv2.imread(str(p)) for p in paths]


def _line(name: str, found: dict) -> str:
    parts = []
    for clock in CLOCKS:
        s = found[clock]["stages"]
        parts.append(f"{clock}: prepare {s['prepare']['median_ms']:.2f}, infer {s['infer']['median_ms']:.2f}, post "
                     f"{s['post']['median_ms']:.2f} ms (p50) -> {found[clock]['overhead_pct_of_infer']:.1f} % of infer")
    return f"{name}: {found['runtime']}: " + "; ".join(parts)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detect", type=Path, help="the YOLO12n engine-set folder (engines/yolo12n)")
    parser.add_argument("--depth", type=Path, help="the Depth-Anything-V2 engine-set folder (engines/depth)")
    parser.add_argument("--images", type=Path, default=REPO.parent / "shared/assets/coco128/images/train2017")
    parser.add_argument("--frames", type=int, default=32, help="images used (the first N, sorted)")
    parser.add_argument("--passes", type=int, default=2, help="passes over the images")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--precision", default=None)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the runtime (default: all)")
    parser.add_argument("--out", type=Path, required=True, help="JSON results file")
    return parser.parse_args()


if __name__ == "__main__":
    main()
