"""Depth accuracy: relative MSE, AbsRel and delta1 of the candidate's map against PyTorch's, image by image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.accuracy.task import TaskAccuracy
from trtbuild.metrics.depth import aggregate_depth_errors, depth_errors


class DepthAccuracy(TaskAccuracy):
    task = "depth"

    def __init__(self):
        self.per_image: list[dict] = []
        self.first = None  # (reference map, candidate map) for the error plot

    def add(self, images: list[Path], batch: np.ndarray, reference: np.ndarray, candidate: np.ndarray) -> None:
        self.per_image += [depth_errors(r, c) for r, c in zip(reference, candidate)]
        if self.first is None:
            self.first = (np.squeeze(reference[0]), np.squeeze(candidate[0]))

    def evaluate(self) -> None:
        self.summary = aggregate_depth_errors(self.per_image)

    def values(self) -> dict[str, float]:
        s = self.summary
        return {"depth_rel_mse_pct": s["rel_mse_pct"], "depth_worst_rel_mse_pct": s["worst_rel_mse_pct"],
                "depth_abs_rel": s["abs_rel"], "depth_delta1": s["delta1"]}

    def table(self) -> list[dict]:
        s = self.summary
        return [{"metric": "relative MSE % vs PyTorch", "pytorch": 0.0, "candidate": s["rel_mse_pct"]},
                {"metric": "AbsRel vs PyTorch", "pytorch": 0.0, "candidate": s["abs_rel"]},
                {"metric": "delta1 vs PyTorch", "pytorch": 1.0, "candidate": s["delta1"]}]

    def detail(self) -> dict:
        return {"summary": self.summary, "per_image": self.per_image}

    def plot(self, workdir: Path) -> dict[str, str]:
        from trtbuild.plots import depth_error_map

        path = workdir / "depth_error.png"
        depth_error_map(*self.first, path)
        return {"depth_error_png": path.name}
