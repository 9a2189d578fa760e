"""Model.stream: pre- and post-processing in threads beside inference, results in frame order, errors surface."""

from __future__ import annotations

import queue
import threading
import time

import cv2
import numpy as np
import pytest

from conftest import ASSETS
from trtbuild.runtime.frames import FrameError
from trtbuild.runtime.model import load
from trtbuild.runtime.stream import stream
from trtbuild.tasks.base import Result


class SlowModel:
    """A Model's stream interface whose prepare/decode sleep (as resize and NMS take time) and record the thread each
    frame was prepared on; inference doubles the input."""

    device = None  # on the CPU

    def __init__(self):
        self.threads = {}  # frame value -> thread name

    def prepare(self, frames):
        self.threads[int(frames[0][0, 0, 0])] = threading.current_thread().name
        time.sleep(0.02 * (frames[0][0, 0, 0] % 3))  # uneven, so out-of-order completion would show
        return frames[0][None, ..., 0].astype(np.float32)

    def infer(self, batch):
        return {"y": batch * 2}

    def decode(self, outputs, frames, **options):
        time.sleep(0.01 * (frames[0][0, 0, 0] % 2))
        return [Result(task="fake", shape=frames[0].shape[:2], outputs=outputs, scores=outputs["y"][0, :1, 0])]


FRAMES = [np.full((2, 3, 3), i, np.uint8) for i in range(12)]


def test_results_in_frame_order_with_work_off_the_calling_thread():
    model = SlowModel()
    timings = {"prepare": [], "infer": [], "post": []}
    results = list(stream(model, iter(FRAMES), {}, lookahead=3, timings=timings))
    assert [float(r.scores[0]) for r in results] == [2.0 * i for i in range(12)]
    here = threading.current_thread().name
    assert model.threads[0] == here  # the first frame alone (a runner may capture a CUDA graph on it)
    assert all(model.threads[i] != here for i in range(1, 12))
    assert all(len(values) == 12 for values in timings.values())


def test_lookahead_zero_runs_in_the_calling_thread():
    model = SlowModel()
    results = list(stream(model, iter(FRAMES), {}, lookahead=0))
    assert [float(r.scores[0]) for r in results] == [2.0 * i for i in range(12)]
    assert set(model.threads.values()) == {threading.current_thread().name}


def test_a_bad_frame_raises_from_the_stream():
    with pytest.raises(FrameError, match=r"dtype float32"):
        list(stream(SlowModel(), [np.zeros((2, 3, 3), np.uint8), np.zeros((2, 3, 3), np.float32)], {}))


@pytest.mark.parametrize("lookahead", [0, 2])
def test_stream_gives_what_predict_gives(yolo_engines, lookahead):
    frames = [cv2.imread(str(p)) for p in sorted((ASSETS / "coco128/images/train2017").glob("*.jpg"))[:4]]
    model = load(yolo_engines, precision="fp32")
    for ours, theirs in zip(model.stream(frames, lookahead, conf=0.3), model.predict(frames, conf=0.3), strict=True):
        assert np.array_equal(ours.boxes, theirs.boxes) and np.array_equal(ours.classes, theirs.classes)


@pytest.mark.parametrize("window", [1, 4])
def test_a_source_fed_only_after_results_come_back_never_waits_forever(window):
    """A worker's inbox: the main process sends frame k + window only once it got frame k's Result."""
    inbox = queue.SimpleQueue()
    for frame in FRAMES[:window]:
        inbox.put(frame)

    def source():
        while (frame := inbox.get(timeout=5)) is not None:  # queue.Empty if the stream sits on a finished Result
            yield frame

    results = []
    for i, result in enumerate(stream(SlowModel(), source(), {}, lookahead=2)):
        results.append(float(result.scores[0]))
        inbox.put(FRAMES[i + window] if i + window < len(FRAMES) else None)
    assert results == [2.0 * i for i in range(12)]


def test_a_stream_left_early_reads_no_further_frames():
    taken = []

    def source():
        for frame in FRAMES:
            taken.append(frame)
            yield frame

    results = stream(SlowModel(), source(), {}, lookahead=3)
    next(results), next(results)
    results.close()
    at_close = len(taken)
    time.sleep(0.3)  # the reader thread would have served the queued requests by now
    assert len(taken) - at_close <= 1  # at most the read under way when the stream was left
