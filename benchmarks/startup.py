"""Start-up cost of the commands users and scripts call most: `--help`, `list`, `show`, `import trtbuild`, and a
build whose stages are all cached (`trtbuild build yolo12n --weights ... --until check` through the installed console
script, TRTBUILD_CACHE_DIR pointing at a warm cache), against the same build from an empty cache; `import typer` is
timed beside them as the host's yardstick (what the issue's machine took for it scales the others).

    python benchmarks/startup.py --label after --out benchmarks/results/startup.json [--root TREE] [--runs 7] [--bytecode]

Each command runs `--runs` times in a fresh interpreter (median wall and CPU time); one more run under `python -X importtime`
gives the heaviest imports (cumulative microseconds, top level only) and which of numpy, torch, onnx, onnxruntime
and cv2 were imported at all. `--root` times another code tree (e.g. a `git worktree` of an earlier commit) through
PYTHONPATH; `--out` adds this run under `--label`, keeping the others. Recorded beside the times: the host's load
average, and whether Python writes bytecode. With PYTHONDONTWRITEBYTECODE set, as on the dev host, an editable
checkout's modules are compiled on every start; `--bytecode` times them as an installed package has them: bytecode is
written (PYTHONDONTWRITEBYTECODE unset) into a private PYTHONPYCACHEPREFIX, which the cold build fills first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("numpy", "torch", "onnx", "onnxruntime", "cv2")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "assets"
SCRIPT = Path(sys.executable).parent / "trtbuild"  # the console script users run
CACHED_BUILD = [str(SCRIPT), "build", "yolo12n", "--weights", str(SHARED / "yolo12n-coco128.pt"), "--until", "check"]
COMMANDS = {
    "import typer (yardstick)": ["-c", "import typer"],
    "import trtbuild": ["-c", "import trtbuild"],
    "trtbuild --help": ["-m", "trtbuild", "--help"],
    "trtbuild list": ["-m", "trtbuild", "list"],
    "trtbuild show yolo12n": ["-m", "trtbuild", "show", "yolo12n"],
    "cached build yolo12n --until check": CACHED_BUILD,
}


def timed(args: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds): on a shared host the CPU time varies less than the wall time."""
    cpu_before, start = _children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return seconds, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_profile(args: list[str], cwd: Path, env: dict, top: int = 12) -> dict:
    """`-X importtime`: the heaviest top-level imports and which heavy libraries were imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=cwd, env=env, capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        rows.append((name, int(cumulative)))
    imported = {name.strip() for name, _ in rows}
    top_level = sorted(((n, us) for n, us in rows if not n.startswith(" ")), key=lambda r: -r[1])[:top]
    return {"heavy_imported": [h for h in HEAVY if h in imported], "modules": len(rows),
            "top_cumulative_us": dict(top_level)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="the code tree to time (default: the installed trtbuild)")
    parser.add_argument("--label", default="now")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, help="JSON results file to add this run to")
    parser.add_argument("--bytecode", action="store_true", help="write and use bytecode, in a private prefix")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "TRTBUILD_DATA"}  # the cached build reads no data
    if args.root:
        env["PYTHONPATH"] = str(args.root.resolve())
    results = {}
    with tempfile.TemporaryDirectory(prefix="trtbuild-startup-") as tmp:
        work = Path(tmp)
        env["TRTBUILD_CACHE_DIR"] = str(work / "cache")
        if args.bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        cold, cold_cpu = timed(CACHED_BUILD, work, env)  # fills the cache the cached runs read
        load_before = os.getloadavg()[0]
        for label, command in COMMANDS.items():
            if args.bytecode:  # what the cold build did not import is compiled and written on a first run
                timed(command, work, env)
            runs = [timed(command, work, env) for _ in range(args.runs)]
            results[label] = {"median_s": round(statistics.median(w for w, _ in runs), 3),
                              "median_cpu_s": round(statistics.median(c for _, c in runs), 3),
                              "runs_s": [round(w, 3) for w, _ in runs], "imports": import_profile(command, work, env)}
    cached = results["cached build yolo12n --until check"]
    summary = {"load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
               "bytecode_written": "PYTHONDONTWRITEBYTECODE" not in env,
               "cold_build_s": round(cold, 3), "cold_build_cpu_s": round(cold_cpu, 3),
               "cached_build_pct_of_cold": round(100 * cached["median_s"] / cold, 1),
               "cached_build_cpu_pct_of_cold": round(100 * cached["median_cpu_s"] / cold_cpu, 1),
               "list_s": results["trtbuild list"]["median_s"], "list_cpu_s": results["trtbuild list"]["median_cpu_s"],
               "import_typer_s": results["import typer (yardstick)"]["median_s"]}
    print(json.dumps(summary))
    for label, result in results.items():
        heavy = ", ".join(result["imports"]["heavy_imported"]) or "none"
        print(f"{label:<36} {result['median_s']:6.3f} s ({result['median_cpu_s']:.3f} s CPU)  heavy imports: {heavy}")
    if args.out:
        saved = json.loads(args.out.read_text()) if args.out.exists() else {}
        saved[args.label] = {"command": " ".join(["python", *sys.argv]), "host": {
            "platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version()},
            "runs": args.runs, **summary, "commands": results}
        args.out.write_text(json.dumps(saved, indent=1) + "\n")


if __name__ == "__main__":
    main()
