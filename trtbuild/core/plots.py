"""PNG plots for the report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REFERENCE_COLOR, CANDIDATE_COLOR = "#1a9850", "#d73027"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def detection_overlay(image_chw: np.ndarray, reference: np.ndarray, candidate: np.ndarray, path: Path) -> None:
    """The model input with PyTorch's boxes (solid green) and the candidate's (dashed red), (n, 6) xyxy,conf,cls."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(np.clip(image_chw.transpose(1, 2, 0), 0, 1))
    for boxes, color, style, label in ((reference, REFERENCE_COLOR, "-", "PyTorch"),
                                       (candidate, CANDIDATE_COLOR, "--", "candidate")):
        for i, (x1, y1, x2, y2, conf, cls) in enumerate(boxes):
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color=color, linestyle=style,
                                       linewidth=1.5, label=f"{label} ({len(boxes)})" if i == 0 else None))
            ax.text(x1, y1 - 2, f"{int(cls)} {conf:.2f}", color=color, fontsize=7)
    ax.set_axis_off()
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("detections: PyTorch vs candidate")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def depth_error_map(reference: np.ndarray, candidate: np.ndarray, path: Path) -> None:
    plt = _pyplot()
    error = np.abs(candidate.astype(np.float64) - reference)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
    low, high = float(np.min(reference)), float(np.max(reference))
    for ax, data, title in ((axes[0], reference, "PyTorch"), (axes[1], candidate, "candidate")):
        shown = ax.imshow(data, cmap="inferno", vmin=low, vmax=high)
        ax.set_title(title)
        fig.colorbar(shown, ax=ax, fraction=0.046)
    shown = axes[2].imshow(error, cmap="viridis")
    axes[2].set_title(f"|candidate - PyTorch|\nmax {error.max():.3g}")
    fig.colorbar(shown, ax=axes[2], fraction=0.046)
    for ax in axes:
        ax.set_axis_off()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def latency_distribution(latencies_ms: dict[str, list[float]], path: Path) -> None:
    """One histogram row per runner, each with its median marked."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(latencies_ms), 1, figsize=(8, 2.2 * len(latencies_ms)), squeeze=False)
    for ax, (label, values) in zip(axes[:, 0], latencies_ms.items()):
        ax.hist(values, bins=60, color="#4575b4")
        mid = float(np.median(values))
        ax.axvline(mid, color="black", linestyle="--", linewidth=1)
        ax.set_title(f"{label}: median {mid:.3f} ms, n={len(values)}", fontsize=9)
        ax.set_xlabel("latency (ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def slice_bars(title: str, labels: list[str], series: dict[str, list[float | None]], ylabel: str,
               path: Path) -> None:
    """Grouped bars, one group per slice (e.g. COCO object size), one bar per series (e.g. PyTorch, candidate);
    a missing value (a slice without objects) leaves its bar out."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(labels) * len(series)), 3.6))
    width = 0.8 / len(series)
    colors = [REFERENCE_COLOR, CANDIDATE_COLOR] if len(series) == 2 else [CANDIDATE_COLOR]
    for i, ((name, values), color) in enumerate(zip(series.items(), colors)):
        ax.bar(np.arange(len(labels)) + (i - (len(series) - 1) / 2) * width,
               [np.nan if v is None else v for v in values], width, label=name, color=color)
    ax.set_xticks(np.arange(len(labels)), labels, rotation=30 if len(labels) > 4 else 0, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
