"""Reduced precision written into the ONNX graph: the FP32 island policy, FP16 conversion, INT8 Q/DQ, graph stats."""
