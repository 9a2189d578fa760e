"""INT8 explicit quantization with ONNX Runtime's static QDQ quantizer, configured the way TensorRT reads Q/DQ.

Symmetric activations and weights (zero point 0), per-channel weights, only Conv/MatMul/Gemm quantized, biases left
float (TensorRT fuses them in higher precision). Chosen over ModelOpt's ONNX PTQ: same accuracy here, half the time,
INT8 weight initializers (a third of the size) and no extra dependency; see benchmarks/results/precision_cpu.json.

Calibration runs once (`calibrate`) and `quantize_int8` once; the sensitivity search then tries FP32 node sets by
editing that graph (trtbuild.precision.qdq_graph). Every quantizer setting that shapes the graph is passed
explicitly (QUANTIZER_SETTINGS), so no onnxruntime version's default decides it:
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


CALIBRATION_CHUNK = 4  # feeds per collect_data call of ONNX Runtime's calibrators, which hold every
# calibrated activation of its feeds in memory (Depth-Anything-V2 at 518: ~0.7 GB per image)


def calibrate(source: Path, feeds: list[dict[str, np.ndarray]], method: str, percentile: float = 99.999,
              progress: Callable[[int, int], None] | None = None) -> object:
    """Activation ranges (onnxruntime TensorsData) of every activation a quantized op type reads, from `feeds`.

    minmax keeps every outlier in range, which spends the 8 bits of a long-tailed activation (SiLU, attention) on a
    few values; percentile clips the top (100 - percentile) % of |x| (symmetric, as TensorRT reads it); entropy
    picks the clip that keeps the quantized histogram closest to the float one (TensorRT's IInt8EntropyCalibrator2).
    """
    if method == "minmax":
        return _clipped_ranges(source, feeds, 0.0, progress)
    clipped = len(feeds) * (100.0 - percentile) / 100.0  # one feed's worth of values = 1
    if method == "percentile" and clipped <= 1.0:
        return _clipped_ranges(source, feeds, clipped, progress)
    return _histogram_ranges(source, feeds, method, percentile, progress)


def calibrated_tensors(model) -> list[str]:
    """The activations (not weights) the quantized op types read and write: the quantizer puts Q/DQ on both."""
    constants = {i.name for i in model.graph.initializer} | {
        out for node in model.graph.node if node.op_type == "Constant" for out in node.output}
    return list(dict.fromkeys(t for node in model.graph.node if node.op_type in QUANTIZED_OP_TYPES
                              for t in [*node.input, *node.output] if t and t not in constants))


def _clipped_ranges(source: Path, feeds: list[dict[str, np.ndarray]], clipped: float,
                    progress: Callable[[int, int], None] | None) -> object:
    """Exact symmetric ranges: per tensor, the k-th largest |x| over all feeds, k = max(1, size * `clipped`) (one
    feed's size at most, so each feed's own top k holds every candidate; 1 = the max, minmax). The graph computes
    each feed's top k itself (ONNX TopK), so no activation leaves ONNX Runtime: about 1.5 s per Depth-Anything-V2
    image at 518 here, where ONNX Runtime's percentile calibrator, which reads the same to a bin of a 2048-bin
    histogram of every activation, takes 7 s (docs/int8.md)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, TensorData, TensorsData

    model = onnx.load(str(source))
    tensors = calibrated_tensors(model)
    outputs = _output_top_magnitudes(model, tensors, clipped)
    session = _session(model.SerializeToString())
    largest: dict[str, np.ndarray] = {}  # per tensor: the k largest |x| so far
    for done, feed in enumerate(feeds, 1):
        for name, top in zip(tensors, session.run(outputs, feed)):
            merged = np.concatenate([largest.get(name, top[:0]), top])
            largest[name] = np.partition(merged, -top.size)[-top.size:]
        if progress:
            progress(done, len(feeds))
    method = CalibrationMethod.Percentile if clipped else CalibrationMethod.MinMax
    return TensorsData(method, {name: TensorData(lowest=-top.min().astype(np.float32).reshape(()),
                                                 highest=top.min().astype(np.float32).reshape(()))
                                for name, top in largest.items()})


def _output_top_magnitudes(model, tensors: list[str], share: float) -> list[str]:
    """Make `model` output, per tensor, its max(1, size * share) largest |x| (at most all of them): the only values
    of one feed that can be among the k largest of all feeds. Returns the new outputs' names."""
    from onnx import TensorProto, helper, numpy_helper

    constants = {"share": np.array(share, np.float32), "one": np.array(1, np.float32),
                 "flat": np.array([-1], np.int64)}
    names = {key: f"trtbuild_calibration_{key}" for key in constants}
    graph = model.graph
    graph.initializer.extend(numpy_helper.from_array(value, names[key]) for key, value in constants.items())
    del graph.output[:]
    outputs = []
    for i, tensor in enumerate(tensors):
        prefix = f"trtbuild_calibration_{i}_"
        graph.node.extend([
            helper.make_node("Abs", [tensor], [prefix + "abs"]),
            helper.make_node("Reshape", [prefix + "abs", names["flat"]], [prefix + "flat"]),
            helper.make_node("Size", [tensor], [prefix + "size"]),
            helper.make_node("Cast", [prefix + "size"], [prefix + "size_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [prefix + "size_f", names["share"]], [prefix + "k_f"]),
            helper.make_node("Clip", [prefix + "k_f", names["one"], prefix + "size_f"], [prefix + "k_clipped"]),
            helper.make_node("Cast", [prefix + "k_clipped"], [prefix + "k_scalar"], to=TensorProto.INT64),
            helper.make_node("Reshape", [prefix + "k_scalar", names["flat"]], [prefix + "k"]),
            helper.make_node("TopK", [prefix + "flat", prefix + "k"], [prefix + "top", prefix + "index"]),
        ])
        outputs.append(prefix + "top")
    graph.output.extend(helper.make_empty_tensor_value_info(name) for name in outputs)
    return outputs


def _session(model: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _histogram_ranges(source: Path, feeds: list[dict[str, np.ndarray]], method: str, percentile: float,
                      progress: Callable[[int, int], None] | None) -> object:
    """ONNX Runtime's histogram calibrators: entropy, and a percentile that clips more than one feed's worth of
    values (too many to keep exactly), `CALIBRATION_CHUNK` feeds per call (each call merges into the histograms)."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator

    methods = {  # explicit options: no onnxruntime version's defaults decide the ranges
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
        for start in range(0, len(feeds), CALIBRATION_CHUNK):
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
