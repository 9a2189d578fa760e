"""The backend registry: every declared backend loads, `auto` picks by preference and availability, reasons are one
line, and an engine's runnability is decided from its sidecar before any library is imported (an RTX engine on a
Hopper GPU, reported by a stand-in nvidia-smi: the one thing this CPU host cannot have)."""


import pytest

from conftest import backend_checker
from trtbuild.backends.registry import BACKENDS, backend_aliases, backend_names, backends, get_backend, select_backend
from trtbuild.core.host import gpus
from trtbuild.build.registries import recipe_names
from trtbuild.runners.factory import RunnerFiles, unavailable_reason
from trtbuild.tensorrt.flavor import get_flavor
from trtbuild.tensorrt.sidecar import EngineSidecar

NVIDIA_SMI = """#!{python}
print("NVIDIA H200, 9.0, 580.82.07, 143771")
"""


def test_every_backend_module_is_registered_in_preference_order():
    assert [b.name for b in backends()] == ["tensorrt-bindings", "trtexec", "tensorrt-rtx-bindings"]
    assert backend_names() == ("auto", "tensorrt-bindings", "trtexec", "tensorrt-rtx-bindings")
    # the old recipe names stay accepted
    assert backend_aliases() == {"tensorrt": "tensorrt-bindings", "python": "tensorrt-bindings",
                                 "tensorrt-rtx": "tensorrt-rtx-bindings"}
    assert get_backend("python") is get_backend("tensorrt") is get_backend("tensorrt-bindings")
    assert get_flavor("tensorrt-rtx").module == "tensorrt_rtx_bindings"
    with pytest.raises(KeyError, match="unknown engine backend 'tensorrt11'"):
        get_backend("tensorrt11")


def test_each_backend_object_is_what_its_declaration_says():
    """The registry declares names, old spellings and the `auto` order without importing a backend; the objects
    its targets load carry the same."""
    loaded = backends()
    assert [(b.name, tuple(b.aliases)) for b in loaded] == [(p.name, p.aliases) for p in BACKENDS.values()]
    assert [b.preference for b in loaded] == sorted(b.preference for b in loaded)


def test_unknown_backend_in_a_recipe_is_a_schema_error():
    from pydantic import ValidationError

    from trtbuild.recipe.schema import EngineSpec

    with pytest.raises(ValidationError, match="unknown backend 'tensort'"):
        EngineSpec.model_validate({"backend": "tensort"}, context={"names": recipe_names()})
    with pytest.warns(FutureWarning, match="engine.backend: 'tensorrt-rtx' is now called 'tensorrt-rtx-bindings'"):
        spec = EngineSpec.model_validate({"backend": "tensorrt-rtx"}, context={"names": recipe_names()})
    assert spec.backend == "tensorrt-rtx-bindings"
    assert EngineSpec(compute_capabilities=[8.6, 12]).compute_capabilities == ["8.6", "12.0"]  # YAML numbers


def test_full_tensorrt_reason_is_one_line_with_the_install_command():
    if get_backend("tensorrt").missing() is None:
        pytest.skip("TensorRT is installed here")
    reason = get_backend("tensorrt").unavailable_reason()
    assert reason == "TensorRT is not installed (on a host with an NVIDIA GPU: pip install 'trtbuild[tensorrt]')"


@backend_checker("tensorrt-rtx")
def test_auto_falls_back_to_tensorrt_rtx_on_a_cpu_host():
    if gpus():
        pytest.skip("this host has a GPU")
    backend, reason = select_backend("auto")
    assert backend.name == "tensorrt-rtx-bindings" and reason is None
    assert backend.host_material() == {"backend": "tensorrt-rtx-bindings", "library": "tensorrt-rtx",
                                       "version": "1.7.1"}


@pytest.fixture
def h200(tool_on_path):
    tool_on_path("nvidia-smi", NVIDIA_SMI)
    gpus.cache_clear()
    yield
    gpus.cache_clear()


def _rtx_engine(tmp_path):
    engine, sidecar = tmp_path / "depth.fp16.engine", tmp_path / "depth.fp16.engine.json"
    engine.write_bytes(b"engine bytes")
    sidecar.write_text(EngineSidecar(
        recipe="depth", recipe_digest="r" * 64, onnx_sha256="o" * 64, engine_sha256="e" * 64, library="tensorrt-rtx",
        library_version=str(get_flavor("tensorrt-rtx").parsed_version()), backend="tensorrt-rtx", gpu=None,
        runs_on=["8.0", "8.6", "8.9", "12.0", "12.1"], precision="fp16", precision_method="graph",
        strongly_typed=True, network_flags=[], builder_flags=[], memory_pools={}, optimization_level=3,
        version_compatible=False, hardware_compatibility="NONE", profiles=[], io=[], build_seconds=3.5,
        rebuild_command="trtbuild build depth --precision fp16").model_dump_json())
    return RunnerFiles(engine=engine, sidecar=sidecar)


@backend_checker("tensorrt-rtx")
def test_rtx_engine_on_hopper_is_refused_before_import(tmp_path, h200):
    assert gpus()[0].compute_capability == "9.0"
    reason = unavailable_reason("engine", _rtx_engine(tmp_path))
    assert reason.startswith("depth.fp16.engine cannot run here: it was built for compute capabilities 8.0, 8.6, "
                             "8.9, 12.0, 12.1 and this GPU is NVIDIA H200 (9.0)")
    assert "--set engine.backend=tensorrt-bindings" in reason and "\n" not in reason


def test_engine_without_sidecar_or_library_is_not_run(tmp_path):
    files = _rtx_engine(tmp_path) if get_flavor("tensorrt-rtx").parsed_version() else None
    if files is None:
        pytest.skip("needs the tensorrt-rtx distribution for the sidecar's version")
    files.sidecar.write_text("{}")
    assert unavailable_reason("engine", files).startswith("unreadable sidecar depth.fp16.engine.json")
    files.sidecar.unlink()
    assert "no sidecar beside depth.fp16.engine" in unavailable_reason("engine", files)
