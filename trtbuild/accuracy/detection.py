"""Detection accuracy: Ultralytics NMS on both raw outputs, the candidate's mAP with PyTorch's detections as ground
truth, and both models' mAP against the labels (the gate compares those two)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trtbuild.accuracy.task import TaskAccuracy
from trtbuild.metrics.detection import decode_yolo, drop_pct, load_yolo_labels, map_vs_labels, map_vs_reference

OVERLAY_CONF = 0.25  # boxes drawn on the overlay (mAP uses every detection down to decode_yolo's 0.001)


class DetectionAccuracy(TaskAccuracy):
    task = "detect"

    def __init__(self, input_hw: tuple[int, int], labels: dict[Path, Path] | None):
        self.input_hw = input_hw
        self.label_files = labels  # image -> YOLO label file (trtbuild.data.ImageSet.labels)
        self.reference: list[np.ndarray] = []
        self.candidate: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.first = None  # (input image, reference boxes, candidate boxes) for the overlay

    def add(self, images: list[Path], batch: np.ndarray, reference: np.ndarray, candidate: np.ndarray) -> None:
        ref, cand = decode_yolo(reference), decode_yolo(candidate)
        self.reference += ref
        self.candidate += cand
        if self.label_files:
            self.labels += [load_yolo_labels(self.label_files[p], _image_hw(p), self.input_hw) for p in images]
        if self.first is None:
            self.first = (batch[0], ref[0], cand[0])

    def evaluate(self) -> None:
        self.vs_pytorch = map_vs_reference(self.reference, self.candidate)
        self.pytorch_labels = map_vs_labels(self.labels, self.reference) if self.labels else None
        self.candidate_labels = map_vs_labels(self.labels, self.candidate) if self.labels else None

    def values(self) -> dict[str, float]:
        found = {
            "map50_95_vs_pytorch": self.vs_pytorch["map50_95"],
            "map50_vs_pytorch": self.vs_pytorch["map50"],
            "map50_95_drop_vs_pytorch_pct": self.vs_pytorch["map50_95_drop_pct"],
            "map50_drop_vs_pytorch_pct": self.vs_pytorch["map50_drop_pct"],
        }
        if self.candidate_labels:  # the gate's basis: the candidate's label mAP relative to PyTorch's
            found.update({
                "map50_95": self.candidate_labels["map50_95"],
                "map50": self.candidate_labels["map50"],
                "map50_95_pytorch": self.pytorch_labels["map50_95"],
                "map50_pytorch": self.pytorch_labels["map50"],
                "map50_95_drop_pct": drop_pct(self.pytorch_labels["map50_95"], self.candidate_labels["map50_95"]),
                "map50_drop_pct": drop_pct(self.pytorch_labels["map50"], self.candidate_labels["map50"]),
            })
        else:  # no labels: PyTorch's detections are the only ground truth
            found["map50_95_drop_pct"] = found["map50_95_drop_vs_pytorch_pct"]
            found["map50_drop_pct"] = found["map50_drop_vs_pytorch_pct"]
        return found

    def table(self) -> list[dict]:
        rows = []
        if self.candidate_labels:
            rows += [{"metric": f"{label} (labels)", "pytorch": self.pytorch_labels[key],
                      "candidate": self.candidate_labels[key]}
                     for label, key in (("mAP50-95", "map50_95"), ("mAP50", "map50"), ("precision", "precision"),
                                        ("recall", "recall"))]
        rows += [{"metric": f"{label} vs PyTorch detections", "pytorch": None, "candidate": self.vs_pytorch[key]}
                 for label, key in (("mAP50-95", "map50_95"), ("mAP50", "map50"))]
        return rows

    def detail(self) -> dict:
        return {"basis": self.basis(), "images": len(self.reference), "vs_pytorch": self.vs_pytorch,
                "pytorch_vs_labels": self.pytorch_labels, "candidate_vs_labels": self.candidate_labels}

    def basis(self) -> str:
        return "labels" if self.candidate_labels else "pytorch"

    def plot(self, workdir: Path) -> dict[str, str]:
        from trtbuild.plots import detection_overlay

        image, ref, cand = self.first
        path = workdir / "detections.png"
        detection_overlay(image, ref[ref[:, 4] >= OVERLAY_CONF], cand[cand[:, 4] >= OVERLAY_CONF], path)
        return {"detections_png": path.name}


def _image_hw(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.height, image.width
