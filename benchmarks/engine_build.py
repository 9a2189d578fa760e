"""Engine builds on this host, per recipe x precision: the engine stage's build time, peak RSS and engine size, and
its overhead against a bare builder call on the same ONNX (goal: stage / bare <= 1.15), as wall seconds of the
stage and as CPU seconds of the whole `trtbuild` process (which does not move with other jobs' load).

Both sides run in fresh processes (peak RSS is per process, from wait4): the stage as `trtbuild build R --until
engine --force-stage engine` (earlier stages come from the cache), the bare call as benchmarks/bare_build.py, which
parses and builds with the library alone. Each pair is measured `--repeats` times, alternating, and the medians
are compared.

    .venv/bin/python benchmarks/engine_build.py --out benchmarks/results/engine_build_cpu.json --work /tmp/engine_bench
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = {
    "yolo12n": {"weights": "../shared/assets/yolo12n-coco128.pt", "sets": []},
    "depth": {"weights": "../shared/reference/depth_anything_v2_vits_seeded.pth", "sets": []},
}
FAST_PRECISION = ["--set", "precision.evaluate.max_images=1"]  # accuracy is benchmarks/precision_cpu.py's job


def timed(argv: list[str], env: dict) -> tuple[float, float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s, peak RSS MiB, result) of one child process; output goes through files so wait4 can reap it.
    CPU seconds (user + system, all threads) hardly move with the load other jobs put on the machine."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0), err.seek(0)
        done = subprocess.CompletedProcess(argv, os.waitstatus_to_exitcode(status), out.read(), err.read())
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, done


def measure(recipe: str, precision: str, work: Path, repeats: int) -> dict:
    env = {**os.environ, "TRTBUILD_CACHE_DIR": str(work / "cache")}
    model = MODELS[recipe]
    common = ["--weights", model["weights"], "--precision", precision, "--out", str(work / "engines"),
              *FAST_PRECISION, *sum((["--set", s] for s in model["sets"]), [])]
    trtbuild = [sys.executable, "-m", "trtbuild", "build", recipe, *common]
    prepared = subprocess.run([*trtbuild, "--until", "precision"], capture_output=True, text=True, env=env)
    if prepared.returncode:
        raise SystemExit(f"{recipe} {precision}: {prepared.stderr.strip().splitlines()[-1]}")
    out_dir = work / "engines" / recipe
    onnx = out_dir / f"{recipe}.{precision}.onnx"
    stage_runs, bare_runs = [], []
    for _ in range(repeats):
        wall, cpu, peak, done = timed([*trtbuild, "--until", "engine", "--force-stage", "engine", "--json"], env)
        if done.returncode:
            raise SystemExit(f"{recipe} {precision}: {done.stderr.strip().splitlines()[-1]}")
        stages = json.loads(done.stdout)["stages"]
        record = next(s for s in stages if s["name"] == "engine")
        stage_runs.append({"stage_s": record["seconds"], "builder_s": record["metrics"]["build_seconds"],
                           "process_wall_s": round(wall, 2), "process_cpu_s": round(cpu, 2),
                           "peak_rss_mib": round(peak),
                           "upstream_cached": all(s["status"] == "cached" for s in stages if s is not record),
                           "engine_bytes": record["metrics"]["engine_bytes"], "backend": record["metrics"]["backend"],
                           "library_version": record["metrics"]["library_version"],
                           "runs_on": record["metrics"]["runs_on"]})
        wall, cpu, peak, done = timed([sys.executable, str(HERE / "bare_build.py"), str(onnx),
                                       str(work / "bare.engine")], env)
        if done.returncode:
            raise SystemExit(f"bare build of {onnx}: {done.stderr.strip()[-300:]}")
        bare = json.loads(done.stdout)
        bare_runs.append({**bare, "process_wall_s": round(wall, 2), "process_cpu_s": round(cpu, 2),
                          "peak_rss_mib": round(peak)})
    clean = [r for r in stage_runs if r["upstream_cached"]] or stage_runs  # a rerun upstream stage imports torch
    stage_s = statistics.median(r["stage_s"] for r in clean)
    bare_s = statistics.median(r["parse_build_s"] for r in bare_runs)
    stage_cpu = statistics.median(r["process_cpu_s"] for r in clean)
    bare_cpu = statistics.median(r["process_cpu_s"] for r in bare_runs)
    return {"recipe": recipe, "precision": precision, "onnx_bytes": onnx.stat().st_size,
            "engine_stage_s": stage_s, "bare_parse_build_s": bare_s, "overhead_ratio": round(stage_s / bare_s, 3),
            "trtbuild_process_cpu_s": stage_cpu, "bare_process_cpu_s": bare_cpu,
            "cpu_overhead_ratio": round(stage_cpu / bare_cpu, 3),
            "engine_mb": round(stage_runs[0]["engine_bytes"] / 1e6, 2),
            "bare_engine_mb": round(bare_runs[0]["engine_bytes"] / 1e6, 2),
            "stage_peak_rss_mib": max(r["peak_rss_mib"] for r in clean),
            "bare_peak_rss_mib": max(r["peak_rss_mib"] for r in bare_runs),
            "stage_runs": stage_runs, "bare_runs": bare_runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/engine_bench"))
    parser.add_argument("--recipes", nargs="+", default=list(MODELS))
    parser.add_argument("--precisions", nargs="+", default=["fp32", "fp16"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for recipe in args.recipes:
        for precision in args.precisions:
            row = measure(recipe, precision, args.work, args.repeats)
            rows.append(row)
            print(f"{recipe:8} {precision:5} stage {row['engine_stage_s']:6.2f}s  "
                  f"bare {row['bare_parse_build_s']:6.2f}s  x{row['overhead_ratio']:.2f} wall, "
                  f"x{row['cpu_overhead_ratio']:.2f} process CPU  "
                  f"{row['engine_mb']:7.2f} MB  RSS {row['stage_peak_rss_mib']} / {row['bare_peak_rss_mib']} MiB",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"host": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()},
                                    "command": " ".join(sys.argv), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
