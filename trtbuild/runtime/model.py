"""`trtbuild.load(path) -> Model`: what an application calls. Frames in, results in frame pixels out.

A Model holds one runner (an engine, an ONNX Runtime session or the PyTorch module) and the recipe's task, which
does the frame <-> model mapping exactly as verify did when the engine was judged. Threads: one Model may be shared;
pre- and post-processing run in the calling thread and only inference is serialised (a lock), so for parallel
inference create one Model per thread or, better, per worker process (started with `spawn`, CUDA's rule).

On a GPU every frame stays there from its model input to its detections: a numpy frame is uploaded as uint8 through
pinned memory and prepared by torch on the GPU (or prepared on the CPU and uploaded: `prepare_on`), the runner reads
and writes device memory (`infer_device`), NMS and the depth map's resize run on the GPU, and only the kept boxes or
the frame-sized map come back. All of it is enqueued on the calling thread's current CUDA stream.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import numpy as np

from trtbuild.core.engine_set import EngineSet, read_engine_set, reading, unreadable
from trtbuild.core.errors import TrtbuildError, UsageError
from trtbuild.recipe.schema import Recipe
from trtbuild.runners.base import ChangedModelFile
from trtbuild.runtime.choice import Option, choose, host_facts
from trtbuild.runtime.frames import Upload, as_frame, as_frames, is_tensor
from trtbuild.tasks.base import Result

PREPARE_PLACES = ("gpu", "cpu")
# Where numpy frames are resized and normalised when the model runs on a GPU (load's prepare_on=None): "gpu" uploads
# the uint8 frame and prepares it with torch there, "cpu" prepares it with OpenCV and uploads the float32 input.
# Not yet measured on a GPU (benchmarks/runtime_overhead.py times both there): "gpu" because a 640x480 uint8 frame
# is 0.9 MB against 4.9 MB of float32 640x640 input, and OpenCV's letterbox and normalise leave the CPU that feeds
# the workers.
PREPARE_ON = "gpu"
# Whether an engine or ONNX Runtime's CUDA provider replays one CUDA graph per input shape (load's cuda_graph=None);
# the runner falls back to plain runs, and says why in describe(), where it cannot capture. Eager PyTorch
# (runtime="torch") never gets one: it is the baseline. On: on the lent H100, ONNX Runtime's CUDA provider with device
# I/O ran YOLO12n FP16 in 1.54 ms with the graph against 3.64 ms without, Depth-Anything-V2 in 3.77 against 4.60 ms,
# and the call returned to the host in 0.07 ms (benchmarks/onnxruntime_binding.py;
# benchmarks/results/gpu_h100_2026-12-07/).
CUDA_GRAPH = True


class Model:
    def __init__(self, engines: EngineSet, option: Option, runner, why: str, options: dict, gpu: int | None = None,
                 prepare_on: str | None = None):
        from trtbuild.tasks.registry import create_task

        self.engines = engines
        self.option = option
        candidate = option.candidate or engines.newest()
        self.recipe = Recipe.model_validate(engines.recipe_document(candidate))
        self.task = create_task(self.recipe, engines.metadata_for(candidate))
        self.runner = runner
        self.runtime = option.describe()  # what runs, in one line
        self.why = why  # why better options were passed over, in one line ("" when the first choice runs)
        self.precision = candidate.precision if option.candidate else "fp32"
        self._options = self._checked(options)
        self._lock = threading.Lock()
        spec = self.recipe.inputs[0]
        self.input_name = spec.name
        self.batch_fixed = spec.shape[0] if 0 not in spec.dynamic else None  # None: any count up to batch_max
        self.batch_max = spec.dynamic[0].max if 0 in spec.dynamic else spec.shape[0]
        self.device = None  # the torch.device the runner computes on; None: the CPU
        self.prepare_on = "cpu"  # where numpy frames are prepared: "gpu" only when the runner is on one
        if runner.on_gpu():
            import torch

            self.device = torch.device("cuda", gpu or 0)
            self.prepare_on = prepare_on or PREPARE_ON
            self._upload = Upload(self.device)
            self._outputs_read = torch.cuda.Event()  # recorded once the last outputs are copied out of the runner's

    @property
    def names(self) -> dict[int, str]:
        return self.task.names

    def __repr__(self) -> str:
        return f"Model({self.engines.recipe!r}, task={self.task.name!r}, runtime={self.runtime!r})"

    def __call__(self, frame, **options) -> Result:
        return self.predict([as_frame(frame)], **options)[0]

    def predict(self, frames, **options) -> list[Result]:
        """One frame or a list (BGR uint8 arrays, image paths, or uint8 (H, W, 3) torch tensors) -> one Result per
        frame. Options (the task's declaration, `model.task.options`: detection's conf, iou, max_det, classes,
        agnostic; classification's k) override those given to `load` for this call."""
        frames = as_frames(frames)
        self._checked(options)
        results = []
        for start in range(0, len(frames), self.batch_max):
            chunk = frames[start : start + self.batch_max]
            results += self.decode(self.infer(self.prepare(chunk)), chunk, **options)
        return results

    def stream(self, frames, lookahead: int = 2, timings: dict[str, list] | None = None, **options):
        """Frames (any iterable: a video reader, a queue) -> one Result per frame, in order, with pre- and
        post-processing in threads beside inference (runtime.stream; lookahead=0: all in the calling thread);
        options as for `predict`."""
        from trtbuild.runtime.stream import stream

        return stream(self, frames, {**self._options, **self._checked(options)}, lookahead, timings)

    def prepare(self, frames: list):
        """Frames (one batch, as `as_frames` gives them) -> the model's input batch (N, C, H, W): a numpy array when
        the model runs on the CPU, else a tensor on the GPU (tensor frames: on their own device)."""
        if is_tensor(frames[0]):
            return _stack([self.task.prepare_tensor(f) for f in frames])
        if self.device is None:
            return _stack([self.task.prepare(f) for f in frames])
        if self.prepare_on == "gpu":
            return _stack([self.task.prepare_tensor(self._upload(f)) for f in frames])
        return self._upload(_stack([self.task.prepare(f) for f in frames]))

    def decode(self, outputs: dict, frames: list, **options) -> list[Result]:
        """`infer`'s outputs for these frames -> one Result per frame, post-processed where the outputs are (on a GPU
        for device outputs); a numpy frame's Result holds numpy arrays (Result.on_host). Options as for `predict`."""
        results = self.task.results(outputs, frames, **{**self._options, **self._checked(options)})
        if isinstance(next(iter(outputs.values())), np.ndarray):
            return results
        return [r.on_host() if isinstance(f, np.ndarray) else r for r, f in zip(results, frames)]

    def infer(self, batch):
        """Prepared inputs (N, C, H, W) -> raw outputs by name (the runner alone; N <= batch_max): numpy arrays in
        and out, or torch tensors that stay on their device (copied out of the runner's reused buffers before the
        lock is released)."""
        count = len(batch)
        if self.batch_fixed and count < self.batch_fixed:  # a fixed-batch engine: pad, then drop the padding
            batch = batch[[*range(count), *[count - 1] * (self.batch_fixed - count)]]
        with self._lock:
            if self.runner is None:
                raise UsageError(f"{self.engines.recipe}: this Model is closed (close() or the end of its `with` "
                                 "block); load it again to go on")
            if isinstance(batch, np.ndarray):
                return {name: array[:count] for name, array in self.runner.infer({self.input_name: batch}).items()}
            return self._infer_tensor(batch, count)

    def _infer_tensor(self, batch, count: int) -> dict:
        """The runner overwrites its outputs on the next call, so they are copied; on a GPU that call may come from a
        thread on another CUDA stream, which first waits until this call's copies are made (an event)."""
        on_gpu = self.device is not None and batch.is_cuda
        if on_gpu:
            import torch

            current = torch.cuda.current_stream(batch.device)
            current.wait_event(self._outputs_read)
        found = self.runner.infer_device({self.input_name: batch})
        kept = {name: tensor[:count].clone() for name, tensor in found.items()}
        if on_gpu:
            self._outputs_read.record(current)
        return kept

    def warmup(self, iterations: int = 3) -> None:
        """Run a grey frame a few times: kernel selection, JIT compilation and allocations happen here, not on the
        first real frame."""
        h, w = self.task.input_hw or (64, 64)
        frame = np.full((h, w, 3), 114, dtype=np.uint8)
        for _ in range(iterations):
            self.predict(frame)

    def close(self) -> None:
        """Release the runner; waits for an inference in progress (the lock). A second call does nothing."""
        with self._lock:
            runner, self.runner = self.runner, None
            if runner is not None:
                runner.deactivate()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _checked(self, options: dict) -> dict:
        """`options` as given, once the task's declaration accepts them (one line naming the first problem)."""
        self.task.settings(**options)
        return dict(options)


def load(path, runtime: str = "auto", precision: str | None = None, engine: str | None = None,
         threads: int | None = None, device: int | str | None = None, prepare_on: str | None = None,
         cuda_graph: bool | None = None, **options) -> Model:
    """An `engines/<recipe>/` folder (or one engine/ONNX file in it) -> a ready Model.

    runtime: auto | engine | onnxruntime | torch; precision: fp32 | fp16 | bf16 | int8 (default: the newest
    build's); engine: one candidate's file name; threads: CPU threads for ONNX Runtime/PyTorch (None: all cores);
    device: the GPU every runtime uses, an index or "cuda:N" (None: the first GPU, when there is one);
    prepare_on: "gpu" | "cpu", where numpy frames are resized and normalised when the model runs on a GPU (None:
    PREPARE_ON); cuda_graph: engines and ONNX Runtime on a GPU replay a CUDA graph (None:
    CUDA_GRAPH); options: the task's post-processing defaults, checked by its declaration (`Model.predict`).

    The engine set is read under its shared lock (trtbuild.core.engine_set), so a `trtbuild build` republishing the
    folder meanwhile gives either the old candidate or the new one, each with its own digest."""
    _refuse_bad_fork()
    gpu = gpu_index(device)
    if prepare_on not in (None, *PREPARE_PLACES):
        raise UsageError(f"prepare_on={prepare_on!r}: one of {', '.join(map(repr, PREPARE_PLACES))} (where numpy "
                         "frames are prepared when the model runs on a GPU), or None for the default")
    if cuda_graph not in (None, True, False):
        raise UsageError(f"cuda_graph={cuda_graph!r}: True, False, or None for the default")
    path = Path(path)
    if path.is_file():  # one candidate: its folder's engine set, that file forced
        path, engine = path.parent, engine or path.name
    with reading(path):
        engines = read_engine_set(path)
        _check_recipes(engines)
        chosen = choose(engines, host_facts(), runtime, precision, engine)
        passed_over = list(chosen.passed_over)
        for option in chosen.options:
            try:
                runner = _activate(engines, option, threads, gpu, CUDA_GRAPH if cuda_graph is None else cuda_graph)
            except TrtbuildError as exc:
                if engine is not None or option is chosen.options[-1]:
                    raise UsageError(f"{option.describe()}: {exc}") from None
                passed_over.append(f"{option.describe()}: {exc}")
                continue
            why = "; ".join(filter(None, [*passed_over, option.note]))
            try:
                return Model(engines, option, runner, why, options, gpu, prepare_on)
            except TrtbuildError:  # options the task refuses: nothing stays loaded
                runner.deactivate()
                raise
    raise AssertionError("unreachable: choose() returns at least one option")


def _check_recipes(engines: EngineSet) -> None:
    """Every recipe engines.json records is one this trtbuild reads, else one line naming it."""
    from pydantic import ValidationError

    for digest, recorded in engines.recipes.items():
        try:
            Recipe.model_validate(recorded["recipe"])
        except ValidationError as exc:
            raise unreadable(engines.folder, exc, ("recipes", digest, "recipe")) from None


def gpu_index(device) -> int | None:
    """load's `device=` -> a CUDA device index: None stays None (the first GPU, if any), an int or "cuda:N" must name
    a GPU nvidia-smi lists; anything else is one line."""
    from trtbuild.core.host import gpus

    if device is None:
        return None
    found = re.fullmatch(r"(?:cuda:)?(\d+)", str(device))  # an int, "cuda:N", or a torch.device (prints so)
    if found is None:
        raise UsageError(f"device={device!r}: a GPU index (0, 1, ...) or 'cuda:N' (None: the first GPU)")
    index, listed = int(found.group(1)), gpus()
    if index >= len(listed):
        have = f"its GPUs are 0-{len(listed) - 1}" if listed else "nvidia-smi lists no GPU"
        raise UsageError(f"device={device!r}: no GPU {index} on this host ({have}); leave device=None on a host "
                         "without a GPU")
    return index


def _activate(engines: EngineSet, option: Option, threads: int | None, gpu: int | None, cuda_graph: bool):
    """The option's runner, activated; a file that changed since the build is refused (the runner checks the bytes it
    loads against engines.json's sha256)."""
    path = engines.path(option.candidate) if option.candidate else None  # None: torch, the recipe's checkpoint
    if path is not None and not path.is_file():
        raise UsageError(f"{path} is listed in engines.json but missing; rebuild with `trtbuild build`")
    runner = _runner(engines, option, threads, gpu or 0, cuda_graph)
    try:
        runner.activate()
    except ChangedModelFile:
        raise UsageError(f"{path.name} differs from what engines.json recorded (sha256): a replaced or damaged "
                         "file is never loaded; rebuild it with `trtbuild build`") from None
    except TrtbuildError:
        raise
    except Exception as exc:  # a library that refuses the file (deserialization, session creation)
        raise UsageError(f"could not load it ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    return runner


def _runner(engines: EngineSet, option: Option, threads: int | None, gpu: int, cuda_graph: bool):
    from trtbuild.runners import RUNNERS
    from trtbuild.runners.factory import RunnerOptions, RunnerRequest

    candidate = option.candidate  # None: torch, the recipe's checkpoint
    recipe = Recipe.model_validate(engines.recipe_document(candidate or engines.newest()))
    options = RunnerOptions(cuda_graph=cuda_graph and candidate is not None,  # eager PyTorch is the baseline
                            simulated_qdq=candidate is not None and candidate.precision == "int8")
    return RUNNERS.load(option.runtime).make(RunnerRequest(
        recipe, candidate and engines.path(candidate), options, gpu, threads, candidate and candidate.sha256,
        option.provider))


def _stack(prepared: list):
    """One batch of prepared frames: numpy arrays, or torch tensors on their device. One frame is a view, not a copy
    (a 640x640 input is 4.9 MB)."""
    if len(prepared) == 1:
        return prepared[0][None]
    if isinstance(prepared[0], np.ndarray):
        return np.stack(prepared)
    import torch

    return torch.stack(prepared)


def _refuse_bad_fork() -> None:
    """CUDA cannot be used in a child `fork`ed after the parent initialised it: that hangs or crashes later, so say
    it now (only torch can tell; nothing here imports it)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda._is_in_bad_fork():
        raise UsageError("trtbuild.load in a fork()ed process after CUDA was initialised in the parent: start "
                         "workers with multiprocessing.get_context('spawn')")
