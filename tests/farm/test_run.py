"""Matrices through the command line with a small real model: one after another in this process, then on a local
Ray instance, both publishing exactly what local builds publish; bad cluster addresses fail fast in one line."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from reliability.builds import TRTBUILD, tiny_recipe

from trtbuild.core.digest import file_digest
from trtbuild.core.engine_set import read_engine_set

CELLS = ["--precision", "fp32", "--precision", "fp16", "--target", "8.6", "--until", "engine"]
NAMES = ["tiny.fp32.tensorrt-rtx.sm86", "tiny.fp16.tensorrt-rtx.sm86"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    folder = tmp_path_factory.mktemp("farm")
    return {"recipe": tiny_recipe(folder), "cache": folder / "cache", "folder": folder}


def _farm(work, out: str, *extra: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess, list[dict]]:
    done = subprocess.run([str(TRTBUILD), "build", str(work["recipe"]), *CELLS, "--cache-dir", str(work["cache"]),
                           "--out", str(work["folder"] / out), "--json", *extra],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"})
    return done, json.loads(done.stdout) if done.stdout.strip() else []


def _engines(folder) -> dict[str, str]:
    found = read_engine_set(folder)
    for candidate in found.candidates:
        assert file_digest(found.path(candidate)) == candidate.sha256
    return {c.file: c.sha256 for c in found.candidates if c.kind == "engine"}


def test_cells_one_after_another_publish_as_local_builds(work):
    done, rows = _farm(work, "serial")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [(r["cell"], r["status"], r["node"]) for r in rows] == [(n, "ok", "this process") for n in NAMES]
    folder = work["folder"] / "serial" / "tiny"
    assert sorted(_engines(folder)) == ["tiny.fp16.tensorrt-rtx-1.sm86.engine", "tiny.fp32.tensorrt-rtx-1.sm86.engine"]
    assert sorted(p.name for p in (folder / "reports").iterdir()) == sorted(f"{n}.json" for n in NAMES)
    assert rows[1]["cached"].startswith("3/")  # export, simplify and check: shared with the first cell


def test_dry_run_says_where_and_what_is_cached_and_builds_nothing(work):
    done, rows = _farm(work, "dry", "--dry-run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [(r["status"], r["node"], r["cached"]) for r in rows] == [("planned", "this process", "5/5")] * 2
    assert not (work["folder"] / "dry").exists()


def test_local_ray_publishes_what_the_serial_run_did(work):
    done, rows = _farm(work, "ray", "--ray")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [(r["status"], r["tries"], r["cached"]) for r in rows] == [("ok", 1, "5/5")] * 2
    assert all(r["node"].startswith("127.0.0.1/") for r in rows)
    assert _engines(work["folder"] / "ray" / "tiny") == _engines(work["folder"] / "serial" / "tiny")
    report = json.loads((work["folder"] / "ray" / "tiny" / "report.json").read_text())
    assert all(a["path"].startswith(str(work["folder"] / "ray" / "tiny")) for s in report["stages"]
               for a in s["artifacts"] if a["role"] == "engine")


@pytest.mark.parametrize("address", ["ray://127.0.0.1:1", "127.0.0.1:1"])
def test_unreachable_address_is_one_line_exit_2_within_10_s(work, address):
    start = time.monotonic()
    done, _ = _farm(work, "nowhere", "--ray-address", address, timeout=60)
    assert time.monotonic() - start < 10
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: --ray-address {address}: cannot reach 127.0.0.1:1 (Connection refused)"
