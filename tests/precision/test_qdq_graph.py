"""`keep_fp32` against ONNX Runtime's quantizer: for every set of nodes left FP32, removing their Q/DQ pairs from
the fully quantized graph gives the graph the quantizer writes with those nodes excluded (same Q/DQ count, same
outputs to the bit) on a real graph whose tensors are shared the ways a network shares them."""

from __future__ import annotations

import io
import itertools
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from trtbuild.precision.int8 import QUANTIZED_OP_TYPES, calibrate, quantize_int8
from trtbuild.precision.policy import name_nodes
from trtbuild.precision.qdq_graph import keep_fp32
from trtbuild.runners.onnxruntime_runner import SIMULATED_QDQ


class Shared(torch.nn.Module):
    """One activation read by two Convs, their outputs added, an activation x activation MatMul, and a last Conv
    that writes the graph output (the quantizer renames its writer)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem, self.left, self.right, self.last = (torch.nn.Conv2d(c, 4, 3, padding=1) for c in (3, 4, 4, 4))

    def forward(self, x):
        a = torch.relu(self.stem(x))
        b = self.left(a) + self.right(a)
        flat = b.flatten(2)
        attended = torch.matmul(torch.softmax(torch.matmul(flat.transpose(1, 2), flat), -1), flat.transpose(1, 2))
        return self.last(attended.transpose(1, 2).reshape(b.shape))


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qdq_graph")
    buffer = io.BytesIO()
    torch.onnx.export(Shared().eval(), torch.randn(1, 3, 8, 8), buffer, input_names=["x"], dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    name_nodes(model)
    source, full = folder / "fp32.onnx", folder / "int8.onnx"
    onnx.save(model, str(source))
    feeds = [{"x": np.random.default_rng(i).standard_normal((1, 3, 8, 8), dtype=np.float32)} for i in range(4)]
    ranges = calibrate(source, feeds, "minmax")
    quantize_int8(source, full, ranges, [])
    return source, full, ranges, feeds[0]


def outputs(model: onnx.ModelProto, feed) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.add_session_config_entry(*SIMULATED_QDQ)
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(None, feed)


def test_every_set_of_fp32_nodes_matches_the_quantizer(quantized, tmp_path):
    source, full, ranges, feed = quantized
    fp32, qdq = onnx.load(str(source)), onnx.load(str(full))
    names = [n.name for n in fp32.graph.node if n.op_type in QUANTIZED_OP_TYPES]
    assert len(names) == 6  # 4 Convs, 2 MatMuls
    for count in range(len(names) + 1):
        for nodes in itertools.combinations(names, count):
            quantize_int8(source, tmp_path / "excluded.onnx", ranges, list(nodes))
            expected, edited = onnx.load(str(tmp_path / "excluded.onnx")), keep_fp32(qdq, fp32, list(nodes))
            onnx.checker.check_model(edited)
            ops = [Counter(n.op_type for n in m.graph.node) for m in (expected, edited)]
            assert ops[0] == ops[1], nodes
            assert [o.name for o in edited.graph.output] == [o.name for o in fp32.graph.output]
            for want, got in zip(outputs(expected, feed), outputs(edited, feed)):
                np.testing.assert_array_equal(got, want, err_msg=str(nodes))
    everything = keep_fp32(qdq, fp32, names)
    assert not any(n.op_type.endswith("QuantizeLinear") for n in everything.graph.node)
    assert sorted(i.name for i in everything.graph.initializer) == sorted(i.name for i in fp32.graph.initializer)


def test_a_node_the_graph_does_not_quantize_is_named(quantized):
    source, full, _, _ = quantized
    with pytest.raises(ValueError, match="not quantized in the graph: /Softmax"):
        keep_fp32(onnx.load(str(full)), onnx.load(str(source)), ["/Softmax"])
