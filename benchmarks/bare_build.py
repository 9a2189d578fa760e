"""The baseline for benchmarks/engine_build.py: parse an ONNX and build an engine with TensorRT-RTX alone (default
config, no trtbuild), printing the parse+build seconds and engine size as JSON.

    python benchmarks/bare_build.py model.onnx out.engine
"""

import json
import sys
import time

import tensorrt_rtx_bindings as trt

onnx, engine = sys.argv[1], sys.argv[2]
start = time.perf_counter()
logger = trt.Logger(trt.Logger.WARNING)
builder = trt.Builder(logger)
network = builder.create_network(0)
parser = trt.OnnxParser(network, logger)
if not parser.parse_from_file(onnx):
    sys.exit(f"parse failed: {parser.get_error(0).desc()}")
serialized = builder.build_serialized_network(network, builder.create_builder_config())
seconds = time.perf_counter() - start
blob = bytes(serialized)
with open(engine, "wb") as f:
    f.write(blob)
print(json.dumps({"parse_build_s": round(seconds, 3), "engine_bytes": len(blob)}))
