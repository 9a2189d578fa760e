"""Which node may build a cell: Ray custom resources name each node's GPU compute capabilities (`sm_89: 1`).

Ray leaves a task that no node can take pending forever, so the farm asks the cluster first: a cell whose resource no
live node offers fails alone, in one line, and the others go on. `python -m trtbuild.farm.placement` prints the
`ray start` options for this host's GPUs.
"""

from __future__ import annotations

import json
import sys

from trtbuild.farm.cells import Cell


def resource_name(compute_capability: str) -> str:
    return f"sm_{compute_capability.replace('.', '')}"


def required_resources(cell: Cell) -> dict[str, float]:
    """Nothing for a cell that builds anywhere; a GPU of its compute capability for a full-TensorRT one."""
    return {} if cell.anywhere else {resource_name(cell.targets[0]): 1}


def eligible_nodes(cell: Cell, nodes: list[dict]) -> list[dict]:
    """The live nodes (`ray.nodes()` entries) that offer what the cell needs."""
    needs = required_resources(cell)
    return [n for n in nodes if n["Alive"] and all(n["Resources"].get(k, 0) >= v for k, v in needs.items())]


def unplaceable_reason(cell: Cell, nodes: list[dict]) -> str | None:
    if eligible_nodes(cell, nodes):
        return None
    needs = required_resources(cell)
    return (f"no node offers {', '.join(needs)} (a compute capability {cell.targets[0]} GPU); start one there with "
            f"`ray start --address HEAD:6379 --resources '{json.dumps(needs)}'`")


def where(cell: Cell, nodes: list[dict]) -> str:
    """For --dry-run: which nodes could take the cell."""
    found = eligible_nodes(cell, nodes)
    if not found:
        return "nowhere: " + unplaceable_reason(cell, nodes)
    if cell.anywhere:
        return f"any node ({len(found)})"
    return ", ".join(n["NodeManagerAddress"] for n in found)


def local_resources() -> dict[str, int]:
    """This host's GPUs as Ray custom resources: one `sm_XY` per GPU of that compute capability."""
    from trtbuild.core.host import gpus

    found: dict[str, int] = {}
    for gpu in gpus():
        name = resource_name(gpu.compute_capability)
        found[name] = found.get(name, 0) + 1
    return found


def main() -> None:
    resources = local_resources()
    if not resources:
        sys.stderr.write("no NVIDIA GPU here (nvidia-smi lists none): this node builds TensorRT-RTX cells only, "
                         "no --resources needed\n")
    print(f"ray start --address HEAD:6379 --resources '{json.dumps(resources)}'")


if __name__ == "__main__":
    main()
