"""Pre- and post-processing per frame against the model's own time, on the runtime `trtbuild.load` picks, for each
path a numpy frame can take.

Each stage is timed apart, frame after frame on real COCO128 images (no overlap): `prepare` (letterbox / resize +
normalise), `infer` (the runner alone) and `post` (NMS + boxes to frame pixels / depth map back to the frame, and
on a GPU the copy of the results to the host). Paths:
- `host`: numpy all through, as on a CPU: OpenCV preparation, the runner on host arrays (on a GPU its own copies in
  and out), NMS / resize on the host;
- `cpu` (GPU only): OpenCV preparation uploaded through pinned memory (`load(prepare_on="cpu")`), the runner on
  device memory, post-processing on the GPU;
- `gpu` (GPU only): the uint8 frame uploaded and prepared by torch on the GPU (`prepare_on="gpu"`), then as `cpu`.
On a GPU every stage ends with torch.cuda.synchronize, so the device work a stage enqueued counts in that stage.
Goal: prepare + post <= 10 % of infer (issue 16 item 8 on a CPU, issue 27 on a GPU host); the faster of `cpu` and
`gpu` is what `trtbuild.runtime.model.PREPARE_ON` should say. Wall time (perf_counter) and the process's CPU time
(process_time, every thread; on a GPU it includes the synchronisation's spinning) are both kept.

    .venv/bin/python benchmarks/runtime_overhead.py --detect engines/yolo12n --depth engines/depth \
        --out benchmarks/results/runtime_overhead_gpu.json
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
WARM_FRAMES = 4  # run through each path untimed first (allocations, kernel selection, the pinned buffer)


def main() -> None:
    args = _parse()
    from trtbuild.backends.registry import library_versions
    from trtbuild.core.host import host_summary

    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "host": host_summary(library_versions()),
               "goal_pct": GOAL_PCT, "models": {}}
    frames = _frames(args.images, args.frames)
    for name, folder in (("detect", args.detect), ("depth", args.depth)):
        if folder is not None:
            results["models"][name] = found = measure(folder, frames, args)
            for path in found["paths"]:
                print(_line(name, path, found["paths"][path]), flush=True)
            if found.get("faster_prepare_on"):
                print(f"{name}: prepare_on={found['faster_prepare_on']!r} is faster", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


def measure(folder: Path, frames: list, args) -> dict:
    import trtbuild

    found: dict = {"threads": args.threads, "frames": len(frames), "passes": args.passes, "paths": {}}
    for place in ("cpu", "gpu"):
        model = trtbuild.load(folder, runtime=args.runtime, precision=args.precision, threads=args.threads,
                              prepare_on=place)
        found.update(runtime=model.runtime, why=model.why, device=str(model.device))
        paths = {}
        if place == "cpu":
            paths["host"] = (lambda frame: model.task.prepare(frame)[None], model.infer,
                             lambda outputs, frame: model.task.results(outputs, [frame]))
        if model.device is not None:
            paths[place] = (lambda frame: model.prepare([frame]), model.infer,
                            lambda outputs, frame: model.decode(outputs, [frame]))
        for path, stages in paths.items():
            found["paths"][path] = _timed_path(stages, frames, args.passes, _synchronize(model))
        model.close()
        if model.device is None:  # on the CPU there is only the host path
            break
    if {"cpu", "gpu"} <= set(found["paths"]):
        found["faster_prepare_on"] = min(("cpu", "gpu"), key=lambda p: _overhead_ms(found["paths"][p]["wall"]))
    return found


def _timed_path(stages, frames: list, passes: int, synchronize) -> dict:
    prepare, infer, post = stages
    times = {clock: {"prepare": [], "infer": [], "post": []} for clock in CLOCKS}

    def timed(stage: str, work, *args):
        start = {clock: read() for clock, read in CLOCKS.items()}
        found = work(*args)
        synchronize()
        for clock, read in CLOCKS.items():
            times[clock][stage].append((read() - start[clock]) * 1000)
        return found

    for frame in frames[:WARM_FRAMES]:
        post(infer(prepare(frame)), frame)
    synchronize()
    for _ in range(passes):
        for frame in frames:
            timed("post", post, timed("infer", infer, timed("prepare", prepare, frame)), frame)
    return {clock: _summary(stages) for clock, stages in times.items()}


def _summary(stages: dict) -> dict:
    from trtbuild.bench.stats import summarize

    stats = {stage: summarize(values).as_dict() for stage, values in stages.items()}
    found = {"stages": stats}
    found["overhead_ms"] = _overhead_ms(found)
    found["overhead_pct_of_infer"] = 100 * found["overhead_ms"] / stats["infer"]["median_ms"]
    return found


def _overhead_ms(clock: dict) -> float:
    return clock["stages"]["prepare"]["median_ms"] + clock["stages"]["post"]["median_ms"]


def _synchronize(model):
    if model.device is None:
        return lambda: None
    import torch

    return lambda: torch.cuda.synchronize(model.device)


def _frames(folder: Path, count: int) -> list:
    import cv2

    paths = sorted(folder.glob("*.jpg"))[:count]
    if not paths:
        sys.exit(f"--images {folder}: no .jpg images")
    return [cv2.imread(str(p)) for p in paths]


def _line(name: str, path: str, found: dict) -> str:
    parts = []
    for clock in CLOCKS:
        s = found[clock]["stages"]
        parts.append(f"{clock}: prepare {s['prepare']['median_ms']:.2f}, infer {s['infer']['median_ms']:.2f}, post "
                     f"{s['post']['median_ms']:.2f} ms (p50) -> {found[clock]['overhead_pct_of_infer']:.1f} % of infer")
    return f"{name} [{path}]: " + "; ".join(parts)


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
