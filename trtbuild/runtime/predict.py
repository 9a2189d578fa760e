"""`trtbuild predict`: a model over an image, folder, glob or video, as `yolo predict` does: annotated images
(detection) or colour-mapped depth under the save folder, and one JSON line of results per frame.

A long run survives a bad input: an unreadable image is one warning, an `"error"` line in results.jsonl and a count
in the summary, and the run goes on. Everything is written into a temporary folder beside the save folder and
renamed into place at the end; Ctrl-C or a full disk keeps what finished there too (whole images, whole JSON lines)
and says so, any other failure leaves nothing."""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trtbuild.core.errors import CannotWrite, Interrupted, UsageError
from trtbuild.core.stale import write_atomically
from trtbuild.runtime.frames import FrameError, as_frame, iter_source
from trtbuild.tasks.base import Result

Progress = Callable[[int, int | None, float], None]  # frames done, total (None: unknown), frames per second
Warn = Callable[[str], None]  # one line about an input that was passed over
RESULTS = "results.jsonl"
# errno values that mean "this place cannot take the write": a full disk or quota, a file-size limit
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


@dataclass
class PredictSummary:
    save_dir: Path
    frames: int  # frames answered
    seconds: float
    runtime: str
    why: str
    failed: list[str] = field(default_factory=list)  # one line per input that could not be read
    expected: int | None = None  # frames the source stated (a video's container), when known

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


def predict_source(model, source: str, save_dir: Path, progress: Progress | None = None, save_images: bool = True,
                   warn: Warn | None = None, **options) -> PredictSummary:
    count, frames = iter_source(source)
    save_dir = next_free(save_dir)
    partial = _partial_folder(save_dir)
    summary = PredictSummary(save_dir, 0, 0.0, model.runtime, model.why)
    start = time.perf_counter()
    lines, seen = _WholeLines(partial / RESULTS), 0
    try:
        for seen, (name, item) in enumerate(frames, 1):
            try:
                frame = as_frame(item, name)
            except FrameError as exc:  # an unreadable file: said, recorded, and the run goes on
                summary.failed.append(str(exc))
                lines.write({"frame": name, "error": str(exc)})
                if warn:
                    warn(str(exc))
                continue
            result = model.predict(frame, **options)[0]
            if save_images:
                _save_view(partial / f"{Path(name).stem}.jpg", frame, result)
            lines.write({"frame": name, **result.to_dict()})
            summary.frames += 1
            if progress:
                progress(seen, count, summary.frames / (time.perf_counter() - start))
        if count is not None and seen < count:  # a video shorter than its container says
            summary.expected = count
            summary.failed.append(f"{source}: ended after {seen} of the {count} frames its container states")
            if warn:
                warn(summary.failed[-1])
    except (KeyboardInterrupt, OSError) as exc:
        raise _kept(exc, lines, partial, save_dir, summary.frames, count) from None
    except BaseException:
        lines.close()
        shutil.rmtree(partial, ignore_errors=True)
        raise
    lines.close()
    partial.rename(save_dir)
    summary.seconds = time.perf_counter() - start
    return summary


def _partial_folder(save_dir: Path) -> Path:
    """The temporary folder beside `save_dir`; a --save-dir that cannot be a folder is one line."""
    partial = save_dir.with_name(f".{save_dir.name}.partial-{os.getpid()}")
    try:
        partial.mkdir(parents=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next(p for p in save_dir.parents if p.exists())
        raise UsageError(f"--save-dir {save_dir}: {blocker} is a file, not a folder; choose another --save-dir") \
            from None
    except OSError as exc:
        raise CannotWrite(f"--save-dir {save_dir}: cannot create it ({exc.strerror}); choose another --save-dir") \
            from None
    return partial


class _WholeLines:
    """results.jsonl written a whole line at a time: after a failed or interrupted write the file is cut back to the
    last whole line."""

    def __init__(self, path: Path):
        self.path = path
        self._file = path.open("wb")
        self.count = 0
        self._whole = 0  # bytes up to the end of the last whole line

    def write(self, record: dict) -> None:
        self._file.write((json.dumps(record) + "\n").encode())
        self._file.flush()
        self._whole = self._file.tell()
        self.count += 1

    def close(self) -> None:
        """Close, keeping whole lines only (truncating needs no free space)."""
        try:
            self._file.close()
        except OSError:  # the buffer's last bytes could not be written: the cut below drops them
            pass
        os.truncate(self.path, self._whole)


def _kept(exc: BaseException, lines: _WholeLines, partial: Path, save_dir: Path, done: int, count: int | None):
    """Ctrl-C or a full disk: what finished goes to `save_dir` (nothing when no line was written); the error to
    raise says where and how much."""
    lines.close()
    if isinstance(exc, OSError) and exc.errno not in _FULL:
        shutil.rmtree(partial, ignore_errors=True)
        return CannotWrite(f"cannot write {exc.filename or partial}: {exc.strerror or exc}; nothing was kept")
    of = f" of {count}" if count else ""
    if lines.count:
        partial.rename(save_dir)
        kept = f"{done}{of} frames' results are kept in {save_dir} (whole images and {RESULTS} lines only)"
    else:
        shutil.rmtree(partial, ignore_errors=True)
        kept = "nothing was written"
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted(f"interrupted: {kept}")
    return CannotWrite(f"no room to write {save_dir} ({exc.strerror}): {kept}; free space and run again")


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
    """The view as a whole file or none (encoded, then written under a temp name and renamed)."""
    import cv2

    view = annotated(frame, result)
    if view is None:
        return
    ok, encoded = cv2.imencode(".jpg", view)
    if not ok:
        raise OSError(errno.EIO, "OpenCV could not encode the view", str(path))
    write_atomically(path, encoded.tobytes())
