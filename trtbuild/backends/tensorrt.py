"""Full TensorRT (10.3 - 11.x) through its Python bindings: data-center GPUs, Jetson, and any GPU it is installed on.
Engines are built on, and bound to, the GPU of the build host."""

from trtbuild.backends.python_api import PythonApiBackend
from trtbuild.tensorrt.flavor import Flavor
from trtbuild.tensorrt.version import TrtVersion

FLAVOR = Flavor(
    name="tensorrt", title="TensorRT", module="tensorrt",
    distributions=("tensorrt", "tensorrt-cu13", "tensorrt-cu12", "tensorrt_cu13", "tensorrt_cu12"),
    install_hint="on a host with an NVIDIA GPU: pip install 'trtbuild[tensorrt]'",
    min_version=TrtVersion(10, 3), max_major=11,
    strongly_typed_since=TrtVersion(11, 0),  # 11.0 removed weak typing (BuilderFlag.FP16 and friends)
    weak_typing_deprecated_since=TrtVersion(10, 12),
    # Ultralytics blocks these for regressions (PRs #14239, #24367); below 10.3 anyway, but the user gets the reason
    known_bad={(10, 1, 0): "TensorRT 10.1.0 has known build regressions",
               (10, 2, 0): "TensorRT 10.2.0 has known build regressions"},
)

BACKEND = PythonApiBackend("tensorrt", FLAVOR, preference=0, aliases=("python",))
