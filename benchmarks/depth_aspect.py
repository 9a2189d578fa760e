"""How far the runtime's depth path (the frame stretched to the engine's fixed 518x518, the map resized back) is from
the original Depth-Anything-V2 `infer_image`, which keeps the aspect ratio, on real COCO128 frames.

Three maps per frame, all from the same PyTorch model (FP32, CPU), at the frame's size:
- original: `infer_image` as released: RGB / 255 in float, resize so the shorter side is 518 and both sides are
  multiples of 14 (lower_bound, cubic), ImageNet normalisation, model, bilinear (align_corners=True) back;
- stretched: the same numerics at a fixed 518x518 (what the aspect ratio alone costs);
- runtime: `trtbuild.load(..., runtime="torch")` on the frame (DepthTask: uint8 cubic resize to 518x518, cv2 bilinear
  back), what an application gets from any 518x518 engine.
Depth is relative, so each map is first fitted to the original by a per-image least-squares scale; then relative
MSE, AbsRel and delta1 as verify computes them (metrics.depth).

    .venv/bin/python benchmarks/depth_aspect.py --depth engines/depth --out benchmarks/results/depth_aspect.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIDE, MULTIPLE = 518, 14
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def main() -> None:
    args = _parse()
    import cv2
    import torch

    import trtbuild
    from trtbuild.accuracy.depth import aggregate_depth_errors, depth_errors

    torch.set_num_threads(args.threads)
    model = trtbuild.load(args.depth, runtime="torch")
    module = model.runner.module
    per_pair: dict[str, list[dict]] = {"runtime_vs_original": [], "stretched_vs_original": [],
                                       "runtime_vs_stretched": []}
    sizes = []
    started = time.perf_counter()
    for path in sorted(args.images.glob("*.jpg"))[: args.frames]:
        frame = cv2.imread(str(path))
        original, shape = infer_image(module, frame, keep_aspect=True)
        stretched, _ = infer_image(module, frame, keep_aspect=False)
        runtime = model(frame).depth
        sizes.append([*frame.shape[:2], *shape])
        for key, (reference, candidate) in {"runtime_vs_original": (original, runtime),
                                            "stretched_vs_original": (original, stretched),
                                            "runtime_vs_stretched": (stretched, runtime)}.items():
            per_pair[key].append(depth_errors(reference, fit_scale(reference, candidate)))
    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "images": str(args.images),
               "weights": model.recipe.model.weights and str(model.recipe.model.weights),
               "note": "seeded (untrained) checkpoint: numerical distance of the geometry, not depth quality",
               "seconds": round(time.perf_counter() - started, 1),
               "summary": {k: aggregate_depth_errors(v) for k, v in per_pair.items()},
               "frames": [{"frame_hw": s[:2], "original_input_hw": s[2:], **{k: v[i] for k, v in per_pair.items()}}
                          for i, s in enumerate(sizes)]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    for key, s in results["summary"].items():
        print(f"{key}: rel MSE {s['rel_mse_pct']:.3f} % (worst {s['worst_rel_mse_pct']:.3f} %), AbsRel "
              f"{s['abs_rel']:.4f}, delta1 {s['delta1']:.4f} over {s['images']} frames")


def infer_image(module, frame: np.ndarray, keep_aspect: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """The original `DepthAnythingV2.infer_image(frame, 518)` (keep_aspect=False: the same at 518x518)."""
    import cv2
    import torch
    import torch.nn.functional as F

    h, w = frame.shape[:2]
    size = input_size(h, w) if keep_aspect else (SIDE, SIDE)
    image = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) / 255.0
    image = cv2.resize(image, size[::-1], interpolation=cv2.INTER_CUBIC)
    image = np.ascontiguousarray(((image - MEAN) / STD).transpose(2, 0, 1)).astype(np.float32)
    with torch.inference_mode():
        depth = module(torch.from_numpy(image)[None])
        depth = F.interpolate(depth[:, None], (h, w), mode="bilinear", align_corners=True)[0, 0]
    return depth.numpy(), size


def input_size(h: int, w: int) -> tuple[int, int]:
    """Depth-Anything-V2's Resize(518, 518, keep_aspect_ratio, ensure_multiple_of=14, 'lower_bound')."""
    scale = max(SIDE / h, SIDE / w)

    def constrain(x: float) -> int:
        y = int(np.round(x / MULTIPLE) * MULTIPLE)
        return y if y >= SIDE else int(np.ceil(x / MULTIPLE) * MULTIPLE)

    return constrain(scale * h), constrain(scale * w)


def fit_scale(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """candidate * s with s = argmin ||s * candidate - reference||^2."""
    c = candidate.astype(np.float64)
    return c * (float(np.vdot(c, reference)) / float(np.vdot(c, c)))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=Path, required=True, help="the depth engine-set folder (its checkpoint runs)")
    parser.add_argument("--images", type=Path, default=REPO.parent / "shared/assets/coco128/images/train2017")
    parser.add_argument("--frames", type=int, default=32, help="images used (the first N, sorted)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="JSON results file")
    return parser.parse_args()


if __name__ == "__main__":
    main()
