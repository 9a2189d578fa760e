"""yolo12n x {fp32, fp16, int8} TensorRT-RTX engines: one after another in one process vs `--ray` on a local Ray
instance, each from a cold cache of its own; wall time, CPU seconds of the whole process tree (driver, Ray's daemons
and workers, sampled every 0.5 s), each cell's seconds and the INT8 sensitivity ranking's time. The machine's load
average before and after is recorded: on a shared machine other work competes for the same cores.

    .venv/bin/python benchmarks/farm.py --out benchmarks/results/farm_yolo12n.json
    .venv/bin/python benchmarks/farm.py --ranking-workers --out benchmarks/results/farm_int8_ranking.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO.parent / "shared" / "assets"
TRTBUILD = Path(sys.executable).parent / "trtbuild"


def tree_cpu_seconds(root: psutil.Process, seen: dict[int, float]) -> None:
    """Latest user+system seconds of `root` and every descendant (kept per pid: a process that ended keeps its last
    sample)."""
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            seen[proc.pid] = times.user + times.system
        except psutil.Error:
            continue


def run(args: list[str]) -> dict:
    seen: dict[int, float] = {}
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        tree_cpu_seconds(root, seen)
        time.sleep(0.5)
    wall = time.monotonic() - start
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}: {stderr[-2000:]}")
    return {"wall_s": round(wall, 1), "cpu_s": round(sum(seen.values()), 1), "cells": json.loads(stdout)}


def int8_search(out: Path, recipe: str) -> dict:
    """The INT8 cell's precision stage: its seconds, the ranking's seconds and the nodes the search kept FP32."""
    for report in (out / recipe / "reports").glob(f"{recipe}.int8.*.json"):
        precision = next(s for s in json.loads(report.read_text())["stages"] if s["name"] == "precision")
        search = precision["metrics"].get("int8_search", {})
        return {"stage_s": precision["seconds"], "ranking_s": search.get("ranking_s"),
                "kept_fp32": sorted(search.get("kept", {}))}
    return {}


def ranking_workers(base: list[str]) -> dict:
    """The INT8 cell alone, its precision stage forced (earlier stages cached): in this process (1 worker) vs on a
    local Ray instance, where the ranking is spread over its CPUs (trtbuild.core.parallel)."""
    found = {}
    with tempfile.TemporaryDirectory(prefix="farm-bench-ranking-") as work:
        args = [*base, "--precision", "int8", "--until", "precision", "--cache-dir", f"{work}/cache"]
        run([*args, "--until", "check", "--out", f"{work}/warm"])  # export, simplify, check into the cache
        for mode, extra in (("1 worker (this process)", []), (f"{os.cpu_count()} workers (--ray)", ["--ray"])):
            out = Path(work) / mode.split()[0]
            measured = run([*args, "--force-stage", "precision", "--out", str(out), *extra])
            found[mode] = {"wall_s": measured["wall_s"], "cpu_s": measured["cpu_s"], **int8_search(out, "yolo12n"),
                           "load_after": [round(x, 2) for x in os.getloadavg()]}
            print(f"ranking, {mode}: {found[mode]}", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "farm_yolo12n.json")
    parser.add_argument("--weights", type=Path, default=ASSETS / "yolo12n-coco128.pt")
    parser.add_argument("--data", type=Path, default=ASSETS / "coco128" / "coco128.yaml")
    parser.add_argument("--precisions", default="fp32,fp16,int8")
    parser.add_argument("--until", default="engine")
    parser.add_argument("--ranking-workers", action="store_true",
                        help="instead: the INT8 ranking on 1 worker vs spread over a local Ray instance's CPUs")
    options = parser.parse_args()

    precisions = [a for p in options.precisions.split(",") for a in ("--precision", p)]
    results = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "cpu_count": os.cpu_count(),
               "load_before": [round(x, 2) for x in os.getloadavg()], "modes": {}}
    base = [str(TRTBUILD), "build", "yolo12n", "--weights", str(options.weights), "--data", str(options.data),
            "--target", "8.6", "--json"]
    if options.ranking_workers:
        results["ranking"] = ranking_workers(base)
        options.out.write_text(json.dumps(results, indent=2) + "\n")
        return
    for mode, extra in (("serial", []), ("ray", ["--ray"])):
        with tempfile.TemporaryDirectory(prefix=f"farm-bench-{mode}-") as work:
            out = Path(work) / "out"
            args = [*base, *precisions, "--until", options.until, "--cache-dir", f"{work}/cache", "--out", str(out),
                    *extra]
            measured = run(args)
            measured["command"] = " ".join(["trtbuild", *args[1:]])
            measured["int8"] = int8_search(out, "yolo12n")
            measured["load_after"] = [round(x, 2) for x in os.getloadavg()]
            results["modes"][mode] = measured
            print(f"{mode}: {measured['wall_s']} s wall, {measured['cpu_s']} CPU s, int8 {measured['int8']}, "
                  f"load {measured['load_after']}", flush=True)
    serial, ray = results["modes"]["serial"], results["modes"]["ray"]
    results["speedup_wall"] = round(serial["wall_s"] / ray["wall_s"], 2)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"speed-up (wall): {results['speedup_wall']}x -> {options.out}")


if __name__ == "__main__":
    main()
