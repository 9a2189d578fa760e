"""Image classification (Ultralytics' task name): the frame resized to the input (the adapter's pixel format), class
probabilities out. Accuracy: paired agreement with PyTorch (its top-1 in the candidate's top-1 / top-5) and, when
the images form a one-folder-per-class tree whose folder names are class ids (ImageNet style), top-1 / top-5 against
those labels for both models. Each agreement has its Wilson interval (values()["intervals"], in percent)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from pydantic import Field

from trtbuild.accuracy.detection import drop_pct
from trtbuild.accuracy.intervals import Interval, wilson
from trtbuild.recipe.schema import Gate
from trtbuild.tasks.base import Result, Task, TaskAccuracy, TaskOptions


def probabilities(scores: np.ndarray) -> np.ndarray:
    """(N, classes) logits or probabilities -> probabilities (softmax unless rows already sum to 1)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(len(scores), -1)
    if (scores >= 0).all() and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3):
        return scores
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """(N, classes) -> (N, k) class ids, best first (ties: the lower id)."""
    return np.argsort(-np.asarray(scores).reshape(len(scores), -1), axis=1, kind="stable")[:, :k]


class ClassifyOptions(TaskOptions):
    k: int = Field(5, ge=1, description="classes ranked per frame, 1 or more")


class ClassifyTask(Task):
    name = "classify"
    default_gates = (Gate(metric="top1_agreement_pct", min=99.0),)
    options = ClassifyOptions

    def results(self, outputs: dict[str, np.ndarray], frames: list[np.ndarray], **options) -> list[Result]:
        scores = self.first_output(outputs)
        probs = probabilities(scores if isinstance(scores, np.ndarray) else scores.float().cpu().numpy())
        names = self.names or None
        best_k = top_k(probs, self.settings(**options).k)
        found = []
        for index, frame in enumerate(frames):
            best = best_k[index]
            found.append(Result(task=self.name, shape=frame.shape[:2], outputs=self.unbatch(outputs, index),
                                classes=best[:1], scores=probs[index, best[:1]].astype(np.float32), names=names,
                                top5=[(int(c), float(probs[index, c])) for c in best[:5]]))
        return found

    def accuracy(self, labels: dict[Path, Path] | None = None) -> TaskAccuracy:
        return ClassifyAccuracy(self)

    @staticmethod
    def headline(values: dict) -> str:
        labels = f", top-1 {values['top1_pytorch']:.1f} -> {values['top1']:.1f} % (labels)" if "top1" in values else ""
        return f"top-1 agreement {values['top1_agreement_pct']:.1f} %{labels}"


class ClassifyAccuracy(TaskAccuracy):
    def __init__(self, task: ClassifyTask):
        self.task = task
        self.reference: list[np.ndarray] = []  # per image: top-5 class ids
        self.candidate: list[np.ndarray] = []
        self.labels: list[int | None] = []

    def add(self, images: list[Path], batch: np.ndarray, reference: dict[str, np.ndarray],
            candidate: dict[str, np.ndarray]) -> None:
        self.reference += list(top_k(self.task.first_output(reference), 5))
        self.candidate += list(top_k(self.task.first_output(candidate), 5))
        self.labels += [int(p.parent.name) if p.parent.name.isdigit() else None for p in images]

    def evaluate(self) -> None:
        ref, cand = np.asarray(self.reference), np.asarray(self.candidate)
        agree = {"top1_agreement_pct": ref[:, 0] == cand[:, 0], "top5_agreement_pct": (cand == ref[:, :1]).any(axis=1)}
        self.paired = {name: 100.0 * float(np.mean(hits)) for name, hits in agree.items()}
        self.intervals = {name: _percent(wilson(int(hits.sum()), len(hits))) for name, hits in agree.items()}
        labelled = [i for i, label in enumerate(self.labels) if label is not None]
        self.vs_labels = None
        if labelled and len(labelled) == len(self.labels):
            truth = np.asarray(self.labels)[:, None]
            self.vs_labels = {f"{metric}{suffix}": 100.0 * float(np.mean(hits))
                              for suffix, ids in (("", cand), ("_pytorch", ref))
                              for metric, hits in (("top1", ids[:, :1] == truth), ("top5", (ids == truth).any(1)))}

    def values(self) -> dict:
        found = {**self.paired, "intervals": self.intervals}
        if self.vs_labels:
            found.update(self.vs_labels)
            found["top1_drop_pct"] = drop_pct(self.vs_labels["top1_pytorch"], self.vs_labels["top1"])
        return found

    def basis(self) -> str:
        return "labels" if self.vs_labels else "pytorch"

    def table(self) -> list[dict]:
        rows = [{"metric": "top-1 agreement % vs PyTorch", "pytorch": 100.0,
                 "candidate": self.paired["top1_agreement_pct"]},
                {"metric": "PyTorch top-1 in top-5 %", "pytorch": 100.0, "candidate": self.paired["top5_agreement_pct"]}]
        if self.vs_labels:
            rows += [{"metric": f"{k} % (labels)", "pytorch": self.vs_labels[f"{k}_pytorch"],
                      "candidate": self.vs_labels[k]} for k in ("top1", "top5")]
        return rows

    def detail(self) -> dict:
        return {"basis": self.basis(), "images": len(self.reference), "paired": self.paired,
                "labels": self.vs_labels}


def _percent(interval: Interval) -> Interval:
    """A proportion's interval in percent, as the agreement values are."""
    return replace(interval, value=100.0 * interval.value, low=100.0 * interval.low, high=100.0 * interval.high)


TASK = ClassifyTask
