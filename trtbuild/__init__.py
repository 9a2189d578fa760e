"""trtbuild: YAML recipe -> ONNX -> TensorRT engine, validated against PyTorch."""

__version__ = "0.1.0"
