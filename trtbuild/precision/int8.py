"""INT8 explicit quantization with ONNX Runtime's static QDQ quantizer, configured the way TensorRT reads Q/DQ.

Symmetric activations and weights (zero point 0), per-channel weights, only Conv/MatMul/Gemm quantized, biases left
float (TensorRT fuses them in higher precision). Chosen over ModelOpt's ONNX PTQ: same accuracy here, half the time,
INT8 weight initializers (a third of the size) and no extra dependency; see benchmarks/results/precision_cpu.json.

Calibration runs once (`calibrate`); `quantize_int8` then writes a graph from those ranges in seconds, so the
sensitivity search can try many FP32 node sets without recalibrating. Every quantizer setting that shapes the graph
is passed explicitly (QUANTIZER_SETTINGS), so no onnxruntime version's default decides it:
- reduce_range False: ONNX Runtime recommends 7-bit weights on x86 CPUs without VNNI, where its u8s8 kernels
  saturate; TensorRT never runs those kernels and has the full 8 bits.
- MatMulConstBOnly False: activation x activation MatMuls (attention) are quantized too; the search decides which
  of them stay FP32.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

QUANTIZED_OP_TYPES = ["Conv", "MatMul", "Gemm"]
QUANTIZER_SETTINGS = {
    "per_channel": True, "reduce_range": False, "activation_type": "QInt8", "weight_type": "QInt8",
    "op_types": QUANTIZED_OP_TYPES,
    "extra_options": {"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False,
                      "MatMulConstBOnly": False},
}


CALIBRATION_CHUNK = 4  # feeds per collect_data call, which holds every calibrated activation of its feeds in memory
# (Depth-Anything-V2 at 518: ~0.7 GB per image, mostly attention probabilities)


def calibrate(source: Path, feeds: list[dict[str, np.ndarray]], method: str, percentile: float = 99.999,
              progress: Callable[[int, int], None] | None = None) -> object:
    """Activation ranges (onnxruntime TensorsData) of every tensor feeding a quantized op type, from `feeds`.

    minmax keeps every outlier in range, which spends the 8 bits of a long-tailed activation (SiLU, attention) on a
    few values; percentile clips the top (100 - percentile) % of |x| (symmetric, as TensorRT reads it); entropy
    picks the clip that keeps the quantized histogram closest to the float one (TensorRT's IInt8EntropyCalibrator2).
    """
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator

    methods = {  # explicit options: no onnxruntime version's defaults decide the ranges
        "minmax": (CalibrationMethod.MinMax, {"symmetric": True}),
        "entropy": (CalibrationMethod.Entropy, {"symmetric": True, "num_bins": 128, "num_quantized_bins": 128}),
        "percentile": (CalibrationMethod.Percentile, {"symmetric": True, "num_bins": 2048, "percentile": percentile}),
    }
    calibration_method, options = methods[method]

    class Feeds(CalibrationDataReader):
        def __init__(self, chunk: list[dict[str, np.ndarray]]):
            self._iter = iter(chunk)

        def get_next(self):
            return next(self._iter, None)

    with tempfile.TemporaryDirectory(prefix="trtbuild-calib-") as tmp, _quiet_calibrator():
        calibrator = create_calibrator(Path(source), QUANTIZED_OP_TYPES, Path(tmp) / "augmented.onnx",
                                       calibration_method, extra_options=options)
        for start in range(0, len(feeds), CALIBRATION_CHUNK):  # each call merges into the ranges/histograms so far
            calibrator.collect_data(Feeds(feeds[start : start + CALIBRATION_CHUNK]))
            if progress:
                progress(min(start + CALIBRATION_CHUNK, len(feeds)), len(feeds))
        ranges = calibrator.compute_data()
        del calibrator  # holds an ONNX Runtime session on the augmented model in `tmp`
    return ranges


def quantize_int8(source: Path, target: Path, ranges: object, exclude_nodes: list[str]) -> None:
    """Q/DQ on the inputs of every Conv/MatMul/Gemm of `source` except `exclude_nodes` (kept FP32)."""
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization.qdq_quantizer import QDQQuantizer
    from onnxruntime.quantization.quant_utils import load_model_with_shape_infer

    settings = QUANTIZER_SETTINGS
    with _quiet_quantizer():
        quantizer = QDQQuantizer(
            load_model_with_shape_infer(Path(source)), settings["per_channel"], settings["reduce_range"],
            QuantType[settings["weight_type"]], QuantType[settings["activation_type"]], ranges, [],
            list(exclude_nodes), settings["op_types"], dict(settings["extra_options"]),
        )
        quantizer.quantize_model()
        quantizer.model.save_model_to_file(str(target))


@contextlib.contextmanager
def _quiet_calibrator():
    """The histogram calibrators print progress lines to stdout, which is the CLI's."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def _quiet_quantizer():
    """The quantizer logs a pre-processing hint on the root logger for every graph; it does not apply here."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
