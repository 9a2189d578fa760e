"""Tensor-level agreement of a candidate with a reference (Polygraphy-style error statistics)."""

from __future__ import annotations

import numpy as np


def compare_outputs(reference: dict[str, np.ndarray], candidate: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per output: max abs error, relative L2 error ||c - r|| / ||r||, and whether everything is finite."""
    stats = {}
    for name, ref in reference.items():
        if name not in candidate:
            raise KeyError(f"candidate has no output {name!r} (it has {sorted(candidate)})")
        ref64 = ref.astype(np.float64)
        cand64 = candidate[name].astype(np.float64).reshape(ref64.shape)
        diff = cand64 - ref64
        norm = float(np.linalg.norm(ref64))
        stats[name] = {
            "max_abs": float(np.max(np.abs(diff))) if diff.size else 0.0,
            "rel_l2": float(np.linalg.norm(diff) / norm) if norm else float(np.linalg.norm(diff)),
            "finite": bool(np.isfinite(cand64).all()),
        }
    return stats


def merge_worst(per_sample: list[dict[str, dict]]) -> dict[str, dict]:
    """Worst case over samples for each output and statistic."""
    merged: dict[str, dict] = {}
    for sample in per_sample:
        for name, stats in sample.items():
            worst = merged.setdefault(name, {"max_abs": 0.0, "rel_l2": 0.0, "finite": True})
            worst["max_abs"] = max(worst["max_abs"], stats["max_abs"])
            worst["rel_l2"] = max(worst["rel_l2"], stats["rel_l2"])
            worst["finite"] = worst["finite"] and stats["finite"]
    return merged
