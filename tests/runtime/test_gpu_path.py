"""The runtime's GPU path on a CUDA GPU (ONNX Runtime's CUDA provider, torch CUDA): numpy frames prepared on the GPU
give what the CPU preparation gives, post-processing on the GPU gives what it gives on the host, a CUDA frame's
results stay on the GPU, and the pinned upload buffer is never overwritten while a copy still reads it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from conftest import ASSETS
from trtbuild.runtime.frames import Upload
from trtbuild.runtime.model import load
from trtbuild.tasks.base import Result

pytestmark = pytest.mark.gpu

IMAGES = sorted((ASSETS / "coco128" / "images" / "train2017").glob("*.jpg"))[:16]
CLEAR = 0.3  # boxes this far above the 0.25 threshold must be found by both paths (nearer ones may flip)


def _frames(count: int = len(IMAGES)) -> list[np.ndarray]:
    return [cv2.imread(str(p)) for p in IMAGES[:count]]


def _unmatched(reference: Result, other: Result, tolerance_px: float) -> list[str]:
    """Each clear reference box needs a box of the same class in `other` with every coordinate within the
    tolerance; returns the misses."""
    misses = []
    for box, score, cls in zip(reference.boxes, reference.scores, reference.classes):
        if score < CLEAR:
            continue
        same = other.boxes[other.classes == cls]
        error = np.abs(same - box).max(axis=1).min() if len(same) else np.inf
        if error > tolerance_px:
            misses.append(f"class {cls} box {box.round(1).tolist()} score {score:.3f}: nearest {error:.2f} px")
    return misses


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_numpy_frames_on_the_gpu_path_detect_what_the_host_path_detects(yolo_engines, precision):
    """Both `prepare_on` choices against numpy all through (OpenCV preparation, the session on host arrays, NMS on
    the host): the same clear boxes, same classes, within 2 px."""
    gpu, cpu = (load(yolo_engines, precision=precision, prepare_on=place) for place in ("gpu", "cpu"))
    assert gpu.runtime.startswith("onnxruntime (CUDA)") and gpu.device == torch.device("cuda", 0)
    assert (gpu.prepare_on, cpu.prepare_on) == ("gpu", "cpu")
    misses, boxes = [], 0
    for frame in _frames():
        host = cpu.task.results(cpu.infer(np.stack([cpu.task.prepare(frame)])), [frame])[0]
        for model in (gpu, cpu):
            ours = model(frame)
            assert isinstance(ours.boxes, np.ndarray) and ours.boxes.dtype == np.float32
            assert isinstance(ours.outputs["output0"], np.ndarray)  # a numpy frame's result is numpy throughout
            misses += _unmatched(host, ours, 2.0) + _unmatched(ours, host, 2.0)
        boxes += len(host.boxes)
    assert boxes > 50 and not misses


def test_detection_decoded_on_the_gpu_is_the_host_decoding(yolo_engines):
    model = load(yolo_engines, precision="fp32")
    for frame in _frames(8):
        outputs = model.infer(model.prepare([frame]))
        assert outputs["output0"].is_cuda
        (on_gpu,) = model.decode(outputs, [frame])
        (on_host,) = model.task.results({name: t.cpu().numpy() for name, t in outputs.items()}, [frame])
        assert len(on_gpu.boxes) == len(on_host.boxes) and np.array_equal(on_gpu.classes, on_host.classes)
        np.testing.assert_allclose(on_gpu.boxes, on_host.boxes, atol=1e-3)


def _rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_depth_prepared_and_resized_on_the_gpu_is_the_cpu_paths_map(depth_engines):
    gpu, cpu = (load(depth_engines, precision="fp32", prepare_on=place) for place in ("gpu", "cpu"))
    assert gpu.runner.on_gpu()
    for frame in _frames(6):
        ours, theirs = gpu(frame), cpu(frame)
        assert isinstance(ours.depth, np.ndarray) and ours.depth.dtype == np.float32
        assert ours.depth.shape == theirs.depth.shape == frame.shape[:2]
        assert _rel_l2(ours.depth, theirs.depth) < 0.01  # cubic resize by torch vs OpenCV, then the network
        outputs = gpu.infer(gpu.prepare([frame]))
        (on_host,) = gpu.task.results({name: t.cpu().numpy() for name, t in outputs.items()}, [frame])
        assert _rel_l2(gpu.decode(outputs, [frame])[0].depth, on_host.depth) < 1e-4  # resize: torch vs OpenCV


def test_a_cuda_frames_results_stay_on_the_gpu(depth_engines, yolo_engines):
    frame = _frames(1)[0]
    depth = load(depth_engines, precision="fp32", device="cuda:0")
    result = depth(torch.from_numpy(frame).cuda())
    assert result.depth.is_cuda and tuple(result.depth.shape) == frame.shape[:2]
    assert all(t.is_cuda for t in result.outputs.values())
    on_host = result.depth.cpu().numpy()
    expected = Result(task="depth", shape=frame.shape[:2], outputs={}, depth=on_host).depth_colormap()
    assert np.array_equal(result.depth_colormap(), expected)
    assert _rel_l2(on_host, depth(frame).depth) < 0.01
    detect = load(yolo_engines, precision="fp32", device=0)
    boxes = detect(torch.from_numpy(frame).cuda())
    assert isinstance(boxes.boxes, np.ndarray) and boxes.outputs["output0"].is_cuda and len(boxes.boxes)


def test_stream_on_the_gpu_from_a_side_stream_gives_what_predict_gives(yolo_engines):
    model = load(yolo_engines, precision="fp32")
    frames = _frames(8)
    expected = model.predict(frames)
    side = torch.cuda.Stream()
    for lookahead in (0, 2):
        with torch.cuda.stream(side):  # worker threads must enqueue on this stream, not on their default one
            got = list(model.stream(frames, lookahead))
        for ours, theirs in zip(got, expected, strict=True):
            assert len(ours.boxes) == len(theirs.boxes)
            np.testing.assert_allclose(ours.boxes, theirs.boxes, atol=1e-3)


def test_a_cuda_graph_gives_what_plain_runs_give(yolo_engines):
    """The runner replays into the same output buffers every frame: each Result must be the copy of its own frame's
    outputs, taken before the next replay overwrites them (predict, and stream with threads)."""
    plain, graphed = (load(yolo_engines, precision="fp32", cuda_graph=flag) for flag in (False, True))
    graphed.warmup()
    described = graphed.runner.describe()
    assert described["cuda_graph"] or described["cuda_graph_fallback"]
    frames = _frames(8)
    expected = plain.predict(frames)
    for got in (graphed.predict(frames), list(graphed.stream(frames))):
        for ours, theirs in zip(got, expected, strict=True):
            assert len(ours.boxes) == len(theirs.boxes)
            np.testing.assert_allclose(ours.boxes, theirs.boxes, atol=1e-2)
            np.testing.assert_allclose(ours.outputs["output0"], theirs.outputs["output0"], atol=1e-2)


def test_the_upload_buffer_is_reused_only_after_its_copy_is_done():
    upload = Upload(torch.device("cuda", 0))
    first, second = (np.full((480, 640, 3), value, np.uint8) for value in (1, 2))
    torch.cuda._sleep(200_000_000)  # keep the stream busy (~0.1 s): the first copy waits behind it
    a = upload(first)
    b = upload(second)  # writes the same pinned buffer: must wait until the first copy has read it
    torch.cuda.synchronize()
    assert bool((a == 1).all()) and bool((b == 2).all())
    big = upload(np.arange(2 * 480 * 640 * 3, dtype=np.float32).reshape(2, 3, 480, 640))  # the buffer grows
    torch.cuda.synchronize()
    assert big.dtype == torch.float32 and float(big[1, 2, 479, 639]) == 2 * 480 * 640 * 3 - 1
