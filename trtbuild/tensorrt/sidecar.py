"""`<engine>.json`, the sidecar beside a raw engine: which library flavor built it, for which GPUs, with which shapes.

The engine itself stays a raw serialized engine (no header spliced in, unlike Ultralytics), so trtexec, Triton and the
TensorRT runtime load it as is; the `ultralytics` block lets an Ultralytics user recover names/stride/imgsz."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

SIDECAR_SCHEMA = 2  # 2: library flavor, runs_on targets, optional build GPU (ahead-of-time builds)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IoTensor(_Model):
    name: str
    mode: str  # input | output
    dtype: str  # float32, float16, ...
    shape: list[int]  # -1 for dynamic axes
    profile: list[list[int]] | None = None  # inputs of dynamic engines: [min, opt, max] for profile 0


class GpuInfo(_Model):
    name: str
    compute_capability: str
    driver: str


class UltralyticsMeta(_Model):
    names: dict[int, str]
    stride: int
    imgsz: list[int]
    task: str
    batch: int


class EngineSidecar(_Model):
    schema_version: int = SIDECAR_SCHEMA
    recipe: str
    recipe_digest: str
    onnx_sha256: str
    engine_sha256: str
    library: str  # flavor: tensorrt | tensorrt-rtx
    library_version: str
    backend: str  # the backend that built it: tensorrt | trtexec | tensorrt-rtx
    gpu: GpuInfo | None  # the build host's GPU; None for ahead-of-time builds on a CPU
    runs_on: list[str]  # compute capabilities the engine runs on ("8.0+": any Ampere or newer)
    precision: str
    precision_method: str
    strongly_typed: bool
    network_flags: list[str]
    builder_flags: list[str]
    memory_pools: dict[str, int]
    optimization_level: int
    version_compatible: bool
    hardware_compatibility: str
    profiles: list[dict[str, list[list[int]]]]  # per profile: input -> [min, opt, max]
    io: list[IoTensor]
    build_seconds: float
    rebuild_command: str
    ultralytics: UltralyticsMeta | None = None
    extra: dict[str, object] = Field(default_factory=dict)  # adapter metadata that is not Ultralytics'

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> EngineSidecar:
        return cls.model_validate_json(path.read_text())


def sidecar_path(engine_path: Path) -> Path:
    return engine_path.with_name(engine_path.name + ".json")
