"""engine: build a TensorRT plan from the precision stage's ONNX (Python builder API or trtexec).

Precision: the precision stage only passes files, so this stage reads its decision from the same recipe block
(precision.mode/method). method=graph: the ONNX already carries the precision and the build is strongly typed;
method=builder (TensorRT 10.x only): the ONNX is FP32 and BuilderFlag.FP16 / --fp16 asks for weak typing. Both
enter this stage's key, since a builder-mode ONNX is byte-identical to the FP32 one.

Backend: `auto` is the Python API when the bindings are installed (pip ships no trtexec), else trtexec when it is on
PATH (tar/deb/NGC installs); the engine gets built either way, and the TensorRT runner (verify/bench) still needs the
bindings. `python` / `trtexec` force one."""

from __future__ import annotations

import functools
import json
import time

from trtbuild.digest import file_digest
from trtbuild.errors import StageFailed, StageUnavailable
from trtbuild.host import Gpu, gpus, tensorrt_version
from trtbuild.recipe.load import recipe_digest
from trtbuild.recipe.schema import Recipe
from trtbuild.stages.base import Artifacts, Stage, StageContext, StageOutput
from trtbuild.tensorrt.layer_info import normalize
from trtbuild.tensorrt.plan import BuildPlan, make_plan
from trtbuild.tensorrt.sidecar import EngineSidecar, GpuInfo, IoTensor, UltralyticsMeta
from trtbuild.tensorrt.trtexec import build_argv, run_trtexec, trtexec_path, trtexec_version
from trtbuild.tensorrt.version import TrtVersion, parse_version, unsupported_reason

NOT_INSTALLED = "TensorRT is not installed (on a host with an NVIDIA GPU: pip install 'trtbuild[tensorrt]')"
NO_TRTEXEC = ("trtexec is not on PATH (it ships in TensorRT's tar/deb packages and NGC containers, not in pip "
              "wheels); use engine.backend: python or auto")


def choose_backend(requested: str, python_version: str | None, trtexec: str | None) -> tuple[str | None, str | None]:
    """-> (backend, None) or (None, why neither can run)."""
    if requested == "trtexec" or (requested == "auto" and not python_version and trtexec):
        return ("trtexec", None) if trtexec else (None, NO_TRTEXEC)
    return ("python", None) if python_version else (None, NOT_INSTALLED)


@functools.cache
def _trtexec_version(path: str) -> TrtVersion | None:
    return trtexec_version(path)


def _backend_version(backend: str) -> tuple[TrtVersion | None, str]:
    """The TensorRT version the backend would use, and where it was read."""
    if backend == "python":
        text = tensorrt_version()
        try:
            return parse_version(text), f"tensorrt {text}"
        except ValueError:
            return None, f"tensorrt distribution version {text!r}"
    path = trtexec_path()
    return _trtexec_version(path), f"trtexec at {path}"


def engine_unavailable_reason(requested: str = "auto") -> str | None:
    backend, reason = choose_backend(requested, tensorrt_version(), trtexec_path())
    if reason:
        return reason
    if not gpus():
        return "no NVIDIA GPU found (nvidia-smi lists none); TensorRT builds need the target GPU"
    version, source = _backend_version(backend)
    if version is None:
        return f"cannot tell the TensorRT version of {source}"
    return unsupported_reason(version)


class EngineStage(Stage):
    name = "engine"
    tools = ("tensorrt",)
    host_bound = True
    publish = {"plan": "{name}.{precision}.engine", "sidecar": "{name}.{precision}.engine.json",
               "layers": "{name}.{precision}.layers.json"}

    def params(self) -> dict:
        return {"engine": self.recipe.engine.model_dump(mode="json"),
                "precision": {"mode": self.recipe.precision.mode, "method": self.recipe.precision.method},
                "inputs": [s.model_dump(mode="json") for s in self.recipe.inputs]}

    def inputs(self, artifacts: Artifacts) -> dict:
        return {"onnx": artifacts["precision.onnx"], "metadata": artifacts["export.metadata"]}

    def unavailable(self) -> str | None:
        return engine_unavailable_reason(self.recipe.engine.backend)

    def key_material(self, inputs: dict) -> dict:
        material = super().key_material(inputs)
        backend, _ = choose_backend(self.recipe.engine.backend, tensorrt_version(), trtexec_path())
        version, _ = _backend_version(backend) if backend else (None, "")
        material["host"]["backend"] = {"name": backend, "tensorrt": str(version) if version else None}
        return material

    def run(self, ctx: StageContext) -> StageOutput:
        recipe = self.recipe
        backend, reason = choose_backend(recipe.engine.backend, tensorrt_version(), trtexec_path())
        if reason:
            raise StageUnavailable(f"engine: {reason}")
        gpu = gpus()[0]
        version = _installed_python_version() if backend == "python" else _backend_version(backend)[0]
        plan = make_plan(recipe, version, gpu.compute_capability, ctx.cache_root / "timing")
        ctx.log(f"backend {backend}, TensorRT {version}, GPU {gpu.name} (sm {gpu.compute_capability}), "
                f"plan: {plan}")
        for warning in plan.warnings:
            ctx.log(f"warning: {warning}")

        onnx = ctx.inputs["onnx"]
        plan_file, layers_file = ctx.workdir / "model.engine", ctx.workdir / "layers.json"
        start = time.perf_counter()
        if backend == "python":
            io, engine_info = _build_python(plan, onnx, plan_file, ctx)
        else:
            io, engine_info = _build_trtexec(plan, onnx, plan_file, ctx)
        seconds = round(time.perf_counter() - start, 3)

        layers = normalize(engine_info)
        layers_file.write_text(json.dumps({"normalized": layers, "tensorrt": engine_info}, indent=1))
        sidecar = make_sidecar(recipe, plan, backend, gpu, io, onnx_sha256=file_digest(onnx),
                               plan_sha256=file_digest(plan_file), build_seconds=seconds,
                               metadata=json.loads(ctx.inputs["metadata"].read_text()))
        sidecar.write(ctx.workdir / "model.engine.json")
        return StageOutput(
            artifacts={"plan": plan_file.name, "sidecar": "model.engine.json", "layers": layers_file.name},
            metrics={"backend": backend, "tensorrt": str(version), "gpu": gpu.name, "build_seconds": seconds,
                     "plan_bytes": plan_file.stat().st_size, "strongly_typed": plan.strongly_typed,
                     "builder_flags": list(plan.builder_flags), "num_layers": layers["num_layers"],
                     "layer_output_dtypes": layers["output_dtype_histogram"],
                     "io": [t.model_dump() for t in io]},
            warnings=list(plan.warnings),
        )


def _installed_python_version() -> TrtVersion:
    try:
        import tensorrt
    except Exception as exc:  # ImportError, or OSError from a wheel without its libraries
        raise StageUnavailable(f"engine: the tensorrt module does not import ({type(exc).__name__}: {exc})") from None
    return parse_version(tensorrt.__version__)


def _build_python(plan: BuildPlan, onnx, plan_file, ctx: StageContext) -> tuple[list[IoTensor], dict]:
    from trtbuild.tensorrt.python_builder import build_engine

    built = build_engine(plan, onnx, ctx.log)
    plan_file.write_bytes(built.plan)
    return built.io, built.engine_info


def _build_trtexec(plan: BuildPlan, onnx, plan_file, ctx: StageContext) -> tuple[list[IoTensor], dict]:
    exported = ctx.workdir / "trtexec-layers.json"
    run = run_trtexec(build_argv(plan, onnx, plan_file, exported, trtexec_path()), ctx.log)
    if not run.passed:
        raise StageFailed(f"engine: {run.failure()}")
    info = json.loads(exported.read_text())
    exported.unlink()
    return io_from_layer_info(normalize(info), plan, ctx.recipe), info


def io_from_layer_info(layers: dict, plan: BuildPlan, recipe: Recipe) -> list[IoTensor]:
    """I/O for the sidecar from exported layer info (trtexec builds): 11.x lists mode/dtype/shape, 10.x names only,
    so inputs fall back to the recipe and unknowns stay 'unknown' / []."""
    specs = {s.name: s for s in recipe.inputs}
    profile = {name: [list(d) for d in triple] for p in plan.profiles for name, triple in p.shapes.items()}
    io = []
    for t in layers["io_tensors"]:
        spec = specs.get(t["name"])
        shape = t["shape"] or ([-1 if i in spec.dynamic else d for i, d in enumerate(spec.shape)] if spec else [])
        io.append(IoTensor(name=t["name"], mode=t["mode"] or ("input" if spec else "output"),
                           dtype=t["dtype"] or "unknown", shape=shape, profile=profile.get(t["name"])))
    return io


def rebuild_command(recipe: Recipe) -> str:
    parts = ["trtbuild", "build", recipe.name, "--precision", recipe.precision.mode]
    if recipe.engine.workspace_mib:
        parts += ["--workspace", str(recipe.engine.workspace_mib)]
    if recipe.precision.method != "graph":
        parts += ["--set", f"precision.method={recipe.precision.method}"]
    if recipe.engine.backend != "auto":
        parts += ["--set", f"engine.backend={recipe.engine.backend}"]
    return " ".join(parts)


def make_sidecar(recipe: Recipe, plan: BuildPlan, backend: str, gpu: Gpu, io: list[IoTensor], *, onnx_sha256: str,
                 plan_sha256: str, build_seconds: float, metadata: dict) -> EngineSidecar:
    """`metadata` is the export stage's adapter metadata (class names, stride, input size)."""
    return EngineSidecar(
        recipe=recipe.name, recipe_digest=recipe_digest(recipe), onnx_sha256=onnx_sha256, plan_sha256=plan_sha256,
        tensorrt=str(plan.version), backend=backend,
        gpu=GpuInfo(name=gpu.name, compute_capability=gpu.compute_capability, driver=gpu.driver),
        cuda=_torch_cuda(), precision=plan.precision, precision_method=plan.precision_method,
        strongly_typed=plan.strongly_typed, network_flags=list(plan.network_flags),
        builder_flags=list(plan.builder_flags), memory_pools=plan.memory_pools,
        optimization_level=plan.optimization_level, version_compatible=plan.version_compatible,
        hardware_compatibility=plan.hardware_compatibility,
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


def _torch_cuda() -> str | None:
    import torch

    return torch.version.cuda
