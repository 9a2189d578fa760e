"""TensorRT for RTX (1.x, `tensorrt_rtx_bindings`): builds ahead of time on a CPU, with no GPU, engines that run on
RTX / Ampere-and-newer GPUs (compute capability 8.0, 8.6, 8.9, 12.x; 7.5 on request; no Hopper 9.0 or 10.0). Kernels
are compiled when the engine is first loaded and kept in a runtime cache. Facts: shared/reference/tensorrt_rtx.md."""

from trtbuild.backends.python_api import PythonApiBackend
from trtbuild.tensorrt.flavor import Flavor
from trtbuild.tensorrt.version import TrtVersion

FLAVOR = Flavor(
    name="tensorrt-rtx", title="TensorRT-RTX", module="tensorrt_rtx_bindings",
    distributions=("tensorrt-rtx-cu13-bindings", "tensorrt_rtx_cu13_bindings"),
    install_hint="pip install 'trtbuild[rtx]'",
    min_version=TrtVersion(1, 5), max_major=1,  # 1.5 broke the ABI and removed the deprecated APIs
    strongly_typed_since=TrtVersion(0, 0),  # always strongly typed
    compute_capabilities=("7.5", "8.0", "8.6", "8.9", "12.0", "12.1"),  # the ComputeCapability enum's SM members
    default_compute_capabilities=("8.0", "8.6", "8.9", "12.0", "12.1"),  # Turing (7.5) only on request
    timing_cache=False,  # the ITimingCache calls are deprecated no-ops since RTX 1.2
    hardware_compatibility=False,  # the setter logs "unsupported" and keeps NONE
    version_compatible=False,  # the build fails: the wheel has no lean runtime library
    runtime_cache=True, builtin_cuda_graph=True,
)

BACKEND = PythonApiBackend("tensorrt-rtx", FLAVOR, preference=2)
