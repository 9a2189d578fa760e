"""`trtbuild predict`: a model over an image, folder, glob or video, as `yolo predict` does: annotated images
(detection) or colour-mapped depth under the save folder, and one JSON line of results per frame.

Everything is written into a temporary folder beside the save folder and renamed into place at the end, so a failed
or interrupted run leaves nothing half-written."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trtbuild.runtime.frames import iter_source
from trtbuild.tasks.base import Result

Progress = Callable[[int, int | None, float], None]  # frames done, total (None: unknown), frames per second


@dataclass
class PredictSummary:
    save_dir: Path
    frames: int
    seconds: float
    runtime: str
    why: str

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def next_free(folder: Path) -> Path:
    """runs/predict/yolo12n, then yolo12n2, yolo12n3, ... (Ultralytics' increment_path): a run never overwrites."""
    if not folder.exists():
        return folder
    index = 2
    while folder.with_name(f"{folder.name}{index}").exists():
        index += 1
    return folder.with_name(f"{folder.name}{index}")


def predict_source(model, source: str, save_dir: Path, progress: Progress | None = None,
                   save_images: bool = True, **options) -> PredictSummary:
    count, frames = iter_source(source)
    save_dir = next_free(save_dir)
    save_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = save_dir.with_name(f".{save_dir.name}.partial-{os.getpid()}")
    partial.mkdir()
    done, start = 0, time.perf_counter()
    try:
        with (partial / "results.jsonl").open("w") as lines:
            for name, frame in frames:
                result = model.predict(frame, **options)[0]
                lines.write(json.dumps({"frame": name, **result.to_dict()}) + "\n")
                if save_images:
                    _save_view(partial / f"{Path(name).stem}.jpg", frame, result)
                done += 1
                if progress:
                    progress(done, count, done / (time.perf_counter() - start))
        partial.rename(save_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return PredictSummary(save_dir, done, time.perf_counter() - start, model.runtime, model.why)


def annotated(frame: np.ndarray, result: Result) -> np.ndarray | None:
    """What a person looks at: the frame with boxes (Ultralytics' own plotting), the colour-mapped depth, or None
    for tasks without a picture."""
    if result.depth is not None:
        return result.depth_colormap()
    if result.boxes is None:
        return None
    import torch
    from ultralytics.engine.results import Results

    boxes = np.concatenate([result.boxes, result.scores[:, None], result.classes[:, None]], axis=1)
    names = result.names or {int(c): str(int(c)) for c in result.classes}
    return Results(frame, path="", names=names, boxes=torch.from_numpy(boxes.astype(np.float32))).plot()


def _save_view(path: Path, frame: np.ndarray, result: Result) -> None:
    import cv2

    view = annotated(frame, result)
    if view is not None and not cv2.imwrite(str(path), view):
        raise OSError(f"cannot write {path}")
