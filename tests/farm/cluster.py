"""A real Ray cluster for tests: a head and worker nodes started with `ray start`, inside a network namespace of its
own (only its loopback, 127.0.0.1, exists there), and everything in that namespace killed by pid when it stops."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PORT = 6379
# Multi-node needs this set to 1 on Ray 2.60 (0 refuses a second node); RAY_AUTH_MODE=token: the nodes and the
# driver use the token `ray start --head` keeps in ~/.ray/auth_token.
ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1", "RAY_AUTH_MODE": "token", "RAY_ADDRESS": f"127.0.0.1:{PORT}",
       "RAY_USAGE_STATS_ENABLED": "0"}


class Cluster:
    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "-n", "sleep", "3600"])
        self.namespace = f"/proc/{self.holder.pid}/ns/net"
        deadline = time.time() + 10
        while os.readlink(self.namespace) == os.readlink("/proc/self/ns/net"):
            if time.time() > deadline:
                raise RuntimeError("unshare -n did not make a network namespace")
            time.sleep(0.05)
        self.temp = Path(tempfile.mkdtemp(prefix="rf", dir="/tmp"))  # short: Ray's unix sockets live in it
        self.env = {**os.environ, **ENV}
        self.run(["ip", "link", "set", "lo", "up"])

    def command(self, args: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-n", *map(str, args)]

    def run(self, args: list, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(args), **{"env": self.env, **kwargs}, capture_output=True, text=True,
                              timeout=timeout)

    def popen(self, args: list, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(args), **{"env": self.env, **kwargs}, text=True)

    def start_node(self, cpus: int, resources: dict | None = None, head: bool = False) -> None:
        where = ["--head", "--port", PORT, "--temp-dir", self.temp, "--include-dashboard", "false"] if head else [
            "--address", f"127.0.0.1:{PORT}"]
        done = self.run([BIN / "ray", "start", *where, "--node-ip-address", "127.0.0.1", "--num-cpus", cpus,
                         "--resources", json.dumps(resources or {}), "--disable-usage-stats"], timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def pids(self) -> list[int]:
        """Every process in this cluster's namespace (the holder included): all of them started by this test."""
        mine = os.readlink(self.namespace)
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and os.readlink(entry / "ns" / "net") == mine:
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def stop(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.holder.wait(timeout=30)
        shutil.rmtree(self.temp, ignore_errors=True)
