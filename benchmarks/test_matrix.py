"""The test suite under the lowest and the highest torch/torchvision/onnxruntime that pyproject.toml allows.

Each end of the range gets a throwaway venv under /tmp: `pip install -e .[test,rtx]` resolved fresh by pip (so this
host's pip config and its torch cap apply), the `low` venv with the three packages pinned to pyproject's lower
bounds. Results (versions, pytest counts, wall times, the freeze of each venv) go to a JSON file.

    python3 benchmarks/test_matrix.py --out benchmarks/results/test_matrix.json     # or: make test-matrix (-x -q)
    python3 benchmarks/test_matrix.py --pytest-args=-q                            # full counts, no stop at a failure
    python3 benchmarks/test_matrix.py --ends low --pytest-args "-x -q tests/recipe"   # one end, a subset
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
VARIED = ("torch", "torchvision", "onnxruntime")
# torch's CPU-only local build (e.g. 2.13.0+cpu) cannot load torchvision's ops (there is no CPU torchvision on PyPI),
# so `low` excludes local versions of torch: `==2.13.0` alone would prefer `2.13.0+cpu` where such a wheel exists.
EXCLUDE_LOCAL = {"torch": "+cpu"}


def lower_bounds() -> dict[str, str]:
    """`name==floor` for each varied package, read from pyproject.toml's `>=` bounds."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {}
    for dep in map(Requirement, deps):
        if dep.name in VARIED:
            floor = next(s.version for s in dep.specifier if s.operator == ">=")
            local = EXCLUDE_LOCAL.get(dep.name)
            floors[dep.name] = f"{dep.name}=={floor}" + (f",!={floor}{local}" if local else "")
    return floors


def run(cmd: list[str], log) -> tuple[int, float, str]:
    """Run a command, tee its output into the log; returns (exit code, seconds, output)."""
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(f"$ {shlex.join(cmd)}\n{proc.stdout}\n")
    log.flush()
    return proc.returncode, round(time.monotonic() - start, 1), proc.stdout


def pytest_counts(output: str) -> dict[str, int]:
    """The counts on pytest's closing line (`== 3 failed, 250 passed, 8 skipped in 290.1s ==`)."""
    closing = next((line for line in reversed(output.splitlines()) if re.search(r"\d+ (passed|failed|error)", line)),
                   "")
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", closing)}


def run_end(name: str, pins: list[str], pytest_args: list[str], work: Path, log) -> dict:
    venv = work / f"trtbuild-matrix-{name}"
    shutil.rmtree(venv, ignore_errors=True)
    py = str(venv / "bin" / "python")
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [py, "-m", "pip", "install", "--quiet", "-e", ".[test,rtx]", *pins]]
    install_s = 0.0
    for cmd in steps:
        code, seconds, out = run(cmd, log)
        install_s += seconds
        if code:
            return {"pins": pins, "install_s": install_s, "install_failed": out[-2000:]}
    freeze = run([py, "-m", "pip", "freeze", "--exclude-editable"], log)[2].split()
    versions = {d: next((f.split("==")[1] for f in freeze if f.lower().startswith(f"{d}==")), None) for d in VARIED}
    code, test_s, out = run([py, "-m", "pytest", *pytest_args], log)
    shutil.rmtree(venv, ignore_errors=True)
    return {"pins": pins, "versions": versions, "install_s": install_s, "pytest_exit": code, "test_s": test_s,
            "counts": pytest_counts(out), "freeze": freeze}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/test_matrix.json")
    parser.add_argument("--ends", nargs="+", choices=("low", "high"), default=["low", "high"])
    parser.add_argument("--pytest-args", default="-x -q", help="arguments for pytest (default: the whole suite)")
    parser.add_argument("--work", type=Path, default=Path("/tmp"), help="where the throwaway venvs go")
    args = parser.parse_args()

    ends = {"low": list(lower_bounds().values()), "high": []}
    log_path = args.work / "trtbuild-matrix.log"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "commit": commit.strip() or None,
               "host": {"python": platform.python_version(), "machine": platform.machine(),
                        "platform": platform.platform()},
               "pytest_args": args.pytest_args, "ends": {}}
    with log_path.open("w") as log:
        for name in args.ends:
            results["ends"][name] = run_end(name, ends[name], shlex.split(args.pytest_args), args.work, log)
            print(name, json.dumps({k: v for k, v in results["ends"][name].items() if k != "freeze"}), flush=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    failed = [n for n, r in results["ends"].items() if r.get("pytest_exit", 1) != 0]
    sys.exit(f"failed: {', '.join(failed)} (log: {log_path})" if failed else 0)


if __name__ == "__main__":
    main()
