"""What a build returns, whichever tool made it (the Python bindings or trtexec)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trtbuild.tensorrt.sidecar import IoTensor

Log = Callable[[str], None]  # one line into the stage log


@dataclass
class BuiltEngine:
    engine: bytes  # the serialized engine (what TensorRT calls the plan file)
    io: list[IoTensor]
    engine_info: dict | None  # engine-inspector JSON as the library wrote it; None when it cannot be read here
