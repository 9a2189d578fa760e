"""Shared by the precision benchmarks: the reference bundle (model inputs + PyTorch FP32 outputs) and ORT timing.

Only numpy and onnxruntime here, so benchmarks/precision_gpu.py runs where pydantic/ultralytics may be absent.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np


def save_reference(path: Path, task: str, input_name: str, inputs: list[np.ndarray], outputs: dict[str, list]) -> None:
    """Inputs are stored as uint8 when they are exactly k/255 (YOLO's letterboxed pixels), which keeps 128 images
    at a few tens of MB; otherwise as float32."""
    stacked = np.concatenate(inputs)
    as_uint8 = np.rint(stacked * 255)
    exact = np.allclose(as_uint8 / 255, stacked, atol=1e-7)
    np.savez_compressed(path, task=task, input_name=input_name, scale=1 / 255 if exact else 1.0,
                        inputs=as_uint8.astype(np.uint8) if exact else stacked,
                        **{f"out:{k}": np.concatenate(v) for k, v in outputs.items()})


def load_reference(path: Path) -> tuple[str, list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """(task, feeds, PyTorch outputs), one feed of batch 1 per stored input."""
    data = np.load(path)
    inputs = (data["inputs"].astype(np.float32) * np.float32(data["scale"])).astype(np.float32)
    name = str(data["input_name"])
    outs = {k[4:]: data[k] for k in data.files if k.startswith("out:")}
    feeds = [{name: inputs[i : i + 1]} for i in range(len(inputs))]
    reference = [{k: v[i : i + 1] for k, v in outs.items()} for i in range(len(inputs))]
    return str(data["task"]), feeds, reference


def median_ms(run, warmup: int, iterations: int) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return round(statistics.median(times), 3)
