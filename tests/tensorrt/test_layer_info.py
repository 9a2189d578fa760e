"""Engine-inspector JSON from both majors normalized to one shape."""

from trtbuild.tensorrt.layer_info import normalize, tensor_dtype

V10 = {
    "Layers": [
        {"Name": "/model.0/conv/Conv", "LayerType": "CaskConvolution",
         "Inputs": [{"Name": "images", "Location": "Device", "Dimensions": [1, 3, 640, 640],
                     "Format/Datatype": "Row major linear FP32 format"}],
         "Outputs": [{"Name": "/model.0/conv/Conv_output_0", "Location": "Device", "Dimensions": [1, 16, 320, 320],
                      "Format/Datatype": "Channel major FP16 format where channel % 8 == 0"}]},
        {"Name": "/model.23/Softmax", "LayerType": "SoftMax",
         "Outputs": [{"Name": "s", "Format/Datatype": "Row major linear FP32 format"}]},
    ],
    "Bindings": ["images", "output0"],
}
V11 = {
    "Layers": [{"Name": "conv", "LayerType": "CaskConvolution",
                "Outputs": [{"Name": "c", "Format": "Channel major (kHWC8)", "DataType": "Half"}]}],
    "I/O Tensors": [
        {"Name": "images", "IOMode": "Input", "DataType": "Float", "Dimensions": [1, 3, 640, 640], "Location": "Device",
         "IsShapeInferenceIO": False, "ProfileInfo": [{"MinShape": [1, 3, 640, 640], "OptShape": [1, 3, 640, 640],
                                                      "MaxShape": [1, 3, 640, 640], "Format": "Row major linear FP32"}]},
        {"Name": "output0", "IOMode": "Output", "DataType": "Float", "Dimensions": [1, 84, 8400], "Location": "Device",
         "IsShapeInferenceIO": False},
    ],
}


def test_10x_bindings():
    info = normalize(V10)
    assert info["schema"] == "bindings" and [t["name"] for t in info["io_tensors"]] == ["images", "output0"]
    assert info["io_tensors"][0]["dtype"] is None
    assert info["num_layers"] == 2 and info["layers"][0]["output_dtypes"] == ["float16"]
    assert info["output_dtype_histogram"] == {"float16": 1, "float32": 1}


def test_11x_io_tensors():
    info = normalize(V11)
    assert info["schema"] == "io_tensors"
    assert info["io_tensors"] == [
        {"name": "images", "mode": "input", "dtype": "float32", "shape": [1, 3, 640, 640]},
        {"name": "output0", "mode": "output", "dtype": "float32", "shape": [1, 84, 8400]}]
    assert info["layers"] == [{"name": "conv", "type": "CaskConvolution", "output_dtypes": ["float16"]}]


def test_layer_names_only():
    info = normalize({"Layers": ["a", "b"], "Bindings": ["x"]})
    assert [layer["name"] for layer in info["layers"]] == ["a", "b"] and info["output_dtype_histogram"] == {}


def test_dtype_words():
    assert tensor_dtype({"Format/Datatype": "Row major linear INT8 format"}) == "int8"
    assert tensor_dtype({"DataType": "BF16"}) == "bfloat16" and tensor_dtype({}) is None
