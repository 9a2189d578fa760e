"""trtbuild.load on real engine sets: what Ultralytics' own predict gives, in one process or in spawned workers."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time

import cv2
import numpy as np
import pytest
import torch

from conftest import ASSETS, YOLO_WEIGHTS, has_cuda_gpu
from trtbuild.core.errors import UsageError
from trtbuild.runtime.model import load

IMAGES = sorted((ASSETS / "coco128" / "images" / "train2017").glob("*.jpg"))[:16]


def _matched(reference_boxes, reference_classes, boxes, classes) -> list[float]:
    """For each reference box, the best IoU among our boxes of the same class."""
    from ultralytics.utils.metrics import box_iou

    if not len(reference_boxes):
        return []
    iou = box_iou(torch.as_tensor(reference_boxes), torch.as_tensor(boxes)).numpy()
    same = np.asarray(reference_classes)[:, None] == np.asarray(classes)[None, :]
    return list(np.where(same, iou, 0.0).max(axis=1))


def test_fp32_matches_ultralytics_predict_with_the_square_letterbox(yolo_engines):
    from ultralytics import YOLO

    reference = YOLO(str(YOLO_WEIGHTS))
    model = load(yolo_engines, precision="fp32")
    assert model.runtime == "onnxruntime (CPU) yolo12n.onnx" and model.precision == "fp32"
    ious, total = [], 0
    for path in IMAGES:
        frame = cv2.imread(str(path))
        ours = model(frame)
        theirs = reference.predict(frame, imgsz=640, rect=False, verbose=False)[0].boxes
        assert len(ours.boxes) == len(theirs), path.name
        ious += _matched(theirs.xyxy.numpy(), theirs.cls.numpy(), ours.boxes, ours.classes)
        total += len(theirs)
    assert total > 50 and min(ious) >= 0.99  # measured: 70 boxes, the same count on all 16 images, every IoU 1.000


def test_fp16_within_the_recipe_gate_and_options(yolo_engines):
    frames = [cv2.imread(str(p)) for p in IMAGES]
    fp32, fp16 = load(yolo_engines, precision="fp32"), load(yolo_engines, precision="fp16")
    reference, candidate = fp32.predict(frames), fp16.predict(frames)
    ious = [iou for r, c in zip(reference, candidate) for iou in _matched(r.boxes, r.classes, c.boxes, c.classes)]
    assert np.mean(np.asarray(ious) >= 0.9) >= 0.95
    strict = fp16.predict(frames, conf=0.6, classes=[0], max_det=2)
    assert all(len(r.boxes) <= 2 and set(r.classes) <= {0} and (r.scores >= 0.6).all() for r in strict)
    assert frames[0].shape[:2] == candidate[0].shape and (candidate[0].boxes[:, 2:] <= frames[0].shape[1::-1]).all()
    with pytest.raises(UsageError, match=r"alpha: not an option of the detect task"):
        fp16.predict(frames[0], alpha=1)


def _worker(folder: str, paths: list[str], queue) -> None:
    model = load(folder, precision="fp32", threads=1)
    queue.put([(r.boxes, r.scores, r.classes) for r in model.predict(paths)])


def test_spawned_workers_return_what_one_process_returns(yolo_engines):
    paths = [str(p) for p in IMAGES[:4]]
    expected = [(r.boxes, r.scores, r.classes) for r in load(yolo_engines, precision="fp32", threads=1).predict(paths)]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_worker, args=(str(yolo_engines), paths, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    got = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    for results in got:
        for (boxes, scores, classes), (b, s, c) in zip(expected, results):
            np.testing.assert_array_equal(boxes, b)
            np.testing.assert_array_equal(scores, s)
            np.testing.assert_array_equal(classes, c)


def test_a_changed_file_is_never_loaded(yolo_engines, tmp_path):
    folder = tmp_path / "yolo12n"
    shutil.copytree(yolo_engines, folder)
    data = bytearray((folder / "yolo12n.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "yolo12n.onnx").write_bytes(bytes(data))
    model = load(folder)  # auto: the damaged FP32 graph is passed over, the FP16 one runs
    assert model.precision == "fp16" and "yolo12n.onnx differs from what engines.json recorded" in model.why
    with pytest.raises(UsageError, match=r"yolo12n.onnx differs from what engines.json recorded \(sha256\)"):
        load(folder / "yolo12n.onnx")


@pytest.mark.long
def test_depth_reproduces_the_reference_output_and_maps_back_to_the_frame(tmp_path):
    from conftest import DEPTH_SEEDED, REFERENCE
    from trtbuild import api
    from trtbuild.build.pipeline import BuildOptions
    from trtbuild.recipe import Overrides

    api.build("depth", Overrides(weights=DEPTH_SEEDED), BuildOptions("simplify", out_root=tmp_path / "engines"),
              cache_dir=tmp_path / "cache")
    model = load(tmp_path / "engines" / "depth", precision="fp32")
    reference = torch.load(REFERENCE / "depth_anything_v2_vits_reference_io.pt", weights_only=True)
    got = model.infer(reference["input_518"].float().numpy())["depth"]
    want = reference["output_518"].numpy()
    assert np.linalg.norm(got - want) / np.linalg.norm(want) <= 1e-3  # measured 3.6e-6 (ONNX Runtime CPU, FP32)
    frame = cv2.imread(str(ASSETS / "coco8" / "images" / "val" / "000000000036.jpg"))
    result = model(frame)
    assert result.depth.shape == frame.shape[:2] and result.depth.dtype == np.float32
    assert result.depth_colormap().shape == frame.shape and result.depth_colormap().dtype == np.uint8


def test_torch_tensor_frames_stay_on_their_device_and_agree_with_arrays(yolo_engines):
    model = load(yolo_engines, precision="fp32")
    frames = [cv2.imread(str(p)) for p in IMAGES]
    ious, counts = [], 0
    for frame in frames:
        host, tensor = model(frame), model(torch.from_numpy(frame))
        assert len(tensor.boxes) == len(host.boxes)
        ious += _matched(host.boxes, host.classes, tensor.boxes, tensor.classes)
        counts += len(host.boxes)
    # the letterbox resizes with torch instead of cv2 (same size, padding and rounding): measured min IoU 0.992
    assert counts > 50 and min(ious) >= 0.98
    with pytest.raises(UsageError, match=r"frame: a tensor of torch.float32, expected torch.uint8"):
        model(torch.zeros((8, 8, 3)))


def test_close_waits_for_an_inference_and_is_idempotent(yolo_engines):
    model = load(yolo_engines, precision="fp32", threads=1)
    runner = model.runner
    with model._lock:  # an inference in progress
        closing = threading.Thread(target=model.close)
        closing.start()
        closing.join(0.5)
        assert closing.is_alive() and model.runner is runner and runner.session is not None
    closing.join(30)
    assert not closing.is_alive() and model.runner is None and runner.session is None
    model.close()
    with pytest.raises(UsageError, match=r"^yolo12n: this Model is closed \(close\(\) or the end of its `with` "):
        model(cv2.imread(str(IMAGES[0])))


def test_a_thread_inferring_while_close_runs_never_sees_a_released_runner(yolo_engines):
    model = load(yolo_engines, precision="fp32", threads=1)
    batch = model.prepare([cv2.imread(str(IMAGES[0]))])
    done, failures = [], []

    def infer_until_closed():
        while True:
            try:
                model.infer(batch)
            except UsageError as exc:
                if "this Model is closed" not in str(exc):
                    failures.append(exc)
                return
            except Exception as exc:  # a released runner: AttributeError on None, a dropped session
                failures.append(exc)
                return
            done.append(True)

    thread = threading.Thread(target=infer_until_closed)
    thread.start()
    while len(done) < 2 and thread.is_alive():
        time.sleep(0.01)
    model.close()
    thread.join(60)
    assert not thread.is_alive() and not failures and len(done) >= 2


@pytest.mark.parametrize(("device", "message"), [
    ("gpu", r"device='gpu': a GPU index \(0, 1, ...\) or 'cuda:N' \(None: the first GPU\)"),
    (-1, r"device=-1: a GPU index"),
    (1.0, r"device=1.0: a GPU index"),
    (True, r"device=True: a GPU index"),
    ("cuda:one", r"device='cuda:one': a GPU index"),
    (64, r"device=64: no GPU 64 on this host \((its GPUs are 0-\d+|nvidia-smi lists no GPU)\)"),
    ("cuda:64", r"device='cuda:64': no GPU 64 on this host"),
])
def test_a_bad_device_is_one_line(tmp_path, device, message):
    with pytest.raises(UsageError, match=message) as raised:
        load(tmp_path / "never-read", device=device)
    assert "\n" not in str(raised.value)


def test_a_bad_prepare_on_or_cuda_graph_is_one_line(tmp_path):
    with pytest.raises(UsageError, match=r"prepare_on='GPU': one of 'gpu', 'cpu' .* or None for the default"):
        load(tmp_path / "never-read", prepare_on="GPU")
    with pytest.raises(UsageError, match=r"cuda_graph='yes': True, False, or None for the default"):
        load(tmp_path / "never-read", cuda_graph="yes")


def test_frames_are_prepared_on_the_cpu_when_the_model_runs_there(yolo_engines):
    """This host has no GPU: prepare_on='gpu' cannot apply, and the host path is today's (numpy all through)."""
    if has_cuda_gpu():
        pytest.skip("a CPU-host test: tests/runtime/test_gpu_path.py covers the GPU")
    model = load(yolo_engines, precision="fp32", prepare_on="gpu")
    assert model.device is None and model.prepare_on == "cpu"
    frame = cv2.imread(str(IMAGES[0]))
    batch = model.prepare([frame])
    assert isinstance(batch, np.ndarray) and batch.shape == (1, 3, 640, 640)
    outputs = model.infer(batch)
    assert isinstance(outputs["output0"], np.ndarray)
    (result,) = model.decode(outputs, [frame])
    assert isinstance(result.outputs["output0"], np.ndarray) and result.boxes.dtype == np.float32


def test_depth_of_a_tensor_frame_prepared_by_torch_is_the_arrays_map(depth_engines):
    """The GPU path's preparation (torch's cubic resize, `prepare_tensor`) on CPU tensors: the map is OpenCV's."""
    model = load(depth_engines, precision="fp32")
    for path in IMAGES[:4]:
        frame = cv2.imread(str(path))
        host, tensor = model(frame).depth, model(torch.from_numpy(frame)).depth
        assert isinstance(tensor, torch.Tensor) and tuple(tensor.shape) == host.shape == frame.shape[:2]
        # measured 0.01-0.06 % relative L2 on COCO128 (ONNX Runtime CPU, the seeded checkpoint at 392)
        assert np.linalg.norm(tensor.numpy() - host) / np.linalg.norm(host) < 0.01
