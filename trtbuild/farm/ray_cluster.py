"""Ray for the farm: start a local instance (127.0.0.1 only) or join a cluster, make sure every node runs this
trtbuild and Python, and run cells as tasks placed by their custom resources. A task whose worker dies (kill -9, a
lost node) is retried MAX_RETRIES times, then its cell fails; the tasks tell a board where each attempt runs.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import platform
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import replace
from pathlib import Path

from trtbuild.core.errors import UsageError
from trtbuild.farm.cells import Cell
from trtbuild.farm.inputs import Files
from trtbuild.farm.placement import required_resources
from trtbuild.farm.worker import CellOutput, build_cell
from trtbuild.build.pipeline import BuildOptions
from trtbuild.version import __version__

LOOPBACK = "127.0.0.1"
MAX_RETRIES = 2  # a cell's task runs at most 1 + MAX_RETRIES times when its worker process or node dies
REACH_TIMEOUT_S = 5.0  # an unreachable --ray-address fails within this; the CLI must exit within 10 s
# (tests/farm/test_run.py::test_unreachable_address_is_one_line_exit_2_within_10_s)
VERSIONS_TIMEOUT_S = 60.0


def _ray(loopback_only: bool = False):
    """Ray, imported with what it reads at import: `loopback_only` (a local instance, or a cluster on this host's
    127.0.0.1) keeps every address it listens on or reports to 127.0.0.1; `ray start` turns token auth on, and a
    driver joining such a cluster must ask for it."""
    if loopback_only:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if os.environ.get("RAY_AUTH_TOKEN") or (Path.home() / ".ray" / "auth_token").is_file():
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'trtbuild[farm]'") from None
    return ray


@contextmanager
def session(address: str | None) -> Iterator[None]:
    """Ray for the duration: `None` starts a local instance on 127.0.0.1 that ends with it; 'auto', 'HOST:PORT' or
    'ray://HOST:10001' joins a running cluster. Then every node's versions are checked against this process's."""
    ray = _ray(_on_loopback(address))
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:  # "local": a new instance even where `ray start` left one running
        ray.init(address="local", include_dashboard=False, _node_ip_address=LOOPBACK, **quiet)
    else:
        host = reachable(address)
        try:
            ray.init(address=address, **quiet, **({"_node_ip_address": LOOPBACK} if _loopback(host) else {}))
        except (ConnectionError, RuntimeError) as exc:  # Ray says "Version mismatch" as a RuntimeError
            raise UsageError(f"--ray-address {address}: {_one_line(exc)}") from None
    try:
        check_versions(ray)
        with redirect_stdout(sys.stderr):  # Ray's notes ("(raylet) A worker died...") keep --json's stdout clean
            yield
    finally:
        ray.shutdown()


def reachable(address: str) -> str:
    """The cluster's host, once its port answers; else one line (exit 2) within REACH_TIMEOUT_S."""
    target = address
    if address == "auto":
        _ray(_on_loopback(address))
        from ray._private.services import get_ray_address_from_environment

        try:
            target = get_ray_address_from_environment("auto", None)
        except ConnectionError:
            target = None
        if not target:
            raise UsageError("--ray-address auto: no running Ray cluster found on this host (RAY_ADDRESS is unset "
                             "and `ray start --head` was not run here)")
    host, _, port = target.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray-address {address}: expected auto, HOST:PORT or ray://HOST:10001")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__
        raise UsageError(f"--ray-address {address}: cannot reach {host}:{port} ({reason})") from None
    return host


def _on_loopback(address: str | None) -> bool:
    """A local instance, or a cluster this host reaches on 127.0.0.1 (for `auto`: as RAY_ADDRESS says)."""
    if address is None:
        return True
    target = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
    host = target.removeprefix("ray://").rpartition(":")[0]
    return bool(host) and _loopback(host)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _one_line(exc: Exception, limit: int = 400) -> str:
    """Ray's multi-line messages (its version mismatch names both sides on separate lines) as one line."""
    return " ".join(str(exc).split())[:limit] or type(exc).__name__


def versions() -> dict[str, str]:
    return {"trtbuild": __version__, "python": platform.python_version()}


def check_versions(ray) -> None:
    """Every live node must run this trtbuild and Python: one line naming both sides when one does not."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(num_cpus=0)(versions)
    nodes = [n for n in ray.nodes() if n["Alive"]]
    refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote()
            for n in nodes]
    mine = versions()
    for node, ref in zip(nodes, refs):
        try:
            theirs = ray.get(ref, timeout=VERSIONS_TIMEOUT_S)
        except Exception as exc:  # e.g. trtbuild not installed there: the task cannot be unpickled
            raise UsageError(f"node {node_label(node)} cannot run trtbuild's tasks: {_one_line(exc, 300)}") from None
        if theirs != mine:
            raise UsageError(f"version mismatch: this driver runs {_describe(mine)}, node {node_label(node)} runs "
                             f"{_describe(theirs)} (install the same on every node)")


def _describe(found: dict[str, str]) -> str:
    return f"trtbuild {found['trtbuild']} with Python {found['python']}"


def node_label(node: dict) -> str:
    return f"{node['NodeManagerAddress']}/{node['NodeID'][:6]}"


def nodes() -> list[dict]:
    return [n for n in _ray().nodes() if n["Alive"]]


class Board:
    """The node of each attempt of each cell, as its task reports it (a Ray actor)."""

    def __init__(self):
        self.attempts: dict[str, list[tuple[str, float]]] = {}

    def started(self, cell: str, node: str) -> None:
        self.attempts.setdefault(cell, []).append((node, time.time()))

    def snapshot(self) -> dict[str, list[tuple[str, float]]]:
        return self.attempts


def _build_on_node(board, cell: str, recipe: dict, files: Files, options: BuildOptions,
                   cache_dir: str | None) -> CellOutput:
    import ray

    ray.get(board.started.remote(cell, ray.get_runtime_context().get_node_id()))
    return build_cell(recipe, files, replace(options, spreader=RaySpreader(ray)), cache_dir)


class RaySpreader:
    """A stage's independent pieces (trtbuild.core.parallel) as Ray tasks of one CPU each, over the cluster's CPUs; the
    cell's own task gives its CPU back while it waits for them."""

    def __init__(self, ray):
        self._ray = ray
        self.workers = int(ray.cluster_resources().get("CPU", 1))

    def map(self, fn, args: list[tuple]) -> list:
        task = self._ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(fn)
        return self._ray.get([task.remote(*a) for a in args])


class Submitted:
    """Cells running as Ray tasks: `wait()` returns the cells that ended, `where()` tells where each one runs."""

    def __init__(self, jobs: list[tuple[Cell, dict, Files]], options: BuildOptions, cache_dir: Path | None,
                 nodes: list[dict]):
        ray = _ray()
        self._ray = ray
        self._labels = {n["NodeID"]: node_label(n) for n in nodes}
        self.board = ray.remote(num_cpus=0)(Board).remote()
        task = ray.remote(_build_on_node)
        shared_files: dict[int, object] = {}  # one object per recipe's files, however many cells use it
        self.refs = {}
        for cell, recipe, files in jobs:
            files_ref = shared_files.setdefault(id(files), ray.put(files))
            ref = task.options(num_cpus=1, resources=required_resources(cell), max_retries=MAX_RETRIES,
                               retry_exceptions=False, name=f"trtbuild:{cell.name}").remote(
                self.board, cell.name, recipe, files_ref, options, str(cache_dir) if cache_dir else None)
            self.refs[ref] = cell

    def where(self) -> dict[str, list[tuple[str, float]]]:
        """Cell -> (node, start time) of each attempt so far."""
        attempts = self._ray.get(self.board.snapshot.remote())
        return {cell: [(self._labels.get(n, n[:6]), when) for n, when in tries] for cell, tries in attempts.items()}

    def wait(self, timeout_s: float) -> list[tuple[Cell, CellOutput | None, str | None]]:
        """The cells that ended within `timeout_s`: (cell, its output, None) or (cell, None, why its task failed)."""
        done, _ = self._ray.wait(list(self.refs), num_returns=len(self.refs), timeout=timeout_s)
        ended = []
        for ref in done:
            cell = self.refs.pop(ref)
            try:
                ended.append((cell, self._ray.get(ref), None))
            except self._ray.exceptions.RayError as exc:
                lost = isinstance(exc, (self._ray.exceptions.WorkerCrashedError, self._ray.exceptions.NodeDiedError))
                why = f"its worker died {1 + MAX_RETRIES} times" if lost else type(exc).__name__
                ended.append((cell, None, f"{why}: {_one_line(exc, 300)}"))
        return ended

    @property
    def pending(self) -> int:
        return len(self.refs)

    def cancel(self) -> int:
        for ref in self.refs:
            self._ray.cancel(ref, force=True)
        return len(self.refs)
