"""The FP32 island policy: which nodes keep FP32 compute in a reduced-precision graph, and why.

FP16 overflows in normalizations (sum of squares) and attention softmax (exp of large logits): past FP16's largest
value, 65504, they become inf, and the division or subtraction that follows (inf / inf, inf - inf) turns ViT/DINOv2
outputs into NaN; so those stay FP32 by default. Decomposed norms (opset < 17 LayerNorm, RMSNorm)
are found by their structure: a ReduceMean over a square, then Add(eps) / Sqrt / Reciprocal / Div towards the
normalizing Div or Mul. Other Div/Pow nodes are left alone.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass, field

import onnx
from onnx import numpy_helper

DEFAULT_OP_TYPES = ("LayerNormalization", "Softmax")
# the chain from the variance to the normalized tensor: + eps, sqrt, 1/x or x/std, x * rstd
_NORM_TAIL = ("Add", "Sqrt", "Reciprocal", "Div", "Mul")


@dataclass
class Fp32Islands:
    """Node name -> why it stays FP32 (the first reason found wins)."""

    reasons: dict[str, str] = field(default_factory=dict)

    def add(self, node: str, reason: str) -> None:
        self.reasons.setdefault(node, reason)

    @property
    def nodes(self) -> list[str]:
        return sorted(self.reasons)

    def summary(self) -> dict[str, int]:
        """Reason -> how many nodes it keeps in FP32 (for the report)."""
        counts: dict[str, int] = defaultdict(int)
        for reason in self.reasons.values():
            counts[reason] += 1
        return dict(sorted(counts.items()))


def name_nodes(model: onnx.ModelProto) -> None:
    """Give unnamed nodes stable names: the policy and the converters address nodes by name."""
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"


def fp32_islands(model: onnx.ModelProto, op_types: list[str] = (), nodes: list[str] = ()) -> Fp32Islands:
    """Default op types, decomposed norms, then the recipe's `keep_fp32` op types and node names."""
    islands = Fp32Islands()
    for node in model.graph.node:
        if node.op_type in DEFAULT_OP_TYPES:
            islands.add(node.name, f"{node.op_type} (default policy)")
    for members in decomposed_norms(model):
        for name in members:
            islands.add(name, "decomposed norm: reduction/pow/sqrt chain (default policy)")
    wanted = set(op_types)
    for node in model.graph.node:
        if node.op_type in wanted:
            islands.add(node.name, f"{node.op_type} (recipe keep_fp32.op_types)")
    for name in match_nodes(model, nodes):
        islands.add(name, "named in recipe keep_fp32.nodes")
    return islands


def match_nodes(model: onnx.ModelProto, patterns: list[str]) -> list[str]:
    """Node names matching the recipe's names or shell-style patterns (`/model.21/cv2.*`), in graph order; a pattern
    that matches nothing is an error, so a renamed graph cannot silently drop an island."""
    names = [n.name for n in model.graph.node]
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(name, p) for name in names)]
    if unmatched:
        raise ValueError(f"precision.keep_fp32.nodes: no node named {', '.join(map(repr, unmatched))} in the graph")
    return [name for name in names if any(fnmatch.fnmatchcase(name, p) for p in patterns)]


def decomposed_norms(model: onnx.ModelProto) -> list[list[str]]:
    """Node names of each decomposed LayerNorm/RMSNorm: [mean, Sub,] square, variance ReduceMean, eps/sqrt/div tail."""
    graph = model.graph
    producer = {out: n for n in graph.node for out in n.output}
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for n in graph.node:
        for name in n.input:
            consumers[name].append(n)
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    constants.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node
                      if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"})

    def is_square(node: onnx.NodeProto | None) -> bool:
        if node is None:
            return False
        if node.op_type == "Pow":
            exponent = constants.get(node.input[1])
            return exponent is not None and exponent.size == 1 and float(exponent.reshape(-1)[0]) == 2.0
        return node.op_type == "Mul" and node.input[0] == node.input[1]

    found = []
    for variance in graph.node:
        square = producer.get(variance.input[0]) if variance.op_type == "ReduceMean" else None
        if not is_square(square):
            continue
        members = [square.name, variance.name]
        centered = producer.get(square.input[0])
        if centered is not None and centered.op_type == "Sub":
            mean = producer.get(centered.input[1])
            members += [centered.name] + ([mean.name] if mean is not None and mean.op_type == "ReduceMean" else [])
        members += _norm_tail(variance, consumers)
        found.append(members)
    return found


def _norm_tail(variance: onnx.NodeProto, consumers: dict[str, list[onnx.NodeProto]]) -> list[str]:
    """Follow Add(eps) -> Sqrt -> Reciprocal/Div -> Mul from the variance until the tensor is normalized."""
    tail, current = [], variance
    while True:
        following = consumers.get(current.output[0], [])
        if len(following) != 1 or following[0].op_type not in _NORM_TAIL:
            return tail
        current = following[0]
        tail.append(current.name)
        if current.op_type in ("Div", "Mul"):  # x / std or x * rstd: normalized, the affine part may be FP16
            return tail
