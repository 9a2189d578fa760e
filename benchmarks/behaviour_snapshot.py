"""What a refactoring must not change: the artifacts' digests, metrics and report.json field names of two real
builds, with everything that varies run to run (timings, paths, cache keys, dates) left out: a tiny recipe
(torchvision resnet18 at 64x64, FP16) through the engine stage (TensorRT-RTX builds on the CPU), and YOLO12n through
bench with ../shared's checkpoint and COCO8 (verify's detection metrics; no engine backend, so ONNX Runtime).

    python benchmarks/behaviour_snapshot.py --out benchmarks/results/behaviour_before.json
    python benchmarks/behaviour_snapshot.py --out /tmp/after.json --compare benchmarks/results/behaviour_before.json

Run it from any code tree with PYTHONPATH=<tree> to snapshot that tree (e.g. a `git archive` of an earlier commit).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

RECIPE = """name: tiny
task: other
model: {adapter: python, options: {target: 'torchvision.models:resnet18', kwargs: {num_classes: 10}}}
inputs: [{name: image, shape: [1, 3, 64, 64]}]
export: {output_names: [logits]}
check: {max_images: 2, default: {max_abs: 0.01, rel_l2: 0.001}}
precision: {mode: fp16}
"""
SHARED = Path(__file__).resolve().parents[2] / "shared" / "assets"
YOLO = ["yolo12n", "--weights", str(SHARED / "yolo12n-coco128.pt"), "--data", str(SHARED / "coco8" / "coco8.yaml"),
        "--set", "engine.backend=tensorrt",  # the old name (still accepted): 5a76699 knows no other
        "--runner", "onnxruntime", "--set", "bench.iterations=3",
        "--set", "bench.warmup_s=0"]
# values that differ between two runs of the same code: time, place, cache keys (they hash the stages' code)
VARYING = {"seconds", "key", "log", "path", "started", "build_seconds", "export_seconds", "recipe_path", "stats",
           "memory", "unstable", "samples_ms", "wall_s", "speedup_vs_torch", "created", "lock", "host", "tools"}
# artifacts whose bytes hold timings or plots (their content is checked through the metrics)
VARYING_ARTIFACTS = {"sidecar", "latency_png", "latencies"}


def snapshot() -> dict:
    with tempfile.TemporaryDirectory(prefix="trtbuild-snapshot-") as tmp:
        root = Path(tmp)
        (root / "tiny.yaml").write_text(RECIPE)
        return {"tiny": build(root, ["build", "tiny.yaml", "--until", "engine"], "tiny"),
                "yolo12n": build(root, ["bench", *YOLO], "yolo12n")}


def build(root: Path, args: list[str], name: str) -> dict:
    """One trtbuild command in `root`; the snapshot of recipe `name`'s report."""
    command = [sys.executable, "-m", "trtbuild", *args, "--cache-dir", "cache", "--out", "out"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    report = json.loads((root / "out" / name / "report.json").read_text())
    return {"exit_code": done.returncode, "report_fields": sorted(_field_paths(report)),
            "stages": {s["name"]: {"status": s["status"],
                                   "artifacts": {a["role"]: a["sha256"] for a in s["artifacts"]
                                                 if a["role"] not in VARYING_ARTIFACTS},
                                   "metrics": _stable(s["metrics"])} for s in report["stages"]}}


def _field_paths(value, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return {prefix} if prefix else set()
    paths = set()
    for key, item in value.items():
        if key == "stages":
            for stage in item:
                paths |= {f"stages[].{p}" for p in _field_paths({k: v for k, v in stage.items() if k != "metrics"})}
        else:
            paths |= _field_paths(item, f"{prefix}{key}.") if isinstance(item, dict) else {f"{prefix}{key}"}
    return paths


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def differences(before: dict, after: dict, where: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        return [d for k in sorted(before.keys() | after.keys())
                for d in differences(before.get(k), after.get(k), f"{where}.{k}" if where else k)]
    return [] if before == after else [f"{where}: {before!r} -> {after!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="an earlier snapshot: print what differs, exit 1 if anything")
    args = parser.parse_args()
    taken = snapshot()
    args.out.write_text(json.dumps(taken, indent=1, sort_keys=True) + "\n")
    if args.compare:
        found = differences(json.loads(args.compare.read_text()), taken)
        print("\n".join(found) or "identical")
        raise SystemExit(1 if found else 0)


if __name__ == "__main__":
    main()
