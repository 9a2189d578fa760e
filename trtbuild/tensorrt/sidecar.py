"""`<engine>.json`, the sidecar beside a raw plan: what built it, for which GPU, with which shapes.

The plan itself stays a raw TensorRT plan (no header spliced in, unlike Ultralytics), so trtexec, Triton and the
TensorRT runtime load it as is; the `ultralytics` block lets an Ultralytics user recover names/stride/imgsz."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

SIDECAR_SCHEMA = 1


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
    plan_sha256: str
    tensorrt: str
    backend: str  # python | trtexec
    gpu: GpuInfo
    cuda: str | None = None  # CUDA of the torch build the TensorRT runner shares
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


def sidecar_path(plan_path: Path) -> Path:
    return plan_path.with_name(plan_path.name + ".json")
