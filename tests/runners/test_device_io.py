"""A runner's device I/O on a real GPU: its stream waits for the caller's on the device, and host arrays go in and
out through pinned memory."""

from __future__ import annotations

import numpy as np
import pytest

from trtbuild.runners.device_io import RunnerStream, copy_from_host, pinned_like, to_pinned_host


@pytest.mark.gpu
def test_work_inside_ordered_reads_what_a_delayed_caller_wrote():
    import torch

    runner = RunnerStream(torch.device("cuda", 0))
    caller = torch.cuda.Stream()
    source = torch.arange(1 << 20, dtype=torch.float32, device="cuda")
    target, frame = torch.zeros_like(source), torch.zeros_like(source)
    torch.cuda.synchronize()
    with torch.cuda.stream(caller):
        torch.cuda._sleep(200_000_000)  # about 0.1 s: the caller writes the frame late
        frame.copy_(source)
        with runner.ordered():
            target.copy_(frame)  # on the runner's stream
        seen = target.clone()  # on the caller's: after the runner's copy
    caller.synchronize()
    assert torch.equal(seen, source)


@pytest.mark.gpu
def test_host_arrays_go_in_and_out_through_pinned_memory():
    import torch

    array = np.random.default_rng(0).random((2, 3, 4))  # float64 in, converted to the buffer's float16
    device = torch.empty(array.shape, dtype=torch.float16, device="cuda")
    staging = pinned_like(device)
    copy_from_host(device, array, staging)
    host = to_pinned_host({"x": device * 2})
    torch.cuda.current_stream().synchronize()
    assert staging.is_pinned() and host["x"].is_pinned() and host["x"].dtype == torch.float16
    np.testing.assert_allclose(host["x"].numpy(), (array.astype(np.float16) * 2), rtol=1e-3)
