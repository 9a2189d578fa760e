"""A GPU runner's device I/O: its own CUDA stream ordered against the caller's, frames and outputs handed between
the two, and host transfers through pinned memory. Shared by the runners that bind static buffers (ONNX Runtime's
CUDA provider; engines).

The caller prepares inputs on its current stream (torch tensor frames are letterboxed and stacked there) and reads
outputs there; the runner works on its own stream. `RunnerStream.ordered()` brackets one call: the runner's stream
waits for what the caller enqueued so far (the inputs are written), the work inside is enqueued on the runner's
stream, and the caller's stream then waits for it (the outputs are written). The waits are on the device: the host
never blocks. A runner's static outputs are overwritten by its next call, which starts by waiting for the caller
again, so reads the caller enqueued in between (a clone) happen first.

Each tensor used on a stream other than the one it was allocated on is marked in use there (`record_stream`), as
torch's caching allocator asks: a frame the caller drops at once waits for the runner's copy of it, and outputs the
caller still reads when the runner lets them go wait for those reads, before their memory serves another tensor.

torch is imported inside the functions: nothing here may load it (or CUDA) before a runner is activated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from trtbuild.tensorrt.dtypes import NOT_IN_NUMPY

if TYPE_CHECKING:
    import numpy as np


class RunnerStream:
    def __init__(self, device) -> None:
        import torch

        self.device = torch.device(device)
        self.stream = torch.cuda.Stream(self.device)
        self._inputs_written = torch.cuda.Event()  # reused every call: a wait waits for the latest record
        self._outputs_written = torch.cuda.Event()

    @property
    def handle(self) -> int:
        """The raw cudaStream_t, for libraries that enqueue on a given stream (ONNX Runtime's
        `user_compute_stream`, TensorRT's `execute_async_v3`)."""
        return self.stream.cuda_stream

    @contextmanager
    def ordered(self) -> Iterator[None]:
        """Inside: torch work goes to the runner's stream, after the caller's; after: the caller's waits for it.
        The wait is taken on the caller's current stream before switching, never inside (where the current stream
        is the runner's own and the wait would be on itself)."""
        import torch

        caller = torch.cuda.current_stream(self.device)
        self._inputs_written.record(caller)
        self.stream.wait_event(self._inputs_written)
        try:
            with torch.cuda.stream(self.stream):
                yield
        finally:
            self._outputs_written.record(self.stream)
            caller.wait_event(self._outputs_written)

    def to_host(self, tensors: dict) -> dict[str, np.ndarray]:
        """Inside `ordered()`: device tensors -> numpy arrays the caller may keep (float32 for dtypes numpy lacks),
        copied on the runner's stream into fresh pinned tensors, then that stream synchronised. Fresh, so the caller
        keeps them while the runner goes on; torch's pinned-memory cache takes each block back once it is dropped,
        so after the first frames no page-locked allocation is made."""
        pinned = {name: _pinned_like(tensor).copy_(tensor, non_blocking=True) for name, tensor in tensors.items()}
        self.synchronize()
        return {name: _host_array(tensor) for name, tensor in pinned.items()}

    def synchronize(self) -> None:
        self.stream.synchronize()


def copy_frames(targets: dict, frames: dict) -> None:
    """The caller's tensors (any device) into the runner's static ones of the same names, converted to their dtypes,
    on the current stream (the runner's, inside `ordered()`). A CUDA frame is marked in use by that stream, so the
    caller may drop it at once; a host frame is copied before this returns, so the caller may write it again."""
    for name, target in targets.items():
        frame = frames[name]
        target.copy_(frame, non_blocking=frame.is_cuda and target.is_cuda)
        _in_use_on_current_stream(frame)


def hand_over(outputs: dict) -> dict:
    """After `ordered()`: the runner's static outputs, for the caller to read on its current stream (CUDA ones are
    marked in use there: made on the runner's stream, their memory must outlive the caller's reads)."""
    for tensor in outputs.values():
        _in_use_on_current_stream(tensor)
    return dict(outputs)


def copy_from_host(targets: dict, arrays: dict, staging: dict) -> None:
    """Host arrays into the device tensors of the same names through `staging` (name -> pinned tensor of the target's
    shape and dtype, made on first use and reused): each array is converted to its target's dtype while copied into
    its staging tensor, then copied asynchronously on the current stream. Synchronise that stream before the next
    call writes `staging` again."""
    for name, target in targets.items():
        if name not in staging:
            staging[name] = _pinned_like(target)
        _write_host(staging[name], arrays[name])
        target.copy_(staging[name], non_blocking=True)


def _in_use_on_current_stream(tensor) -> None:
    import torch

    if tensor.is_cuda:  # a no-op on the stream the tensor was allocated on
        tensor.record_stream(torch.cuda.current_stream(tensor.device))


def _pinned_like(tensor):
    """An uninitialised page-locked host tensor of `tensor`'s shape and dtype (from torch's pinned-memory cache)."""
    import torch

    return torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)


def _numpy_lacks(dtype) -> bool:
    return str(dtype).removeprefix("torch.") in NOT_IN_NUMPY


def _write_host(host, array) -> None:
    """A numpy array into a host tensor of its shape, cast to the tensor's dtype (through float32 where numpy lacks
    that dtype)."""
    import numpy as np
    import torch

    if _numpy_lacks(host.dtype):
        host.copy_(torch.from_numpy(np.array(array, dtype=np.float32)))
    else:
        np.copyto(host.numpy(), array, casting="unsafe")


def _host_array(tensor) -> np.ndarray:
    """A host tensor as numpy: its memory where numpy has the dtype, else a float32 copy."""
    return tensor.float().numpy() if _numpy_lacks(tensor.dtype) else tensor.numpy()
