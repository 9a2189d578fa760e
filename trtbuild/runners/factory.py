"""Pick and create runners by name: for a recipe and the artifacts a build produced (create_runner), or for
trtbuild.load (a RunnerRequest to the runner's kind).

Nothing here initialises CUDA: GPU presence comes from nvidia-smi (trtbuild.core.host), torch/onnxruntime/tensorrt are
imported when a runner is created and touch the device only in `activate`, so runners can be made in workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from trtbuild.core.host import gpus, torch_drives_gpus
from trtbuild.recipe.schema import Recipe
from trtbuild.runners import RUNNER_ALIASES, RUNNERS
from trtbuild.runners.base import Runner


@dataclass(frozen=True)
class RunnerFiles:
    """The artifacts runners load: the precision stage's ONNX and the engine with its sidecar."""

    onnx: Path | None = None
    engine: Path | None = None
    sidecar: Path | None = None

    @classmethod
    def from_artifacts(cls, artifacts: dict[str, Path]) -> RunnerFiles:
        return cls(artifacts.get("precision.onnx"), artifacts.get("engine.engine"), artifacts.get("engine.sidecar"))

    @classmethod
    def from_inputs(cls, inputs: dict) -> RunnerFiles:
        """Back from `as_inputs()`, i.e. from a stage's ctx.inputs."""
        return cls(**{f.name: inputs.get(f.name) for f in fields(cls)})

    def as_inputs(self) -> dict[str, Path]:
        """Stage-input roles (they enter the cache key) for the files present."""
        return {role: path for role, path in vars(self).items() if path is not None}


@dataclass(frozen=True)
class RunnerOptions:
    cuda_graph: bool = False
    half: bool = False  # torch only: run the module in fp16
    simulated_qdq: bool = False  # onnxruntime only: Q/DQ as float ops, the same on every CPU (accuracy, not timing)


@dataclass(frozen=True)
class RunnerRequest:
    """What a runner is made from, for a build (create_runner) and for trtbuild.load alike; each runner reads the
    fields it needs."""

    recipe: Recipe | None = None  # the torch runner builds the recipe's model
    model: Path | None = None  # the file the runner loads (its RunnerKind.reads)
    options: RunnerOptions = RunnerOptions()
    gpu: int | None = None  # the CUDA device index (None: the current device)
    threads: int | None = None  # CPU threads (None: the library's default)
    sha256: str | None = None  # the model file must hash to it (engines.json's record)
    provider: str | None = None  # ONNX Runtime's execution provider (None: onnx_provider's pick for this host)


@dataclass(frozen=True)
class RunnerKind:
    """How one runner is made, and which build artifact it needs (trtbuild.runners declares each by name)."""

    make: Callable[[RunnerRequest], Runner]
    reads: str | None = None  # the RunnerFiles field it loads; None: none (the recipe's PyTorch model)
    missing: str = ""  # why it cannot run when that file is absent
    check: Callable[[Path], str | None] | None = None  # why this host cannot run the file, or None


def use_gpu() -> bool:
    return torch_drives_gpus()


def unavailable_reason(name: str, files: RunnerFiles) -> str | None:
    """Why runner `name` cannot run here with these files, or None."""
    if name not in RUNNERS:
        return RUNNERS.unknown(name)
    kind = RUNNERS.load(name)
    path = getattr(files, kind.reads) if kind.reads else None
    if kind.reads and path is None:
        return kind.missing
    return kind.check(path) if kind.check else None


def available_runners(names: list[str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
    """(runnable names in the given order, {skipped name: reason})."""
    reasons = {n: unavailable_reason(n, files) for n in names}
    return [n for n in names if reasons[n] is None], {n: r for n, r in reasons.items() if r}


def create_runner(name: str, recipe: Recipe, files: RunnerFiles, options: RunnerOptions = RunnerOptions()) -> Runner:
    reason = unavailable_reason(name, files)
    if reason:
        raise ValueError(f"runner {RUNNER_ALIASES.get(name, name)}: {reason}")
    kind = RUNNERS.load(name)
    return kind.make(RunnerRequest(recipe, getattr(files, kind.reads) if kind.reads else None, options))


def torch_runner(recipe: Recipe, device: str, options: RunnerOptions = RunnerOptions()) -> Runner:
    from trtbuild.models.base import create_adapter
    from trtbuild.runners.torch_runner import TorchRunner

    module = create_adapter(recipe).build()
    return TorchRunner(module, [s.name for s in recipe.inputs], recipe.export.output_names, device=device,
                       half=options.half, cuda_graph=options.cuda_graph and device.startswith("cuda"))


def onnxruntime_runner(onnx: Path, cuda_graph: bool = False, simulated_qdq: bool = False) -> Runner:
    """On the provider `onnx_provider` picks for this host; CUDA graphs only on its CUDA provider."""
    return _make_onnxruntime(RunnerRequest(model=onnx, options=RunnerOptions(cuda_graph, simulated_qdq=simulated_qdq)))


def _make_torch(request: RunnerRequest) -> Runner:
    if request.threads:
        import torch

        torch.set_num_threads(request.threads)
    device = ("cuda" if request.gpu is None else f"cuda:{request.gpu}") if use_gpu() else "cpu"
    return torch_runner(request.recipe, device, request.options)


def _make_onnxruntime(request: RunnerRequest) -> Runner:
    import onnxruntime as ort

    from trtbuild.runners.onnxruntime_runner import CUDA_EP, OnnxRuntimeRunner, onnx_provider, session_providers

    provider = request.provider or onnx_provider(use_gpu(), ort.get_available_providers())
    return OnnxRuntimeRunner(request.model, session_providers(provider), threads=request.threads,
                             cuda_graph=request.options.cuda_graph and provider == CUDA_EP, device_id=request.gpu or 0,
                             simulated_qdq=request.options.simulated_qdq, sha256=request.sha256)


def _make_engine(request: RunnerRequest) -> Runner:
    from trtbuild.runners.tensorrt_runner import TensorRTRunner

    return TensorRTRunner(request.model, device=request.gpu or 0, cuda_graph=request.options.cuda_graph,
                          sha256=request.sha256)  # finds its sidecar beside the engine


def _engine_problem(engine: Path) -> str | None:
    """Why the engine cannot run on this host (the engine runner's own check, on nvidia-smi's first GPU)."""
    from trtbuild.runners.tensorrt_runner import check_engine

    found = gpus()
    return check_engine(engine, (found[0].compute_capability, found[0].name) if found else None).problem


# The kinds trtbuild.runners declares for the built-in runners: each is how its runner class is called, beside the one
# GPU rule they share (use_gpu); a new runner's own module may declare its kind instead.
TORCH = RunnerKind(_make_torch)
ONNXRUNTIME = RunnerKind(_make_onnxruntime, "onnx", "no ONNX model from the precision stage")
ENGINE = RunnerKind(_make_engine, "engine", "no engine (the engine stage did not produce one on this host)",
                    _engine_problem)
