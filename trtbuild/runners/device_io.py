"""A GPU runner's device I/O: its own CUDA stream ordered against the caller's, and host transfers through pinned
memory. Shared by the runners that bind static buffers (ONNX Runtime's CUDA provider; engines).

The caller prepares inputs on its current stream (torch tensor frames are letterboxed and stacked there) and reads
outputs there; the runner works on its own stream. `RunnerStream.ordered()` brackets one call: the runner's stream
waits for what the caller enqueued so far (the inputs are written), the work inside is enqueued on the runner's
stream, and the caller's stream then waits for it (the outputs are written). The waits are on the device: the host
never blocks. A runner's static outputs are overwritten by its next call, which starts by waiting for the caller
again, so reads the caller enqueued in between (a clone) happen first.

torch is imported inside the functions: nothing here may load it (or CUDA) before a runner is activated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


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

    def synchronize(self) -> None:
        self.stream.synchronize()


def pinned_like(tensor):
    """An uninitialised page-locked host tensor of `tensor`'s shape and dtype (from torch's pinned-memory cache)."""
    import torch

    return torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)


def copy_from_host(target, array, staging) -> None:
    """A host array into a device tensor through `staging` (pinned, `target`'s shape and dtype, reused): converted
    to the target's dtype while copied into the staging buffer, then one asynchronous copy on the current stream.
    Synchronise that stream before writing `staging` again."""
    import numpy as np

    np.copyto(staging.numpy(), array)
    target.copy_(staging, non_blocking=True)


def to_pinned_host(tensors: dict) -> dict:
    """Device tensors -> fresh pinned host tensors, copied asynchronously on the current stream (synchronise it
    before reading them). Fresh, so a caller may keep them while the runner goes on; torch's pinned-memory cache
    takes each block back once it is dropped, so after the first frames no page-locked allocation is made."""
    return {name: pinned_like(tensor).copy_(tensor, non_blocking=True) for name, tensor in tensors.items()}
