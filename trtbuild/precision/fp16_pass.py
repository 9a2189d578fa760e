"""The FP16 pass: FP32 islands from the default policy and the recipe's `precision.keep_fp32`, the rest FP16
(trtbuild.precision.fp16)."""

from __future__ import annotations

from pathlib import Path

import onnx

from trtbuild.core.errors import UsageError
from trtbuild.precision.pass_contract import Converted
from trtbuild.precision.fp16 import convert_fp16
from trtbuild.precision.policy import fp32_islands
from trtbuild.recipe.schema import PrecisionSpec


def run_fp16(spec: PrecisionSpec, model: onnx.ModelProto, target: Path) -> Converted:
    """`model` (nodes named) in FP16 at `target`; reads `spec.keep_fp32` and `spec.keep_io_types`."""
    try:
        islands = fp32_islands(model, spec.keep_fp32.op_types, spec.keep_fp32.nodes)
    except ValueError as exc:  # a keep_fp32 entry that matches nothing: the recipe's mistake
        raise UsageError(str(exc)) from None
    converted, repaired = convert_fp16(model, islands, spec.keep_io_types)
    onnx.save(converted, str(target))
    return Converted(metrics={"fp32_reasons": islands.summary(), "repaired_mixed_type_nodes": repaired,
                              "tool": "onnxconverter-common float16"}, kept=islands.reasons)
