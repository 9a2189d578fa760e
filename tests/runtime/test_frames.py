"""Frames a model cannot take are one line naming the frame and what to pass instead."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from trtbuild.core.errors import UsageError
from trtbuild.runtime.frames import FrameError, as_frame, as_frames, iter_source


def test_bgr_uint8_arrays_and_image_paths_are_frames(tmp_path):
    frame = np.zeros((4, 5, 3), np.uint8)
    assert as_frame(frame) is frame
    cv2.imwrite(str(tmp_path / "a.png"), frame)
    assert as_frame(tmp_path / "a.png").shape == (4, 5, 3)
    assert len(as_frames([frame, str(tmp_path / "a.png")])) == 2


@pytest.mark.parametrize(("frame", "message"), [
    (np.zeros((4, 5, 3), np.float32), r"frame: dtype float32, expected uint8"),
    (np.zeros((4, 5), np.uint8), r"frame: shape \(4, 5\), expected \(H, W, 3\) BGR"),
    (np.zeros((4, 5, 4), np.uint8), r"shape \(4, 5, 4\).*COLOR_BGRA2BGR"),
    ([1, 2, 3], r"frame 0: a int, not an image"),
    ("missing.jpg", r"missing.jpg: no such image file"),
])
def test_bad_frames(frame, message):
    with pytest.raises(FrameError, match=message):
        as_frames(frame)


def test_an_unreadable_image_and_an_empty_list(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(FrameError, match=r"bad.jpg: not a readable image"):
        as_frame(tmp_path / "bad.jpg")
    with pytest.raises(FrameError, match=r"an empty list"):
        as_frames([])


def test_sources_folder_glob_and_video(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), np.full((8, 8, 3), i * 40, np.uint8))
    count, frames = iter_source(str(tmp_path))
    assert count == 3 and [name for name, _ in frames] == ["0.jpg", "1.jpg", "2.jpg"]
    assert iter_source(str(tmp_path / "*.jpg"))[0] == 3
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (16, 16))
    for i in range(5):
        writer.write(np.full((16, 16, 3), i * 50, np.uint8))
    writer.release()
    count, frames = iter_source(str(video))
    names = [name for name, frame in frames]
    assert count == 5 and names[0] == "clip_000000" and len(names) == 5


def test_bad_sources(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(UsageError, match=r"empty.mp4: an empty or unreadable video"):
        iter_source(str(tmp_path / "empty.mp4"))
    with pytest.raises(UsageError, match=r"no images .* in this folder"):
        iter_source(str(tmp_path / "nothing")) if (tmp_path / "nothing").mkdir() is None else None
    with pytest.raises(UsageError, match=r"no such image, folder, video or glob match"):
        iter_source(str(tmp_path / "*.png"))
