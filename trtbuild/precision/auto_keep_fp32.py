"""precision.int8.auto_keep_fp32: rank the quantized nodes (trtbuild.precision.sensitivity), then keep the worst FP32
until the task's target passes on the search set, never the holdout (trtbuild.precision.int8_search)."""

from __future__ import annotations

import time
from pathlib import Path

import onnx

from trtbuild.accuracy.reference import PyTorchReference
from trtbuild.data.datasets import NO_DATA_HINT, search_set
from trtbuild.precision.pass_contract import Converted, Job
from trtbuild.recipe.schema import Recipe


class TrialScorer:
    """One search trial: the quantized graph with `nodes` kept FP32, written to `trial` and scored task-wise against
    the recorded PyTorch reference; every score is kept by its nodes."""

    def __init__(self, reference: PyTorchReference, labels: dict[Path, Path] | None, source: Path, quantized: Path,
                 trial: Path):
        self.reference, self.labels, self.trial = reference, labels, trial
        self.fp32, self.quantized = onnx.load(str(source)), onnx.load(str(quantized))
        self.scored: dict[tuple[str, ...], dict] = {}

    def __call__(self, nodes: list[str]) -> dict:
        from trtbuild.accuracy.graph_accuracy import graph_on_cpu, task_accuracy
        from trtbuild.precision.qdq_graph import keep_fp32

        onnx.save(keep_fp32(self.quantized, self.fp32, nodes), str(self.trial))
        self.scored[tuple(nodes)] = task_accuracy(self.reference, graph_on_cpu(self.trial), self.labels,
                                                  by_slice=False)  # a trial needs the gated values only
        return self.scored[tuple(nodes)]


def run_auto_keep_fp32(recipe: Recipe, job: Job, source: Path, target: Path, ranking_feeds: list[dict]) -> Converted:
    """`target` (quantized from `source` but for keep_fp32.nodes) rewritten with the searched nodes kept FP32; reads
    `precision.int8` and the search set (trtbuild.data.datasets.search_set)."""
    from trtbuild.data.feeds import image_feeds
    from trtbuild.precision.int8_search import search_fp32_nodes
    from trtbuild.precision.qdq_graph import keep_fp32
    from trtbuild.precision.sensitivity import rank_nodes
    from trtbuild.tasks.registry import create_task

    spec, evaluation = recipe.precision.int8, search_set(recipe)
    if evaluation is None:
        return Converted(warnings=[f"precision.int8.auto_keep_fp32 skipped: no search images ({NO_DATA_HINT}, or "
                                   f"precision.evaluate.images)"])
    start = time.perf_counter()
    feeds = image_feeds(recipe, evaluation.images)
    reference = PyTorchReference(recipe, feeds, evaluation.images)
    reference.record()  # once: every trial meets the same reference outputs
    reference_s = round(time.perf_counter() - start, 1)
    score = TrialScorer(reference, evaluation.labels, source, target, job.workdir / "trial.onnx")
    job.log(f"int8 sensitivity search on {evaluation.describe()}")
    ranking_start = time.perf_counter()
    ranking = rank_nodes(source, target, ranking_feeds, spec.max_fp32_nodes, job.progress, job.spreader)
    ranking_s = round(time.perf_counter() - ranking_start, 1)
    result = search_fp32_nodes(ranking, score, spec.target or create_task(recipe).gates(), spec.max_fp32_nodes,
                               spec.max_evaluations,
                               lambda done, trial: job.progress("search trials", done, spec.max_evaluations,
                                                                trial.describe()))
    score.trial.unlink(missing_ok=True)
    onnx.save(keep_fp32(score.quantized, score.fp32, list(result.kept)), str(target))
    job.log(f"int8 search: {len(result.kept)} nodes kept FP32, {result.before} -> {result.after} "
            f"({result.evaluations} evaluations)")
    verdict = "cannot tell whether the target is met: its 95 % interval on the search set straddles it" \
        if result.status == "cannot tell" else "target not reached"
    warnings = [] if result.passed else [
        f"precision.int8.auto_keep_fp32: {verdict} with {len(result.kept)} FP32 nodes and {result.evaluations} "
        f"evaluations ({result.shipped().describe()}); raise max_fp32_nodes or max_evaluations, or give the "
        f"search more images"]
    metrics = {"int8_search": {**result.as_dict(), "inputs": evaluation.describe(),
                               "ranking_samples": len(ranking_feeds), "reference_s": reference_s,
                               "ranking_s": ranking_s, "seconds": round(time.perf_counter() - start, 1)},
               "accuracy_search_set": {"role": "search", "inputs": evaluation.describe(), "samples": len(feeds),
                                       **score.scored[tuple(result.kept)]}}
    return Converted(metrics=metrics, kept=result.kept, warnings=warnings)
