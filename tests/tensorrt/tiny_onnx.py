"""A tiny real ONNX model for GPU tests: y = relu(x * 2 + 1) with a dynamic batch axis."""

from pathlib import Path


def write_tiny_onnx(path: Path, name_in: str = "images", name_out: str = "output0") -> Path:
    import onnx
    from onnx import TensorProto, helper

    two = helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph(
        [helper.make_node("Mul", [name_in, "two"], ["m"]), helper.make_node("Add", ["m", "one"], ["a"]),
         helper.make_node("Relu", ["a"], [name_out])],
        "tiny", [helper.make_tensor_value_info(name_in, TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info(name_out, TensorProto.FLOAT, ["batch", 3, 8, 8])], initializer=[two, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
