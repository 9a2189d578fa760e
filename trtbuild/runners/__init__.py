"""Runners by name (the recipe's bench.runners and verify.runner, the CLI's --runner, load's runtime=), each with the
RunnerKind that makes it (trtbuild.runners.factory) and its other spellings. A new runner is its module, which
declares a RunnerKind, plus one line here."""

from trtbuild.core.registry import Part, Registry

RUNNERS = Registry("runner", [
    Part("torch", "trtbuild.runners.factory:TORCH", aliases=("pytorch",)),
    Part("onnxruntime", "trtbuild.runners.factory:ONNXRUNTIME", aliases=("ort",)),
    Part("engine", "trtbuild.runners.factory:ENGINE", aliases=("tensorrt", "tensorrt-rtx")),  # any TensorRT-family
])
RUNNER_NAMES = tuple(RUNNERS)
RUNNER_ALIASES = RUNNERS.aliases
