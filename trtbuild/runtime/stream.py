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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from itertools import islice
from queue import SimpleQueue
from threading import Thread

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
    reader = _Reader(source, prepare)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="trtbuild-decode") as decoder:
            yield from _pipelined(reader, decoder, lookahead, lambda frame, batch: decoder.submit(
                timed, "post", model.decode, timed("infer", model.infer, batch), [frame], **decode))
    finally:
        reader.close()


def _pipelined(reader: _Reader, decoder, lookahead: int, start) -> Iterator[Result]:
    """Infer each prepared frame in order and yield its decoded Result in order. A finished Result is yielded as
    soon as it is ready, never held back while the source has no frame yet: a consumer that feeds the source (a
    worker's inbox) only after it got the previous results would otherwise wait forever."""
    prepared = deque(reader.request() for _ in range(lookahead))
    decoding: deque[Future] = deque()
    while prepared or decoding:
        can_start = bool(prepared) and len(decoding) <= lookahead  # else enough in flight: the oldest Result first
        wait([*([prepared[0]] if can_start else []), *islice(decoding, 1)], return_when=FIRST_COMPLETED)
        while decoding and decoding[0].done():
            yield decoding.popleft().result()[0]
        if can_start and prepared[0].done():
            item = prepared.popleft().result()
            if item is _END:
                prepared.clear()  # the source is exhausted: the reads behind this one find nothing either
                continue
            prepared.append(reader.request())
            decoding.append(start(*item))


class _Reader:
    """Reads the source and prepares each frame, in order, on one daemon thread: a source that blocks (an empty
    queue) neither stops finished Results from being yielded nor keeps the process from exiting once the stream is
    abandoned. Each `request` is a Future of the next (frame, batch), or _END."""

    def __init__(self, source: Iterator, prepare):
        self._requests: SimpleQueue[Future | None] = SimpleQueue()
        self._closed = False
        Thread(target=self._run, args=(source, prepare), daemon=True, name="trtbuild-stream-read").start()

    def request(self) -> Future:
        future = Future()
        self._requests.put(future)
        return future

    def close(self) -> None:
        """No more reads: requests still queued (a stream left early) take no further frames from the source."""
        self._closed = True
        self._requests.put(None)

    def _run(self, source: Iterator, prepare) -> None:
        while (future := self._requests.get()) is not None:
            if self._closed:
                future.cancel()
                continue
            try:
                frame = next(source, _END)
                future.set_result(_END if frame is _END else prepare(frame))
            except BaseException as exc:  # handed to the stream, which raises it in the caller's thread
                future.set_exception(exc)


_END = object()


def _callers_stream(model, synchronise: bool):
    """(context factory, finish): the context makes a thread's CUDA work go to the calling thread's current stream
    on the model's GPU; `finish` waits for that stream when `synchronise` (nothing to do off the GPU)."""
    if model.device is None:
        return nullcontext, lambda: None
    import torch

    current = torch.cuda.current_stream(model.device)
    return (lambda: torch.cuda.stream(current)), (current.synchronize if synchronise else lambda: None)
