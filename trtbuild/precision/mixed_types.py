"""Repair nodes whose inputs disagree on float type, the invalid graphs float16 converters can leave behind.

onnxconverter-common may bind one ONNX type variable to float and float16 on the same node (seen: a Conv of
Depth-Anything-V2 with an FP16 input and FP32 weights next to a kept-FP32 island); ONNX Runtime refuses such a
graph. The fix: cast the odd inputs to the type of the node's first computed (non-constant) input.
"""

from __future__ import annotations

from collections import defaultdict

import onnx
from onnx import helper

from trtbuild.precision.graph_stats import FLOAT_TYPES, tensor_types


def fix_mixed_float_inputs(model: onnx.ModelProto) -> list[str]:
    """Insert Casts so each type variable of each node is bound to one float type; returns the repaired nodes."""
    types = tensor_types(model)
    constants = {i.name for i in model.graph.initializer}
    constants |= {n.output[0] for n in model.graph.node if n.op_type == "Constant"}
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=17)
    repaired, new_nodes = [], []
    for node in model.graph.node:
        for variable, positions in _type_variables(node, opset).items():
            bound = {i: types.get(node.input[i]) for i in positions}
            if len({t for t in bound.values() if t in FLOAT_TYPES}) < 2:
                continue
            computed = [i for i in positions if node.input[i] not in constants] or positions
            target = bound[computed[0]]
            for i in positions:
                if bound[i] in FLOAT_TYPES and bound[i] != target:
                    cast_out = f"{node.input[i]}__as_{FLOAT_TYPES[target]}__{node.name}"
                    new_nodes.append(helper.make_node("Cast", [node.input[i]], [cast_out], to=target,
                                                      name=f"{node.name}/fix_{variable}_{i}"))
                    node.input[i] = cast_out
            repaired.append(node.name)
        new_nodes.append(node)
    if repaired:
        del model.graph.node[:]
        model.graph.node.extend(new_nodes)  # each Cast right before its consumer keeps the order topological
    return repaired


def _type_variables(node: onnx.NodeProto, opset: int) -> dict[str, list[int]]:
    """Type variable (e.g. "T") -> the input positions of `node` bound to it (standard-domain ops only)."""
    if node.domain not in ("", "ai.onnx"):
        return {}
    try:
        schema = onnx.defs.get_schema(node.op_type, opset)
    except onnx.defs.SchemaError:
        return {}
    variables: dict[str, list[int]] = defaultdict(list)
    formals = list(schema.inputs)
    for i, name in enumerate(node.input):
        if not name:
            continue
        formal = formals[min(i, len(formals) - 1)]  # variadic inputs repeat the last formal
        if formal.type_str in {c.type_param_str for c in schema.type_constraints}:
            variables[formal.type_str].append(i)
    return {v: p for v, p in variables.items() if len(p) > 1}
