"""What a converted graph contains: node counts, each node's compute dtype, Q/DQ pairs and size."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx

FLOAT_TYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.FLOAT16: "float16",
               onnx.TensorProto.BFLOAT16: "bfloat16", onnx.TensorProto.DOUBLE: "float64"}


def tensor_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor (inputs, initializers, node outputs) after ONNX shape inference."""
    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    types = {i.name: i.data_type for i in graph.initializer}
    for value in (*graph.input, *graph.value_info, *graph.output):
        if value.type.HasField("tensor_type"):
            types[value.name] = value.type.tensor_type.elem_type
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            types[node.output[0]] = node.attribute[0].t.data_type
    return types


def node_compute_dtypes(model: onnx.ModelProto, types: dict[str, int] | None = None) -> dict[str, str]:
    """Node name -> the float dtype it computes in: that of its float inputs (Cast: its output), else "other"."""
    types = types if types is not None else tensor_types(model)
    dtypes = {}
    for node in model.graph.node:
        names = node.output if node.op_type == "Cast" else node.input
        floats = {FLOAT_TYPES[types[n]] for n in names if n and types.get(n) in FLOAT_TYPES}
        dtypes[node.name] = "+".join(sorted(floats)) if floats else "other"
    return dtypes


def graph_stats(path: Path) -> dict:
    model = onnx.load(str(path))
    ops = Counter(n.op_type for n in model.graph.node)
    compute = Counter(node_compute_dtypes(model).values())
    return {
        "size_bytes": path.stat().st_size,
        "nodes": len(model.graph.node),
        "compute_dtypes": dict(sorted(compute.items())),
        "casts": ops.get("Cast", 0),
        "quantize_linear": ops.get("QuantizeLinear", 0),
        "dequantize_linear": ops.get("DequantizeLinear", 0),
        "op_types": dict(sorted(ops.items())),
    }
