"""Runners by name (the recipe's bench.runners and verify.runner, the CLI's --runner); trtbuild.runners.factory
creates them."""

RUNNER_NAMES = ("torch", "onnxruntime", "engine")  # engine: an engine of any TensorRT-family library
RUNNER_ALIASES = {"tensorrt": "engine"}  # old spelling -> name; recipes may still use it
