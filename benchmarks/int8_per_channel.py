"""What per-channel activation ranges would give YOLO12n INT8, where the graph allows them: the activations that only
Convolutions read (a per-input-channel scale folds into the Conv's weights), each channel's scale narrowed to its own
range (never wider than the tensor's calibrated clip). Measured fully quantized, no FP32 nodes, against the same graph
with per-tensor ranges, on the search set and the holdout, with 95 % intervals (ONNX Runtime, simulated Q/DQ).

    .venv/bin/python benchmarks/int8_per_channel.py --onnx SIMPLIFIED.onnx \\
        --out benchmarks/results/int8_per_channel_yolo12n.json --work /tmp/i8pc
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WEIGHTS = SHARED / "assets/yolo12n-coco128.pt"
DATA = SHARED / "assets/coco128/coco128.yaml"
IMAGES = 64


def conv_only_activations(model: onnx.ModelProto) -> dict[str, tuple[onnx.NodeProto, onnx.NodeProto]]:
    """Activation -> its (QuantizeLinear, DequantizeLinear) where every reader of the DQ is a Conv's data input."""
    weights = {i.name for i in model.graph.initializer}
    readers: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
    for node in model.graph.node:
        for slot, name in enumerate(node.input):
            readers.setdefault(name, []).append((node, slot))
    found = {}
    for node in model.graph.node:
        if node.op_type != "QuantizeLinear" or node.input[0] in weights:
            continue
        dequantizers = [n for n, _ in readers.get(node.output[0], []) if n.op_type == "DequantizeLinear"]
        if len(dequantizers) == 1 and all(n.op_type == "Conv" and slot == 0
                                          for n, slot in readers.get(dequantizers[0].output[0], [])):
            found[node.input[0]] = (node, dequantizers[0])
    return found


def channel_ranges(source: Path, tensors: list[str], feeds: list[dict]) -> dict[str, np.ndarray]:
    """Per tensor, each channel's largest |x| over `feeds` (FP32 graph)."""
    import onnxruntime as ort

    model = onnx.load(str(source))
    model.graph.output.extend([onnx.ValueInfoProto(name=t) for t in tensors])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    found: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(tensors, session.run(tensors, feed)):
            peak = np.abs(value).max(axis=tuple(i for i in range(value.ndim) if i != 1))
            found[name] = np.maximum(found.get(name, peak), peak)
    return found


def per_channel(model: onnx.ModelProto, pairs: dict, ranges: dict[str, np.ndarray]) -> onnx.ModelProto:
    """`model` with each pair's scale narrowed per channel: scale_c = scale * min(1, range_c / tensor clip)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    initializers = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:  # the copy's nodes, found by their names
        pair = pairs.get(node.input[0]) if node.op_type == "QuantizeLinear" else None
        if pair is None:
            continue
        dequantize = next(n for n in model.graph.node if n.name == pair[1].name)
        scale = float(numpy_helper.to_array(initializers[node.input[1]]))
        clip = scale * 127.5  # ORT's symmetric int8: scale = 2 * clip / 255
        channel = np.maximum(np.minimum(ranges[node.input[0]], clip), 1e-6 * clip) / clip * scale
        name = f"{node.input[0]}_channel_scale"
        model.graph.initializer.extend([
            numpy_helper.from_array(channel.astype(np.float32), name),
            numpy_helper.from_array(np.zeros(len(channel), np.int8), f"{name}_zero")])
        for target in (node, dequantize):
            target.input[1], target.input[2] = name, f"{name}_zero"
            target.attribute.append(helper.make_attribute("axis", 1))
    return model


def score(recipe, graph: Path, image_set) -> dict:
    from trtbuild.accuracy.graph_accuracy import graph_on_cpu, task_accuracy
    from trtbuild.accuracy.reference import PyTorchReference
    from trtbuild.data.feeds import image_feeds

    reference = PyTorchReference(recipe, image_feeds(recipe, image_set.images), image_set.images)
    found = task_accuracy(reference, graph_on_cpu(graph), image_set.labels, by_slice=False)
    return {"map50_95_drop_pct": found["map50_95_drop_pct"],
            "interval": found["intervals"]["map50_95_drop_pct"].as_dict(), "images": len(image_set.images)}


def main() -> None:
    from trtbuild.data.datasets import required_calibration, search_set, verify_set
    from trtbuild.data.feeds import image_feeds
    from trtbuild.precision.int8 import calibrate, quantize_int8
    from trtbuild.precision.policy import name_nodes
    from trtbuild.recipe import Overrides, load_recipe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, required=True, help="the simplified FP32 ONNX (the simplify stage's)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    options = parser.parse_args()
    options.work.mkdir(parents=True, exist_ok=True)
    recipe = load_recipe("yolo12n", Overrides(weights=WEIGHTS, precision="int8", data=DATA,
                                              sets=[f"precision.evaluate.max_images={IMAGES}"])).recipe
    model = onnx.load(str(options.onnx))
    name_nodes(model)
    source, tensor_graph = options.work / "fp32.onnx", options.work / "per_tensor.onnx"
    onnx.save(model, str(source))
    start = time.perf_counter()
    calibration = image_feeds(recipe, required_calibration(recipe).images)
    spec = recipe.precision.calibration
    quantize_int8(source, tensor_graph, calibrate(source, calibration, spec.method, spec.percentile), [])
    quantized = onnx.load(str(tensor_graph))
    weights = {i.name for i in quantized.graph.initializer}
    pairs = conv_only_activations(quantized)
    channel_graph = options.work / "per_channel.onnx"
    onnx.save(per_channel(quantized, pairs, channel_ranges(source, list(pairs), calibration)), str(channel_graph))
    prepared_s = round(time.perf_counter() - start, 1)
    sets = {"search": search_set(recipe), "holdout": verify_set(recipe, IMAGES)}
    results = {label: {role: score(recipe, graph, image_set) for role, image_set in sets.items()}
               for label, graph in (("per_tensor", tensor_graph), ("per_channel", channel_graph))}
    options.out.write_text(json.dumps({
        "command": " ".join(sys.argv), "calibration": f"{spec.method} {spec.percentile} on {len(calibration)} images",
        "activations_per_channel": len(pairs), "activations_quantized": sum(
            1 for n in quantized.graph.node if n.op_type == "QuantizeLinear" and n.input[0] not in weights),
        "prepare_s": prepared_s, "runtime": "onnxruntime CPU, simulated Q/DQ (trtbuild's evaluation)",
        "fully_quantized": results}, indent=2))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
