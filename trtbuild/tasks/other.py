"""Any other model: resized frames in (the adapter's pixel format), the raw outputs out; judged by tensor parity."""

from __future__ import annotations

import numpy as np

from trtbuild.tasks.base import Result, Task


class OtherTask(Task):
    name = "other"

    def results(self, outputs: dict[str, np.ndarray], frames: list[np.ndarray], **options) -> list[Result]:
        return [Result(task=self.name, shape=frame.shape[:2], outputs=self.unbatch(outputs, index))
                for index, frame in enumerate(frames)]


TASK = OtherTask
