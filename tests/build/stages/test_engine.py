"""The engine stage: key, sidecar content, the trtexec backend end to end against a fake trtexec script (the only
stand-in here; it writes what trtexec writes), and real TensorRT-RTX builds on this CPU: YOLO12n FP32/FP16,
Depth-Anything-V2 at 392, a dynamic-batch profile, an unsupported graph, and the stage cache."""

import dataclasses
import importlib.util
import json
import shlex
from pathlib import Path

import pytest
import typer

from conftest import COCO128, DEPTH_SEEDED, YOLO_WEIGHTS, backend_checker, needs_tensorrt
from trtbuild import api
from trtbuild.backends.registry import get_backend
from trtbuild.tensorrt.flavor import TENSORRT as TRT
from trtbuild.backends.trtexec import TrtexecBackend
from trtbuild.cli import app as trtbuild_app
from trtbuild.cli_options import PrecisionOptions, RecipeOptions
from trtbuild.core.digest import file_digest
from trtbuild.core.engine_set import read_engine_set
from trtbuild.core.errors import StageFailed
from trtbuild.build.pipeline import BuildOptions
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.recipe.schema import Recipe
from trtbuild.build.stages.base import StageContext
from trtbuild.build.stages.engine import EngineStage, make_sidecar, rebuild_command
from trtbuild.tensorrt.layer_info import normalize
from trtbuild.tensorrt.plan import make_plan
from trtbuild.tensorrt.sidecar import EngineSidecar, IoTensor
from trtbuild.tensorrt.version import TrtVersion

TESTS = Path(__file__).resolve().parents[2]
needs_rtx = backend_checker("tensorrt-rtx")


def _tiny_onnx(path: Path) -> Path:
    spec = importlib.util.spec_from_file_location("tiny_onnx", TESTS / "tensorrt" / "tiny_onnx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_tiny_onnx(path)


def _recipe(**blocks) -> Recipe:
    return Recipe.model_validate({"name": "tiny", "task": "other", "model": {"adapter": "python"},
                                  "inputs": [{"name": "images", "shape": [1, 3, 8, 8],
                                              "dynamic": {0: {"min": 1, "opt": 2, "max": 4}}}],
                                  "export": {"output_names": ["output0"]}, **blocks})


def test_precision_method_enters_the_key():
    graph = EngineStage(_recipe(precision={"mode": "fp16"})).params()
    builder = EngineStage(_recipe(precision={"mode": "fp16", "method": "builder"})).params()
    assert graph != builder and builder["precision"] == {"mode": "fp16", "method": "builder"}



def test_published_names_tell_flavors_and_targets_apart():
    stage = EngineStage(_recipe(precision={"mode": "fp16"}))
    rtx = stage.publish_fields({"library": "tensorrt-rtx", "library_version": "1.7.1", "runs_on": ["8.6", "12.0"]})
    trt = stage.publish_fields({"library": "tensorrt", "library_version": "10.3.0", "runs_on": ["8.9"]})
    assert EngineStage.publish["engine"].format(**rtx) == "tiny.fp16.tensorrt-rtx-1.sm86-120.engine"
    assert EngineStage.publish["engine"].format(**trt) == "tiny.fp16.tensorrt-10.sm89.engine"


def test_rebuild_command(in_repo):
    loaded = load_recipe("depth", Overrides(random_weights=True, precision="fp16", workspace_mib=4096))
    assert rebuild_command(loaded.recipe) == ("trtbuild build depth --precision fp16 --workspace 4096 "
                                              "--random-weights --weights depth_anything_v2_vits.pth")


def _parse_build(args: list[str]) -> tuple[str, Overrides]:
    """`trtbuild build ARGS` parsed by the real command's options: its recipe, and its Overrides made as it makes
    them."""
    params = typer.main.get_command(trtbuild_app).commands["build"].make_context("build", list(args)).params
    model, precision = (group(**{f.name: params[f.name] for f in dataclasses.fields(group)})
                        for group in (RecipeOptions, PrecisionOptions))
    return params["recipe"], model.overrides(precision, params["workspace"])


def test_overrides_cli_args_parse_back_to_the_same_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv("TRTBUILD_DATA", raising=False)
    given = Overrides(tmp_path / "w.pt", True, "int8", 512, ["engine.backend=trtexec", "a.b=1"], tmp_path / "data",
                      tmp_path / "calib", tmp_path / "holdout")
    assert _parse_build(["tiny", *given.cli_args()]) == ("tiny", given)


def test_rebuild_command_round_trips_through_the_cli(in_repo, tmp_path, monkeypatch):
    monkeypatch.delenv("TRTBUILD_DATA", raising=False)
    sets = ["engine.compute_capabilities=[8.6, 12]", "engine.backend=tensorrt-rtx", "verify.labels=labels here"]
    recipe = load_recipe("yolo12n", Overrides(tmp_path / "my weights.pt", precision="int8", workspace_mib=2048,
                                              sets=sets, data=COCO128, calib=tmp_path / "calib",
                                              holdout=tmp_path / "holdout")).recipe
    args = shlex.split(rebuild_command(recipe))
    assert args[:3] == ["trtbuild", "build", "yolo12n"]
    again = load_recipe(*_parse_build(args[2:])).recipe
    assert again == recipe
    assert (again.model.weights, again.data, again.engine.compute_capabilities) == (
        tmp_path / "my weights.pt", COCO128, ["8.6", "12.0"])


def test_sidecar_for_a_detector(in_repo):
    recipe = load_recipe("yolo12n", Overrides(random_weights=True)).recipe
    plan = make_plan(recipe, TRT, TrtVersion(11, 1, 0), "8.9")
    io = [IoTensor(name="images", mode="input", dtype="float32", shape=[1, 3, 640, 640])]
    meta = {"task": "detect", "stride": 32, "imgsz": [640, 640], "names": {0: "person"}}
    sidecar = make_sidecar(recipe, plan, get_backend("tensorrt"), io, onnx_sha256="a" * 64, engine_sha256="b" * 64,
                           build_seconds=12.5, metadata=meta)
    assert sidecar.ultralytics.model_dump() == {"names": {0: "person"}, "stride": 32, "imgsz": [640, 640],
                                                "task": "detect", "batch": 1}
    assert sidecar.library_version == "11.1.0" and sidecar.strongly_typed and sidecar.builder_flags == []
    assert sidecar.runs_on == ["8.9"] and sidecar.library == "tensorrt" and sidecar.extra == {}


def test_sidecar_for_depth_keeps_adapter_metadata(in_repo):
    recipe = load_recipe("depth", Overrides(random_weights=True, precision="fp16",
                                            sets=["precision.method=builder"])).recipe
    plan = make_plan(recipe, TRT, TrtVersion(10, 3, 0), "8.7")
    sidecar = make_sidecar(recipe, plan, get_backend("tensorrt"), [], onnx_sha256="a" * 64, engine_sha256="b" * 64,
                           build_seconds=1.0, metadata={"task": "depth", "imgsz": [518, 518], "encoder": "vits"})
    assert sidecar.ultralytics is None and sidecar.extra["imgsz"] == [518, 518]
    assert sidecar.builder_flags == ["FP16"] and not sidecar.strongly_typed


FAKE_TRTEXEC = """#!{python}
# Stand-in for trtexec (tests only): writes the engine and a 10.x-style layer-info file, prints the documented
# result line, and fails like trtexec on an unknown option.
import sys
args = dict(a.split("=", 1) if "=" in a else (a, "") for a in sys.argv[1:])
print("&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec " + " ".join(sys.argv[1:]))
if "--workspace" in args:
    print("[08/01/2026-10:00:00] [E] Unknown option: --workspace 4096")
    print("&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec")
    sys.exit(1)
open(args["--saveEngine"], "wb").write(b"PLAN")
open(args["--exportLayerInfo"], "w").write('{{"Layers": ["a"], "Bindings": ["images", "output0"]}}')
print("&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec")
"""


def test_trtexec_backend_writes_engine_and_io(tmp_path, tool_on_path):
    tool_on_path("trtexec", FAKE_TRTEXEC)
    recipe = _recipe(engine={"backend": "trtexec", "workspace_mib": 64})
    backend = TrtexecBackend()
    assert backend.missing() is None and backend.version() == (10, 3, 0)  # read from the RUNNING line
    plan = make_plan(recipe, TRT, backend.version(), "8.9", tmp_path / "timing")
    lines = []
    built = backend.build(plan, tmp_path / "m.onnx", lines.append)
    assert built.engine == b"PLAN" and built.engine_info["Bindings"] == ["images", "output0"]
    io = built.io
    assert [(t.name, t.mode, t.shape) for t in io] == [("images", "input", [-1, 3, 8, 8]), ("output0", "output", [])]
    assert io[0].profile == [[1, 3, 8, 8], [2, 3, 8, 8], [4, 3, 8, 8]]
    log = "\n".join(lines)
    assert "--memPoolSize=workspace:64M" in log and "&&&& PASSED" in log
    assert normalize(built.engine_info)["schema"] == "bindings"


@pytest.mark.gpu
def test_real_build_on_gpu(tmp_path, cache_dir):  # cache_dir: the timing cache goes there
    needs_tensorrt()
    recipe = _recipe(engine={"workspace_mib": 256})
    onnx = _tiny_onnx(tmp_path / "model.onnx")
    workdir = tmp_path / "work"
    workdir.mkdir()
    stage = EngineStage(recipe)
    assert stage.unavailable() is None
    metadata = tmp_path / "metadata.json"
    metadata.write_text("{}")  # what the export stage of a `python` adapter model writes
    output = stage.run(StageContext(recipe, workdir, {"onnx": onnx, "metadata": metadata}, tmp_path / "stage.log"))
    assert set(output.artifacts) == {"engine", "sidecar", "layers"}
    sidecar = EngineSidecar.read(workdir / output.artifacts["sidecar"])
    assert sidecar.io[0].name == "images" and sidecar.io[0].profile[2] == [4, 3, 8, 8]
    assert sidecar.memory_pools == {"WORKSPACE": 256 << 20}
    layers = json.loads((workdir / output.artifacts["layers"]).read_text())
    assert layers["normalized"]["num_layers"] >= 1
    assert (workdir / output.artifacts["engine"]).stat().st_size > 0


def _run_stage(recipe: Recipe, onnx: Path, tmp_path: Path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    metadata = tmp_path / "metadata.json"
    metadata.write_text("{}")  # what the export stage of a `python` adapter model writes
    log = tmp_path / "stage.log"
    output = EngineStage(recipe).run(StageContext(recipe, workdir, {"onnx": onnx, "metadata": metadata}, log))
    return output, workdir, log.read_text()


@needs_rtx
def test_rtx_dynamic_batch_profile_builds_on_cpu(tmp_path):
    recipe = _recipe(engine={"backend": "tensorrt-rtx"})
    recipe.inputs[0].dynamic = {0: {"min": 1, "opt": 1, "max": 8}}
    output, workdir, log = _run_stage(recipe, _tiny_onnx(tmp_path / "model.onnx"), tmp_path)
    sidecar = EngineSidecar.read(workdir / output.artifacts["sidecar"])
    assert sidecar.library == "tensorrt-rtx" and sidecar.library_version == "1.7.1" and sidecar.gpu is None
    assert sidecar.runs_on == ["8.0", "8.6", "8.9", "12.0", "12.1"] and sidecar.strongly_typed
    assert [(t.name, t.mode, t.shape) for t in sidecar.io] == [("images", "input", [-1, 3, 8, 8]),
                                                                ("output0", "output", [-1, 3, 8, 8])]
    assert sidecar.io[0].profile == [[1, 3, 8, 8], [1, 3, 8, 8], [8, 3, 8, 8]]
    assert (workdir / output.artifacts["engine"]).stat().st_size == output.metrics.engine_bytes > 0
    assert output.metrics.num_layers is None and "engine inspector skipped" in log  # no GPU to read it back


@needs_rtx
def test_rtx_targets_chosen_compute_capabilities(tmp_path):
    recipe = _recipe(engine={"backend": "tensorrt-rtx", "compute_capabilities": ["8.6"]})
    output, workdir, _ = _run_stage(recipe, _tiny_onnx(tmp_path / "model.onnx"), tmp_path)
    assert EngineSidecar.read(workdir / output.artifacts["sidecar"]).runs_on == ["8.6"]


@needs_rtx
def test_rtx_unsupported_graph_names_the_node(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["images"], ["r"], name="relu0"),
         helper.make_node("FancyResample", ["r"], ["output0"], name="/head/FancyResample_3", domain="acme.ops")],
        "bad", [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("acme.ops", 1)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "bad.onnx"))
    with pytest.raises(StageFailed, match=r"the ONNX parser cannot parse bad.onnx: node /head/FancyResample_3 "
                                          r"\(FancyResample\): .*Plugin not found"):
        _run_stage(_recipe(engine={"backend": "tensorrt-rtx"}), tmp_path / "bad.onnx", tmp_path)


def _build(recipe: str, weights: Path, root: Path, *sets: str, precision: str = "fp16"):
    return api.build(recipe, Overrides(weights=weights, precision=precision, sets=list(sets)),
                     BuildOptions("engine", out_root=root / "engines"), cache_dir=root / "cache")


def _engine_record(report):
    return next(s for s in report.stages if s.name == "engine")


RTX_DEFAULT = ("8.0", "8.6", "8.9", "12.0", "12.1")


@needs_rtx
def test_rtx_real_yolo12n_fp32_and_fp16_engines_and_cache(in_repo, tmp_path):
    few = "precision.evaluate.max_images=2"  # accuracy is the precision stage's business, not this test's
    fp32 = _engine_record(_build("yolo12n", YOLO_WEIGHTS, tmp_path, few, precision="fp32"))
    fp16 = _engine_record(_build("yolo12n", YOLO_WEIGHTS, tmp_path, few))
    for record in (fp32, fp16):
        assert record.status == "ran" and record.metrics["library"] == "tensorrt-rtx"
        assert record.metrics["io"][1]["shape"] == [1, 84, 8400]
    # the FP16 graph gives a smaller engine (about 10.5 vs 14.8 MB measured)
    assert fp16.metrics["engine_bytes"] < 0.85 * fp32.metrics["engine_bytes"]
    folder = tmp_path / "engines" / "yolo12n"
    sidecar = EngineSidecar.read(folder / "yolo12n.fp16.tensorrt-rtx-1.sm80-86-89-120-121.engine.json")
    assert sidecar.ultralytics.names[0] == "person" and sidecar.precision == "fp16"

    again = _engine_record(_build("yolo12n", YOLO_WEIGHTS, tmp_path, few))
    assert again.status == "cached" and again.key == fp16.key
    changed = _engine_record(_build("yolo12n", YOLO_WEIGHTS, tmp_path, few, "engine.compute_capabilities=[8.9]"))
    assert changed.status == "ran" and changed.key != fp16.key and changed.metrics["runs_on"] == ["8.9"]
    # the engine set keeps all three side by side, each with its digest, and the ONNX candidates
    engines = read_engine_set(folder)
    listed = {(c.kind, c.precision, tuple(c.runs_on)): c for c in engines.candidates}
    assert set(listed) == {("engine", "fp32", RTX_DEFAULT), ("engine", "fp16", RTX_DEFAULT),
                           ("engine", "fp16", ("8.9",)), ("onnx", "fp32", ()), ("onnx", "fp16", ())}
    assert all(file_digest(folder / c.file) == c.sha256 for c in engines.candidates)
    assert engines.default_precision == "fp16" and engines.task == "detect"


@needs_rtx
def test_rtx_real_depth_anything_v2_engine(in_repo, tmp_path):
    report = _build("depth", DEPTH_SEEDED, tmp_path, "inputs[0].shape=[1,3,392,392]",
                    "precision.evaluate.max_images=1")
    record = _engine_record(report)
    assert record.status == "ran" and record.metrics["io"][0]["shape"] == [1, 3, 392, 392]
    # measured 54.6 MB (ViT-S weights in FP16); the FP32 engine is 105 MB: +-18 % for other builder versions
    assert 45e6 < record.metrics["engine_bytes"] < 65e6
