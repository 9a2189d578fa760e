"""INT8 FP32-node search, before and after the faster ranking (trtbuild.precision.sensitivity), in one run.

Per model:
- ranking: the same FP32 and fully quantized graphs and the same ranking samples, ranked by the code of commit
  `--before` (one ONNX Runtime session of the whole graph per node, every sample) and by this checkout's
  (suffix runs, first sample then every sample until the top is settled): seconds of each, Spearman rank correlation
  over all nodes, and whether the worst `max_fp32_nodes` come in the same order (the search only looks there);
- builds to precision, fresh caches: this checkout's INT8 build (data roles of trtbuild.data.datasets), optionally its FP16
  build (--fp16) and the INT8 build of commit `--before` on the same search set (--before-build), whose shipped graph
  is then scored on this build's holdout.

    .venv/bin/python benchmarks/int8_search_speed.py --models yolo12n --fp16 --before-build \\
        --out benchmarks/results/int8_search_speed_yolo12n.json --work /tmp/i8speed
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
COCO128 = SHARED / "assets/coco128/coco128.yaml"
MODELS = {
    "yolo12n": {"weights": SHARED / "assets/yolo12n-coco128.pt", "sets": ["precision.evaluate.max_images=64"]},
    "depth": {"weights": SHARED / "reference/depth_anything_v2_vits_seeded.pth",
              "sets": ["inputs.0.shape=[1,3,518,518]", "precision.calibration.count=16"]},
}


def overrides(name: str, precision: str, sets: list[str]):
    from trtbuild.recipe import Overrides

    return Overrides(weights=MODELS[name]["weights"], precision=precision, data=COCO128,
                     sets=[*MODELS[name]["sets"], *sets])


def build(name: str, precision: str, work: Path, sets: list[str], until: str = "precision") -> tuple[object, float]:
    from trtbuild.api import build as run_build
    from trtbuild.build.pipeline import BuildOptions

    start = time.perf_counter()
    report = run_build(name, overrides(name, precision, sets), BuildOptions(until=until, out_root=work / "out"),
                       cache_dir=work / "cache")
    return report, round(time.perf_counter() - start, 1)


def spearman(a: list[float], b: list[float]) -> float:
    ranks = [np.argsort(np.argsort(-np.asarray(x))) for x in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def before_module(commit: str, work: Path):
    """trtbuild/precision/sensitivity.py as of `commit`, imported beside this checkout's package."""
    path = work / f"sensitivity_{commit}.py"
    path.write_text(subprocess.run(["git", "show", f"{commit}:trtbuild/precision/sensitivity.py"], cwd=REPO,
                                   capture_output=True, text=True, check=True).stdout)
    spec = importlib.util.spec_from_file_location(f"sensitivity_{commit}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare_rankings(name: str, work: Path, commit: str, sets: list[str]) -> dict:
    import onnx

    from trtbuild.data.datasets import required_calibration
    from trtbuild.data.feeds import image_feeds
    from trtbuild.precision import sensitivity
    from trtbuild.precision.int8 import calibrate, quantize_int8
    from trtbuild.precision.policy import name_nodes
    from trtbuild.recipe import load_recipe
    from trtbuild.precision.int8_pass import RANKING_SAMPLES, evenly_spaced

    report, _ = build(name, "int8", work / "ranking", sets, until="simplify")
    recipe = load_recipe(name, overrides(name, "int8", sets)).recipe
    source, quantized = work / f"{name}.fp32.onnx", work / f"{name}.int8.onnx"
    model = onnx.load(next(a.path for a in report.stages[-1].artifacts if a.role == "onnx"))
    name_nodes(model)
    onnx.save(model, str(source))
    feeds = image_feeds(recipe, required_calibration(recipe).images)
    quantize_int8(source, quantized, calibrate(source, feeds, recipe.precision.calibration.method,
                                               recipe.precision.calibration.percentile), [])
    samples, keep = evenly_spaced(feeds, RANKING_SAMPLES), recipe.precision.int8.max_fp32_nodes
    found = {}
    for label, rank in (("before", lambda: before_module(commit, work).rank_nodes(source, quantized, samples)),
                        ("after", lambda: sensitivity.rank_nodes(source, quantized, samples, keep))):
        start = time.perf_counter()
        found[label] = (rank(), round(time.perf_counter() - start, 1))
        print(name, label, "ranking", found[label][1], "s", flush=True)
    exact, fast = dict(found["before"][0]), dict(found["after"][0])
    names = list(exact)
    top = [[n for n, _ in found[label][0][:keep]] for label in ("before", "after")]
    return {"nodes": len(names), "samples": len(samples), "keep": keep, "before_s": found["before"][1],
            "after_s": found["after"][1], "speedup": round(found["before"][1] / found["after"][1], 2),
            "spearman": round(spearman([exact[n] for n in names], [fast[n] for n in names]), 4),
            "same_top_in_order": top[0] == top[1], "top_before": top[0], "top_after": top[1],
            "max_rel_diff_top": max(abs(fast[n] - exact[n]) / exact[n] for n in top[0] if exact[n])}


def int8_record(report, seconds: float) -> dict:
    stage = report.stages[-1]
    metrics, search = stage.metrics, stage.metrics.get("int8_search", {})
    return {"build_s": seconds, "stages_s": {s.name: s.seconds for s in report.stages}, "status": stage.status,
            "calibration_s": metrics["calibration"]["seconds"], "search_s": search.get("seconds"),
            "reference_s": search.get("reference_s"), "ranking_s": search.get("ranking_s"),
            "evaluations": search.get("evaluations"), "fp32_nodes_kept": list(search.get("kept", {})),
            "trials": search.get("trials"), "passed": search.get("passed"),
            "holdout": metrics["accuracy_vs_pytorch_fp32"], "search_set": metrics.get("accuracy_search_set"),
            "roles": {r: {k: v for k, v in d.items() if k != "files"} for r, d in metrics["data_roles"].items()},
            "warnings": stage.warnings}


def before_build(name: str, work: Path, commit: str, calibration_images: list[Path], search_images: list[Path],
                 holdout) -> dict:
    """Commit `commit`'s INT8 build (its own code, in a subprocess) calibrating on `calibration_images` and searching
    on `search_images`, as this checkout's build does; its shipped graph scored here on `holdout`."""
    from trtbuild.data.feeds import image_feeds
    from trtbuild.accuracy.graph_accuracy import accuracy_vs_pytorch
    from trtbuild.recipe import load_recipe

    tree = work / f"tree_{commit}"
    if not tree.exists():
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    dataset, calibration = (listed(work, f"{name}.{role}", images) for role, images in
                            (("search", search_images), ("calibration", calibration_images)))
    cfg, recipe = MODELS[name], load_recipe(name, overrides(name, "int8", [])).recipe
    sets = [*cfg["sets"], f"precision.evaluate.images={dataset}",  # this checkout's search, whatever that
            f"precision.evaluate.max_images={len(search_images)}",  # commit's recipe said
            f"precision.int8.target={json.dumps(recipe.precision.int8.model_dump()['target'])}"]
    script = (f"import json, time; from pathlib import Path; from trtbuild.api import build; "
              f"from trtbuild.build.pipeline import BuildOptions; from trtbuild.recipe import Overrides; "
              f"t = time.perf_counter(); r = build({name!r}, Overrides(weights=Path({str(cfg['weights'])!r}), "
              f"precision='int8', data=Path({str(COCO128)!r}), calib=Path({str(calibration)!r}), "
              f"sets={sets!r}), "
              f"BuildOptions(until='precision', out_root=Path({str(work / 'before_out')!r})), "
              f"cache_dir=Path({str(work / 'before_cache')!r})); s = r.stages[-1]; "
              f"print(json.dumps({{'build_s': round(time.perf_counter() - t, 1), 'search': s.metrics['int8_search'], "
              f"'onnx': next(a.path for a in s.artifacts if a.role == 'onnx')}}))")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tempfile.gettempdir(), env=env, capture_output=True,
                          text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    search = result["search"]
    scored = accuracy_vs_pytorch(recipe, Path(result["onnx"]), image_feeds(recipe, holdout.images),
                                 images=holdout.images, labels=holdout.labels)
    return {"commit": commit, "build_s": result["build_s"], "search_s": search["seconds"],
            "evaluations": search["evaluations"], "fp32_nodes_kept": list(search["kept"]),
            "search_set_after": search["after"], "holdout": {"inputs": holdout.describe(), **scored}}


def listed(work: Path, stem: str, images: list[Path]) -> Path:
    """A dataset YAML whose train and val splits are `images` (a file list, Ultralytics' format)."""
    listing = work / f"{stem}.txt"
    listing.write_text("".join(f"{p}\n" for p in images))
    dataset = work / f"{stem}.yaml"
    dataset.write_text(f"path: {work}\ntrain: {listing.name}\nval: {listing.name}\nnames: {{0: person}}\n")
    return dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="outputs and fresh stage caches go here")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--before", default="5a76699", help="the commit whose ranking and build are 'before'")
    parser.add_argument("--fp16", action="store_true", help="also time the FP16 build to precision")
    parser.add_argument("--before-build", action="store_true", help="also run the INT8 build of --before")
    parser.add_argument("--rank-only", action="store_true", help="only the ranking comparison, no builds")
    parser.add_argument("--no-ranking", action="store_true", help="no ranking comparison (the exact ranking is slow)")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="extra recipe overrides")
    args = parser.parse_args()
    results = {"command": " ".join(map(shlex.quote, sys.argv)), "cpus": os.cpu_count(),
               "load_average_at_start": os.getloadavg(), "models": {}}

    def save() -> None:  # after every part: a run stopped early keeps what it measured
        results["load_average_at_end"] = os.getloadavg()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    for name in args.models:
        work = args.work / name
        found = results["models"][name] = {}
        if args.fp16 and not args.rank_only:
            report, seconds = build(name, "fp16", work / "fp16", args.sets)
            found["fp16"] = {"build_s": seconds, "stages_s": {s.name: s.seconds for s in report.stages}}
            print(name, "fp16", json.dumps(found["fp16"]), flush=True)
            save()
        if not args.rank_only:
            report, seconds = build(name, "int8", work / "int8", args.sets)
            found["int8"] = int8_record(report, seconds)
            print(name, "int8", json.dumps({k: found["int8"][k] for k in ("build_s", "search_s", "ranking_s")}),
                  flush=True)
            if args.fp16:
                found["int8_over_fp16"] = round(found["int8"]["build_s"] / found["fp16"]["build_s"], 2)
            save()
        if not args.no_ranking:
            found["ranking"] = compare_rankings(name, work, args.before, args.sets)
            print(name, "ranking", json.dumps({k: v for k, v in found["ranking"].items() if "top_" not in k}),
                  flush=True)
            save()
        if args.before_build and not args.rank_only:
            from trtbuild.data.datasets import calibration_set, search_set, verify_set
            from trtbuild.recipe import load_recipe

            recipe = load_recipe(name, overrides(name, "int8", args.sets)).recipe
            found["before_build"] = before_build(name, work, args.before, calibration_set(recipe).images,
                                                 search_set(recipe).images,
                                                 verify_set(recipe, recipe.precision.evaluate.max_images))
            print(name, "before", json.dumps({k: found["before_build"][k] for k in ("build_s", "search_s")}),
                  flush=True)
            save()


if __name__ == "__main__":
    main()
