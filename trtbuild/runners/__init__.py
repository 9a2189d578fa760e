"""Runners by name (the recipe's bench.runners and verify.runner, the CLI's --runner); trtbuild.runners.factory
creates them."""

RUNNER_NAMES = ("torch", "onnxruntime", "engine")  # engine: an engine of any TensorRT-family library
# other spellings -> name, one table for recipes, --runner and load(runtime=...)
RUNNER_ALIASES = {"tensorrt": "engine", "tensorrt-rtx": "engine", "ort": "onnxruntime", "pytorch": "torch"}
