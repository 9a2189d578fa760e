"""TensorRT for RTX (1.x, `tensorrt_rtx_bindings`): builds ahead of time on a CPU, with no GPU, engines that run on
RTX / Ampere-and-newer GPUs (compute capability 8.0, 8.6, 8.9, 12.x; 7.5 on request; no Hopper 9.0 or 10.0). Kernels
are compiled when the engine is first loaded and kept in a runtime cache. The API calls used, with NVIDIA's page for
each: docs/engine.md."""

from trtbuild.backends.python_api import PythonApiBackend
from trtbuild.tensorrt.flavor import TENSORRT_RTX

BACKEND = PythonApiBackend("tensorrt-rtx-bindings", TENSORRT_RTX, preference=2, aliases=("tensorrt-rtx",))
