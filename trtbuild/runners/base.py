"""The runner contract (Polygraphy-style): activate once, describe I/O, infer on named numpy arrays.

Benchmarks use three optional hooks with host-copy defaults, so a runner only overrides what it does better:
`device_feed` stages a feed where the model reads it (device memory, CUDA-graph input buffers), `timed_step` runs
once on a staged feed and returns only when the work is done (the timer brackets it), `timing_mode` names what
that step includes.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trtbuild.core.errors import UsageError

if TYPE_CHECKING:  # choosing a runner (every build through verify or bench) must not import numpy
    import numpy as np

ON_CPU = "cpu"  # the model runs on the host; nothing to copy
DEVICE_RESIDENT = "device-resident"  # inputs and outputs stay in device memory
CUDA_GRAPH = "cuda graph"  # device-resident, replayed from a captured CUDA graph


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple  # ints, or str/None for dynamic axes
    dtype: str


class ChangedModelFile(UsageError):
    """A model file whose bytes are not the ones recorded for it: replaced or damaged since it was built."""


def read_model(path: Path, sha256: str | None) -> bytes:
    """The model file's bytes; with `sha256`, refused unless they hash to it. The bytes checked are the bytes then
    loaded: the file is read once, and one replaced between a check and the load cannot slip through."""
    data = path.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ChangedModelFile(f"{path.name}: its sha256 is not the recorded {sha256}")
    return data


class Runner(ABC):
    name: str
    cuda_graph: bool = False  # replays a captured CUDA graph in `timed_step`

    def __enter__(self) -> Runner:
        self.activate()
        return self

    def __exit__(self, *exc) -> None:
        self.deactivate()

    def activate(self) -> None:  # noqa: B027 - optional hook
        """Load the model / create the session; called once before `infer`."""

    def deactivate(self) -> None:  # noqa: B027 - optional hook
        """Release what `activate` took."""

    @abstractmethod
    def inputs(self) -> list[TensorInfo]: ...

    @abstractmethod
    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Named host arrays in, named host arrays out."""

    def describe(self) -> dict:
        """What really runs (device, providers, precision) for the report."""
        return {"runner": self.name}

    def on_gpu(self) -> bool:
        """True when `timed_step` runs on a CUDA device (the benchmark then times with CUDA events)."""
        return False

    def device_feed(self, feed: dict[str, np.ndarray]) -> object:
        """Stage a feed for repeated `timed_step` calls; by default the host arrays themselves."""
        return feed

    def timed_step(self, staged: object) -> None:
        """One inference on a staged feed, finished (device synchronized) when it returns."""
        self.infer(staged)

    def timing_mode(self) -> str:
        """What one `timed_step` includes: ON_CPU, DEVICE_RESIDENT or CUDA_GRAPH (a runner on a GPU stages its
        feed in device memory in `device_feed`)."""
        if not self.on_gpu():
            return ON_CPU
        return CUDA_GRAPH if self.cuda_graph else DEVICE_RESIDENT
