"""Full TensorRT (10.3 - 11.x) through its Python bindings: data-center GPUs, Jetson, and any GPU it is installed on.
Engines are built on, and bound to, the GPU of the build host."""

from trtbuild.backends.python_api import PythonApiBackend
from trtbuild.tensorrt.flavor import TENSORRT

BACKEND = PythonApiBackend("tensorrt-bindings", TENSORRT, preference=0, aliases=("tensorrt", "python"))
