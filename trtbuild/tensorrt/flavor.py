"""The flavors of the TensorRT library family (full TensorRT, TensorRT for RTX, ...): everything that differs between
them, declared as data. The builder, the runner, the plan and the compatibility check read a Flavor and never compare
library names, so a new flavor is one declaration in FLAVORS below plus a backend module that builds for it. They live
here, under the backends and the runners, because both read them: a backend builds for a flavor, the engine runner
loads the flavor an engine's sidecar names."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import metadata

from trtbuild.tensorrt.version import TrtVersion, parse_version


@dataclass(frozen=True)
class Installed:
    """Which bindings a flavor found: the distribution pip installed, the module it ships, its version."""

    distribution: str
    module: str
    version: str

    def __str__(self) -> str:
        return f"{self.distribution} {self.version} (import {self.module})"


@functools.cache  # package metadata does not change mid-process; a test that installs a fake package clears it
def find_installed(distributions: tuple[str, ...], modules: tuple[str, ...]) -> Installed | None:
    """The first of `distributions` that is installed and ships one of `modules` (read from its metadata: nothing
    imported). Metapackages that ship no module (`tensorrt` on PyPI pulls in `tensorrt-cu12`) are passed over."""
    for name in distributions:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        shipped = _top_level_names(dist)
        module = next((m for m in modules if m in shipped), None)
        if module is not None:
            return Installed(dist.metadata["Name"], module, dist.version)
    return None


def _top_level_names(dist: metadata.Distribution) -> set[str]:
    """Import names a distribution installs: its top_level.txt and the first part of each file it recorded."""
    names = set((dist.read_text("top_level.txt") or "").split())
    for path in dist.files or ():
        names.add(path.parts[0].split(".")[0])  # 'pkg/__init__.py' -> pkg, 'mod.py' / 'mod.cpython-311-x.so' -> mod
    return names


@dataclass(frozen=True, eq=False)  # one instance per flavor: identity is equality
class Flavor:
    name: str  # recorded in sidecars and reports: "tensorrt", "tensorrt-rtx"
    title: str  # for messages: "TensorRT", "TensorRT-RTX"
    modules: tuple[str, ...]  # import names the bindings come as, preferred first
    distributions: tuple[str, ...]  # pip distributions that may ship one of them, preferred first
    install_hint: str
    min_version: TrtVersion
    max_major: int
    strongly_typed_since: TrtVersion  # from here on precision comes from the graph only (no builder flags)
    weak_typing_deprecated_since: TrtVersion | None = None
    known_bad: dict[tuple[int, int, int], str] = field(default_factory=dict)
    # Compute capabilities the builder can target without that GPU (ahead-of-time); empty = it builds for the GPU it
    # runs on, so a GPU is needed to build and the engine is bound to that GPU.
    compute_capabilities: tuple[str, ...] = ()
    default_compute_capabilities: tuple[str, ...] = ()  # what the library targets when none are set
    timing_cache: bool = True  # False: the timing-cache API exists but does nothing
    hardware_compatibility: bool = True  # honours HardwareCompatibilityLevel
    version_compatible: bool = True  # VERSION_COMPATIBLE engines build (needs the lean runtime library)
    runtime_cache: bool = False  # kernels are compiled at load time and can be kept in a runtime cache file
    builtin_cuda_graph: bool = False  # the runtime captures CUDA graphs itself (IRuntimeConfig.cuda_graph_strategy)

    @property
    def builds_without_gpu(self) -> bool:
        return bool(self.compute_capabilities)

    @property
    def supported_range(self) -> str:
        return f"{self.title} {self.min_version.major}.{self.min_version.minor} through {self.max_major}.x"

    def strongly_typed_only(self, version: TrtVersion) -> bool:
        return version >= self.strongly_typed_since

    def unsupported_reason(self, version: TrtVersion) -> str | None:
        if tuple(version) in self.known_bad:
            return f"{self.known_bad[tuple(version)]}; install a newer one ({self.supported_range})"
        if version < self.min_version or version.major > self.max_major:
            return f"{self.title} {version} is outside the supported range ({self.supported_range})"
        return None

    def installed(self) -> Installed | None:
        """The bindings found in package metadata (no import: cache decisions stay fast)."""
        return find_installed(self.distributions, self.modules)

    def installed_version(self) -> str | None:
        found = self.installed()
        return found.version if found else None

    @property
    def module(self) -> str:
        """The import name: the installed one, else the first declared (for messages)."""
        found = self.installed()
        return found.module if found else self.modules[0]

    def parsed_version(self, text: str | None = None) -> TrtVersion | None:
        """The installed version (or `text`, a version another host reported), parsed; None: absent or unreadable."""
        text = self.installed_version() if text is None else text
        try:
            return parse_version(text) if text else None
        except ValueError:
            return None

    def import_module(self):
        """The bindings module; raises ImportError/OSError (a stub wheel without its libraries) when absent."""
        import importlib

        return importlib.import_module(self.module)  # the module of the distribution whose version was read


def compute_capability_member(compute_capability: str) -> str:
    """'8.6' -> 'SM86', '12.0' -> 'SM120': the `ComputeCapability` enum member a target is set with."""
    return "SM" + compute_capability.replace(".", "")


TENSORRT = Flavor(
    name="tensorrt", title="TensorRT",
    # PyPI: `tensorrt` (a metapackage on PyPI, the bindings themselves on Jetson/NGC) -> `tensorrt-cuNN` (module
    # tensorrt, re-exporting) -> `tensorrt-cuNN-bindings` (module tensorrt_bindings), which installs alone too
    modules=("tensorrt", "tensorrt_bindings"),
    distributions=("tensorrt", "tensorrt-cu13", "tensorrt-cu12", "tensorrt-cu11",
                   "tensorrt-cu13-bindings", "tensorrt-cu12-bindings", "tensorrt-cu11-bindings"),
    install_hint="on a host with an NVIDIA GPU: pip install 'trtbuild[tensorrt]'",
    min_version=TrtVersion(10, 3), max_major=11,
    strongly_typed_since=TrtVersion(11, 0),  # 11.0 removed weak typing (BuilderFlag.FP16 and friends)
    weak_typing_deprecated_since=TrtVersion(10, 12),
    # Ultralytics blocks these for regressions (PRs #14239, #24367); below 10.3 anyway, but the user gets the reason
    known_bad={(10, 1, 0): "TensorRT 10.1.0 has known build regressions",
               (10, 2, 0): "TensorRT 10.2.0 has known build regressions"},
)

# TensorRT for RTX (1.x): builds ahead of time on a CPU; the API calls used and NVIDIA's page for each: docs/engine.md
TENSORRT_RTX = Flavor(
    name="tensorrt-rtx", title="TensorRT-RTX",
    # NVIDIA's SDK wheel `tensorrt_rtx` (module tensorrt_rtx); PyPI: `tensorrt-rtx` metapackage -> `tensorrt-rtx-cuNN`
    # (module tensorrt_rtx, an sdist) -> `tensorrt-rtx-cuNN-bindings` (module tensorrt_rtx_bindings); cu12 serves
    # CUDA-12 drivers
    modules=("tensorrt_rtx", "tensorrt_rtx_bindings"),
    distributions=("tensorrt-rtx", "tensorrt-rtx-cu13", "tensorrt-rtx-cu12",
                   "tensorrt-rtx-cu13-bindings", "tensorrt-rtx-cu12-bindings"),
    install_hint="pip install 'trtbuild[rtx]'",
    min_version=TrtVersion(1, 5), max_major=1,  # 1.5 broke the ABI and removed the deprecated APIs
    strongly_typed_since=TrtVersion(0, 0),  # always strongly typed
    compute_capabilities=("7.5", "8.0", "8.6", "8.9", "12.0", "12.1"),  # the ComputeCapability enum's SM members
    default_compute_capabilities=("8.0", "8.6", "8.9", "12.0", "12.1"),  # Turing (7.5) only on request
    timing_cache=False,  # the ITimingCache calls are deprecated no-ops since RTX 1.2
    hardware_compatibility=False,  # the setter logs "unsupported" and keeps NONE
    version_compatible=False,  # the build fails: the wheel has no lean runtime library
    runtime_cache=True, builtin_cuda_graph=True,
)

FLAVORS = [TENSORRT, TENSORRT_RTX]  # a list: tests add a stand-in flavor (add_flavor) and take it away again


def add_flavor(flavor: Flavor) -> None:
    if any(f.name == flavor.name for f in FLAVORS):
        raise ValueError(f"engine library {flavor.name!r} is already declared")
    FLAVORS.append(flavor)


def remove_flavor(flavor: Flavor) -> None:
    FLAVORS.remove(flavor)


def get_flavor(name: str) -> Flavor:
    """The flavor a sidecar's `library` names."""
    for flavor in FLAVORS:
        if flavor.name == name:
            return flavor
    raise KeyError(f"unknown engine library {name!r} (known: {', '.join(f.name for f in FLAVORS)})")
