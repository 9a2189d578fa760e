"""Per-node INT8 sensitivity: how much the model's output moves when only that node is quantized.

For every Conv/MatMul/Gemm the quantizer gave Q/DQ inputs, its quantized form (the node with its Q/DQ and INT8
weights, cut out of the quantized graph with onnx.utils.Extractor) replaces it in the FP32 graph, and the graph
outputs are compared with the FP32 outputs (relative MSE). That is the accuracy each node costs on its own, measured
where the task reads it. A node's error measured at its own output ranks badly: it ignores how much the rest of the
network amplifies or forgets it (YOLO's box branch and DFL matter more than their local error says). Cost: one FP32
inference per node and sample, no re-quantization; two samples suffice to rank.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx

from trtbuild.precision.int8 import QUANTIZED_OP_TYPES


def quantized_nodes(model: onnx.ModelProto) -> dict[str, list[str]]:
    """Quantized node name -> the float tensors its quantized activation inputs are quantized from."""
    producer = {out: node for node in model.graph.node for out in node.output}
    found = {}
    for node in model.graph.node:
        if node.op_type not in QUANTIZED_OP_TYPES:
            continue
        dequantized = [producer[i] for i in node.input if i in producer and producer[i].op_type == "DequantizeLinear"]
        if not dequantized:
            continue
        quantize = [producer.get(dq.input[0]) for dq in dequantized]
        found[node.name] = [q.input[0] for q in quantize if q is not None and q.op_type == "QuantizeLinear"]
    return found


def rank_nodes(fp32_path: Path, qdq_path: Path, feeds: list[dict[str, np.ndarray]],
               progress: Callable[[int, int], None] | None = None) -> list[tuple[str, float]]:
    """(node, relative MSE % of the graph outputs with only that node quantized) for every quantized node, worst
    first. Evaluated with simulated Q/DQ, so the ranking is the same on every CPU."""
    import onnxruntime as ort

    from trtbuild.runners.onnxruntime_runner import SIMULATED_QDQ

    qdq = onnx.load(str(qdq_path))
    sources = quantized_nodes(qdq)
    outputs = {n.name: n.output[0] for n in qdq.graph.node if n.name in sources}
    fp32 = onnx.load(str(fp32_path))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry(*SIMULATED_QDQ)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # one session per node: build fast

    def run(model: onnx.ModelProto) -> list[list[np.ndarray]]:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return [session.run(None, feed) for feed in feeds]

    reference = run(fp32)
    power = sum(float(np.sum(np.square(o, dtype=np.float64))) for outs in reference for o in outs)
    extractor = onnx.utils.Extractor(qdq)
    ranked = []
    for name, output in outputs.items():
        quantized = extractor.extract_model(sources[name], [output])
        with _swapped(fp32, name, quantized):
            candidate = run(fp32)
        error = sum(float(np.sum(np.square(c.astype(np.float64) - r))) for cs, rs in zip(candidate, reference)
                    for c, r in zip(cs, rs))
        ranked.append((name, 100.0 * error / power if power else 0.0))
        if progress:
            progress(len(ranked), len(outputs))
    return sorted(ranked, key=lambda item: -item[1])


class _swapped:
    """Within the block, node `name` of `model` is replaced by the nodes (and new initializers) of `replacement`."""

    def __init__(self, model: onnx.ModelProto, name: str, replacement: onnx.ModelProto):
        self.graph, self.name, self.replacement = model.graph, name, replacement.graph

    def __enter__(self):
        nodes = list(self.graph.node)
        self.index = next(i for i, n in enumerate(nodes) if n.name == self.name)
        self.original = nodes[self.index]
        present = {i.name for i in self.graph.initializer}
        self.added = [i for i in self.replacement.initializer if i.name not in present]
        self.graph.initializer.extend(self.added)
        del self.graph.node[self.index]
        for offset, node in enumerate(self.replacement.node):  # its inputs exist before the original's position
            self.graph.node.insert(self.index + offset, node)
        return self

    def __exit__(self, *exc):
        for _ in self.replacement.node:
            del self.graph.node[self.index]
        self.graph.node.insert(self.index, self.original)
        for _ in self.added:
            self.graph.initializer.pop()
