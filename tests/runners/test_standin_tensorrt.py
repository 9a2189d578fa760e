"""The stand-in bindings are faithful where they can be checked without a GPU: every name they define is a name of
TensorRT-RTX 1.7.1's bindings (the manifest taken from the installed wheel), their engine files parse into the
documented engine queries, bytes that are no engine give None and a logged error (caught by the builder's own
ILogger subclass), and their runtime cache refuses what it did not write."""

import json

import pytest

from conftest import TENSORRT_MANIFESTS

# introspection the tests read; TensorRT has no such members
STANDIN_ONLY = {"ICudaEngine.device", "IRuntimeCache.kernels", "IRuntimeCache.compiled"}
CLASSES = ("Runtime", "ICudaEngine", "IExecutionContext", "IRuntimeConfig", "IRuntimeCache", "ILogger", "Logger",
           "Dims")


@pytest.fixture(scope="module")
def rtx_manifest() -> dict:
    return json.loads((TENSORRT_MANIFESTS / "python_api_rtx_1.7.1.json").read_text())


def _public(obj) -> set[str]:
    names = {n for n in vars(type(obj) if not isinstance(obj, type) else obj) if not n.startswith("_")}
    return names | ({n for n in vars(obj) if not n.startswith("_")} if not isinstance(obj, type) else set())


def test_every_name_is_tensorrt_rtxs(standin, rtx_manifest):
    enums = {"DataType": standin.DataType, "TensorIOMode": standin.TensorIOMode,
             "CudaGraphStrategy": standin.CudaGraphStrategy, "ILogger.Severity": standin.ILogger.Severity}
    for name, enum in enums.items():
        assert [m.name for m in enum] == rtx_manifest["enums"][name], name
    engine = standin.Runtime(standin.Logger()).deserialize_cuda_engine(json.dumps(standin.engine_description()).encode())
    config = engine.create_runtime_config()
    samples = {"Runtime": standin.Runtime(standin.Logger()), "ICudaEngine": engine, "IRuntimeConfig": config,
               "IRuntimeCache": config.create_runtime_cache(), "Logger": standin.Logger(),
               "ILogger": standin.ILogger, "IExecutionContext": standin.IExecutionContext, "Dims": standin.Dims}
    for cls in CLASSES:
        extra = {f"{cls}.{n}" for n in _public(samples[cls])} - {f"{cls}.{n}" for n in rtx_manifest["classes"][cls]}
        assert extra <= STANDIN_ONLY, extra


def test_an_engine_file_answers_the_engine_queries(standin, tmp_path):
    from trtbuild.tensorrt.python_builder import make_logger

    path = tmp_path / "model.engine"
    standin.write_engine(path, shape=(3, 16, 16), batch=(1, 2, 8), dtype="HALF")
    lines = []
    engine = standin.Runtime(make_logger(standin, lines.append)).deserialize_cuda_engine(path.read_bytes())
    io = [(engine.get_tensor_name(i), engine.get_tensor_mode(engine.get_tensor_name(i)).name,
           engine.get_tensor_dtype(engine.get_tensor_name(i)).name, tuple(engine.get_tensor_shape(
               engine.get_tensor_name(i)))) for i in range(engine.num_io_tensors)]
    assert io == [("images", "INPUT", "HALF", (-1, 3, 16, 16)), ("output0", "OUTPUT", "HALF", (-1, 3, 16, 16))]
    assert engine.get_tensor_mode("nothing") == standin.TensorIOMode.NONE and lines == []


def test_bytes_that_are_no_engine_give_none_and_a_logged_error(standin):
    from trtbuild.tensorrt.python_builder import make_logger

    lines = []
    logger = make_logger(standin, lines.append)
    assert standin.Runtime(logger).deserialize_cuda_engine(b"\x7fELF not an engine") is None
    assert "Magic tag does not match" in logger.errors[-1] and lines[-1].startswith("[TRT] [ERROR] ")
    other_version = {**standin.engine_description(), "version": "0.9.0"}
    assert standin.Runtime(logger).deserialize_cuda_engine(json.dumps(other_version).encode()) is None
    assert "built with 0.9.0" in logger.errors[-1]


def test_the_runtime_cache_refuses_what_it_did_not_write(standin):
    cache = standin.IRuntimeCache()
    cache.kernels = {"a kernel"}
    fresh = standin.IRuntimeCache()
    assert fresh.deserialize(bytes(cache.serialize())) and fresh.kernels == {"a kernel"}
    foreign = json.loads(bytes(cache.serialize()))
    for key, value in (("version", "0.9.0"), ("device", "another GPU"), ("format", "other")):
        assert not standin.IRuntimeCache().deserialize(json.dumps({**foreign, key: value}).encode())
    assert not standin.IRuntimeCache().deserialize(b"\x00garbage")
