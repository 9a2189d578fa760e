"""The stand-in TensorRT bindings (standin_tensorrt.py) for the engine runner's tests: installed into a temporary site
folder as pip would (module + dist-info), and registered as two engine flavors for the test only: one like full
TensorRT (engines bound to the GPU they were built on, CUDA graphs captured by torch) and one like TensorRT-RTX
(engines built for listed compute capabilities, a runtime cache, the library's own CUDA graphs)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from trtbuild.tensorrt.flavor import Flavor, add_flavor, find_installed, get_flavor, remove_flavor
from trtbuild.tensorrt.version import TrtVersion

_spec = importlib.util.spec_from_file_location("standin_source", Path(__file__).with_name("standin_tensorrt.py"))
standin_source = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standin_source)


def _standin_flavor(name: str, **features) -> Flavor:
    return Flavor(name=name, title=f"stand-in {name}", modules=(standin_source.MODULE,),
                  distributions=(standin_source.DISTRIBUTION,), install_hint="tests/runners/conftest.py installs it",
                  min_version=TrtVersion(1, 0), max_major=1, strongly_typed_since=TrtVersion(0, 0), **features)


STANDIN_TENSORRT = _standin_flavor("standin-tensorrt")
_TARGETS = ("8.0", "8.6", "8.9", "9.0", "10.0", "12.0")  # 9.0: the lent H100/H200 run these engines
STANDIN_RTX = _standin_flavor("standin-tensorrt-rtx", compute_capabilities=_TARGETS,
                              default_compute_capabilities=_TARGETS, timing_cache=False,
                              hardware_compatibility=False, version_compatible=False, runtime_cache=True,
                              builtin_cuda_graph=True)


@pytest.fixture
def standin(tmp_path, monkeypatch):
    """The stand-in bindings installed and both stand-in flavors registered; -> the module the runner imports."""
    site = tmp_path / "site"
    standin_source.install(site)
    monkeypatch.syspath_prepend(str(site))
    find_installed.cache_clear()
    for flavor in (STANDIN_TENSORRT, STANDIN_RTX):
        add_flavor(flavor)
    try:
        yield importlib.import_module(standin_source.MODULE)
    finally:
        for flavor in (STANDIN_TENSORRT, STANDIN_RTX):
            remove_flavor(flavor)
        find_installed.cache_clear()
        sys.modules.pop(standin_source.MODULE, None)


def gpu_compute_capability() -> str:
    """This host's GPU, or 9.0 (the lent H100/H200) where there is none."""
    import torch

    return "{}.{}".format(*torch.cuda.get_device_capability()) if torch.cuda.is_available() else "9.0"


@pytest.fixture
def standin_engine(standin, tmp_path, cache_dir):  # cache_dir: runtime caches go to a fresh user cache
    """make(flavor name, **description) -> a stand-in engine file with the sidecar the engine stage writes, built for
    this host's GPU (full-TensorRT-like flavor) or for a list of targets including it (RTX-like flavor)."""
    counter = iter(range(1000))

    def make(flavor: str = STANDIN_TENSORRT.name, **description) -> Path:
        folder = tmp_path / f"engine{next(counter)}"
        folder.mkdir()
        engine = folder / "model.engine"
        write_sidecar(engine, standin.write_engine(engine, **description), get_flavor(flavor))
        return engine

    return make


def write_sidecar(engine: Path, description: dict, flavor: Flavor) -> None:
    """The sidecar the engine stage would write (its own make_sidecar) for the described stand-in engine."""
    from trtbuild.backends.python_api import PythonApiBackend
    from trtbuild.core.digest import file_digest
    from trtbuild.recipe.schema import Recipe
    from trtbuild.build.stages.engine import make_sidecar
    from trtbuild.tensorrt.dtypes import dtype_name
    from trtbuild.tensorrt.plan import make_plan
    from trtbuild.tensorrt.sidecar import IoTensor, sidecar_path

    spec, output = description["inputs"][0], description["outputs"][0]
    low, opt, high = (shape[0] for shape in spec["profile"])
    recipe = Recipe.model_validate({"name": "standin", "task": "other", "model": {"adapter": "python"},
                                    "inputs": [{"name": spec["name"], "shape": [opt, *spec["shape"][1:]],
                                                "dynamic": {0: {"min": low, "opt": opt, "max": high}}}]})
    plan = make_plan(recipe, flavor, flavor.parsed_version(),
                     None if flavor.builds_without_gpu else gpu_compute_capability())
    dtypes = [dtype_name(standin_source.DataType[t["dtype"]]) for t in (spec, output)]
    io = [IoTensor(name=spec["name"], mode="input", dtype=dtypes[0], shape=spec["shape"], profile=spec["profile"]),
          IoTensor(name=output["name"], mode="output", dtype=dtypes[1], shape=spec["shape"])]
    backend = PythonApiBackend("standin-bindings", flavor, preference=99)
    make_sidecar(recipe, plan, backend, io, onnx_sha256="0" * 64, engine_sha256=file_digest(engine),
                 build_seconds=0.0, metadata={}).write(sidecar_path(engine))
