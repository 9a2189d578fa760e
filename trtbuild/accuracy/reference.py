"""The one loop behind every judge (check, verify, the precision stage, the INT8 search): each feed through the PyTorch
reference and a candidate runner, both outputs handed to a consumer (tensor parity, or a task's accuracy)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from trtbuild.recipe.schema import Recipe
from trtbuild.runners.base import Runner

if TYPE_CHECKING:
    import numpy as np

    Arrays = dict[str, np.ndarray]
    # (the image files behind this feed's batch, the feed, the reference's outputs, the candidate's outputs)
    Consumer = Callable[[list[Path], Arrays, Arrays, Arrays], None]


class PyTorchReference:
    """The recipe's PyTorch module in FP32 on the CPU (the same numbers on every host), fed `feeds` in order;
    `images` are the files behind the feeds, batch by batch (only a task's accuracy with labels reads them)."""

    def __init__(self, recipe: Recipe, feeds: list[Arrays], images: Sequence[Path] = ()):
        self.recipe, self.feeds, self.images = recipe, feeds, images
        self.batch = recipe.inputs[0].shape[0]
        self.recorded: list[Arrays] | None = None  # set by record()
        self.recorded_by: dict = {}

    def record(self) -> None:
        """Run the reference now and keep its outputs: every later `compare` replays them instead of running it again
        (the INT8 search meets one candidate per trial on the same feeds)."""
        with self._runner() as runner:
            self.recorded = [runner.infer(feed) for feed in self.feeds]
            self.recorded_by = runner.describe()

    def compare(self, candidate: Runner, consume: Consumer) -> dict[str, dict]:
        """Each feed through the reference and `candidate` (activated here), feed by feed, into `consume`; returns
        what ran, described for the report: {"reference": ..., "candidate": ...}."""
        with ExitStack() as stack:
            if self.recorded is None:
                runner = stack.enter_context(self._runner())
                outputs = map(runner.infer, self.feeds)  # lazily: one feed's outputs in memory at a time
            else:
                runner, outputs = None, self.recorded
            stack.enter_context(candidate)
            for index, (feed, expected) in enumerate(zip(self.feeds, outputs)):
                batch_images = list(self.images[index * self.batch : (index + 1) * self.batch])
                consume(batch_images, feed, expected, candidate.infer(feed))
            return {"reference": runner.describe() if runner else self.recorded_by, "candidate": candidate.describe()}

    def _runner(self) -> Runner:
        from trtbuild.runners.factory import torch_runner

        return torch_runner(self.recipe, "cpu")
