"""Detection (Ultralytics YOLO heads, raw (B, 4+nc, anchors) output): square letterbox in, Ultralytics NMS out, boxes
mapped back to frame pixels with Ultralytics' own scale_boxes. Accuracy: the candidate's mAP with PyTorch's
detections as ground truth, and both models' mAP against the labels (the gate compares those two)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from trtbuild.accuracy.detection import (REFERENCE_CONF, as_labels, decode_yolo, drop_pct, load_yolo_labels,
                                         match_images, reference_matches, score_matches, with_drops)
from trtbuild.recipe.schema import Gate
from trtbuild.tasks.base import Result, Task, TaskAccuracy, TaskOptions, resize_tensor

OVERLAY_CONF = 0.25  # boxes drawn on the overlay (mAP uses every detection down to decode_yolo's 0.001)


class DetectOptions(TaskOptions):
    """Ultralytics predict's meaning and defaults."""

    conf: float = Field(0.25, ge=0, le=1, description="minimum confidence, 0 to 1")
    iou: float = Field(0.7, ge=0, le=1, description="NMS IoU threshold, 0 to 1")
    max_det: int = Field(300, ge=1, description="most boxes per frame, 1 or more")
    classes: list[int] | None = Field(None, description="only these class ids, of the model's names")
    agnostic: bool = Field(False, description="NMS across classes, True or False")

    @field_validator("classes")
    @classmethod
    def _known(cls, classes: list[int] | None, info: ValidationInfo) -> list[int] | None:
        names = (info.context or {}).get("names") or {}
        unknown = [c for c in classes or [] if names and c not in names]
        if unknown:
            raise ValueError(f"class {unknown[0]} is not one of the model's {len(names)} classes "
                             f"({min(names)}-{max(names)})")
        return classes


class DetectTask(Task):
    name = "detect"
    default_gates = (Gate(metric="map50_95_drop_pct", max=1.0),)
    options = DetectOptions

    def prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Ultralytics' square letterbox (auto=False): a fixed-size engine needs it; the minimal-padding rectangle
        of `predict`'s default would not fit the engine's input."""
        from ultralytics.data.augment import LetterBox

        return self.normalise(LetterBox(self.input_hw, auto=False, stride=32)(image=frame_bgr))

    def prepare_tensor(self, frame):
        """The same letterbox on the frame's device (torch resize; LetterBox's size, padding and grey 114)."""
        import torch.nn.functional as F

        h, w = frame.shape[:2]
        scale = min(self.input_hw[0] / h, self.input_hw[1] / w)
        new_h, new_w = max(round(h * scale), 1), max(round(w * scale), 1)
        top, left = round((self.input_hw[0] - new_h) / 2 - 0.1), round((self.input_hw[1] - new_w) / 2 - 0.1)
        resized = resize_tensor(frame, (new_h, new_w), "linear").permute(2, 0, 1)
        bottom, right = self.input_hw[0] - new_h - top, self.input_hw[1] - new_w - left
        boxed = F.pad(resized, (left, right, top, bottom), value=114.0)
        return self.normalise_tensor(boxed.permute(1, 2, 0))

    def results(self, outputs: dict[str, np.ndarray], frames: list[np.ndarray], **options) -> list[Result]:
        """Ultralytics' NMS with these options (DetectOptions) where the outputs are: numpy on the host, a tensor on
        its device (on a GPU with torchvision's NMS kernel, which Ultralytics uses once torchvision is imported; its
        own fallback loops in Python and waits for the GPU at every step). Only the kept boxes come to the host, in
        one copy."""
        import torch
        from ultralytics.utils.nms import non_max_suppression
        from ultralytics.utils.ops import scale_boxes

        raw = self.first_output(outputs)  # (B, 4 + nc, anchors): host array, or a tensor on the frames' device
        if isinstance(raw, torch.Tensor) and raw.is_cuda:
            import torchvision  # noqa: F401 - what makes non_max_suppression run torchvision.ops.nms
        names, given = self.names, self.settings(**options)
        found = []
        for index, frame in enumerate(frames):
            (detections,) = non_max_suppression(_candidates(raw[index], given.conf), conf_thres=given.conf,
                                                iou_thres=given.iou, classes=given.classes, agnostic=given.agnostic,
                                                max_det=given.max_det)
            boxes = scale_boxes(self.input_hw, detections[:, :4].clone(), frame.shape[:2])
            kept = torch.cat([boxes, detections[:, 4:6]], dim=1).cpu().numpy()
            found.append(Result(task=self.name, shape=tuple(frame.shape[:2]), outputs=self.unbatch(outputs, index),
                                boxes=kept[:, :4].astype(np.float32), scores=np.ascontiguousarray(kept[:, 4]),
                                classes=kept[:, 5].astype(np.int64), names=names))
        return found

    def accuracy(self, labels: dict[Path, Path] | None = None) -> TaskAccuracy:
        return DetectionAccuracy(self, labels)

    @staticmethod
    def headline(values: dict) -> str:
        if "map50_95_pytorch" in values:
            return (f"mAP50-95 {values['map50_95_pytorch']:.4f} -> {values['map50_95']:.4f} "
                    f"(drop {values['map50_95_drop_pct']:.2f} %, labels; paired "
                    f"{values['map50_95_drop_vs_pytorch_pct']:.2f} %)")
        return f"mAP50-95 drop {values['map50_95_drop_pct']:.2f} % vs PyTorch detections (no labels)"


class DetectionAccuracy(TaskAccuracy):
    def __init__(self, task: DetectTask, labels: dict[Path, Path] | None):
        self.task = task
        self.label_files = labels  # image -> YOLO label file (trtbuild.data.datasets.ImageSet.labels)
        self.reference: list[np.ndarray] = []
        self.candidate: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.images: list[Path] = []
        self.first = None  # (input image, reference boxes, candidate boxes) for the overlay

    def add(self, images: list[Path], batch: np.ndarray, reference: dict[str, np.ndarray],
            candidate: dict[str, np.ndarray]) -> None:
        ref, cand = decode_yolo(self.task.first_output(reference)), decode_yolo(self.task.first_output(candidate))
        self.reference += ref
        self.candidate += cand
        self.images += images
        if self.label_files:
            self.labels += [load_yolo_labels(self.label_files[p], _image_hw(p), self.task.input_hw) for p in images]
        if self.first is None:
            self.first = (batch[0], ref[0], cand[0])

    def evaluate(self) -> None:
        from trtbuild.accuracy.matched import drop_intervals

        vs_pytorch, ceiling = reference_matches(self.reference, self.candidate)
        self.vs_pytorch = with_drops(score_matches(ceiling), score_matches(vs_pytorch))
        self.pytorch_labels = self.candidate_labels = None
        basis = (ceiling, vs_pytorch)  # what the gated drop compares: PyTorch's and the candidate's matches
        if self.labels:
            basis = (match_images(self.labels, self.reference), match_images(self.labels, self.candidate))
            self.pytorch_labels, self.candidate_labels = (score_matches(matches) for matches in basis)
        # the drop's interval on its own basis; without labels the paired keys are the same numbers
        self.intervals = drop_intervals(*basis)
        if not self.labels:
            self.intervals.update({key.replace("_drop_", "_drop_vs_pytorch_"): interval
                                   for key, interval in self.intervals.items()})
        self.slices = self._slices() if self.by_slice else None

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
        found["intervals"] = self.intervals
        if self.slices is not None:
            found["slices"] = self.slices
        return found

    def _slices(self) -> dict | None:
        """AP by object size and by class (trtbuild.accuracy.coco_slices), on the gate's basis; None without the
        image files (their size sets the areas)."""
        from trtbuild.accuracy.coco_slices import detection_slices

        if len(self.images) != len(self.reference):
            return None
        truth = self.labels or as_labels(self.reference, REFERENCE_CONF)
        return detection_slices(truth, self.reference, self.candidate, [_image_hw(p) for p in self.images],
                                self.task.input_hw, self.task.metadata.get("names", {}), self.basis())

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
        from trtbuild.core.plots import detection_overlay

        image, ref, cand = self.first
        path = workdir / "detections.png"
        detection_overlay(image, ref[ref[:, 4] >= OVERLAY_CONF], cand[cand[:, 4] >= OVERLAY_CONF], path)
        return {"detections_png": path.name}


def _candidates(raw, conf: float):
    """(1, 4 + nc, kept anchors) float32 tensor: the anchors whose best class score passes `conf`, the only ones
    Ultralytics' NMS keeps after its first filter, so it gives the same detections in the same order. Picked out in
    numpy for host arrays, it spares torch's threaded reduction over all 8400 anchors (2.2 -> 0.9 ms a frame on an
    idle core; 10x more on a loaded host). Exactly 6 anchors would read as an end-to-end (B, N, 6) output: then an
    all-zero anchor, which that filter drops, goes last."""
    import torch

    if isinstance(raw, np.ndarray):
        raw = np.asarray(raw, dtype=np.float32)
        kept = torch.from_numpy(np.ascontiguousarray(raw[:, raw[4:].max(axis=0) > conf]))
    else:
        kept = raw.float()[:, raw[4:].amax(0) > conf]
    if kept.shape[1] == 6:
        kept = torch.cat([kept, kept.new_zeros((len(kept), 1))], dim=1)
    return kept[None]


def _image_hw(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.height, image.width


TASK = DetectTask
