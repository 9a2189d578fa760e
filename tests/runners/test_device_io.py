"""A runner's device I/O on a real GPU: its stream waits for the caller's on the device, tensors used across the two
streams keep their memory until the other stream is done with them, and host arrays go in and out through pinned
memory."""

from __future__ import annotations

import numpy as np
import pytest

from trtbuild.runners.device_io import RunnerStream, copy_frames, copy_from_host, hand_over

SLEEP_CYCLES = 200_000_000  # torch.cuda._sleep: about 0.1 s of GPU time
FLOATS = 3 << 20  # 12 MiB of float32: a same-size allocation on the block's stream takes it back at once if free


def _runner_stream() -> RunnerStream:
    import torch

    return RunnerStream(torch.device("cuda", 0))


@pytest.mark.gpu
def test_work_inside_ordered_reads_what_a_delayed_caller_wrote():
    import torch

    runner = _runner_stream()
    caller = torch.cuda.Stream()
    source = torch.arange(1 << 20, dtype=torch.float32, device="cuda")
    target, frame = torch.zeros_like(source), torch.zeros_like(source)
    torch.cuda.synchronize()
    with torch.cuda.stream(caller):
        torch.cuda._sleep(SLEEP_CYCLES)  # the caller writes the frame late
        frame.copy_(source)
        with runner.ordered():
            target.copy_(frame)  # on the runner's stream
        seen = target.clone()  # on the caller's: after the runner's copy
    caller.synchronize()
    assert torch.equal(seen, source)


@pytest.mark.gpu
def test_a_frame_dropped_after_the_call_keeps_its_memory_until_the_runner_copied_it():
    """The frame was allocated on a side stream; the runner's copy of it is held back. Without `record_stream` the
    side stream's next allocation would take the frame's memory at once and overwrite it before the copy."""
    import torch

    runner, side = _runner_stream(), torch.cuda.Stream()
    with torch.cuda.stream(side):
        frame = torch.full((FLOATS,), 7.0, device="cuda")
    target = torch.zeros(FLOATS, device="cuda")
    torch.cuda.synchronize()
    with torch.cuda.stream(runner.stream):
        torch.cuda._sleep(SLEEP_CYCLES)
    with runner.ordered():
        copy_frames({"x": target}, {"x": frame})
    del frame
    with torch.cuda.stream(side):
        overwritten = torch.full((FLOATS,), -1.0, device="cuda")
    torch.cuda.synchronize()
    assert bool((target == 7).all()) and bool((overwritten == -1).all())


@pytest.mark.gpu
def test_outputs_the_runner_drops_keep_their_memory_until_the_callers_reads_are_done():
    """Outputs made on the runner's stream, read late on the caller's: without `record_stream` the runner's next
    allocation would take their memory at once and overwrite it before the caller's read."""
    import torch

    runner = _runner_stream()
    with runner.ordered():
        output = torch.full((FLOATS,), 7.0, device="cuda")  # a static output: allocated on the runner's stream
    handed = hand_over({"y": output})
    torch.cuda._sleep(SLEEP_CYCLES)  # the caller reads late
    seen = handed["y"].clone()
    del output, handed
    with torch.cuda.stream(runner.stream):
        overwritten = torch.full((FLOATS,), -1.0, device="cuda")
    torch.cuda.synchronize()
    assert bool((seen == 7).all()) and bool((overwritten == -1).all())


@pytest.mark.gpu
def test_host_arrays_go_in_and_out_through_pinned_memory():
    import torch

    runner = _runner_stream()
    array = np.random.default_rng(0).random((2, 3, 4))  # float64 in, converted to the buffer's float16
    device = torch.empty(array.shape, dtype=torch.float16, device="cuda")
    staging = {}
    with runner.ordered():
        copy_from_host({"x": device}, {"x": array}, staging)
        host = runner.to_host({"x": device * 2})
    assert staging["x"].is_pinned() and torch.from_numpy(host["x"]).is_pinned() and host["x"].dtype == np.float16
    np.testing.assert_allclose(host["x"], array.astype(np.float16) * 2, rtol=1e-3)


@pytest.mark.gpu
def test_dtypes_numpy_lacks_cross_the_host_as_float32():
    import torch

    runner = _runner_stream()
    array = np.array([[0.5, -2.0, 3.0]])  # exact in bfloat16
    device = torch.empty(array.shape, dtype=torch.bfloat16, device="cuda")
    staging = {}
    with runner.ordered():
        copy_from_host({"x": device}, {"x": array}, staging)
        host = runner.to_host({"x": device})
    assert staging["x"].dtype == torch.bfloat16 and host["x"].dtype == np.float32
    np.testing.assert_array_equal(host["x"], array.astype(np.float32))
