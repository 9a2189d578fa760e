"""`trtbuild.load(path) -> Model`: what an application calls. Frames in, results in frame pixels out.

A Model holds one runner (an engine, an ONNX Runtime session or the PyTorch module) and the recipe's task, which
does the frame <-> model mapping exactly as verify did when the engine was judged. Threads: one Model may be shared;
pre- and post-processing run in the calling thread and only inference is serialised (a lock), so for parallel
inference create one Model per thread or, better, per worker process (started with `spawn`, CUDA's rule).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np

from trtbuild.engine_set import EngineSet, read_engine_set
from trtbuild.errors import TrtbuildError, UsageError
from trtbuild.runners.base import ChangedModelFile
from trtbuild.runtime.choice import Option, host_facts, plan
from trtbuild.runtime.frames import as_frame, as_frames, is_tensor
from trtbuild.tasks.base import Result


class Model:
    def __init__(self, engines: EngineSet, option: Option, runner, why: str, options: dict):
        from trtbuild.tasks.registry import create_task

        self.engines = engines
        self.option = option
        candidate = option.candidate or engines.newest()
        self.recipe = engines.recipe_for(candidate)
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

    @property
    def names(self) -> dict[int, str]:
        return {int(k): v for k, v in self.task.metadata.get("names", {}).items()}

    def __repr__(self) -> str:
        return f"Model({self.engines.recipe!r}, task={self.task.name!r}, runtime={self.runtime!r})"

    def __call__(self, frame, **options) -> Result:
        return self.predict([as_frame(frame)], **options)[0]

    def predict(self, frames, **options) -> list[Result]:
        """One frame or a list (BGR uint8 arrays or image paths) -> one Result per frame. Options (detection:
        conf, iou, max_det, classes, agnostic) override those given to `load` for this call."""
        frames = as_frames(frames)
        decode = {**self._options, **self._checked(options)}
        results = []
        for start in range(0, len(frames), self.batch_max):
            chunk = frames[start : start + self.batch_max]
            prepare = self.task.prepare_tensor if is_tensor(chunk[0]) else self.task.prepare
            outputs = self.infer(_stack([prepare(f) for f in chunk]))
            results += self.task.results(outputs, chunk, **decode)
        return results

    def stream(self, frames, lookahead: int = 2, timings: dict[str, list] | None = None, **options):
        """Frames (any iterable: a video reader, a queue) -> one Result per frame, in order, with pre- and
        post-processing in threads beside inference (runtime.stream); options as for `predict`."""
        from trtbuild.runtime.stream import stream

        return stream(self, frames, {**self._options, **self._checked(options)}, lookahead, timings)

    def infer(self, batch):
        """Prepared inputs (N, C, H, W) -> raw outputs by name (the runner alone; N <= batch_max): numpy arrays in
        and out, or torch tensors that stay on their device (copied out of the runner's reused buffers before the
        lock is released)."""
        count = len(batch)
        if self.batch_fixed and count < self.batch_fixed:  # a fixed-batch engine: pad, then drop the padding
            batch = batch[[*range(count), *[count - 1] * (self.batch_fixed - count)]]
        with self._lock:
            if isinstance(batch, np.ndarray):
                return {name: array[:count] for name, array in self.runner.infer({self.input_name: batch}).items()}
            found = self.runner.infer_device({self.input_name: batch})
            return {name: tensor[:count].clone() for name, tensor in found.items()}

    def warmup(self, iterations: int = 3) -> None:
        """Run a grey frame a few times: kernel selection, JIT compilation and allocations happen here, not on the
        first real frame."""
        h, w = self.task.input_hw or (64, 64)
        frame = np.full((h, w, 3), 114, dtype=np.uint8)
        for _ in range(iterations):
            self.predict(frame)

    def close(self) -> None:
        if self.runner is not None:
            self.runner.deactivate()
            self.runner = None

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _checked(self, options: dict) -> dict:
        unknown = sorted(set(options) - set(self.task.decode_options))
        if unknown:
            known = ", ".join(self.task.decode_options) or "none"
            raise UsageError(f"{unknown[0]}: not an option of the {self.task.name} task (options: {known})")
        return dict(options)


def load(path, runtime: str = "auto", precision: str | None = None, engine: str | None = None,
         threads: int | None = None, **options) -> Model:
    """An `engines/<recipe>/` folder (or one engine/ONNX file in it) -> a ready Model.

    runtime: auto | engine | onnxruntime | torch; precision: fp32 | fp16 | bf16 | int8 (default: the newest
    build's); engine: one candidate's file name; threads: CPU threads for ONNX Runtime/PyTorch (None: all cores);
    options: the task's post-processing defaults (detection: conf, iou, max_det, classes, agnostic)."""
    _refuse_bad_fork()
    path = Path(path)
    if path.is_file():  # one candidate: its folder's engine set, that file forced
        path, engine = path.parent, engine or path.name
    engines = read_engine_set(path)
    chosen = plan(engines, host_facts(), runtime, precision, engine)
    passed_over = list(chosen.passed_over)
    for option in chosen.options:
        try:
            runner = _activate(engines, option, threads)
        except TrtbuildError as exc:
            if engine is not None or option is chosen.options[-1]:
                raise UsageError(f"{option.describe()}: {exc}") from None
            passed_over.append(f"{option.describe()}: {exc}")
            continue
        why = "; ".join(filter(None, [*passed_over, option.note]))
        return Model(engines, option, runner, why, options)
    raise AssertionError("unreachable: plan() returns at least one option")


def _activate(engines: EngineSet, option: Option, threads: int | None):
    """The option's runner, activated; a file that changed since the build is refused (the runner checks the bytes it
    loads against engines.json's sha256)."""
    path = engines.path(option.candidate) if option.candidate else None  # None: torch, the recipe's checkpoint
    if path is not None and not path.is_file():
        raise UsageError(f"{path} is listed in engines.json but missing; rebuild with `trtbuild build`")
    runner = _runner(engines, option, threads)
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


def _runner(engines: EngineSet, option: Option, threads: int | None):
    if option.runtime == "engine":
        from trtbuild.runners.tensorrt_runner import TensorRTRunner

        return TensorRTRunner(engines.path(option.candidate), sha256=option.candidate.sha256)
    if option.runtime == "onnxruntime":
        from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner, session_providers

        return OnnxRuntimeRunner(engines.path(option.candidate), session_providers(option.provider), threads=threads,
                                 simulated_qdq=option.candidate.precision == "int8", sha256=option.candidate.sha256)
    import torch

    from trtbuild.runners.factory import torch_runner

    if threads:
        torch.set_num_threads(threads)
    recipe = engines.recipe_for(engines.newest())
    return torch_runner(recipe, "cuda" if torch.cuda.is_available() else "cpu")


def _stack(prepared: list):
    """One batch of prepared frames: numpy arrays, or torch tensors on their device."""
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
