"""Relative depth (Depth-Anything-V2): the frame resized to the engine's fixed square input, the output resized back
to the frame. Accuracy: relative MSE, AbsRel and delta1 of the candidate's map against PyTorch's, image by image,
each mean with its bootstrap interval over images. Slices (values()["slices"], JSON):

    {"by_range": [{"slice": "near" | "middle" | "far", "rel_mse_pct": mean over images, "abs_rel": ..., "delta1": ...},
                  ...],   # thirds of each image's reference values (relative inverse depth: near is large)
     "worst_images": [{"image": file name, "rel_mse_pct": ..., "abs_rel": ..., "delta1": ...}, ...]}  # WORST_IMAGES
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.accuracy.depth import RANGES, aggregate_depth_errors, depth_errors, depth_errors_by_range
from trtbuild.recipe.schema import Gate
from trtbuild.tasks.base import Result, Task, TaskAccuracy


class DepthTask(Task):
    name = "depth"
    default_gates = (Gate(metric="depth_rel_mse_pct", max=5.0),)

    def results(self, outputs: dict[str, np.ndarray], frames: list[np.ndarray], **options) -> list[Result]:
        """The map brought back to each frame's size (bilinear, as the original `infer_image` does); from a torch
        tensor (a CUDA frame's outputs) the map stays a tensor on that device."""
        maps = self.first_output(outputs)
        found = []
        for index, frame in enumerate(frames):
            h, w = frame.shape[:2]
            found.append(Result(task=self.name, shape=(h, w), outputs=self.unbatch(outputs, index),
                                depth=_resized(maps[index], h, w)))
        return found

    def accuracy(self, labels: dict[Path, Path] | None = None) -> TaskAccuracy:
        return DepthAccuracy(self)

    @staticmethod
    def headline(values: dict) -> str:
        return f"depth rel MSE {values['depth_rel_mse_pct']:.3g} %, AbsRel {values['depth_abs_rel']:.3g}"


def _resized(depth, h: int, w: int):
    if isinstance(depth, np.ndarray):
        import cv2

        return cv2.resize(np.squeeze(depth).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    import torch.nn.functional as F

    plane = depth.float().reshape(1, 1, *depth.shape[-2:])
    return F.interpolate(plane, size=(h, w), mode="bilinear", align_corners=False)[0, 0]


WORST_IMAGES = 5
INTERVALS = {"depth_rel_mse_pct": "rel_mse_pct", "depth_abs_rel": "abs_rel", "depth_delta1": "delta1"}


class DepthAccuracy(TaskAccuracy):
    def __init__(self, task: DepthTask):
        self.task = task
        self.per_image: list[dict] = []
        self.by_range: list[list[dict]] = []  # per image: depth_errors_by_range
        self.names: list[str] = []
        self.first = None  # (reference map, candidate map) for the error plot

    def add(self, images: list[Path], batch: np.ndarray, reference: dict[str, np.ndarray],
            candidate: dict[str, np.ndarray]) -> None:
        ref, cand = self.task.first_output(reference), self.task.first_output(candidate)
        self.per_image += [depth_errors(r, c) for r, c in zip(ref, cand)]
        if self.by_slice:
            self.by_range += [depth_errors_by_range(r, c) for r, c in zip(ref, cand)]
        self.names += [Path(p).name for p in images] or [f"image {len(self.names) + i}" for i in range(len(ref))]
        if self.first is None:
            self.first = (np.squeeze(ref[0]), np.squeeze(cand[0]))

    def evaluate(self) -> None:
        from trtbuild.accuracy.intervals import mean_interval

        self.summary = aggregate_depth_errors(self.per_image)
        self.intervals = {name: mean_interval([e[key] for e in self.per_image]) for name, key in INTERVALS.items()}

    def values(self) -> dict:
        s = self.summary
        found = {"depth_rel_mse_pct": s["rel_mse_pct"], "depth_worst_rel_mse_pct": s["worst_rel_mse_pct"],
                 "depth_abs_rel": s["abs_rel"], "depth_delta1": s["delta1"], "intervals": self.intervals}
        if self.by_slice:
            found["slices"] = self.slices()
        return found

    def slices(self) -> dict:
        errors = ("rel_mse_pct", "abs_rel", "delta1")
        by_range = [{"slice": name, **{key: float(np.nanmean([image[third][key] for image in self.by_range]))
                                       for key in errors}} for third, name in enumerate(RANGES)]
        worst = sorted(range(len(self.per_image)), key=lambda i: -self.per_image[i]["rel_mse_pct"])[:WORST_IMAGES]
        return {"by_range": by_range,
                "worst_images": [{"image": self.names[i], **{key: self.per_image[i][key] for key in errors}}
                                 for i in worst]}

    def table(self) -> list[dict]:
        s = self.summary
        return [{"metric": "relative MSE % vs PyTorch", "pytorch": 0.0, "candidate": s["rel_mse_pct"]},
                {"metric": "AbsRel vs PyTorch", "pytorch": 0.0, "candidate": s["abs_rel"]},
                {"metric": "delta1 vs PyTorch", "pytorch": 1.0, "candidate": s["delta1"]}]

    def detail(self) -> dict:
        return {"summary": self.summary, "per_image": self.per_image}

    def plot(self, workdir: Path) -> dict[str, str]:
        from trtbuild.core.plots import depth_error_map

        path = workdir / "depth_error.png"
        depth_error_map(*self.first, path)
        return {"depth_error_png": path.name}


TASK = DepthTask
