"""The build plan: every engine-build decision, computed from the recipe, the library flavor and its version, applied
by a backend (python_builder or trtexec) without further thought. Names are the libraries' enum member names, so
the plan is testable against each version's manifest without the library. What a flavor cannot do is refused here,
before the library is touched, in one line naming the recipe key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Recipe
from trtbuild.tensorrt.flavor import Flavor, compute_capability_member
from trtbuild.tensorrt.version import TrtVersion

HARDWARE_LEVELS = {"none": "NONE", "ampere_plus": "AMPERE_PLUS", "same_compute_capability": "SAME_COMPUTE_CAPABILITY"}
# The manifests show HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY absent in 10.8 and present from 10.16 on;
# below the first release we verified, refuse rather than guess.
SAME_COMPUTE_CAPABILITY_SINCE = (10, 16)


def mib_to_bytes(mib: int) -> int:
    return mib << 20


@dataclass(frozen=True)
class Profile:
    """One optimization profile: min/opt/max shape per dynamic input (static inputs need none)."""

    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


@dataclass(frozen=True)
class BuildPlan:
    library: str  # flavor name
    version: TrtVersion
    precision: str  # recipe precision.mode, for the sidecar and file names
    precision_method: str  # graph | builder
    strongly_typed: bool  # precision comes from the graph
    network_flags: tuple[str, ...]  # NetworkDefinitionCreationFlag members
    builder_flags: tuple[str, ...]  # BuilderFlag members
    memory_pools: dict[str, int]  # MemoryPoolType member -> bytes (absent: the library decides)
    input_shapes: dict[str, tuple[int, ...]]  # declared inputs, -1 on dynamic axes
    profiles: tuple[Profile, ...]
    optimization_level: int
    hardware_compatibility: str | None  # HardwareCompatibilityLevel member; None: the flavor has no such setting
    profiling_verbosity: str  # ProfilingVerbosity member
    timing_cache: Path | None
    compute_capabilities: tuple[str, ...]  # ComputeCapability members to target; () = the library's default
    runs_on: tuple[str, ...]  # compute capabilities the engine will run on ("8.0+" = any Ampere or newer)
    warnings: tuple[str, ...] = field(default=())

    @property
    def version_compatible(self) -> bool:
        return "VERSION_COMPATIBLE" in self.builder_flags


def timing_cache_path(root: Path, library: str, version: TrtVersion, compute_capability: str) -> Path:
    """One cache per (library, version, GPU compute capability): tactic timings mean nothing elsewhere."""
    prefix = "trt" if library == "tensorrt" else library
    return root / f"{prefix}-{version}-sm{compute_capability.replace('.', '')}.timing-cache"


def make_plan(recipe: Recipe, flavor: Flavor, version: TrtVersion, compute_capability: str | None,
              timing_cache_dir: Path | None = None) -> BuildPlan:
    """`compute_capability`: the local GPU for flavors that build for it; None for ahead-of-time flavors."""
    engine, precision = recipe.engine, recipe.precision
    strongly_typed_only = flavor.strongly_typed_only(version)
    builder_mode = precision.method == "builder"
    warnings: list[str] = []
    if builder_mode and strongly_typed_only:
        raise UsageError(
            f"precision.method: builder needs weak typing (TensorRT 10.x); {flavor.title} {version} builds strongly "
            "typed only, so the precision must be in the ONNX graph (precision.method: graph)")

    network_flags: tuple[str, ...] = ()
    builder_flags: list[str] = []
    if not strongly_typed_only:
        if builder_mode:
            if precision.mode == "fp16":
                builder_flags.append("FP16")
                if flavor.weak_typing_deprecated_since and version >= flavor.weak_typing_deprecated_since:
                    warnings.append(f"BuilderFlag.FP16 (weak typing) is deprecated since {flavor.title} "
                                    f"{flavor.weak_typing_deprecated_since}; precision.method: graph works on "
                                    f"{version} and on later majors")
        else:
            # strongly-typed-only versions deprecate the flag, so it is only set where typing is still a choice
            network_flags = ("STRONGLY_TYPED",)

    if engine.version_compatible:
        if not flavor.version_compatible:
            raise UsageError(f"engine.version_compatible: {flavor.title} cannot build version-compatible engines "
                             "(its wheels have no lean runtime); set it to false")
        builder_flags.append("VERSION_COMPATIBLE")

    return BuildPlan(
        library=flavor.name,
        version=version,
        precision=precision.mode,
        precision_method=precision.method,
        strongly_typed=strongly_typed_only or "STRONGLY_TYPED" in network_flags,
        network_flags=network_flags,
        builder_flags=tuple(builder_flags),
        memory_pools={"WORKSPACE": mib_to_bytes(engine.workspace_mib)} if engine.workspace_mib else {},
        input_shapes={s.name: tuple(-1 if i in s.dynamic else d for i, d in enumerate(s.shape))
                      for s in recipe.inputs},
        profiles=_profiles(recipe),
        optimization_level=engine.optimization_level,
        hardware_compatibility=_hardware_level(engine.hardware_compatibility, flavor, version, compute_capability),
        profiling_verbosity=engine.profiling_verbosity.upper(),
        timing_cache=timing_cache_path(timing_cache_dir, flavor.name, version, compute_capability)
        if engine.timing_cache and flavor.timing_cache and timing_cache_dir and compute_capability else None,
        compute_capabilities=tuple(compute_capability_member(cc) for cc in _targets(engine.compute_capabilities,
                                                                                       flavor)),
        runs_on=_runs_on(engine, flavor, compute_capability),
        warnings=tuple(warnings),
    )


def _profiles(recipe: Recipe) -> tuple[Profile, ...]:
    dynamic = {s.name: (tuple(s.shape_at("min")), tuple(s.shape_at("opt")), tuple(s.shape_at("max")))
               for s in recipe.inputs if s.dynamic}
    return (Profile(dynamic),) if dynamic else ()


def _hardware_level(value: str, flavor: Flavor, version: TrtVersion, compute_capability: str | None) -> str | None:
    level = HARDWARE_LEVELS[value]
    if not flavor.hardware_compatibility:
        if level != "NONE":
            raise UsageError(f"engine.hardware_compatibility: {flavor.title} has no hardware-compatibility levels "
                             "(its engines run on every GPU in engine.compute_capabilities); set it to none")
        return None
    if level == "SAME_COMPUTE_CAPABILITY" and version < SAME_COMPUTE_CAPABILITY_SINCE:
        raise UsageError(f"engine.hardware_compatibility: same_compute_capability needs {flavor.title} >= "
                         f"{'.'.join(map(str, SAME_COMPUTE_CAPABILITY_SINCE))}, found {version}")
    if level == "AMPERE_PLUS" and compute_capability and _cc_tuple(compute_capability) < (8, 0):
        raise UsageError(f"engine.hardware_compatibility: ampere_plus needs an Ampere or newer GPU to build on "
                         f"(compute capability >= 8.0), this one is {compute_capability}")
    return level


def _targets(requested: list[str] | None, flavor: Flavor) -> tuple[str, ...]:
    """Explicit compute-capability targets, checked against what the flavor can build for."""
    if not requested:
        return ()
    if not flavor.builds_without_gpu:
        raise UsageError(f"engine.compute_capabilities: {flavor.title} builds for the GPU it runs on; targets are a "
                         "TensorRT-RTX setting (engine.backend: tensorrt-rtx), or use engine.hardware_compatibility")
    unknown = [cc for cc in requested if cc not in flavor.compute_capabilities]
    if unknown:
        raise UsageError(f"engine.compute_capabilities: {flavor.title} cannot target {', '.join(unknown)} "
                         f"(it targets {', '.join(flavor.compute_capabilities)})")
    return tuple(dict.fromkeys(requested))


def _runs_on(engine, flavor: Flavor, compute_capability: str | None) -> tuple[str, ...]:
    if flavor.builds_without_gpu:
        return tuple(dict.fromkeys(engine.compute_capabilities or flavor.default_compute_capabilities))
    if engine.hardware_compatibility == "ampere_plus":
        return ("8.0+",)
    return (compute_capability,) if compute_capability else ()


def _cc_tuple(compute_capability: str) -> tuple[int, ...]:
    return tuple(int(p) for p in compute_capability.split(".") if p.isdigit())
