"""Which candidate of an engine set runs here: decided from engines.json, the sidecars and facts about this host
(nvidia-smi, package metadata, ONNX Runtime's providers), before any engine is deserialized.

Order for `runtime="auto"`: an engine of the wanted precision that this GPU and installed library can run; else an
ONNX candidate on ONNX Runtime (CUDA provider when present); else PyTorch when the recipe's checkpoint is on disk.
The wanted precision is `precision=`, else the manifest's default (the newest build's). ONNX Runtime gets an INT8
graph only when asked for (then as simulated quantization); on its CPU provider an unrequested FP16 graph gives way
to FP32, which that provider runs several times faster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trtbuild.core.engine_set import Candidate, EngineSet
from trtbuild.core.errors import UsageError
from trtbuild.runners import RUNNER_ALIASES, RUNNER_NAMES
from trtbuild.runners.onnxruntime_runner import CPU_EP, CUDA_EP, onnx_provider

RUNTIMES = ("auto", *RUNNER_NAMES)  # auto: the first of the runners that can run here


@dataclass(frozen=True)
class HostFacts:
    gpu_name: str | None  # the first GPU nvidia-smi lists
    compute_capability: str | None
    libraries: dict[str, str | None]  # engine flavor -> installed bindings version
    onnxruntime_providers: tuple[str, ...]
    torch_cuda: bool = False  # torch can drive that GPU (host.torch_drives_gpus)

    @property
    def onnxruntime_provider(self) -> str:
        """The provider ONNX Runtime runs on here, by the runners' rule."""
        return onnx_provider(self.torch_cuda, self.onnxruntime_providers)


@dataclass(frozen=True)
class Option:
    """One way to run the model, in the order `load` tries them."""

    runtime: str  # engine | onnxruntime | torch
    candidate: Candidate | None  # None for torch
    provider: str | None = None  # onnxruntime: CUDA or CPU execution provider
    note: str = ""  # why this one, when it is not the obvious choice

    def describe(self) -> str:
        if self.runtime == "engine":
            c = self.candidate
            return f"{c.library} {c.library_version} engine {c.file}"
        if self.runtime == "onnxruntime":
            where = "CUDA" if self.provider == CUDA_EP else "CPU"
            qdq = ", simulated Q/DQ" if self.candidate.precision == "int8" else ""
            return f"onnxruntime ({where}{qdq}) {self.candidate.file}"
        return "torch (the recipe's checkpoint)"


@dataclass
class Choice:
    options: list[Option]
    passed_over: list[str] = field(default_factory=list)  # "what: why" for better options that cannot run here


def host_facts() -> HostFacts:
    """This host, read without initialising CUDA (nvidia-smi and package metadata; ONNX Runtime is imported)."""
    import onnxruntime

    from trtbuild.core.host import gpus, torch_drives_gpus
    from trtbuild.tensorrt.flavor import FLAVORS

    found = gpus()
    return HostFacts(found[0].name if found else None, found[0].compute_capability if found else None,
                     {f.name: f.installed_version() for f in FLAVORS},
                     tuple(onnxruntime.get_available_providers()), torch_drives_gpus())


def normalise_runtime(runtime: str) -> str:
    name = RUNNER_ALIASES.get(runtime, runtime)
    if name not in RUNTIMES:
        raise UsageError(f"runtime={runtime!r}: one of {', '.join(RUNTIMES)}")
    return name


def choose(engines: EngineSet, facts: HostFacts, runtime: str = "auto", precision: str | None = None,
           engine: str | None = None) -> Choice:
    runtime = normalise_runtime(runtime)
    if engine is not None:
        return Choice([_forced(engines, facts, engine)])
    found = Choice([])
    precisions = {c.precision for c in engines.candidates}
    if precision is not None and precision not in precisions:
        raise UsageError(f"precision={precision!r}: {engines.folder} has {', '.join(sorted(precisions))} "
                         f"(build it with `trtbuild build {engines.recipe} --precision {precision}`)")
    wanted = precision or engines.default_precision
    if runtime in ("auto", "engine"):
        _engines(engines, facts, wanted, found)
    if runtime in ("auto", "onnxruntime"):
        _onnx(engines, facts, wanted, precision is not None, found)
    if runtime in ("auto", "torch") and not found.options or runtime == "torch":
        _torch(engines, found, "" if runtime == "torch" else "no engine or ONNX model runs here")
    if not found.options:
        raise UsageError(f"{engines.folder}: nothing can run here with runtime={runtime!r}: "
                         + "; ".join(found.passed_over))
    return found


def _engines(engines: EngineSet, facts: HostFacts, wanted: str, found: Choice) -> None:
    for candidate in sorted((c for c in engines.candidates if c.kind == "engine" and c.precision == wanted),
                            key=lambda c: -c.built):
        reason = engine_reason(engines, candidate, facts)
        if reason:
            found.passed_over.append(f"{candidate.file}: {reason}")
        else:
            found.options.append(Option("engine", candidate))


def engine_reason(engines: EngineSet, candidate: Candidate, facts: HostFacts) -> str | None:
    """Why this engine cannot run on this host, from its sidecar alone, or None (the runner's own check)."""
    from trtbuild.runners.tensorrt_runner import check_engine

    gpu = (facts.compute_capability, facts.gpu_name) if facts.compute_capability else None
    return check_engine(engines.path(candidate), gpu, facts.libraries).problem


def _onnx(engines: EngineSet, facts: HostFacts, wanted: str, asked: bool, found: Choice) -> None:
    provider = facts.onnxruntime_provider
    by_precision = {c.precision: c for c in sorted(engines.candidates, key=lambda c: c.built) if c.kind == "onnx"}
    if asked:
        order = [wanted]
    elif provider == CPU_EP:
        order = ["fp32", wanted, "fp16"]
    else:
        order = [wanted, "fp16", "fp32"]
    for precision in dict.fromkeys(order):  # every usable one, best first: load falls through a damaged file
        candidate = by_precision.get(precision)
        if candidate is None:
            continue
        if precision == "int8" and not asked:
            found.passed_over.append(f"{candidate.file}: INT8 on ONNX Runtime only when asked for (precision='int8')")
            continue
        note = ""
        if precision != wanted:
            note = (f"{precision} instead of the default {wanted}: ONNX Runtime's CPU provider runs FP16 graphs slowly"
                    if provider == CPU_EP and precision == "fp32" else f"no {wanted} ONNX; {precision} runs")
        found.options.append(Option("onnxruntime", candidate, provider, note))


def _torch(engines: EngineSet, found: Choice, note: str) -> None:
    weights = engines.recipes[engines.newest().recipe_digest]["recipe"]["model"].get("weights")
    if weights and Path(weights).is_file():
        found.options.append(Option("torch", None, note=note))
    else:
        found.passed_over.append(f"torch: the recipe's checkpoint {weights} is not on this host")


def _forced(engines: EngineSet, facts: HostFacts, name: str) -> Option:
    """engine="FILE": that candidate or a one-line error, never a silent substitute."""
    candidate = next((c for c in engines.candidates if c.file == name), None)
    if candidate is None:
        listed = ", ".join(c.file for c in engines.candidates)
        raise UsageError(f"engine={name!r}: not in {engines.folder / 'engines.json'} (it lists {listed})")
    if candidate.kind == "engine":
        reason = engine_reason(engines, candidate, facts)
        if reason:
            raise UsageError(f"{name} cannot run here: {reason}")
        return Option("engine", candidate)
    return Option("onnxruntime", candidate, facts.onnxruntime_provider)
