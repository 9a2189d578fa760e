"""Can this host deserialize that engine? Decided from the sidecar before the library sees the bytes, so the user gets
"built with X for Y, this is Z; run ..." instead of a serialization assertion.

Rules (TensorRT and TensorRT-RTX "Engine Compatibility" docs): an engine runs only on the library flavor and version
that built it, unless built version-compatible (full TensorRT), then on that version and later ones (10 -> 11 too,
never backwards). Full TensorRT engines run only on the compute capability they were built on, unless built
hardware-compatible (AMPERE_PLUS: any GPU with compute capability >= 8.0); TensorRT-RTX engines run on the compute
capabilities they were built for (the sidecar lists them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trtbuild.tensorrt.flavor import Flavor
from trtbuild.tensorrt.sidecar import EngineSidecar
from trtbuild.tensorrt.version import TrtVersion, parse_version


@dataclass(frozen=True)
class Compat:
    problems: list[str] = field(default_factory=list)  # each one makes the engine unusable here
    notes: list[str] = field(default_factory=list)  # usable, but worth saying (e.g. other GPU model, same SM)

    @property
    def ok(self) -> bool:
        return not self.problems


def gpu_runs_engine(flavor: Flavor, runs_on: tuple[str, ...] | list[str], compute_capability: str) -> bool:
    """Whether a GPU of this compute capability is among an engine's targets ("8.0+" = Ampere or newer)."""
    if "8.0+" in runs_on:
        return _cc(compute_capability) >= (8, 0)
    return any(_cc(target) == _cc(compute_capability) for target in runs_on)


def check_compat(sidecar: EngineSidecar, flavor: Flavor, runtime: TrtVersion, compute_capability: str,
                 gpu_name: str) -> Compat:
    problems, notes = [], []
    built = parse_version(sidecar.library_version)
    if sidecar.library != flavor.name:
        problems.append(f"it is a {sidecar.library} engine and this runtime is {flavor.title}")
    elif sidecar.version_compatible:
        if runtime < built:
            problems.append(f"it was built version-compatible with {flavor.title} {built}, which runs only on "
                            f"{built} or newer, and this host has {runtime}")
    elif runtime != built:
        problems.append(f"it was built with {flavor.title} {built} and this host has {runtime}")

    if not gpu_runs_engine(flavor, sidecar.runs_on, compute_capability):
        if flavor.builds_without_gpu:
            targets = ", ".join(sidecar.runs_on)
            problems.append(f"it was built for compute capabilities {targets} and this GPU is {gpu_name} "
                            f"({compute_capability})" + _no_target_hint(flavor, compute_capability))
        elif "8.0+" in sidecar.runs_on:
            problems.append(f"it was built Ampere+ compatible and this GPU ({gpu_name}, compute capability "
                            f"{compute_capability}) is older than Ampere")
        else:
            built_on = sidecar.gpu.name if sidecar.gpu else "another GPU"
            problems.append(f"it was built for compute capability {', '.join(sidecar.runs_on)} ({built_on}) and "
                            f"this GPU is {gpu_name} ({compute_capability})")
    elif sidecar.gpu and gpu_name != sidecar.gpu.name and sidecar.hardware_compatibility == "NONE":
        notes.append(f"built on {sidecar.gpu.name}, running on {gpu_name} (same compute capability "
                     f"{compute_capability}); TensorRT only guarantees engines on the GPU model they were built on")
    return Compat(problems, notes)


def _no_target_hint(flavor: Flavor, compute_capability: str) -> str:
    if any(_cc(t) == _cc(compute_capability) for t in flavor.compute_capabilities):
        return f" (add it with --set 'engine.compute_capabilities=[{compute_capability}]')"
    return (f" ({flavor.title} has no target for {compute_capability}; build with full TensorRT on this host: "
            "--set engine.backend=tensorrt-bindings)")


def incompatible_message(engine_name: str, sidecar: EngineSidecar, flavor: Flavor, compat: Compat) -> str:
    """One line: what differs and the exact command that rebuilds the engine for this host."""
    portable = ("" if not (flavor.version_compatible and flavor.hardware_compatibility) else
                " (or build it with --set engine.version_compatible=true / "
                "--set engine.hardware_compatibility=ampere_plus to make it portable)")
    return (f"{engine_name} cannot run here: {'; '.join(compat.problems)}. Rebuild it: "
            f"{sidecar.rebuild_command}{portable}")


def _cc(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.rstrip("+").split(".") if p.isdigit())
