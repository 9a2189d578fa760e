"""The task contract: everything that differs between detection, depth, classification, ... in one object.

A task turns a BGR frame into the model's input (the geometry is the task's: letterbox, plain resize; the pixel
format is the adapter's, `models.registry.InputFormat`), turns the model's outputs back into results in frame pixels,
and owns its accuracy metrics, their default gates and plots. verify, the precision stage's accuracy check and the
runtime (`trtbuild.load`) all use the same task object, so what verify measures is what an application gets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from trtbuild.core.errors import UsageError
from trtbuild.models.registry import InputFormat, input_format
from trtbuild.recipe.schema import Gate, Recipe

INTERPOLATION = {"linear": 1, "cubic": 2}  # cv2.INTER_LINEAR, cv2.INTER_CUBIC (cv2 imported only when resizing)


@dataclass
class Result:
    """One frame's result. Detection: `boxes` (N, 4) xyxy float32 in frame pixels, `scores`, `classes` (numpy
    arrays whatever the frame: a few hundred numbers), `names`; depth: `depth` (H, W) float32 relative depth
    (disparity) at the frame's size; classification: `top5`; every task: `outputs`, the raw model outputs by name
    (batch axis removed).

    Arrays follow the frame. A numpy frame gives numpy results, also when the model ran on a GPU: the depth map is
    copied to the host once, `outputs` stay on the GPU until one is read (`HostArrays`). A torch tensor frame gives
    `depth` and `outputs` as tensors where the model left them (a CUDA frame's on its GPU: no copy to the host)."""

    task: str
    shape: tuple[int, int]  # the frame's (height, width)
    outputs: Mapping[str, np.ndarray] = field(repr=False)
    boxes: np.ndarray | None = None
    scores: np.ndarray | None = None
    classes: np.ndarray | None = None
    names: dict[int, str] | None = None
    depth: np.ndarray | None = field(default=None, repr=False)
    top5: list[tuple[int, float]] | None = None  # classification: (class id, probability), best first
    _device_depth: object = field(default=None, init=False, repr=False, compare=False)  # see on_host

    def on_host(self) -> Result:
        """This result of a numpy frame with numpy arrays, from outputs on a GPU: the depth map copied to the host
        now (its GPU copy kept, so `depth_colormap` colours it there), the raw outputs when first read."""
        found = replace(self, outputs=HostArrays(self.outputs),
                        depth=None if self.depth is None else _host_array(self.depth))
        found._device_depth = self.depth
        return found

    def depth_colormap(self) -> np.ndarray:
        """The depth map as a BGR uint8 (H, W, 3) image for display (min-max normalised per frame, cv2's inferno
        colours). A map on a GPU is coloured there (a 256-entry table look-up); only the image comes to the host."""
        import cv2

        if self.depth is None:
            raise ValueError(f"a {self.task} result has no depth map")
        depth = self.depth if self._device_depth is None else self._device_depth
        if not isinstance(depth, np.ndarray):
            return _colormap_tensor(depth)
        low, high = float(depth.min()), float(depth.max())
        scaled = (depth - low) * (255.0 / (high - low) if high > low else 0.0)
        return cv2.applyColorMap(scaled.astype(np.uint8), cv2.COLORMAP_INFERNO)

    def to_dict(self) -> dict:
        """JSON-ready summary (what `trtbuild predict` writes per frame)."""
        found: dict = {"task": self.task, "shape": list(self.shape)}
        if self.boxes is not None:
            found["detections"] = [
                {"box": [round(float(v), 2) for v in box], "score": round(float(score), 4), "class": int(cls),
                 "name": (self.names or {}).get(int(cls), str(int(cls)))}
                for box, score, cls in zip(self.boxes, self.scores, self.classes)]
        if self.depth is not None:
            found["depth"] = {"min": float(self.depth.min()), "max": float(self.depth.max()),
                              "mean": float(self.depth.mean())}
        if self.top5 is not None:
            found["top5"] = [{"class": c, "name": (self.names or {}).get(c, str(c)), "p": round(p, 5)}
                             for c, p in self.top5]
        if len(found) == 2:
            found["outputs"] = {name: list(array.shape) for name, array in self.outputs.items()}
        return found


class HostArrays(Mapping):
    """Raw outputs left where the model wrote them (torch tensors), each copied to a numpy array the first time it is
    read: a numpy frame's results are numpy, and an application that never reads `outputs` pays no copy."""

    def __init__(self, tensors: Mapping):
        self._tensors = tensors
        self._arrays: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            self._arrays[name] = _host_array(self._tensors[name])
        return self._arrays[name]

    def __iter__(self):
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)


def _host_array(value) -> np.ndarray:
    """A torch tensor (any device) or an array -> a numpy array (dtypes numpy lacks as float32, the runners' rule)."""
    from trtbuild.tensorrt.dtypes import NOT_IN_NUMPY

    if isinstance(value, np.ndarray):
        return value
    return (value.float() if str(value.dtype).removeprefix("torch.") in NOT_IN_NUMPY else value).cpu().numpy()


@cache
def _inferno_bgr() -> np.ndarray:
    """cv2's INFERNO colour map as a (256, 3) BGR uint8 table: applyColorMap of 0..255, once."""
    import cv2

    return cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_INFERNO)[:, 0]


@cache
def _inferno_on(device):
    import torch

    return torch.from_numpy(_inferno_bgr()).to(device)


def _colormap_tensor(depth) -> np.ndarray:
    """depth_colormap's arithmetic on the tensor's device, step for step as numpy does it (float32 values, the scale
    computed in float64 and rounded to float32, truncation to uint8), so the image is cv2's; one copy to the host."""
    import torch

    depth = depth.float()
    low, high = torch.aminmax(depth)
    span = high.double() - low.double()
    scale = torch.where(span > 0, 255.0 / span, 0.0).float()
    levels = ((depth - low) * scale).to(torch.uint8)
    return _inferno_on(depth.device)[levels.long()].cpu().numpy()


class TaskAccuracy(ABC):
    """Accuracy of a candidate against the PyTorch reference, fed batch by batch."""

    by_slice = True  # also the slices (AP by object size and class, depth by range): off for the INT8 search's trials

    @abstractmethod
    def add(self, images: list[Path], batch: np.ndarray, reference: dict[str, np.ndarray],
            candidate: dict[str, np.ndarray]) -> None:
        """One batch: the image files, the model input, and both models' outputs by name."""

    @abstractmethod
    def evaluate(self) -> None:
        """Compute the metrics once every batch is in."""

    @abstractmethod
    def values(self) -> dict:
        """Gateable numbers by name, plus `intervals` ({name: trtbuild.accuracy.intervals.Interval} for the numbers
        that have one, computed from the per-image statistics kept by `add`) and, where the task has them, `slices`
        (plain JSON; its shape is in the task module's docstring)."""

    def basis(self) -> str:
        """What the candidate is judged against: "labels" (ground truth) or "pytorch" (its outputs)."""
        return "pytorch"

    @abstractmethod
    def table(self) -> list[dict]:
        """Rows {metric, pytorch, candidate} for the report."""

    @abstractmethod
    def detail(self) -> dict: ...

    def plot(self, workdir: Path) -> dict[str, str]:
        """Write PNGs into `workdir`; returns artifact role -> file name."""
        return {}


def resize_tensor(frame, size_hw: tuple[int, int], interpolation: str):
    """(H, W, 3) uint8 tensor -> (h, w, 3) float32 tensor of 0..255 values, rounded and clamped as cv2 does for
    uint8."""
    import torch.nn.functional as F

    mode = {"linear": "bilinear", "cubic": "bicubic"}[interpolation]
    image = frame.permute(2, 0, 1)[None].float()
    resized = F.interpolate(image, size=size_hw, mode=mode, align_corners=False)
    return resized[0].permute(1, 2, 0).round().clamp(0, 255)


class TaskOptions(BaseModel):
    """A task's post-processing options, declared once: `load(...)`, `model(frame, ...)` and `trtbuild predict`'s
    flags of the same names are all validated here (a field's description says what it means). None by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Task(ABC):
    name: ClassVar[str]
    default_gates: ClassVar[tuple[Gate, ...]] = ()  # used when the recipe lists none
    options: ClassVar[type[TaskOptions]] = TaskOptions

    def __init__(self, recipe: Recipe, metadata: dict | None = None):
        self.recipe = recipe
        self.metadata = metadata or {}  # the export stage's adapter metadata (class names, stride, ...)
        self.input = recipe.inputs[0]
        self.input_hw = (self.input.shape[2], self.input.shape[3]) if len(self.input.shape) == 4 else None
        self.format: InputFormat = input_format(recipe.model)
        self._tables: list[np.ndarray] | None = None  # normalise's per-channel look-up tables
        self._tensor_format: dict = {}  # normalise_tensor's mean and std by device

    # frame -> model

    def prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        """One BGR uint8 frame (H, W, 3) -> the (C, H, W) float32 model input; the default is a plain resize."""
        import cv2

        h, w = self.input_hw
        resized = cv2.resize(frame_bgr, (w, h), interpolation=INTERPOLATION[self.format.interpolation])
        return self.normalise(resized)

    def normalise(self, image_bgr: np.ndarray) -> np.ndarray:
        """BGR uint8 at the input size -> RGB (C, H, W) float32 in the adapter's format: (x / 255 - mean) / std in
        float32, looked up per channel from a 256-entry table (cv2.LUT), the same values in one pass instead of four
        (640x640: 0.8 ms instead of 4.6 ms on this 2-core host)."""
        import cv2

        if self._tables is None:
            scaled = np.arange(256, dtype=np.float32) / 255.0
            self._tables = [(scaled - np.float32(m)) / np.float32(s) for m, s in zip(self.format.mean, self.format.std)]
        found = np.empty((3, *image_bgr.shape[:2]), dtype=np.float32)
        for table, plane, channel in zip(self._tables, cv2.split(image_bgr)[::-1], found):
            cv2.LUT(plane, table, dst=channel)
        return found

    def prepare_tensor(self, frame):
        """A BGR uint8 (H, W, 3) torch tensor (a CUDA frame stays on its GPU) -> the (C, H, W) float32 input on the
        same device; resized by torch (bilinear / bicubic, clamped like cv2's uint8 result), so the values differ
        from `prepare`'s by resampling only."""
        return self.normalise_tensor(resize_tensor(frame, self.input_hw, self.format.interpolation))

    def normalise_tensor(self, image_bgr):
        """normalise() on a (H, W, 3) float tensor of 0..255 values."""
        rgb = image_bgr.flip(-1).permute(2, 0, 1) / 255.0
        mean, std = self._mean_std(rgb.device)
        return ((rgb - mean) / std).contiguous()

    def _mean_std(self, device):
        """The format's mean and std as (3, 1, 1) tensors on `device`, made once per device (a copy to a GPU each
        frame would wait for it)."""
        import torch

        if device not in self._tensor_format:
            self._tensor_format[device] = tuple(torch.tensor(values, dtype=torch.float32, device=device)[:, None, None]
                                                for values in (self.format.mean, self.format.std))
        return self._tensor_format[device]

    # model -> results

    @property
    def names(self) -> dict[int, str]:
        """Class id -> name, from the export metadata (empty when the model has none)."""
        return {int(k): v for k, v in self.metadata.get("names", {}).items()}

    def settings(self, **given) -> TaskOptions:
        """`given` options checked against the task's declaration (class ids against the model's names), defaults
        filled in; the first problem is one line naming the option, its value and what it takes."""
        try:
            return self.options.model_validate(given, context={"names": self.names})
        except ValidationError as exc:
            error = exc.errors()[0]
            name = ".".join(map(str, error["loc"][:1]))
            if error["type"] == "extra_forbidden":
                known = ", ".join(self.options.model_fields) or "none"
                raise UsageError(f"{name}: not an option of the {self.name} task (options: {known})") from None
            field = self.options.model_fields[name]
            problem = error["msg"].removeprefix("Value error, ")
            raise UsageError(f"{name}={given[name]!r}: {problem[:1].lower()}{problem[1:]} ({self.name} option: "
                             f"{field.description})") from None

    @abstractmethod
    def results(self, outputs: dict[str, np.ndarray], frames: list[np.ndarray], **options) -> list[Result]:
        """Batched outputs (axis 0 = frame) of these frames -> one Result per frame, in frame pixels."""

    # accuracy

    def accuracy(self, labels: dict[Path, Path] | None = None) -> TaskAccuracy | None:
        """The metrics verify and the precision stage compute; None: this task has only tensor parity."""
        return None

    @staticmethod
    def headline(values: dict) -> str:
        """The accuracy numbers a reader looks for first (the precision stage's summary line)."""
        return f"finite {values.get('finite')}"

    def gates(self) -> list[Gate]:
        return list(self.recipe.verify.gates or self.default_gates)

    def unbatch(self, outputs: dict[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
        return {name: array[index] for name, array in outputs.items()}

    def first_output(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        return outputs[self.recipe.export.output_names[0]]
