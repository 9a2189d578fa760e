"""FP16 conversion with onnxconverter-common, honouring the FP32 islands, then repaired into a graph ORT accepts.

Chosen over ModelOpt AutoCast (same accuracy on YOLO12n and DA-V2, see benchmarks/results/precision_cpu.json):
30-40x faster, pure Python, and no pins — `nvidia-modelopt[onnx]` pins onnx~=1.21 and swaps the CPU onnxruntime
for onnxruntime-gpu, and importing ModelOpt patches ONNX Runtime's quantizer process-wide.
"""

from __future__ import annotations

import warnings

import onnx

from trtbuild.precision.mixed_types import fix_mixed_float_inputs
from trtbuild.precision.policy import Fp32Islands

FP16_MAX = 65504.0  # constants beyond this saturate instead of becoming inf


def convert_fp16(model: onnx.ModelProto, islands: Fp32Islands, keep_io_types: bool) -> tuple[onnx.ModelProto, list[str]]:
    """(FP16 model, nodes whose mixed float inputs were repaired). Adds to `islands` the nodes the converter keeps
    FP32 because ONNX Runtime has no FP16 kernel for them."""
    from onnxconverter_common import float16

    for node in model.graph.node:
        if node.op_type in float16.DEFAULT_OP_BLOCK_LIST:
            islands.add(node.name, f"{node.op_type}: no FP16 kernel in ONNX Runtime (converter block list)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one warning per clamped tiny weight
        converted = float16.convert_float_to_float16(
            model, min_positive_val=1e-7, max_finite_val=FP16_MAX, keep_io_types=keep_io_types,
            op_block_list=float16.DEFAULT_OP_BLOCK_LIST, node_block_list=islands.nodes,
        )
    repaired = fix_mixed_float_inputs(converted)
    return converted, repaired
