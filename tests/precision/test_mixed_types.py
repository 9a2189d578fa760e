"""A Conv bound to float and float16 (what a converter can leave) is repaired into a graph ORT runs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from trtbuild.precision.mixed_types import fix_mixed_float_inputs


def mixed_conv() -> onnx.ModelProto:
    weight = numpy_helper.from_array(np.ones((2, 3, 1, 1), np.float32), "w")  # left FP32
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["x16"], to=TensorProto.FLOAT16, name="to16"),
         helper.make_node("Conv", ["x16", "w"], ["y16"], name="conv"),
         helper.make_node("Cast", ["y16"], ["y"], to=TensorProto.FLOAT, name="to32")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])], [weight])
    # IR 8, as torch's exporter writes at opset 17 (onnx's newest IR loads only in the newest ONNX Runtime)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_mixed_conv_gets_a_cast_to_its_activation_type():
    model = mixed_conv()
    assert fix_mixed_float_inputs(model) == ["conv"]
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": np.ones((1, 3, 4, 4), np.float32)})
    np.testing.assert_allclose(y, 3.0)
    assert fix_mixed_float_inputs(model) == []  # idempotent
