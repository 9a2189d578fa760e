"""The build plan: every TensorRT build decision, computed from the recipe and the installed version, applied by a
backend (python_builder or trtexec) without further thought. Names are TensorRT enum member names, so the plan is
testable against each version's manifest without TensorRT."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trtbuild.errors import UsageError
from trtbuild.recipe.schema import Recipe
from trtbuild.tensorrt.version import TrtVersion

HARDWARE_LEVELS = {"none": "NONE", "ampere_plus": "AMPERE_PLUS", "same_compute_capability": "SAME_COMPUTE_CAPABILITY"}
# The manifests show HardwareCompatibilityLevel.SAME_COMPUTE_CAPABILITY absent in 10.8 and present from 10.16 on;
# below the first release we verified, refuse rather than guess.
SAME_COMPUTE_CAPABILITY_SINCE = (10, 16)
# 10.12 deprecated weak typing (BuilderFlag.FP16 and friends); 11.0 removed it.
WEAK_TYPING_DEPRECATED_SINCE = (10, 12)


def mib_to_bytes(mib: int) -> int:
    return mib << 20


@dataclass(frozen=True)
class Profile:
    """One optimization profile: min/opt/max shape per dynamic input (static inputs need none)."""

    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


@dataclass(frozen=True)
class BuildPlan:
    version: TrtVersion
    precision: str  # recipe precision.mode, for the sidecar and file names
    precision_method: str  # graph | builder
    network_flags: tuple[str, ...]  # NetworkDefinitionCreationFlag members
    builder_flags: tuple[str, ...]  # BuilderFlag members
    memory_pools: dict[str, int]  # MemoryPoolType member -> bytes (absent: TensorRT decides)
    profiles: tuple[Profile, ...]
    optimization_level: int
    hardware_compatibility: str  # HardwareCompatibilityLevel member
    profiling_verbosity: str  # ProfilingVerbosity member
    timing_cache: Path | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def strongly_typed(self) -> bool:
        """True when precision comes from the graph (always on 11.x; 10.x unless builder mode)."""
        return self.version.strongly_typed_only or "STRONGLY_TYPED" in self.network_flags

    @property
    def version_compatible(self) -> bool:
        return "VERSION_COMPATIBLE" in self.builder_flags


def timing_cache_path(root: Path, version: TrtVersion, compute_capability: str) -> Path:
    """One cache per (TensorRT version, GPU compute capability): tactic timings mean nothing elsewhere."""
    return root / f"trt-{version}-sm{compute_capability.replace('.', '')}.timing-cache"


def make_plan(recipe: Recipe, version: TrtVersion, compute_capability: str,
              timing_cache_dir: Path | None = None) -> BuildPlan:
    engine, precision = recipe.engine, recipe.precision
    builder_mode = precision.method == "builder"
    warnings: list[str] = []
    if builder_mode and version.strongly_typed_only:
        raise UsageError(
            f"precision.method: builder needs TensorRT 10.x (weak typing); TensorRT {version} builds strongly typed "
            "only, so the precision must be in the ONNX graph (precision.method: graph)")

    network_flags: tuple[str, ...] = ()
    builder_flags: list[str] = []
    if not version.strongly_typed_only:
        if builder_mode:
            if precision.mode == "fp16":
                builder_flags.append("FP16")
                if version >= WEAK_TYPING_DEPRECATED_SINCE:
                    warnings.append(f"BuilderFlag.FP16 (weak typing) is deprecated since TensorRT 10.12; "
                                    f"precision.method: graph works on {version} and on 11.x")
        else:
            # 11.x is always strongly typed and deprecates the flag, so it is only ever set on 10.x.
            network_flags = ("STRONGLY_TYPED",)

    if engine.version_compatible:
        builder_flags.append("VERSION_COMPATIBLE")

    level = HARDWARE_LEVELS[engine.hardware_compatibility]
    if level == "SAME_COMPUTE_CAPABILITY" and version < SAME_COMPUTE_CAPABILITY_SINCE:
        raise UsageError(f"engine.hardware_compatibility: same_compute_capability needs TensorRT >= "
                         f"{'.'.join(map(str, SAME_COMPUTE_CAPABILITY_SINCE))}, found {version}")
    if level == "AMPERE_PLUS" and _cc_tuple(compute_capability) < (8, 0):
        raise UsageError(f"engine.hardware_compatibility: ampere_plus needs an Ampere or newer GPU to build on "
                         f"(compute capability >= 8.0), this one is {compute_capability}")

    pools = {"WORKSPACE": mib_to_bytes(engine.workspace_mib)} if engine.workspace_mib else {}
    dynamic = {s.name: (tuple(s.shape_at("min")), tuple(s.shape_at("opt")), tuple(s.shape_at("max")))
               for s in recipe.inputs if s.dynamic}
    return BuildPlan(
        version=version,
        precision=precision.mode,
        precision_method=precision.method,
        network_flags=network_flags,
        builder_flags=tuple(builder_flags),
        memory_pools=pools,
        profiles=(Profile(dynamic),) if dynamic else (),
        optimization_level=engine.optimization_level,
        hardware_compatibility=level,
        profiling_verbosity=engine.profiling_verbosity.upper(),
        timing_cache=timing_cache_path(timing_cache_dir, version, compute_capability)
        if engine.timing_cache and timing_cache_dir else None,
        warnings=tuple(warnings),
    )


def _cc_tuple(compute_capability: str) -> tuple[int, ...]:
    return tuple(int(p) for p in compute_capability.split(".") if p.isdigit())
