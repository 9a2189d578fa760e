"""trtbuild's import graph: circles and imports that point up the layers, imports inside functions included (a graph
of top-level imports alone misses the circles closed through them).

    python benchmarks/import_graph.py [--root TREE] [--label after] [--out benchmarks/results/import_graph.json]

Layers, lowest first; a module may import its own layer and the ones below. An import of a package also runs the
package's `__init__`: that edge counts for circles (except from inside the package, which is already running it),
not as an upward import of its own.
`--out` adds this run under `--label` to the JSON file, keeping the other labels (e.g. `before` and `after`).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from fnmatch import fnmatch
from pathlib import Path

# (layer, module patterns), lowest first. The first matching layer wins, so exact names come before wildcards.
LAYERS = [
    # trtbuild/core: errors, digests, atomic writes, capture, interrupts, the registry idiom (stdlib), then host facts
    # and the lock
    ("foundation", ["trtbuild.version", "trtbuild.core", "trtbuild.core.errors", "trtbuild.core.digest",
                    "trtbuild.core.registry",
                    "trtbuild.core.stale", "trtbuild.core.interrupts", "trtbuild.core.capture",
                    "trtbuild.core.parallel", "trtbuild.core.plots", "trtbuild.core.host", "trtbuild.core.lock"]),
    # the validated recipe document, then what core keeps of it: the stage cache and the published engine set
    ("recipe", ["trtbuild.recipe", "trtbuild.recipe.*", "trtbuild.core.cache", "trtbuild.core.engine_set"]),
    # the TensorRT-family libraries' glue: versions, flavors, plans, sidecars, builders, trtexec
    ("tensorrt", ["trtbuild.tensorrt", "trtbuild.tensorrt.*"]),
    ("models", ["trtbuild.models", "trtbuild.models.*"]),
    ("runners", ["trtbuild.runners", "trtbuild.runners.*"]),
    ("backends", ["trtbuild.backends", "trtbuild.backends.*"]),
    ("measurement", ["trtbuild.data", "trtbuild.data.*", "trtbuild.accuracy", "trtbuild.accuracy.*", "trtbuild.tasks",
                     "trtbuild.tasks.*", "trtbuild.bench", "trtbuild.bench.*", "trtbuild.precision",
                     "trtbuild.precision.*"]),
    # the application-facing runtime and the build are peers over the measurement layer: neither imports the other
    # (tests/test_import_graph.py checks that too)
    ("runtime", ["trtbuild.runtime", "trtbuild.runtime.*"]),
    ("build", ["trtbuild.build", "trtbuild.build.*", "trtbuild.doctor"]),
    # the package's public face (`trtbuild.load`): every module inside reads the version from trtbuild.version
    ("commands", ["trtbuild", "trtbuild.api", "trtbuild.farm", "trtbuild.farm.*", "trtbuild.cli_options", "trtbuild.cli",
                  "trtbuild.__main__"]),
]
PEERS = {("build", "runtime")}  # (higher, lower) layers that stand side by side: the higher one may not import the lower


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, known: set[str]) -> tuple[set[str], set[str]]:
    """(named, implied): the trtbuild modules `path` imports at any depth of the file (functions, methods, try
    blocks), and the package `__init__`s those imports run."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found, implied = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import trtbuild.x.y as z` names a module; strip attributes
                target = target.rpartition(".")[0]
            if not target.startswith("trtbuild"):
                continue
            found.add(target)
            parent = target.rpartition(".")[0]
            while parent:  # importing a.b.c runs a/__init__ and a/b/__init__ too
                if parent in known and not name.startswith(parent + "."):
                    implied.add(parent)
                parent = parent.rpartition(".")[0]
    found.discard(name)
    return found, implied - found - {name}


def layer_of(module: str) -> int:
    for index, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch(module, p) for p in patterns):
            return index
    raise SystemExit(f"{module} is in no layer: add it to LAYERS in {__file__}")


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each one circle or a knot of several."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def analyse(root: Path) -> dict:
    package = root / "trtbuild"
    files = {module_name(p, root): p for p in sorted(package.rglob("*.py"))}
    known = set(files)
    named = {name: imports_of(path, name, known) for name, path in files.items()}
    upward = sorted(f"{a} ({LAYERS[layer_of(a)][0]}) -> {b} ({LAYERS[layer_of(b)][0]})"
                    for a, (targets, _) in named.items() for b in targets if layer_of(b) > layer_of(a))
    peer = sorted(f"{a} ({LAYERS[layer_of(a)][0]}) -> {b} ({LAYERS[layer_of(b)][0]})"
                  for a, (targets, _) in named.items() for b in targets
                  if (LAYERS[layer_of(a)][0], LAYERS[layer_of(b)][0]) in PEERS)
    graph = {name: targets | implied for name, (targets, implied) in named.items()}
    knots = circles(graph)
    return {"modules": len(files), "imports": sum(map(len, graph.values())), "circles": len(knots),
            "modules_in_circles": sum(map(len, knots)), "upward_imports": len(upward),
            "peer_imports": len(peer), "circle_members": knots, "upward": upward, "peer": peer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="the code tree")
    parser.add_argument("--label", default="now")
    parser.add_argument("--out", type=Path, help="JSON results file to add this run to")
    args = parser.parse_args()
    result = analyse(args.root)
    print(f"{result['modules']} modules, {result['imports']} imports: {result['circles']} circles "
          f"({result['modules_in_circles']} modules), {result['upward_imports']} upward imports, "
          f"{result['peer_imports']} imports between peers")
    for knot in result["circle_members"]:
        print("circle:", " <-> ".join(knot))
    for line in result["upward"]:
        print("upward:", line)
    for line in result["peer"]:
        print("between peers:", line)
    if args.out:
        results = json.loads(args.out.read_text()) if args.out.exists() else {}
        layers = [{"layer": name, "modules": patterns} for name, patterns in LAYERS]
        results["layers"] = layers  # the current tree's
        results[args.label] = {"command": " ".join(["python", *sys.argv]), "layers": layers, **result}
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    raise SystemExit(1 if result["circles"] or result["upward_imports"] or result["peer_imports"] else 0)


if __name__ == "__main__":
    main()
