"""A real two-node Ray cluster (a head and a worker started with `ray start`, one CPU each) on 127.0.0.1 inside a
network namespace of its own: yolo12n FP32 and FP16 TensorRT-RTX engines built through it and then all cache hits,
placement by custom resource, a worker killed with kill -9, Ctrl-C on the driver, and a node whose trtbuild differs.
Each cluster is stopped (every process of its namespace killed) also when a test fails."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from farm.cluster import BIN, Cluster
from conftest import COCO128, YOLO_WEIGHTS
from reliability.builds import tiny_recipe, wait_for

from trtbuild.core.digest import file_digest
from trtbuild.core.engine_set import read_engine_set

pytestmark = pytest.mark.long

TRTBUILD = BIN / "trtbuild"


@pytest.fixture(scope="module")
def cluster():
    started = Cluster()
    try:
        started.start_node(cpus=1, resources={"sm_89": 1}, head=True)  # "a GPU of compute capability 8.9"
        started.start_node(cpus=1)
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared-cache")  # one path every node mounts (here: the same file system)


def _driver_env(cluster: Cluster) -> dict:
    env = {**cluster.env, "COLUMNS": "200"}
    for name in ("RAY_AUTH_MODE", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"):  # the driver sets both for a 127.0.0.1 cluster
        del env[name]
    return env


def _build(cluster, cache: Path, out: Path, *args, timeout: float = 1500):
    done = cluster.run([TRTBUILD, "build", *args, "--ray-address", "auto", "--cache-dir", cache, "--out", out,
                        "--json"], timeout=timeout, env=_driver_env(cluster))
    return done, json.loads(done.stdout) if done.stdout.strip() else []


def _engines(folder: Path) -> dict[str, str]:
    found = read_engine_set(folder)
    for candidate in found.candidates:
        assert file_digest(found.path(candidate)) == candidate.sha256, candidate.file
    assert not list(folder.glob(".*.tmp*")), "temp files left behind"
    return {c.file: c.sha256 for c in found.candidates if c.kind == "engine"}


def _node_with(cluster: Cluster, resource: str) -> str:
    code = ("import ray; ray.init(address='auto', logging_level='ERROR'); print(next(n['NodeID'] for n in "
            f"ray.nodes() if n['Alive'] and '{resource}' in n['Resources']))")
    done = cluster.run([BIN / "python", "-c", code], timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


YOLO = ["yolo12n", "--weights", YOLO_WEIGHTS, "--data", COCO128, "--precision", "fp32", "--precision", "fp16",
        "--target", "8.6", "--until", "engine"]


def test_yolo12n_fp32_and_fp16_on_two_nodes_then_all_cache_hits(cluster, cache, tmp_path):
    done, rows = _build(cluster, cache, tmp_path / "first", *YOLO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [(r["cell"], r["status"]) for r in rows] == [("yolo12n.fp32.tensorrt-rtx.sm86", "ok"),
                                                        ("yolo12n.fp16.tensorrt-rtx.sm86", "ok")]
    assert len({r["node"] for r in rows}) == 2, "one CPU per node: the two cells ran side by side"
    # export, simplify and check ran once for both: each is one cell's hit (which cell waits on which stage's lock is
    # a race: 0 + 3 or 1 + 2); precision and engine differ by precision, never hits
    assert sum(int(r["cached"].split("/")[0]) for r in rows) == 3, [r["cached"] for r in rows]
    first = _engines(tmp_path / "first" / "yolo12n")
    assert sorted(first) == ["yolo12n.fp16.tensorrt-rtx-1.sm86.engine", "yolo12n.fp32.tensorrt-rtx-1.sm86.engine"]

    done, rows = _build(cluster, cache, tmp_path / "second", *YOLO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [(r["status"], r["cached"]) for r in rows] == [("ok", "5/5")] * 2  # whichever node each cell lands on
    assert _engines(tmp_path / "second" / "yolo12n") == first


def test_full_tensorrt_cells_go_to_the_node_with_their_gpu_or_fail_alone(cluster, cache, tmp_path):
    """No GPU here: `--until check` stops before the engine, which placement alone decides the node for."""
    recipe = tiny_recipe(tmp_path)
    done, rows = _build(cluster, cache, tmp_path / "out", recipe, "--set", "engine.backend=tensorrt-bindings",
                        "--target", "8.9", "--target", "8.0", "--until", "check", timeout=600)
    assert done.returncode == 1
    by_cell = {r["cell"]: r for r in rows}
    placed, nowhere = by_cell["tiny.fp16.tensorrt.sm89"], by_cell["tiny.fp16.tensorrt.sm80"]
    assert placed["status"] == "ok" and placed["node"].endswith(_node_with(cluster, "sm_89")[:6])
    assert nowhere["status"] == "unplaceable" and nowhere["error"].startswith("no node offers sm_80")
    assert done.stderr.strip().splitlines()[-1] == "error: 1 of 2 cells failed: tiny.fp16.tensorrt.sm80"


def _wait_for_cell_process(cluster: Cluster, driver, timeout: float = 600) -> int:
    """The pid of the Ray worker process running a cell (Ray titles it after the task)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in cluster.pids():
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::trtbuild:"):
                    return pid
            except OSError:
                continue
        assert driver.poll() is None, driver.communicate()[1][-3000:]
        time.sleep(0.2)
    raise AssertionError("no worker started the cell")


def test_worker_killed_mid_build_is_retried_and_only_whole_files_are_published(cluster, cache, tmp_path):
    recipe = tiny_recipe(tmp_path, "killed")
    out = tmp_path / "out"
    driver = cluster.popen([TRTBUILD, "build", recipe, "--target", "8.6", "--until", "engine", "--ray-address",
                            "auto", "--cache-dir", cache, "--out", out, "--json"], env=_driver_env(cluster),
                           stdout=-1, stderr=-1)
    try:
        worker = _wait_for_cell_process(cluster, driver)
        wait_for(lambda: list((cache / "tmp").glob(f"{worker}-*")), driver, "the cell's first stage started")
        os.kill(worker, signal.SIGKILL)
        assert not (out / "killed" / "engines.json").exists(), "nothing published before the cell finished"
        stdout, stderr = driver.communicate(timeout=900)
    finally:
        driver.kill()
    assert driver.returncode == 0, stderr[-3000:]
    (row,) = json.loads(stdout)
    assert (row["status"], row["tries"]) == ("ok", 2)
    assert list(_engines(out / "killed")) == ["killed.fp16.tensorrt-rtx-1.sm86.engine"]


def test_ctrl_c_on_the_driver_cancels_the_cells_and_publishes_nothing(cluster, cache, tmp_path):
    recipe = tiny_recipe(tmp_path, "stopped", size=96)
    out = tmp_path / "out"
    driver = cluster.popen([TRTBUILD, "build", recipe, "--precision", "fp32", "--precision", "fp16", "--target", "8.6",
                            "--until", "engine", "--ray-address", "auto", "--cache-dir", cache, "--out", out],
                           env=_driver_env(cluster), stdout=-1, stderr=-1)
    try:
        _wait_for_cell_process(cluster, driver)
        driver.send_signal(signal.SIGINT)
        _, stderr = driver.communicate(timeout=120)
    finally:
        driver.kill()
    assert driver.returncode == 130
    assert stderr.strip().splitlines()[-1] == "interrupted: 2 cells cancelled, nothing of them published"
    assert not list(out.rglob("*.engine"))


def test_a_node_with_another_trtbuild_is_named_with_both_versions(tmp_path):
    """The worker node imports a trtbuild whose version says 9.9 (its package path then leads to this checkout)."""
    import trtbuild

    fake = tmp_path / "fake" / "trtbuild"
    fake.mkdir(parents=True)
    real = Path(trtbuild.__file__).parent
    (fake / "__init__.py").write_text(f"__path__.append({str(real)!r})\n")
    (fake / "version.py").write_text("__version__ = '9.9'\n")
    other = Cluster()
    try:
        other.start_node(cpus=1, head=True)
        other.env = {**other.env, "PYTHONPATH": str(fake.parent)}
        other.start_node(cpus=1)
        other.env.pop("PYTHONPATH")
        start = time.monotonic()
        done = other.run([TRTBUILD, "build", tiny_recipe(tmp_path), "--dry-run", "--ray-address", "auto"],
                         timeout=300, env=_driver_env(other), cwd=tmp_path)  # Ray puts the driver's cwd first
    finally:
        other.stop()
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: version mismatch: this driver runs trtbuild {trtbuild.__version__} with Python ")
    assert "runs trtbuild 9.9 with Python" in line and "\n" not in line
    assert time.monotonic() - start < 120
