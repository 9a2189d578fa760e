"""Automatic FP32 islands for INT8: keep the most sensitive quantized nodes in FP32 until the accuracy target passes.

Nodes are ranked once by the error their quantization alone adds (trtbuild.precision.sensitivity); then the worst k
stay FP32, k growing 0, 1, 2, 4, ... up to `max_fp32_nodes` until the target passes, and a bisection between the
last failing and the first passing k finds the smallest passing k, all within `max_evaluations` full evaluations
(one evaluation: quantize from the cached calibration ranges, run the evaluation set, score it task-wise).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from trtbuild.errors import UsageError
from trtbuild.recipe.schema import Gate


@dataclass
class Trial:
    fp32_nodes: int
    values: dict[str, float]
    passed: bool
    excess: float  # summed distance past the target's bounds (0 = passed)

    def describe(self) -> str:
        values = ", ".join(f"{metric} {value:.4g}" for metric, value in self.values.items())
        return f"{self.fp32_nodes} FP32 nodes: {values}: {'pass' if self.passed else 'fail'}"


@dataclass
class SearchResult:
    kept: dict[str, str]  # node -> why it stays FP32
    target: list[dict]
    passed: bool
    before: dict[str, float]
    after: dict[str, float]
    evaluations: int
    seconds: float
    ranking: list[dict] = field(default_factory=list)  # the most sensitive nodes, worst first
    trials: list[Trial] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def search_fp32_nodes(ranking: list[tuple[str, float]], evaluate: Callable[[list[str]], dict], target: list[Gate],
                      max_fp32_nodes: int, max_evaluations: int,
                      on_trial: Callable[[int, Trial], None] | None = None) -> SearchResult:
    """`evaluate(fp32_nodes)` -> the task's accuracy values of the graph with those nodes kept FP32;
    `on_trial(evaluations so far, trial)` after each evaluation."""
    from trtbuild.accuracy.gates import evaluate as check_gates

    start, trials, cap = time.perf_counter(), {}, min(max_fp32_nodes, len(ranking))

    def attempt(k: int) -> bool:
        values = evaluate([name for name, _ in ranking[:k]])
        unknown = [g.metric for g in target if g.metric not in values]
        if unknown:
            known = ", ".join(sorted(k for k, v in values.items() if isinstance(v, (int, float))))
            raise UsageError(f"precision.int8.target: unknown metric {unknown[0]!r} (this task has: {known})")
        results = check_gates(target, values)
        trials[k] = Trial(k, {g.metric: values[g.metric] for g in target}, all(r.passed for r in results),
                          sum(r.excess for r in results))
        if on_trial:
            on_trial(len(trials), trials[k])
        return trials[k].passed

    failing, passing = 0, None
    if not attempt(0):
        k = 1
        while k <= cap and len(trials) < max_evaluations:
            if attempt(k):
                passing = k
                break
            failing = k
            k = cap if k < cap < 2 * k else 2 * k
        while passing is not None and passing - failing > 1 and len(trials) < max_evaluations:
            middle = (failing + passing) // 2
            if attempt(middle):
                passing = middle
            else:
                failing = middle
    else:
        passing = 0
    best = passing if passing is not None else min(trials, key=lambda k: (trials[k].excess, k))
    kept = {name: f"int8 sensitivity rank {i + 1}: quantizing it alone adds {error:.3g} % relative MSE at its "
                  f"output (precision.int8.auto_keep_fp32)" for i, (name, error) in enumerate(ranking[:best])}
    return SearchResult(
        kept=kept, target=[g.model_dump(exclude_none=True) for g in target], passed=trials[best].passed,
        before=trials[0].values, after=trials[best].values, evaluations=len(trials),
        seconds=round(time.perf_counter() - start, 1),
        ranking=[{"node": n, "rel_mse_pct": e} for n, e in ranking[: max(cap, 10)]],
        trials=[trials[k] for k in sorted(trials)],
    )
