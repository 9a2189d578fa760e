"""Flavor detection reads package metadata only: every way NVIDIA ships each library's bindings is found, with the
distribution, the module it ships and its version, and `trtbuild doctor` names them. Packages are laid out on disk
as pip installs them (dist-info + files) in a folder put first on sys.path; nothing is imported."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from trtbuild.tensorrt.flavor import (TENSORRT, TENSORRT_RTX, Flavor, Installed, add_flavor, find_installed, get_flavor,
                                      remove_flavor)

_spec = importlib.util.spec_from_file_location("standin_source",
                                               Path(__file__).parents[1] / "runners" / "standin_tensorrt.py")
standin_source = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standin_source)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """install(distribution, version, *files): a package in a folder first on sys.path."""
    folder = tmp_path / "site"
    monkeypatch.syspath_prepend(str(folder))
    find_installed.cache_clear()

    def install(distribution: str, version: str, *files: str) -> None:
        standin_source.write_distribution(folder, distribution, version, list(files))
        find_installed.cache_clear()

    yield install
    find_installed.cache_clear()


def test_the_locked_tensorrt_rtx_bindings_wheel():
    """The lock installs tensorrt-rtx-cu13-bindings (module tensorrt_rtx_bindings) on every host."""
    assert TENSORRT_RTX.installed() == Installed("tensorrt_rtx_cu13_bindings", "tensorrt_rtx_bindings", "1.7.1.116")
    assert TENSORRT_RTX.module == "tensorrt_rtx_bindings"


def test_nvidias_sdk_wheel_tensorrt_rtx_comes_first(site):
    site("tensorrt_rtx", "1.7.1.116", "tensorrt_rtx/__init__.py", "tensorrt_rtx/tensorrt_rtx.so")
    assert TENSORRT_RTX.installed() == Installed("tensorrt_rtx", "tensorrt_rtx", "1.7.1.116")


def test_cuda_12_bindings_of_tensorrt_rtx(site):
    """Declared after the cu13 ones (which the lock installs here), so asked for alone."""
    site("tensorrt-rtx-cu12-bindings", "1.7.1.116", "tensorrt_rtx_bindings/__init__.py")
    found = find_installed(("tensorrt-rtx-cu12-bindings",), TENSORRT_RTX.modules)
    assert found == Installed("tensorrt-rtx-cu12-bindings", "tensorrt_rtx_bindings", "1.7.1.116")
    assert "tensorrt-rtx-cu12-bindings" in TENSORRT_RTX.distributions


@pytest.mark.parametrize(("distribution", "files", "module"), [
    ("tensorrt", ["tensorrt/__init__.py"], "tensorrt"),  # Jetson / NGC: the bindings themselves
    ("tensorrt-cu11", ["tensorrt/__init__.py"], "tensorrt"),
    ("tensorrt-cu13", ["tensorrt/__init__.py", "tensorrt/plugin/__init__.py"], "tensorrt"),
    ("tensorrt-cu12-bindings", ["tensorrt_bindings/__init__.py", "tensorrt_bindings/tensorrt.so"],
     "tensorrt_bindings"),
])
def test_every_full_tensorrt_distribution(site, distribution, files, module):
    site(distribution, "10.16.0.72", *files)
    assert TENSORRT.installed() == Installed(distribution, module, "10.16.0.72")
    assert TENSORRT.installed_version() == "10.16.0.72" and TENSORRT.module == module


def test_a_metapackage_without_a_module_is_passed_over(site):
    site("tensorrt", "11.1.0.106")  # PyPI's `tensorrt`: no files, it only pulls in tensorrt-cuNN
    assert TENSORRT.installed() is None
    site("tensorrt-cu12-bindings", "11.1.0.106", "tensorrt_bindings/__init__.py")
    assert TENSORRT.installed() == Installed("tensorrt-cu12-bindings", "tensorrt_bindings", "11.1.0.106")


def test_detection_imports_nothing():
    code = ("import sys; from trtbuild.tensorrt.flavor import FLAVORS; [f.installed() for f in FLAVORS]; "
            "print([m for m in ('tensorrt', 'tensorrt_rtx', 'tensorrt_rtx_bindings') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_flavor_can_be_added_and_taken_away():
    extra = Flavor(name="extra", title="Extra", modules=("extra",), distributions=("extra",), install_hint="-",
                   min_version=TENSORRT.min_version, max_major=11, strongly_typed_since=TENSORRT.strongly_typed_since)
    add_flavor(extra)
    try:
        assert get_flavor("extra") is extra
        with pytest.raises(ValueError, match="already declared"):
            add_flavor(extra)
    finally:
        remove_flavor(extra)
    with pytest.raises(KeyError, match="unknown engine library 'extra'"):
        get_flavor("extra")


def test_doctor_names_the_distribution_and_module(site):
    from trtbuild import api

    site("tensorrt-cu12-bindings", "10.16.0.72", "tensorrt_bindings/__init__.py")
    bindings = api.doctor()["engine_bindings"]
    assert bindings["tensorrt"] == "tensorrt-cu12-bindings 10.16.0.72 (import tensorrt_bindings)"
    assert bindings["tensorrt-rtx"] == "tensorrt_rtx_cu13_bindings 1.7.1.116 (import tensorrt_rtx_bindings)"
