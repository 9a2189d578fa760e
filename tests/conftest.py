"""Shared fixtures: the project's test data beside the checkout, an isolated cache, and the GPU marker."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ASSETS = SHARED / "assets"
REFERENCE = SHARED / "reference"
YOLO_WEIGHTS = ASSETS / "yolo12n-coco128.pt"
# Ultralytics dataset YAMLs (no `path:` key: the YAML's folder is the root). Packaged recipes name no data, so tests
# pass these explicitly (Overrides(data=...), --data, or the shared_data fixture's TRTBUILD_DATA).
COCO128 = ASSETS / "coco128" / "coco128.yaml"  # train = val = 128 labelled images
COCO8 = ASSETS / "coco8" / "coco8.yaml"  # 4 train + 4 val
DEPTH_SEEDED = REFERENCE / "depth_anything_v2_vits_seeded.pth"
TENSORRT_MANIFESTS = REFERENCE / "tensorrt_api"


def has_cuda_gpu() -> bool:
    from trtbuild.core.host import gpus

    return bool(gpus())


def needs_tensorrt() -> None:
    """Inside a `gpu` test: skip unless full TensorRT could build here (mmdeploy's backend_checker, as a call)."""
    from trtbuild.backends.registry import get_backend

    reason = get_backend("tensorrt").unavailable_reason()
    if reason:
        pytest.skip(reason)


def backend_checker(name: str):
    """Skip unless engine backend `name` can build on this host (mmdeploy's backend_checker decorator)."""
    from trtbuild.backends.registry import get_backend

    reason = get_backend(name).unavailable_reason()
    return pytest.mark.skipif(reason is not None, reason=f"{name}: {reason}")


def pytest_collection_modifyitems(config, items):
    """`gpu` tests need an NVIDIA GPU (those that also need TensorRT call needs_tensorrt()); else they are skipped."""
    if has_cuda_gpu():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU (run `make test-gpu` on a GPU host)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("TRTBUILD_CACHE_DIR", str(path))
    return path


@pytest.fixture
def in_repo(monkeypatch) -> Path:
    """Run from the repository root, where recipes' `../shared/...` paths resolve."""
    monkeypatch.chdir(REPO)
    return REPO


@pytest.fixture
def shared_data(monkeypatch) -> Path:
    """TRTBUILD_DATA (the default of --data) set to ../shared's COCO128, for CLI runs in a subprocess."""
    monkeypatch.setenv("TRTBUILD_DATA", str(COCO128))
    return COCO128


@pytest.fixture(scope="session")
def yolo_export(tmp_path_factory):
    """One real `trtbuild export yolo12n` (export -> simplify -> check) shared by the tests that only read it."""
    from trtbuild import api
    from trtbuild.build.pipeline import BuildOptions
    from trtbuild.recipe import Overrides

    root = tmp_path_factory.mktemp("yolo_export")
    cache = root / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        report = api.build("yolo12n", Overrides(weights=YOLO_WEIGHTS, data=COCO8),
                           BuildOptions("check", out_root=root / "engines"), cache_dir=cache)
    return report, cache, root / "engines"


@pytest.fixture
def tool_on_path(tmp_path, monkeypatch):
    """install(name, python_source): an executable stand-in first on PATH, for tools that cannot exist on this host
    (trtexec, nvidia-smi); the source may use {python} for the interpreter line."""
    import stat
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")

    def install(name: str, source: str) -> Path:
        script = bin_dir / name
        script.write_text(source.format(python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return script

    return install
