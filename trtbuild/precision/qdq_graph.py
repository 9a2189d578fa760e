"""A quantized graph with more nodes left FP32, by removing Q/DQ pairs instead of quantizing again.

ONNX Runtime's QDQ quantizer gives a tensor one Q/DQ pair that every consumer reads, when any quantized node reads
it (activations, weights) or writes it (its output). So the quantizer's graph with nodes E excluded is the fully
quantized graph without the pairs that only E's nodes own; the kept pairs carry the same scales, so the two graphs
compute the same numbers (tests/precision/test_qdq_graph.py holds them equal). The INT8 search writes one graph per
trial: this takes 0.04-0.06 s where quantizing Depth-Anything-V2 at 518 again takes 1.3-2.4 s
(benchmarks/int8_trial_graph.py).
"""

from __future__ import annotations

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


def keep_fp32(qdq: onnx.ModelProto, fp32: onnx.ModelProto, nodes: list[str]) -> onnx.ModelProto:
    """`qdq` (quantized from `fp32`) with `nodes` also left FP32: their inputs and weights read the float tensors
    of `fp32` again where no other quantized node owns the pair."""
    model = onnx.ModelProto()
    model.CopyFrom(qdq)
    graph, kept = model.graph, set(nodes)
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for tensor in node.input:
            consumers.setdefault(tensor, []).append(node)
    quantized = set(quantized_nodes(model))
    unknown = kept - quantized
    if unknown:
        raise ValueError(f"not quantized in the graph: {', '.join(sorted(unknown))}")
    remaining = quantized - kept
    initializers, outputs = {i.name for i in graph.initializer}, {o.name for o in graph.output}
    float_inputs = {node.name: list(node.input) for node in fp32.graph.node}
    dropped = []
    for dq in [node for node in graph.node if node.op_type == "DequantizeLinear"]:
        readers = consumers.get(dq.output[0], [])
        if dq.input[0] in initializers:  # a weight: its readers go back to the float initializer
            if any(r.name in remaining for r in readers):
                continue
            for reader in readers:
                reader.input[:] = [float_inputs[reader.name][i] if name == dq.output[0] else name
                                   for i, name in enumerate(reader.input)]
            dropped.append(dq)
            continue
        quantize = producer[dq.input[0]]
        source = quantize.input[0]
        writer = producer.get(source)
        if any(r.name in remaining for r in readers) or (writer is not None and writer.name in remaining):
            continue
        if dq.output[0] in outputs:  # the quantizer renamed a graph output's writer
            rename_tensor(graph, source, dq.output[0])
        else:
            for reader in readers:
                reader.input[:] = [source if name == dq.output[0] else name for name in reader.input]
        dropped.extend([quantize, dq])
    for node in dropped:
        graph.node.remove(node)
    used = {t for node in graph.node for t in node.input}
    still = [i for i in graph.initializer if i.name in used]  # the float weights come back from `fp32`
    restored = [i for i in fp32.graph.initializer if i.name in used - {i.name for i in still}]
    del graph.initializer[:]
    graph.initializer.extend([*still, *restored])
    return model


def rename_tensor(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Every node of `graph` reads and writes tensor `old` as `new`."""
    for node in graph.node:
        node.input[:] = [new if t == old else t for t in node.input]
        node.output[:] = [new if t == old else t for t in node.output]
