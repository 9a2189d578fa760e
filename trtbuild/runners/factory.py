"""Pick and create runners by name for a recipe and the artifacts a build produced.

Nothing here initialises CUDA: GPU presence comes from nvidia-smi (trtbuild.core.host), torch/onnxruntime/tensorrt are
imported when a runner is created and touch the device only in `activate`, so runners can be made in workers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from trtbuild.core.host import gpus, torch_drives_gpus
from trtbuild.recipe.schema import Recipe
from trtbuild.runners import RUNNER_ALIASES, RUNNER_NAMES
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


def use_gpu() -> bool:
    return torch_drives_gpus()


def unavailable_reason(name: str, files: RunnerFiles) -> str | None:
    """Why runner `name` cannot run here with these files, or None."""
    name = RUNNER_ALIASES.get(name, name)
    if name not in RUNNER_NAMES:
        return f"unknown runner {name!r} (runners: {', '.join(RUNNER_NAMES)})"
    if name == "onnxruntime" and files.onnx is None:
        return "no ONNX model from the precision stage"
    if name == "engine":
        return engine_unavailable_reason(files)
    return None


def engine_unavailable_reason(files: RunnerFiles) -> str | None:
    """Why the engine cannot run on this host (the engine runner's own check, on nvidia-smi's first GPU)."""
    from trtbuild.runners.tensorrt_runner import check_engine

    if files.engine is None:
        return "no engine (the engine stage did not produce one on this host)"
    found = gpus()
    return check_engine(files.engine, (found[0].compute_capability, found[0].name) if found else None).problem


def available_runners(names: list[str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
    """(runnable names in the given order, {skipped name: reason})."""
    reasons = {n: unavailable_reason(n, files) for n in names}
    return [n for n in names if reasons[n] is None], {n: r for n, r in reasons.items() if r}


def create_runner(name: str, recipe: Recipe, files: RunnerFiles, options: RunnerOptions = RunnerOptions()) -> Runner:
    name = RUNNER_ALIASES.get(name, name)
    reason = unavailable_reason(name, files)
    if reason:
        raise ValueError(f"runner {name}: {reason}")
    if name == "torch":
        return torch_runner(recipe, "cuda" if use_gpu() else "cpu", options)
    if name == "onnxruntime":
        return onnxruntime_runner(files.onnx, options.cuda_graph, options.simulated_qdq)
    from trtbuild.runners.tensorrt_runner import TensorRTRunner

    return TensorRTRunner(files.engine, cuda_graph=options.cuda_graph)  # finds its sidecar beside the engine


def torch_runner(recipe: Recipe, device: str, options: RunnerOptions = RunnerOptions()) -> Runner:
    from trtbuild.models.base import create_adapter
    from trtbuild.runners.torch_runner import TorchRunner

    module = create_adapter(recipe).build()
    return TorchRunner(module, [s.name for s in recipe.inputs], recipe.export.output_names, device=device,
                       half=options.half, cuda_graph=options.cuda_graph and device.startswith("cuda"))


def onnxruntime_runner(onnx: Path, cuda_graph: bool = False, simulated_qdq: bool = False) -> Runner:
    """On the provider `onnx_provider` picks for this host; CUDA graphs only on its CUDA provider."""
    import onnxruntime as ort

    from trtbuild.runners.onnxruntime_runner import CUDA_EP, OnnxRuntimeRunner, onnx_provider, session_providers

    provider = onnx_provider(use_gpu(), ort.get_available_providers())
    return OnnxRuntimeRunner(onnx, session_providers(provider), cuda_graph=cuda_graph and provider == CUDA_EP,
                             simulated_qdq=simulated_qdq)
