"""trtbuild: YAML recipe -> ONNX -> TensorRT engine, validated against PyTorch."""

__version__ = "0.1.0"


def load(path, runtime: str = "auto", precision: str | None = None, **options):
    """`engines/<recipe>/` (or one engine file in it) -> a Model for frames; see trtbuild.runtime.model.load."""
    from trtbuild.runtime.model import load as _load

    return _load(path, runtime=runtime, precision=precision, **options)
