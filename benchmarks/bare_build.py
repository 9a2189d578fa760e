"""The baseline for benchmarks/engine_build.py: import TensorRT-RTX, parse an ONNX and build an engine with the
library alone (default config, no trtbuild), printing those seconds and the engine size as JSON.

    python benchmarks/bare_build.py model.onnx out.engine
"""

import json
import sys
import time

onnx, engine = sys.argv[1], sys.argv[2]
start = time.perf_counter()  # the import counts: any program that builds pays it, and so does the stage
import tensorrt_rtx_bindings as trt  # noqa: E402

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
