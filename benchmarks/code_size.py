"""Lines per module and per function of the trtbuild package, read with ast (nothing imported).

    python benchmarks/code_size.py [--root TREE] [--label after] [--out benchmarks/results/code_size.json]

A module's lines are its file's lines; a function's (methods and nested functions included) run from its `def` (or
first decorator) to its last line. `--out` adds this run under `--label`, keeping the other labels.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
from pathlib import Path


def spread(sizes: dict[str, int], largest: int = 5) -> dict:
    values = sorted(sizes.values())
    return {"count": len(values), "total": sum(values), "median": statistics.median(values),
            "p90": values[int(0.9 * (len(values) - 1))], "max": values[-1],
            "largest": dict(sorted(sizes.items(), key=lambda item: -item[1])[:largest])}


def measure(root: Path) -> dict:
    modules, functions = {}, {}
    for path in sorted((root / "trtbuild").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        text = path.read_text()
        modules[name] = len(text.splitlines())
        for node in ast.walk(ast.parse(text, name)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                functions[f"{name}:{node.lineno} {node.name}"] = node.end_lineno - start + 1
    return {"modules": spread(modules), "functions": spread(functions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--label", default="now")
    parser.add_argument("--out", type=Path, help="JSON results file to add this run to")
    args = parser.parse_args()
    found = measure(args.root)
    for kind, result in found.items():
        print(f"{kind}: {result['count']}, {result['total']} lines, median {result['median']}, p90 {result['p90']}, "
              f"max {result['max']}")
    if args.out:
        saved = json.loads(args.out.read_text()) if args.out.exists() else {}
        saved[args.label] = found
        args.out.write_text(json.dumps(saved, indent=1) + "\n")


if __name__ == "__main__":
    main()
