"""Can this host deserialize that plan? Decided from the sidecar before TensorRT sees the bytes, so the user gets
"built with X for Y, this is Z; run …" instead of a serialization assertion.

Rules (TensorRT "Engine Compatibility" docs): a plan runs only on the TensorRT version that built it, unless built
version-compatible, then on that version and later ones (10 -> 11 too, never backwards); it runs only on the compute
capability it was built for, unless built hardware-compatible (AMPERE_PLUS: any GPU with compute capability >= 8.0)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trtbuild.tensorrt.sidecar import EngineSidecar
from trtbuild.tensorrt.version import TrtVersion, parse_version


@dataclass(frozen=True)
class Compat:
    problems: list[str] = field(default_factory=list)  # each one makes the plan unusable here
    notes: list[str] = field(default_factory=list)  # usable, but worth saying (e.g. other GPU model, same SM)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_compat(sidecar: EngineSidecar, runtime: TrtVersion, compute_capability: str, gpu_name: str) -> Compat:
    problems, notes = [], []
    built = parse_version(sidecar.tensorrt)
    if sidecar.version_compatible:
        if runtime < built:
            problems.append(f"it was built version-compatible with TensorRT {built}, which runs only on {built} or "
                            f"newer, and this host has {runtime}")
    elif runtime != built:
        problems.append(f"it was built with TensorRT {built} and this host has {runtime}")

    built_cc = sidecar.gpu.compute_capability
    if sidecar.hardware_compatibility == "AMPERE_PLUS":
        if _cc(compute_capability) < (8, 0):
            problems.append(f"it was built Ampere+ compatible and this GPU ({gpu_name}, compute capability "
                            f"{compute_capability}) is older than Ampere")
    elif _cc(compute_capability) != _cc(built_cc):
        problems.append(f"it was built for compute capability {built_cc} ({sidecar.gpu.name}) and this GPU is "
                        f"{gpu_name} ({compute_capability})")
    elif gpu_name != sidecar.gpu.name and sidecar.hardware_compatibility == "NONE":
        notes.append(f"built on {sidecar.gpu.name}, running on {gpu_name} (same compute capability {built_cc}); "
                     "TensorRT only guarantees plans on the GPU model they were built on")
    return Compat(problems, notes)


def incompatible_message(plan_name: str, sidecar: EngineSidecar, compat: Compat) -> str:
    """One line: what differs and the exact command that rebuilds the plan on this host."""
    return (f"{plan_name} cannot run here: {'; '.join(compat.problems)}. Rebuild it on this host: "
            f"{sidecar.rebuild_command} (or build it with --set engine.version_compatible=true / "
            f"--set engine.hardware_compatibility=ampere_plus to make it portable)")


def _cc(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())
