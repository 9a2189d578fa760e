"""The two-worker layout's own ceiling: `examples/perception_pipeline.py --layouts workers` with the models taken out.

The main process sends each frame to two worker processes through multiprocessing queues and takes back what the
example's workers send (detection: boxes, scores, classes; depth: the colormap and the depth map, both at the frame's
size), with the same number of frames in flight. No model runs, so the frames per second measured here are the most
that layout can reach on this host whatever the runtime: the pickling and pipe copies of ~4 MB per frame.

    python3 benchmarks/queue_ceiling.py --source ../shared/assets/coco128/images/train2017 --out ceiling.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np

IN_FLIGHT = 4  # as examples/perception_pipeline.py


def echo(task: str, inbox, outbox) -> None:
    """What the example's worker sends back for each frame, without the model."""
    while (frame := inbox.get()) is not None:
        h, w = frame.shape[:2]
        outbox.put((np.zeros((12, 4), np.float32), np.zeros(12, np.float32), np.zeros(12, np.int64))
                   if task == "detect" else (np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.float32)))


def main() -> None:
    args = _parse()
    frames = [cv2.imread(str(p)) for p in sorted(args.source.glob("*.jpg"))[:args.frames]]
    spawn = multiprocessing.get_context("spawn")
    boxes = {task: (spawn.Queue(), spawn.Queue()) for task in ("detect", "depth")}
    procs = [spawn.Process(target=echo, args=(task, *queues), daemon=True) for task, queues in boxes.items()]
    for proc in procs:
        proc.start()
    count, pending, end = 0, 0, time.perf_counter() + args.duration
    start = time.perf_counter()
    while True:
        frame = frames[count % len(frames)] if time.perf_counter() < end else None
        for inbox, _ in boxes.values():
            inbox.put(frame)
        pending += frame is not None
        while pending and (pending >= IN_FLIGHT or frame is None):
            for _, outbox in boxes.values():
                outbox.get()
            pending, count = pending - 1, count + 1
        if frame is None:
            break
    fps = count / (time.perf_counter() - start)
    for proc in procs:
        proc.join()
    print(f"two-worker layout without models: {fps:.1f} FPS ({count} frames)")
    if args.out:
        args.out.write_text(json.dumps({"command": shlex.join([Path(sys.executable).name, *sys.argv]),
                                        "cpu_count": os.cpu_count(), "frames": count, "fps": fps}, indent=1) + "\n")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="an image folder (the example's frames)")
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    return parser.parse_args()


if __name__ == "__main__":
    main()
