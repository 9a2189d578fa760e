"""engine: build a TensorRT-family engine from the precision stage's ONNX with the backend the recipe asks for.

Precision: the precision stage only passes files, so this stage reads its decision from the same recipe block
(precision.mode/method). method=graph: the ONNX already carries the precision and the build is strongly typed;
method=builder (TensorRT 10.x only): the ONNX is FP32 and BuilderFlag.FP16 / --fp16 asks for weak typing. Both
enter this stage's key, since a builder-mode ONNX is byte-identical to the FP32 one.

Backend (trtbuild/backends/): `auto` takes full TensorRT when it imports and a GPU is present, else trtexec, else
TensorRT-RTX, which builds on a CPU for the RTX/Ampere+ GPUs in `engine.compute_capabilities`."""

from __future__ import annotations

import functools
import json
import shlex
import time

from trtbuild.backends.base import Backend
from trtbuild.backends.registry import select_backend
from trtbuild.core.digest import file_digest
from trtbuild.core.engine_set import engine_stem
from trtbuild.core.errors import StageUnavailable
from trtbuild.core.host import gpus
from trtbuild.recipe.load import DATA_KEYS, Overrides, recipe_digest
from trtbuild.recipe.schema import Recipe
from trtbuild.build.stages.base import Artifacts, Stage, StageContext, StageMetrics, StageOutput
from trtbuild.tensorrt.layer_info import normalize
from trtbuild.tensorrt.plan import BuildPlan
from trtbuild.tensorrt.sidecar import EngineSidecar, GpuInfo, IoTensor, UltralyticsMeta


class EngineMetrics(StageMetrics):
    backend: str
    library: str  # the flavor (trtbuild.tensorrt.flavor)
    library_version: str
    runs_on: list[str]  # compute capabilities
    build_gpu: str | None  # None: built without a GPU (TensorRT-RTX)
    build_seconds: float
    engine_bytes: int
    strongly_typed: bool
    builder_flags: list[str]
    num_layers: int | None  # None: the engine inspector needs a GPU
    layer_output_dtypes: dict[str, int] | None
    io: list[dict]  # the engine's tensors (trtbuild.tensorrt.sidecar.IoTensor)

    def headline(self) -> str:
        return (f"{self.backend} ({self.library} {self.library_version}) in {self.build_seconds:.1f} s, "
                f"{self.engine_bytes / 1e6:.1f} MB, runs on sm {', '.join(self.runs_on) or '?'}")


class EngineStage(Stage):
    publish = {"engine": "{stem}.engine", "sidecar": "{stem}.engine.json", "layers": "{stem}.layers.json"}
    Metrics = EngineMetrics

    def publish_fields(self, metrics: dict) -> dict[str, str]:
        """Engine names that cannot collide across flavors, versions and targets (trtbuild.core.engine_set)."""
        return {**super().publish_fields(metrics), "stem": engine_stem(
            self.recipe.name, self.recipe.precision.mode, metrics["library"], metrics["library_version"],
            metrics["runs_on"])}

    def params(self) -> dict:
        return {"engine": self.recipe.engine.model_dump(mode="json"),
                "precision": {"mode": self.recipe.precision.mode, "method": self.recipe.precision.method},
                "inputs": [s.model_dump(mode="json") for s in self.recipe.inputs]}

    def inputs(self, artifacts: Artifacts) -> dict:
        return {"onnx": artifacts["precision.onnx"], "metadata": artifacts["export.metadata"]}

    def unavailable(self) -> str | None:
        return select_backend(self.recipe.engine.backend)[1]

    def key_material(self, inputs: dict) -> dict:
        material = super().key_material(inputs)
        backend, _ = select_backend(self.recipe.engine.backend)
        material["host"] = backend.host_material() if backend else None
        return material

    def run(self, ctx: StageContext) -> StageOutput:
        recipe = self.recipe
        backend, reason = select_backend(recipe.engine.backend)
        if reason:
            raise StageUnavailable(f"engine: {reason}")
        plan = backend.make_plan(recipe, ctx.cache_root / "timing")
        where = f"for compute capabilities {', '.join(plan.runs_on) or 'unknown'}"
        ctx.log(f"backend {backend.name}, {backend.flavor.title} {plan.version}, {where}; plan: {plan}")
        for warning in plan.warnings:
            ctx.log(f"warning: {warning}")

        onnx = ctx.inputs["onnx"]
        engine_file, layers_file = ctx.workdir / "model.engine", ctx.workdir / "layers.json"
        start = time.perf_counter()
        built = backend.build(plan, onnx, ctx.log)
        seconds = round(time.perf_counter() - start, 3)
        engine_file.write_bytes(built.engine)

        layers = normalize(built.engine_info) if built.engine_info else None
        layers_file.write_text(json.dumps({"normalized": layers, "inspector": built.engine_info}, indent=1))
        sidecar = make_sidecar(recipe, plan, backend, built.io, onnx_sha256=file_digest(onnx),
                               engine_sha256=file_digest(engine_file), build_seconds=seconds,
                               metadata=ctx.export_metadata())
        sidecar.write(ctx.workdir / "model.engine.json")
        return StageOutput(
            artifacts={"engine": engine_file.name, "sidecar": "model.engine.json", "layers": layers_file.name},
            metrics=EngineMetrics(
                backend=backend.name, library=backend.flavor.name, library_version=str(plan.version),
                runs_on=list(plan.runs_on), build_gpu=sidecar.gpu.name if sidecar.gpu else None,
                build_seconds=seconds, engine_bytes=engine_file.stat().st_size, strongly_typed=plan.strongly_typed,
                builder_flags=list(plan.builder_flags), num_layers=layers["num_layers"] if layers else None,
                layer_output_dtypes=layers["output_dtype_histogram"] if layers else None,
                io=[t.model_dump() for t in built.io]),
            warnings=list(plan.warnings),
        )


def rebuild_command(recipe: Recipe) -> str:
    """The command that builds this recipe again: its name plus, as options, every key the command line may have
    changed that decides the engine (checkpoint, images, precision, backend, targets)."""
    return shlex.join(["trtbuild", "build", recipe.name, *_command_line_overrides(recipe).cli_args()])


def _command_line_overrides(recipe: Recipe) -> Overrides:
    engine, precision = recipe.engine, recipe.precision
    sets = [f"precision.method={precision.method}"] if precision.method != "graph" else []
    sets += [f"engine.backend={engine.backend}"] if engine.backend != "auto" else []
    if engine.compute_capabilities:
        sets.append(f"engine.compute_capabilities=[{', '.join(engine.compute_capabilities)}]")
    if recipe.data is not None:  # --data clears the image keys: the ones this recipe sets come back after it
        values = {key: functools.reduce(getattr, key.split("."), recipe) for key in DATA_KEYS}
        sets += [f"{key}={value}" for key, value in values.items() if value is not None]
    return Overrides(recipe.model.weights, recipe.model.random_weights, precision.mode, engine.workspace_mib, sets,
                     recipe.data, precision.calibration.images)


def make_sidecar(recipe: Recipe, plan: BuildPlan, backend: Backend, io: list[IoTensor], *, onnx_sha256: str,
                 engine_sha256: str, build_seconds: float, metadata: dict) -> EngineSidecar:
    """`metadata` is the export stage's adapter metadata (class names, stride, input size)."""
    local = gpus()
    build_gpu = None if backend.flavor.builds_without_gpu or not local else local[0]
    return EngineSidecar(
        recipe=recipe.name, recipe_digest=recipe_digest(recipe), onnx_sha256=onnx_sha256,
        engine_sha256=engine_sha256, library=plan.library, library_version=str(plan.version), backend=backend.name,
        gpu=GpuInfo(name=build_gpu.name, compute_capability=build_gpu.compute_capability, driver=build_gpu.driver)
        if build_gpu else None,
        runs_on=list(plan.runs_on), precision=plan.precision,
        precision_method=plan.precision_method, strongly_typed=plan.strongly_typed,
        network_flags=list(plan.network_flags), builder_flags=list(plan.builder_flags),
        memory_pools=plan.memory_pools, optimization_level=plan.optimization_level,
        version_compatible=plan.version_compatible, hardware_compatibility=plan.hardware_compatibility or "NONE",
        profiles=[{name: [list(d) for d in triple] for name, triple in p.shapes.items()} for p in plan.profiles],
        io=io, build_seconds=build_seconds, rebuild_command=rebuild_command(recipe),
        ultralytics=ultralytics_block(recipe, metadata), extra={} if _wants_ultralytics_block(recipe) else metadata,
    )


def ultralytics_block(recipe: Recipe, metadata: dict) -> UltralyticsMeta | None:
    """What Ultralytics' AutoBackend reads from an engine's metadata, for detectors."""
    if not _wants_ultralytics_block(recipe) or "names" not in metadata:
        return None
    first = recipe.inputs[0]
    batch = first.dynamic[0].max if 0 in first.dynamic else first.shape[0]
    return UltralyticsMeta(names=metadata["names"], stride=metadata["stride"], imgsz=metadata["imgsz"],
                           task=metadata["task"], batch=batch)


def _wants_ultralytics_block(recipe: Recipe) -> bool:
    return recipe.model.adapter == "ultralytics"

