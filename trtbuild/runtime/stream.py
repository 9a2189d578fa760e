"""Frames through a Model as a pipeline: while frame N infers, frame N+1 is prepared and frame N-1 decoded in worker
threads, so pre- and post-processing leave the critical path. Results come back in frame order, one per frame.

Inference stays on the calling thread (the runtimes release the GIL while they compute; OpenCV, numpy and torch do
while they resize, convert and suppress), so a stream adds no parallel use of the Model's runner. On a GPU the worker
threads enqueue their work on the calling thread's current CUDA stream (a new thread's would be the default stream):
the frame's upload and preparation, its inference and its decoding stay in order on one stream whichever thread
enqueues them. `lookahead=0` runs everything in the calling thread, one frame after the other.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from itertools import islice

from trtbuild.runtime.frames import as_frame
from trtbuild.tasks.base import Result

STAGES = ("prepare", "infer", "post")


def stream(model, frames: Iterable, decode: dict, lookahead: int = 2,
           timings: dict[str, list] | None = None) -> Iterator[Result]:
    """One Result per frame, in order. `lookahead` frames are prepared ahead and up to as many decoded behind;
    `timings`: lists under "prepare", "infer" and "post" that get each frame's milliseconds per stage; on a GPU a
    timed stage ends when the work it enqueued is done (it synchronises the stream), so each holds its own GPU time
    (GPU runners return before their work is done: untimed, inference would be paid for in "post")."""
    if lookahead < 0:
        raise ValueError(f"lookahead={lookahead}: 0 or more frames")
    on_stream, finish = _callers_stream(model, timings is not None)

    def timed(stage: str, work, *args, **kwargs):
        with on_stream():
            start = time.perf_counter()
            found = work(*args, **kwargs)
            finish()
        if timings is not None:
            timings[stage].append((time.perf_counter() - start) * 1000)
        return found

    def prepare(frame):
        frame = as_frame(frame)
        return frame, timed("prepare", model.prepare, [frame])

    def alone(frame) -> Result:
        frame, batch = prepare(frame)
        return timed("post", model.decode, timed("infer", model.infer, batch), [frame], **decode)[0]

    source = iter(frames)
    # The first frame runs alone, so a runner that captures a CUDA graph when it first sees a shape (ONNX Runtime
    # does, in CUDA's global capture mode) does it while no other thread uses the GPU; lookahead=0: every frame.
    for frame in islice(source, 1 if lookahead else None):
        yield alone(frame)
    if not lookahead:
        return
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="trtbuild-stream") as pool:
        prepared: deque[Future] = deque(pool.submit(prepare, f) for f in islice(source, lookahead))
        decoding: deque[Future] = deque()
        while prepared:
            frame, batch = prepared.popleft().result()
            prepared.extend(pool.submit(prepare, f) for f in islice(source, 1))
            outputs = timed("infer", model.infer, batch)
            decoding.append(pool.submit(timed, "post", model.decode, outputs, [frame], **decode))
            while decoding and (decoding[0].done() or len(decoding) > lookahead):
                yield decoding.popleft().result()[0]
        while decoding:
            yield decoding.popleft().result()[0]


def _callers_stream(model, synchronise: bool):
    """(context factory, finish): the context makes a thread's CUDA work go to the calling thread's current stream
    on the model's GPU; `finish` waits for that stream when `synchronise` (nothing to do off the GPU)."""
    if model.device is None:
        return nullcontext, lambda: None
    import torch

    current = torch.cuda.current_stream(model.device)
    return (lambda: torch.cuda.stream(current)), (current.synchronize if synchronise else lambda: None)
