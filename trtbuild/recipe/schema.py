"""The recipe schema: one YAML document describes one model from PyTorch to a gated engine.

Every block is strict (unknown keys are errors) so a typo never silently falls back to a default.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from trtbuild.recipe.compute_capability import compute_capability
from trtbuild.recipe.names import given, known

# Per input tensor at the top of its dynamic ranges: 2^28 elements = 1 GiB as float32. Far above real vision inputs
# (8x3x1024x1024 = 25M) and far below shapes whose export would exhaust memory (1x3x100000x100000 = 30G).
MAX_INPUT_ELEMENTS = 1 << 28
MAX_DESCRIPTION_CHARS = 500


# An empty list defaults to `[]` (pydantic copies a default for each instance), not `default_factory=list`: pydantic
# reads a factory's signature, and the builtin `list`'s is parsed from its text signature, ~4 ms the first time in a
# process (every command that loads a recipe paid it).
class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSpec(Strict):
    adapter: str = Field(description="a model adapter of trtbuild/models/registry.py (ultralytics, depth_anything_v2, "
                         "python)")
    weights: Path | None = Field(None, description="checkpoint path; relative paths resolve from the working directory")
    random_weights: bool = Field(False, description="build the architecture with random weights (numerics only)")
    options: dict[str, object] = Field(default_factory=dict, description="adapter keyword arguments")

    @field_validator("adapter")
    @classmethod
    def _known_adapter(cls, name: str, info: ValidationInfo) -> str:
        return known(info, "adapters", name, "model.adapter")

    @model_validator(mode="after")
    def _needs_weights(self, info: ValidationInfo) -> ModelSpec:
        names = given(info)  # without them the adapter's needs are unknown: checkpoint_path() says it later
        required = names is not None and not names.adapters[self.adapter].weights_optional
        if required and self.weights is None and not self.random_weights:
            raise ValueError("model.weights is required (or set model.random_weights: true)")
        return self


class DynamicAxis(Strict):
    min: int = Field(ge=1)
    opt: int = Field(ge=1)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> DynamicAxis:
        if not self.min <= self.opt <= self.max:
            raise ValueError(f"need min <= opt <= max, got {self.min} / {self.opt} / {self.max}")
        return self


class InputSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.:/-]*$")
    shape: list[int] = Field(min_length=1, description="export shape; dynamic axes take opt from `dynamic`")
    dtype: Literal["float32", "float16", "uint8", "int32", "int64"] = "float32"
    dynamic: dict[int, DynamicAxis] = Field(default_factory=dict, description="axis index -> min/opt/max")

    @field_validator("shape")
    @classmethod
    def _positive(cls, shape: list[int]) -> list[int]:
        if any(d < 1 for d in shape):
            raise ValueError(f"every dimension must be >= 1, got {shape}")
        return shape

    @model_validator(mode="after")
    def _axes_exist(self) -> InputSpec:
        for axis, rng in self.dynamic.items():
            if not 0 <= axis < len(self.shape):
                raise ValueError(f"dynamic axis {axis} is outside shape {self.shape}")
            if not rng.min <= self.shape[axis] <= rng.max:
                raise ValueError(f"shape[{axis}]={self.shape[axis]} is outside dynamic range {rng.min}..{rng.max}")
        return self

    @model_validator(mode="after")
    def _fits_in_memory(self) -> InputSpec:
        largest = self.shape_at("max")
        elements = math.prod(largest)
        if elements > MAX_INPUT_ELEMENTS:
            raise ValueError(f"shape {'x'.join(map(str, largest))} has {elements:,} elements, over the per-input limit "
                             f"of {MAX_INPUT_ELEMENTS:,} (2^28, 1 GiB as float32); use a smaller shape or batch")
        return self

    def shape_at(self, point: Literal["min", "opt", "max"]) -> list[int]:
        """The concrete shape at one end of the dynamic ranges (static axes unchanged)."""
        return [getattr(self.dynamic[i], point) if i in self.dynamic else d for i, d in enumerate(self.shape)]


class ExportSpec(Strict):
    exporter: Literal["torchscript", "dynamo"] = Field(
        "torchscript", description="torchscript = torch.onnx.export(dynamo=False), the path that works for YOLO heads"
    )
    opset: int = Field(17, ge=13, le=23)
    output_names: list[str] = Field(default_factory=lambda: ["output0"], min_length=1)
    dynamic_outputs: dict[str, dict[int, str]] = Field(
        default_factory=dict, description="output name -> {axis: symbolic name} for outputs that follow dynamic inputs"
    )


class SimplifySpec(Strict):
    tool: Literal["onnxsim", "onnxslim", "none"] = "onnxsim"
    fallback: Literal["onnxslim", "none"] = Field("onnxslim", description="tried when `tool` fails or is missing")


class Tolerance(Strict):
    max_abs: float = Field(1e-3, gt=0)
    rel_l2: float = Field(1e-4, gt=0)


class CheckSpec(Strict):
    images: Path | None = Field(None, description="image folder or dataset YAML; unset = `data`, else the images "
                                "bundled with ultralytics (bus.jpg, zidane.jpg)")
    max_images: int = Field(8, ge=1)
    tolerances: dict[str, Tolerance] = Field(
        default_factory=dict, description="output name -> tolerance; outputs not listed use `default`"
    )
    default: Tolerance = Field(default_factory=Tolerance)

    def tolerance(self, output: str) -> Tolerance:
        return self.tolerances.get(output, self.default)


class KeepFp32(Strict):
    op_types: list[str] = []
    nodes: list[str] = []


class CalibrationSpec(Strict):
    images: Path | None = Field(None, description="INT8 calibration image folder or dataset YAML (its train split); "
                                "unset = `data`; CLI --calib")
    count: int = Field(512, ge=1, description="at most this many images (sorted by name); < 300 gives a warning")
    method: Literal["entropy", "minmax", "percentile"] = "minmax"
    percentile: float = Field(99.999, gt=50, le=100, description="method percentile: |activation| range that "
                              "covers this % of the calibration values (the rest is clipped)")


class PrecisionEvaluation(Strict):
    images: Path | None = Field(None, description="image folder or dataset YAML the int8 FP32-node search tunes on; "
                                "unset = a share of `data`, never the holdout (verify.images), so the holdout stays "
                                "unseen by the search (trtbuild.data.datasets)")
    max_images: int = Field(32, ge=1, description="caps two sets: the search's first N images and the first N "
                            "holdout images the precision stage reports its accuracy on (verify reads "
                            "verify.max_images of the same holdout); kept small: ONNX Runtime CPU runs FP16 graphs "
                            "slowly")


class Int8Spec(Strict):
    auto_keep_fp32: bool = Field(False, description="search which quantized nodes to keep FP32 until `target` passes")
    max_fp32_nodes: int = Field(16, ge=1, description="the search keeps at most this many nodes FP32")
    max_evaluations: int = Field(8, ge=1, description="full accuracy evaluations the search may spend")
    target: list[Gate] = Field([], description="accuracy bounds (precision-stage metric names); "
                               "empty = verify.gates, else the task's default gates")


class PrecisionSpec(Strict):
    mode: Literal["fp32", "fp16", "bf16", "int8"] = "fp32"
    method: Literal["graph", "builder"] = Field(
        "graph", description="graph: precision written into the ONNX (TensorRT 10 and 11); builder: TensorRT 10 flags"
    )
    keep_fp32: KeepFp32 = Field(default_factory=KeepFp32, description="added to the default FP32 island policy")
    keep_io_types: bool = Field(True, description="graph inputs/outputs stay FP32")
    calibration: CalibrationSpec = Field(default_factory=CalibrationSpec)
    evaluate: PrecisionEvaluation = Field(default_factory=PrecisionEvaluation)
    int8: Int8Spec = Field(default_factory=Int8Spec, description="int8 only: the automatic FP32-island search")

    @model_validator(mode="after")
    def _builder_mode(self) -> PrecisionSpec:
        if self.method == "builder" and self.mode not in ("fp32", "fp16"):
            raise ValueError(f"method 'builder' supports fp16 only (TensorRT 10 weak typing), not {self.mode}")
        return self


class EngineSpec(Strict):
    backend: str = Field("auto", description="auto | tensorrt-bindings | trtexec | tensorrt-rtx-bindings (a module of "
                         "trtbuild/backends/); auto = full TensorRT's bindings with a GPU, else trtexec, else "
                         "TensorRT-RTX's bindings (builds on a CPU)")
    compute_capabilities: list[str] | None = Field(
        None, description="TensorRT-RTX targets, e.g. ['8.6', '8.9']; unset = the library's portable default")
    workspace_mib: int | None = Field(None, ge=1, description="WORKSPACE memory pool in MiB; unset = TensorRT decides")
    optimization_level: int = Field(3, ge=0, le=5)
    timing_cache: bool = True
    version_compatible: bool = False
    hardware_compatibility: Literal["none", "ampere_plus", "same_compute_capability"] = "none"
    profiling_verbosity: Literal["layer_names_only", "detailed", "none"] = "detailed"

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, name: str, info: ValidationInfo) -> str:
        return known(info, "backends", name, "engine.backend")

    @field_validator("compute_capabilities", mode="before")
    @classmethod
    def _known_compute_capabilities(cls, targets):
        if not isinstance(targets, list):
            return targets  # pydantic names the type
        return [compute_capability(t) for t in targets]


class Gate(Strict):
    metric: str
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _bound(self) -> Gate:
        if self.max is None and self.min is None:
            raise ValueError(f"gate on {self.metric!r} needs `max` or `min`")
        return self


class VerifySpec(Strict):
    images: Path | None = Field(None, description="image folder or dataset YAML (brings its labels); unset = `data`")
    labels: Path | None = Field(None, description="YOLO-format labels folder for an image folder's label mAP")
    max_images: int = Field(128, ge=1)
    gates: list[Gate] = Field(
        [], description="empty -> the task's default (map50_95_drop_pct <= 1, depth_rel_mse_pct <= 5); "
        "judged on the value's 95 % interval where the task gives one (trtbuild.accuracy.gates)"
    )
    runner: str = Field(
        "auto", description="the candidate: auto = the engine when there is one, else the ONNX on ONNX Runtime | "
        "onnxruntime | engine"
    )
    cannot_tell: Literal["fail", "warn"] = Field(
        "fail", description="a gate whose 95 % interval straddles its bound cannot tell, never a pass: fail = exit 1, "
        "warn = a warning, exit 0 (CLI --cannot-tell)")
    batch_rel_l2: float | None = Field(
        None, gt=0, description="a dynamic batch: how far one image's outputs inside a full batch may be from the same "
        "image alone (relative L2, per output); unset = by precision (trtbuild.accuracy.batch_shapes)")

    @field_validator("runner")
    @classmethod
    def _known_candidate(cls, name: str, info: ValidationInfo) -> str:
        name = known(info, "runners", name, "verify.runner", also=("auto",))
        if name == "torch":
            raise ValueError("torch is the reference verify judges against, not a candidate (auto | onnxruntime | "
                             "engine)")
        return name


class BenchSpec(Strict):
    runners: list[str] = Field(
        default_factory=lambda: ["engine"], min_length=1, description="timed side by side (torch | onnxruntime | "
        "engine); unavailable ones are skipped"
    )
    warmup_s: float = Field(2.0, ge=0)
    duration_s: float = Field(10.0, gt=0, description="per runner; 600 = the stability run (memory slope verdict)")
    iterations: int | None = Field(None, ge=1, description="exactly this many timed steps instead of `duration_s`")
    cuda_graph: bool = Field(True, description="replay a CUDA graph where the runner supports it (GPU only)")
    leak_mib_per_min: float = Field(1.0, gt=0, description="RSS/GPU memory slope above which a leak is suspected")

    @field_validator("runners")
    @classmethod
    def _known_runners(cls, names: list[str], info: ValidationInfo) -> list[str]:
        return [known(info, "runners", name, f"bench.runners[{i}]") for i, name in enumerate(names)]


class Recipe(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)
    aliases: list[str] = []
    task: str = Field(description="what the model does: a module of trtbuild/tasks/ (detect, depth, classify, other)")
    data: Path | None = Field(None, description="Ultralytics dataset YAML or image folder: the images (and labels) of "
                              "check, calibration, precision evaluation and verify unless their own key is set; "
                              "CLI --data, env TRTBUILD_DATA")
    model: ModelSpec
    inputs: list[InputSpec] = Field(min_length=1)
    export: ExportSpec = Field(default_factory=ExportSpec)
    simplify: SimplifySpec = Field(default_factory=SimplifySpec)
    check: CheckSpec = Field(default_factory=CheckSpec)
    precision: PrecisionSpec = Field(default_factory=PrecisionSpec)
    engine: EngineSpec = Field(default_factory=EngineSpec)
    verify: VerifySpec = Field(default_factory=VerifySpec)
    bench: BenchSpec = Field(default_factory=BenchSpec)

    @field_validator("task")
    @classmethod
    def _known_task(cls, name: str, info: ValidationInfo) -> str:
        return known(info, "tasks", name, "task")

    @model_validator(mode="after")
    def _adapter_constraints(self, info: ValidationInfo) -> Recipe:
        names = given(info)
        multiple = names.adapters[self.model.adapter].spatial_multiple if names else 0
        if multiple:
            for spec in self.inputs:
                if len(spec.shape) != 4:
                    raise ValueError(f"inputs.{spec.name}: {self.model.adapter} takes NCHW images, got {spec.shape}")
                for axis in (2, 3):
                    rng = spec.dynamic.get(axis)
                    sizes = {spec.shape[axis], *((rng.min, rng.opt, rng.max) if rng else ())}
                    bad = sorted(s for s in sizes if s % multiple)
                    if bad:
                        raise ValueError(
                            f"inputs.{spec.name}.shape[{axis}]: {self.model.adapter} needs multiples of {multiple}, "
                            f"got {bad[0]} (nearest: {_nearest_multiple(bad[0], multiple)})"
                        )
        return self


def _nearest_multiple(value: int, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)
