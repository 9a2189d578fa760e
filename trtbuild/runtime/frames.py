"""Frames in: BGR uint8 images as OpenCV gives them, image files, and the sources `trtbuild predict` reads (an image,
a folder, a glob, a video). Anything else is one line that names the frame and what to pass instead. `Upload` takes
host frames to a GPU."""

from __future__ import annotations

import glob
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from trtbuild.core.errors import UsageError
from trtbuild.data.images import IMAGE_SUFFIXES, list_images

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


class FrameError(UsageError, ValueError):
    """A frame the model cannot take (wrong dtype, rank, channels, unreadable file)."""


def as_frame(frame, where: str = "frame") -> np.ndarray:
    """A BGR uint8 (H, W, 3) array from an array or an image path, or a uint8 (H, W, 3) torch tensor (kept on its
    device); anything else raises FrameError."""
    if isinstance(frame, (str, Path)):
        return read_image(Path(frame))
    if is_tensor(frame):
        return _tensor_frame(frame, where)
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"{where}: a {type(frame).__name__}, not an image: pass a BGR uint8 numpy array "
                         "(H, W, 3) as cv2.imread gives, or an image path")
    if frame.dtype != np.uint8:
        raise FrameError(f"{where}: dtype {frame.dtype}, expected uint8 (0-255 BGR as cv2.imread gives; for floats "
                         "in [0, 1] pass (x * 255).astype(np.uint8))")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise FrameError(f"{where}: shape {tuple(frame.shape)}, expected (H, W, 3) BGR (grey or BGRA: convert with "
                         "cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR / COLOR_BGRA2BGR))")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise FrameError(f"{where}: shape {tuple(frame.shape)} is too small to be an image")
    return frame


def is_tensor(frame) -> bool:
    return type(frame).__module__.startswith("torch")


def _tensor_frame(frame, where: str):
    """A torch tensor frame stays where it is (a CUDA frame is prepared on its GPU): uint8 (H, W, 3), BGR."""
    if str(frame.dtype) != "torch.uint8":
        raise FrameError(f"{where}: a tensor of {frame.dtype}, expected torch.uint8 (0-255 BGR, (H, W, 3))")
    if frame.dim() != 3 or frame.shape[2] != 3 or min(frame.shape[:2]) < 2:
        raise FrameError(f"{where}: a tensor of shape {tuple(frame.shape)}, expected (H, W, 3) BGR; from a (3, H, W) "
                         "RGB tensor pass t.flip(0).permute(1, 2, 0)")
    return frame


class Upload:
    """Host arrays to one GPU through one reused page-locked (pinned) buffer: each copy is asynchronous on the
    caller's current CUDA stream, and the next array waits only until the previous copy has left the buffer (an
    event), never for the GPU's other work. The buffer grows to the largest array seen, so frames of any size cost no
    allocation once it has. Thread-safe (Model.stream prepares in worker threads)."""

    def __init__(self, device):
        import torch

        self.device = device
        self._buffer = None  # pinned uint8 tensor
        self._copied = torch.cuda.Event()  # recorded after each copy out of the buffer
        self._lock = threading.Lock()

    def __call__(self, array: np.ndarray):
        """`array` -> a tensor of its dtype and shape on the device, valid on the caller's current stream."""
        import torch

        with self._lock:
            self._copied.synchronize()  # the previous copy has read the buffer (returns at once before any record)
            if self._buffer is None or self._buffer.numel() < array.nbytes:
                self._buffer = torch.empty(array.nbytes, dtype=torch.uint8, pin_memory=True)
            staged = self._buffer.numpy()[: array.nbytes].view(array.dtype).reshape(array.shape)
            np.copyto(staged, array)
            found = torch.from_numpy(staged).to(self.device, non_blocking=True)
            self._copied.record(torch.cuda.current_stream(self.device))
        return found


def read_image(path: Path) -> np.ndarray:
    import cv2

    if not path.is_file():
        raise FrameError(f"{path}: no such image file")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError(f"{path}: not a readable image ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return image


def as_frames(frames) -> list[np.ndarray]:
    """One frame or a list of them -> a list of BGR uint8 arrays."""
    if isinstance(frames, (list, tuple)):
        if not frames:
            raise FrameError("frames: an empty list")
        return [as_frame(f, f"frame {i}") for i, f in enumerate(frames)]
    return [as_frame(frames)]


def iter_source(source: str) -> tuple[int | None, Iterator[tuple[str, Path | np.ndarray]]]:
    """(frame count if known, iterator of (name, frame)) for an image, folder, glob or video file: an image is its
    path, read by `as_frame` when its turn comes (so one unreadable file fails alone), a video frame its BGR array;
    a video's count is what its container states."""
    path = Path(source)
    if path.is_dir():
        images = list_images(path)
        if not images:
            raise UsageError(f"--source {source}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
        return len(images), ((p.name, p) for p in images)
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return _video(path)
    if path.is_file():
        return 1, iter([(path.name, path)])
    matches = sorted(Path(p) for p in glob.glob(source) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    if not matches:
        raise UsageError(f"--source {source}: no such image, folder, video or glob match")
    return len(matches), ((p.name, p) for p in matches)


def _video(path: Path) -> tuple[int | None, Iterator[tuple[str, np.ndarray]]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    ok, first = capture.read() if capture.isOpened() else (False, None)
    if not ok:
        capture.release()
        raise UsageError(f"--source {path}: an empty or unreadable video (OpenCV could not decode a frame)")
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None

    def frames() -> Iterator[tuple[str, np.ndarray]]:
        index, frame = 0, first
        try:
            while frame is not None:
                yield f"{path.stem}_{index:06d}", frame
                ok, frame = capture.read()
                frame, index = (frame if ok else None), index + 1
        finally:
            capture.release()

    return count, frames()
