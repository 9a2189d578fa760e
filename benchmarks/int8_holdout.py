"""YOLO12n INT8 on images the build never tuned on, as Ultralytics' `val` judges it, with 95 % intervals.

Each variant is a build to the precision stage (fresh stage cache, timed) from one COCO128-sized dataset YAML;
the report's holdout files (data_roles) become a dataset of their own, and Ultralytics' `val` runs the PyTorch
checkpoint and the variant's ONNX on it (ONNX Runtime's CPU kernels: the fused integer kernels, not simulated
Q/DQ). The mAP50-95 drop's interval is the paired bootstrap of trtbuild.accuracy.matched over val's own per-image
statistics. The build's numbers (search set and holdout, ONNX Runtime with simulated Q/DQ) sit beside them.

    .venv/bin/python benchmarks/int8_holdout.py --out benchmarks/results/int8_holdout_yolo12n.json --work /tmp/i8h \
        --variant fp16=--fp16 --variant int8=--int8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WEIGHTS = SHARED / "assets/yolo12n-coco128.pt"
DATA = SHARED / "assets/coco128/coco128.yaml"
HOLDOUT_IMAGES = 64  # the whole holdout share of COCO128 (the recipe's headline takes 32)


def build(name: str, args: list[str], work: Path) -> dict:
    """The variant's report.json; built (fresh stage cache) only when its output folder has none yet. The build's
    time is the report's own `seconds` (the pipeline's wall time to the precision stage)."""
    out = work / name / "out"
    report = out / "yolo12n" / "report.json"
    if not report.is_file():
        command = [str(REPO / ".venv/bin/trtbuild"), "build", "yolo12n", "--weights", str(WEIGHTS), "--data",
                   str(DATA), "--until", "precision", "--set", f"precision.evaluate.max_images={HOLDOUT_IMAGES}",
                   *args, "--out", str(out), "--cache-dir", str(work / name / "cache")]
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        (work / f"{name}.log").write_text(done.stdout + done.stderr)
    return json.loads(report.read_text())


def precision_stage(report: dict) -> dict:
    return next(s for s in report["stages"] if s["name"] == "precision")


def holdout_yaml(files: list[str], folder: Path) -> Path:
    """A dataset YAML whose val split is exactly `files` (COCO128 image names): links to the images and their label
    files in a folder of its own (Ultralytics finds labels by the path and writes its label cache beside them)."""
    import yaml

    source = yaml.safe_load(DATA.read_text())
    images, labels = DATA.parent / source["val"], DATA.parent / source["val"].replace("images", "labels", 1)
    for kind, origin in (("images", images), ("labels", labels)):
        (folder / kind / "val").mkdir(parents=True, exist_ok=True)
        for name in files:
            link = folder / kind / "val" / (name if kind == "images" else f"{Path(name).stem}.txt")
            target = origin / link.name
            if target.exists() and not link.is_symlink():
                link.symlink_to(target)
    found = folder / "holdout.yaml"
    found.write_text(yaml.safe_dump({"path": str(folder), "train": "images/val", "val": "images/val",
                                     "names": source["names"]}))
    return found


def val(model: Path, data: Path) -> tuple[dict, list[dict]]:
    """Ultralytics' val of `model` on `data` at 640 (square letterbox, as the engine's input), with its per-image
    statistics (update_stats' dicts, in file order)."""
    from ultralytics import YOLO

    per_image = {}

    def keep(validator):
        update = validator.metrics.update_stats

        def recorded(stats):
            per_image[stats["im_name"]] = {k: v.copy() if hasattr(v, "copy") else v for k, v in stats.items()}
            update(stats)

        validator.metrics.update_stats = recorded

    yolo = YOLO(str(model), task="detect")
    yolo.add_callback("on_val_start", keep)
    metrics = yolo.val(data=str(data), imgsz=640, batch=1, rect=False, conf=0.001, iou=0.7, plots=False,
                       verbose=False, device="cpu")
    box = metrics.box
    return {"map50_95": float(box.map), "map50": float(box.map50)}, [per_image[k] for k in sorted(per_image)]


def judged_by_val(onnx: Path, reference: tuple[dict, list[dict]], data: Path) -> dict:
    from trtbuild.accuracy.matched import drop_intervals

    found, per_image = val(onnx, data)
    ref, ref_images = reference
    intervals = drop_intervals(ref_images, per_image)
    return {"runtime": "Ultralytics val, ONNX Runtime CPUExecutionProvider (its kernels: fused integer for Q/DQ)",
            **found,
            "map50_95_pytorch": ref["map50_95"], "map50_pytorch": ref["map50"],
            "intervals": {k: v.as_dict() for k, v in intervals.items()}}


def summary(stage: dict) -> dict:
    metrics = stage["metrics"]
    search = metrics.get("int8_search") or {}
    return {"seconds": stage.get("seconds"), "holdout": metrics.get("accuracy_vs_pytorch_fp32"),
            "search_set": metrics.get("accuracy_search_set"),
            "search": {k: search.get(k) for k in ("status", "passed", "evaluations", "kept", "trials", "seconds")}
            if search else None, "calibration": metrics.get("calibration")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--variant", action="append", required=True,
                        help="NAME=ARGS: a build, its trtbuild arguments space-separated (e.g. int8=--int8)")
    options = parser.parse_args()
    results, reference = {}, None
    for variant in options.variant:
        name, args = variant.split("=", 1)
        report = build(name, args.split(), options.work)
        stage, seconds = precision_stage(report), round(report["seconds"], 1)
        files = stage["metrics"]["data_roles"]["holdout"]["files"][:HOLDOUT_IMAGES]
        data = holdout_yaml(files, options.work / "holdout")
        reference = reference or val(WEIGHTS, data)
        onnx = next(Path(a["path"]) for a in stage["artifacts"] if a["role"] == "onnx")
        results[name] = {"args": args, "build_s_until_precision": seconds, "build": summary(stage),
                         "val": judged_by_val(onnx, reference, data)}
        print(name, seconds, "s", json.dumps(results[name]["val"]), flush=True)
        options.out.write_text(json.dumps({"command": " ".join(sys.argv), "results": results}, indent=2,
                                          default=str))


if __name__ == "__main__":
    main()
