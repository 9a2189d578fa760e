"""The runner contract (Polygraphy-style): activate once, describe I/O, infer on named numpy arrays."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple  # ints, or str/None for dynamic axes
    dtype: str


class Runner(ABC):
    name: str

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
