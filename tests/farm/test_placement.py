"""Placement: a full-TensorRT cell needs a node with its `sm_XY` resource; TensorRT-RTX cells go anywhere."""

from __future__ import annotations

import json
import subprocess
import sys

from trtbuild import api
from trtbuild.farm.placement import required_resources, unplaceable_reason, where
from trtbuild.recipe import Overrides

# the shape of `ray.nodes()` entries (the fields placement reads)
NODES = [{"NodeID": "a" * 56, "NodeManagerAddress": "127.0.0.1", "Alive": True, "Resources": {"CPU": 1.0}},
         {"NodeID": "b" * 56, "NodeManagerAddress": "127.0.0.2", "Alive": True, "Resources": {"CPU": 1.0, "sm_89": 1}},
         {"NodeID": "c" * 56, "NodeManagerAddress": "127.0.0.3", "Alive": False, "Resources": {"sm_80": 1}}]


def _cells(backend: str, targets: list[str]):
    return api.recipe_cells("yolo12n", Overrides(sets=[f"engine.backend={backend}"]), ["fp16"], targets)


def test_tensorrt_rtx_cells_go_anywhere():
    (cell,) = _cells("tensorrt-rtx-bindings", ["8.0", "8.9"])
    assert required_resources(cell) == {} and unplaceable_reason(cell, NODES) is None
    assert where(cell, NODES) == "any node (2)"


def test_full_tensorrt_cell_goes_only_where_its_gpu_is():
    on_89, on_80 = _cells("tensorrt-bindings", ["8.9", "8.0"])
    assert required_resources(on_89) == {"sm_89": 1}
    assert where(on_89, NODES) == "127.0.0.2"
    reason = unplaceable_reason(on_80, NODES)  # its only node is dead
    assert reason.startswith("no node offers sm_80 (a compute capability 8.0 GPU)") and "\n" not in reason
    assert """--resources '{"sm_80": 1}'""" in reason


def test_resources_command_for_a_host_without_gpu():
    done = subprocess.run([sys.executable, "-m", "trtbuild.farm.placement"], capture_output=True, text=True)
    assert done.returncode == 0
    command = done.stdout.strip()
    assert command.startswith("ray start --address HEAD:6379 --resources ")
    assert json.loads(command.split("--resources ")[1].strip("'")) == {}  # no GPU on this machine
    assert "no NVIDIA GPU" in done.stderr
