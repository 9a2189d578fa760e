"""The Python-API adapter's real code paths, run through the manifest-generated stand-in of every supported
version (the `trt` fixture): the stand-in refuses names that version lacks and records what the adapter did."""

import json

import pytest

from trtbuild.tensorrt.flavor import TENSORRT as TRT
from trtbuild.core.errors import StageFailed, UsageError
from trtbuild.tensorrt import python_builder
from trtbuild.tensorrt.parser_errors import parse_failure
from trtbuild.tensorrt.plan import make_plan
from trtbuild.tensorrt.progress import ProgressLines
from trtbuild.tensorrt.version import parse_version


def _build(trt, recipe, tmp_path, lines=None, inspect=True):
    plan = make_plan(recipe, TRT, parse_version(trt.__version__), "8.9", tmp_path / "timing")
    log = lines.append if lines is not None else (lambda _: None)
    return python_builder.build_engine(trt, plan, tmp_path / "model.onnx", log, inspect=inspect)


def _set_flags(trt):
    return [args[0].name for args in trt.recorder.args_of("IBuilderConfig.set_flag")]


def test_workspace_profiles_and_settings(trt, make_recipe, tmp_path):
    _build(trt, make_recipe(engine={"workspace_mib": 4096, "optimization_level": 4}), tmp_path)
    rec = trt.recorder
    assert rec.args_of("IBuilderConfig.set_memory_pool_limit") == [(trt.MemoryPoolType.WORKSPACE, 4096 << 20)]
    assert rec.args_of("IOptimizationProfile.set_shape") == [
        ("images", (1, 3, 640, 640), (2, 3, 640, 640), (8, 3, 640, 640))]
    assert len(rec.args_of("IBuilderConfig.add_optimization_profile")) == 1
    assert rec.args_of("IBuilderConfig.builder_optimization_level=") == [(4,)]
    assert rec.args_of("IBuilderConfig.profiling_verbosity=") == [(trt.ProfilingVerbosity.DETAILED,)]
    assert rec.args_of("OnnxParser.parse_from_file") == [(str(tmp_path / "model.onnx"),)]
    assert rec.args_of("IBuilderConfig.progress_monitor=")  # a real IProgressMonitor subclass was accepted


def test_precision_handling_per_major(trt, make_recipe, tmp_path):
    _build(trt, make_recipe(precision={"mode": "fp16"}), tmp_path)
    (flags,) = trt.recorder.args_of("Builder.create_network")
    if trt.__version__.startswith("11."):
        assert flags == (0,)  # always strongly typed; the deprecated STRONGLY_TYPED flag is not passed
    else:
        assert flags == (1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED),)
    assert _set_flags(trt) == []  # graph precision: no builder precision flag on any version


def test_fp16_flag_only_in_10x_builder_mode(trt, make_recipe, tmp_path):
    recipe = make_recipe(precision={"mode": "fp16", "method": "builder"})
    if trt.__version__.startswith("11."):
        with pytest.raises(UsageError, match="builder needs weak typing"):
            _build(trt, recipe, tmp_path)
        assert trt.recorder.calls == []  # refused before TensorRT is touched
        return
    _build(trt, recipe, tmp_path)
    assert _set_flags(trt) == ["FP16"]
    assert trt.recorder.args_of("Builder.create_network") == [(0,)]  # weak typing: not strongly typed


def test_version_and_hardware_compatible(trt, make_recipe, tmp_path):
    _build(trt, make_recipe(engine={"version_compatible": True, "hardware_compatibility": "ampere_plus"}), tmp_path)
    assert _set_flags(trt) == ["VERSION_COMPATIBLE"]
    assert trt.recorder.args_of("IBuilderConfig.hardware_compatibility_level=") == [
        (trt.HardwareCompatibilityLevel.AMPERE_PLUS,)]
    assert trt.recorder.args_of("Runtime.engine_host_code_allowed=") == [(True,)]


def test_parse_errors_are_logged_and_name_the_first_node(trt, make_recipe, tmp_path, fake):
    fake_instance = fake.instance
    errors = [("/model.22/Mul", "Mul", "broadcast mismatch"), ("/model.23/Softmax", "Softmax", "bad axis")]

    def get_error(parser, i):  # a stand-in ParserError; node_name/node_operator/desc stay (recorded) methods
        error = fake_instance(trt.ParserError)
        object.__setattr__(error, "index", i)
        return error

    trt.recorder.script.update({
        "OnnxParser.parse_from_file": False, "OnnxParser.num_errors": 2, "OnnxParser.get_error": get_error,
        **{f"ParserError.{m}": (lambda self, k=k: errors[self.index][k])
           for k, m in enumerate(("node_name", "node_operator", "desc"))}})
    lines = []
    with pytest.raises(StageFailed, match=r"the ONNX parser cannot parse model.onnx: node /model.22/Mul \(Mul\): broadcast "
                                          r"mismatch \(\+1 more in the log\)"):
        _build(trt, make_recipe(), tmp_path, lines)
    assert "parser error 2/2: node /model.23/Softmax (Softmax): bad axis" in lines
    assert "Builder.build_serialized_network" not in trt.recorder.names()


def test_parser_error_methods_exist_in_manifest(fake):
    for version in fake.VERSIONS:
        members = fake.manifest(version)["classes"]["ParserError"]
        kinds = fake.manifest(version)["member_kinds"]["ParserError"]
        assert all(kinds[m] == "method" for m in ("node_name", "node_operator", "desc") if m in members)


def test_build_failure_is_clear(trt, make_recipe, tmp_path):
    # the adapter's logger is the one passed to Builder(logger); capture it from the recorded constructor call
    trt.recorder.script["Builder.build_serialized_network"] = lambda builder, network, config: (
        trt.recorder.args_of("Builder.__init__")[0][0].log(trt.ILogger.Severity.ERROR, "Error Code 4: out of memory"))
    with pytest.raises(StageFailed, match="could not build the engine: Error Code 4: out of memory"):
        _build(trt, make_recipe(), tmp_path)


def test_timing_cache_load_merge_save(trt, make_recipe, tmp_path):
    cache_file = tmp_path / "timing" / f"trt-{parse_version(trt.__version__)}-sm89.timing-cache"
    cache_file.parent.mkdir()
    cache_file.write_bytes(b"OLD")
    _build(trt, make_recipe(), tmp_path)
    created = trt.recorder.args_of("IBuilderConfig.create_timing_cache")
    assert created == [(b"OLD",), (b"OLD",)]  # loaded before the build, re-read under the lock to merge
    assert len(trt.recorder.args_of("ITimingCache.combine")) == 1
    assert cache_file.read_bytes() == b"TIMING"


def test_io_and_inspector_json(trt, make_recipe, tmp_path):
    info = {"Layers": [], "I/O Tensors": []}
    names = ["images", "output0"]
    trt.recorder.script.update({
        "ICudaEngine.num_io_tensors": 2,
        "ICudaEngine.get_tensor_name": lambda self, i: names[i],
        "ICudaEngine.get_tensor_mode": lambda self, n: trt.TensorIOMode.INPUT if n == "images"
        else trt.TensorIOMode.OUTPUT,
        "ICudaEngine.get_tensor_dtype": lambda self, n: trt.DataType.FLOAT if n == "images" else trt.DataType.HALF,
        "ICudaEngine.get_tensor_shape": lambda self, n: [-1, 3, 640, 640] if n == "images" else [-1, 84, 8400],
        "ICudaEngine.get_tensor_profile_shape": lambda self, n, p: [(1, 3, 640, 640), (2, 3, 640, 640),
                                                                   (8, 3, 640, 640)],
        "EngineInspector.get_engine_information": json.dumps(info),
    })
    built = _build(trt, make_recipe(), tmp_path)
    assert built.engine == b"PLAN" and built.engine_info == info
    assert [(t.name, t.mode, t.dtype, t.shape) for t in built.io] == [
        ("images", "input", "float32", [-1, 3, 640, 640]), ("output0", "output", "float16", [-1, 84, 8400])]
    assert built.io[0].profile == [[1, 3, 640, 640], [2, 3, 640, 640], [8, 3, 640, 640]]
    assert trt.recorder.args_of("EngineInspector.get_engine_information") == [(trt.LayerInformationFormat.JSON,)]


def test_without_inspection_io_comes_from_the_parsed_network(trt, make_recipe, tmp_path, fake):
    tensors = {"images": ([-1, 3, 640, 640], trt.DataType.FLOAT), "output0": ([-1, 84, 8400], trt.DataType.HALF)}

    def tensor(name):
        t = fake.instance(trt.ITensor)
        t._props.update(name=name, shape=tensors[name][0], dtype=tensors[name][1])
        return t

    trt.recorder.script.update({
        "INetworkDefinition.num_inputs": 1, "INetworkDefinition.num_outputs": 1,
        "INetworkDefinition.get_input": lambda self, i: tensor("images"),
        "INetworkDefinition.get_output": lambda self, i: tensor("output0")})
    built = _build(trt, make_recipe(dynamic=True), tmp_path, inspect=False)
    assert built.engine_info is None and "Runtime.deserialize_cuda_engine" not in trt.recorder.names()
    assert [(t.name, t.mode, t.dtype, t.shape, t.profile) for t in built.io] == [
        ("images", "input", "float32", [-1, 3, 640, 640], [[1, 3, 640, 640], [2, 3, 640, 640], [8, 3, 640, 640]]),
        ("output0", "output", "float16", [-1, 84, 8400], None)]


def test_parse_failure_without_errors():
    lines, message = parse_failure("m.onnx", [])
    assert lines == [] and "without reporting an error" in message


def test_progress_lines():
    out = []
    progress = ProgressLines(out.append)
    progress.phase_start("Building", None, 2)
    progress.phase_start("Tactics", "Building", 20)
    for step in range(20):
        assert progress.step_complete("Tactics", step) is True
    progress.phase_finish("Tactics")
    progress.phase_finish("Building")
    assert out[0] == "[build] Building: started (2 steps)"
    assert out[1] == "[build]   Tactics: started (20 steps)"
    assert [line for line in out if line.endswith("%")][-1] == "[build]   Tactics: 100%"
    assert len([line for line in out if line.endswith("%")]) == 10
    assert out[-1].startswith("[build] Building: done in")
