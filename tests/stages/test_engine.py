"""The engine stage: backend choice, key, sidecar content, the trtexec path end to end against a fake trtexec
script (the only stand-in here; it writes what trtexec writes), and, on a GPU host, a real build."""

import importlib.util
import json
import stat
import sys
from pathlib import Path

import pytest

from conftest import needs_tensorrt
from trtbuild.host import Gpu
from trtbuild.recipe import Overrides, load_recipe
from trtbuild.recipe.schema import Recipe
from trtbuild.stages.base import StageContext
from trtbuild.stages.engine import (
    NO_TRTEXEC,
    NOT_INSTALLED,
    EngineStage,
    _build_trtexec,
    choose_backend,
    engine_unavailable_reason,
    make_sidecar,
    rebuild_command,
)
from trtbuild.tensorrt.layer_info import normalize
from trtbuild.tensorrt.plan import make_plan
from trtbuild.tensorrt.sidecar import EngineSidecar, IoTensor
from trtbuild.tensorrt.version import TrtVersion

TESTS = Path(__file__).resolve().parents[1]
GPU = Gpu("NVIDIA L4", "8.9", "575.57", 23034)


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


@pytest.mark.parametrize(("requested", "python", "trtexec", "expected"), [
    ("auto", "10.3.0", "/usr/bin/trtexec", ("python", None)),
    ("auto", None, "/usr/bin/trtexec", ("trtexec", None)),  # tar/NGC installs without the bindings
    ("auto", None, None, (None, NOT_INSTALLED)),
    ("python", None, "/usr/bin/trtexec", (None, NOT_INSTALLED)),
    ("trtexec", "11.1.0", None, (None, NO_TRTEXEC)),
    ("trtexec", "11.1.0", "/opt/trt/bin/trtexec", ("trtexec", None)),
])
def test_choose_backend(requested, python, trtexec, expected):
    assert choose_backend(requested, python, trtexec) == expected


def test_unavailable_here_with_one_line_reason(tmp_path, monkeypatch):
    from trtbuild.host import tensorrt_version

    if tensorrt_version():
        pytest.skip("this host has TensorRT")
    monkeypatch.setenv("PATH", str(tmp_path))  # no trtexec either
    assert engine_unavailable_reason() == NOT_INSTALLED and "\n" not in NOT_INSTALLED
    assert EngineStage(_recipe(engine={"backend": "trtexec"})).unavailable() == NO_TRTEXEC


def test_precision_method_enters_the_key():
    graph = EngineStage(_recipe(precision={"mode": "fp16"})).params()
    builder = EngineStage(_recipe(precision={"mode": "fp16", "method": "builder"})).params()
    assert graph != builder and builder["precision"] == {"mode": "fp16", "method": "builder"}
    assert EngineStage.publish["layers"] == "{name}.{precision}.layers.json"


def test_rebuild_command(in_repo):
    loaded = load_recipe("depth", Overrides(random_weights=True, precision="fp16", workspace_mib=4096))
    assert rebuild_command(loaded.recipe) == "trtbuild build depth --precision fp16 --workspace 4096"


def test_sidecar_for_a_detector(in_repo):
    recipe = load_recipe("yolo12n", Overrides(random_weights=True)).recipe
    plan = make_plan(recipe, TrtVersion(11, 1, 0), "8.9")
    io = [IoTensor(name="images", mode="input", dtype="float32", shape=[1, 3, 640, 640])]
    meta = {"task": "detect", "stride": 32, "imgsz": [640, 640], "names": {0: "person"}}
    sidecar = make_sidecar(recipe, plan, "python", GPU, io, onnx_sha256="a" * 64, plan_sha256="b" * 64,
                           build_seconds=12.5, metadata=meta)
    assert sidecar.ultralytics.model_dump() == {"names": {0: "person"}, "stride": 32, "imgsz": [640, 640],
                                                "task": "detect", "batch": 1}
    assert sidecar.tensorrt == "11.1.0" and sidecar.strongly_typed and sidecar.builder_flags == []
    assert sidecar.gpu.compute_capability == "8.9" and sidecar.extra == {}


def test_sidecar_for_depth_keeps_adapter_metadata(in_repo):
    recipe = load_recipe("depth", Overrides(random_weights=True, precision="fp16",
                                            sets=["precision.method=builder"])).recipe
    plan = make_plan(recipe, TrtVersion(10, 3, 0), "8.7")
    sidecar = make_sidecar(recipe, plan, "python", GPU, [], onnx_sha256="a" * 64, plan_sha256="b" * 64,
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


def test_trtexec_backend_writes_plan_and_io(tmp_path, monkeypatch):
    script = tmp_path / "bin" / "trtexec"
    script.parent.mkdir()
    script.write_text(FAKE_TRTEXEC.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    recipe = _recipe(engine={"backend": "trtexec", "workspace_mib": 64})
    ctx = StageContext(recipe, tmp_path, {"onnx": tmp_path / "m.onnx"}, tmp_path / "stage.log")
    plan = make_plan(recipe, TrtVersion(10, 3, 0), "8.9", tmp_path / "timing")
    io, info = _build_trtexec(plan, tmp_path / "m.onnx", tmp_path / "model.engine", ctx)
    assert (tmp_path / "model.engine").read_bytes() == b"PLAN" and info["Bindings"] == ["images", "output0"]
    assert [(t.name, t.mode, t.shape) for t in io] == [("images", "input", [-1, 3, 8, 8]), ("output0", "output", [])]
    assert io[0].profile == [[1, 3, 8, 8], [2, 3, 8, 8], [4, 3, 8, 8]]
    log = (tmp_path / "stage.log").read_text()
    assert "--memPoolSize=workspace:64M" in log and "&&&& PASSED" in log
    assert normalize(info)["schema"] == "bindings"


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
    assert set(output.artifacts) == {"plan", "sidecar", "layers"}
    sidecar = EngineSidecar.read(workdir / output.artifacts["sidecar"])
    assert sidecar.io[0].name == "images" and sidecar.io[0].profile[2] == [4, 3, 8, 8]
    assert sidecar.memory_pools == {"WORKSPACE": 256 << 20}
    layers = json.loads((workdir / output.artifacts["layers"]).read_text())
    assert layers["normalized"]["num_layers"] >= 1
    assert (workdir / output.artifacts["plan"]).stat().st_size > 0
