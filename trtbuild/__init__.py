"""trtbuild: YAML recipe -> ONNX -> TensorRT engine, validated against PyTorch.

The package's public face, above every module in it: `trtbuild.load` (trtbuild.runtime.model.load) is imported on
first use, so `import trtbuild`, which every `import trtbuild.<module>` runs first, stays light."""

from trtbuild.version import __version__  # noqa: F401 - trtbuild.__version__


def __getattr__(name: str):
    if name == "load":
        from trtbuild.runtime.model import load

        return load
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
