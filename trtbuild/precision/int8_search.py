"""Automatic FP32 islands for INT8: keep the most sensitive quantized nodes in FP32 until the accuracy target passes.

Nodes are ranked once by the error their quantization alone adds (trtbuild.precision.sensitivity); then the worst k
stay FP32, for the smallest k whose graph passes the target, within `max_evaluations` full evaluations (one
evaluation: the quantized graph without those nodes' Q/DQ pairs, run on the search set, scored task-wise).

Which k to try next is read from the ranking: each gate's value is taken as a power law of the summed error of the
nodes still quantized, through the two trials nearest its bound (after k = 0 alone: proportional to it). The
prediction only picks the trial; a trial decides. Between the last failing and the first passing k it is a
safeguarded secant search: after CREEP_LIMIT trials in a row that each moved the bracket's end by one, bisection
(doubling before any passes) takes the next step. The answer is settled when the passing k is one above a failing
one (docs/int8.md: how many evaluations each took).

A trial passes on evidence: where the task gives a gated value its 95 % interval on the search set (a mAP drop, a
depth error), the whole interval has to be inside the target (trtbuild.accuracy.gates); a trial that straddles it
cannot tell and counts as not passing. When no trial passes within the budget, the search ships the best one
(cannot tell before fail, then the smallest excess) and says which of the two it is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Gate

CREEP_LIMIT = 2


@dataclass
class Trial:
    fp32_nodes: int
    values: dict[str, float]
    passed: bool
    excess: float  # summed distance of the point values past the target's bounds (0 = inside)
    seconds: float = 0.0
    status: str = "pass"  # pass | fail | cannot tell (trtbuild.accuracy.gates.verdict)
    intervals: dict[str, dict] = field(default_factory=dict)  # the gated values' 95 % intervals on the search set

    def describe(self) -> str:
        values = ", ".join(f"{metric} {value:.4g}" + (" [{low:.3g}, {high:.3g}]".format(**self.intervals[metric])
                                                      if metric in self.intervals else "")
                           for metric, value in self.values.items())
        return f"{self.fp32_nodes} FP32 nodes: {values}: {self.status}"


@dataclass
class SearchResult:
    kept: dict[str, str]  # node -> why it stays FP32
    target: list[dict]
    passed: bool
    status: str  # the shipped trial's: pass | cannot tell | fail
    before: dict[str, float]
    after: dict[str, float]
    evaluations: int
    seconds: float
    ranking: list[dict] = field(default_factory=list)  # the most sensitive nodes, worst first
    trials: list[Trial] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def shipped(self) -> Trial:
        return next(t for t in self.trials if t.fp32_nodes == len(self.kept))


def search_fp32_nodes(ranking: list[tuple[str, float]], evaluate: Callable[[list[str]], dict], target: list[Gate],
                      max_fp32_nodes: int, max_evaluations: int,
                      on_trial: Callable[[int, Trial], None] | None = None) -> SearchResult:
    """`evaluate(fp32_nodes)` -> the task's accuracy values of the graph with those nodes kept FP32;
    `on_trial(evaluations so far, trial)` after each evaluation."""
    from trtbuild.accuracy.gates import evaluate as check_gates, verdict

    start, trials, cap = time.perf_counter(), {}, min(max_fp32_nodes, len(ranking))

    def attempt(k: int) -> bool:
        started = time.perf_counter()
        values = evaluate([name for name, _ in ranking[:k]])
        unknown = [g.metric for g in target if g.metric not in values]
        if unknown:
            known = ", ".join(sorted(k for k, v in values.items() if isinstance(v, (int, float))))
            raise UsageError(f"precision.int8.target: unknown metric {unknown[0]!r} (this task has: {known})")
        intervals = values.get("intervals", {})
        results = check_gates(target, values, intervals)
        status = verdict(results)
        trials[k] = Trial(k, {g.metric: values[g.metric] for g in target}, status == "pass",
                          sum(r.excess for r in results), round(time.perf_counter() - started, 1), status,
                          {g.metric: intervals[g.metric].as_dict() for g in target if g.metric in intervals})
        if on_trial:
            on_trial(len(trials), trials[k])
        return trials[k].passed

    remaining = [sum(error for _, error in ranking[k:]) for k in range(cap + 1)]  # summed error still quantized
    failing, passing, creeping = 0, (0 if attempt(0) else None), 0
    while passing != 0 and passing != failing + 1 and len(trials) < max_evaluations and failing < cap:
        high = passing if passing is not None else cap + 1
        k = min(max(_predict(target, trials, remaining), failing + 1), high - 1)
        if creeping >= CREEP_LIMIT:  # the predictions keep landing next to the bracket's end: jump instead
            k = (failing + high) // 2 if passing is not None else min(2 * k, cap)
        passed = attempt(k)
        creeping = creeping + 1 if k == (high - 1 if passed else failing + 1) else 0
        if passed:
            passing = k
        else:
            failing = k
    best = passing if passing is not None else min(
        trials, key=lambda k: (trials[k].status != "cannot tell", trials[k].excess, k))
    kept = {name: f"int8 sensitivity rank {i + 1}: quantizing it alone adds {error:.3g} % relative MSE at its "
                  f"output (precision.int8.auto_keep_fp32)" for i, (name, error) in enumerate(ranking[:best])}
    return SearchResult(
        kept=kept, target=[g.model_dump(exclude_none=True) for g in target], passed=trials[best].passed,
        status=trials[best].status,
        before=trials[0].values, after=trials[best].values, evaluations=len(trials),
        seconds=round(time.perf_counter() - start, 1),
        ranking=[{"node": n, "rel_mse_pct": e} for n, e in ranking[: max(cap, 10)]],
        trials=[trials[k] for k in sorted(trials)],
    )


def _predict(target: list[Gate], trials: dict[int, Trial], remaining: list[float]) -> int:
    """The smallest k whose summed remaining error every gate's power law says passes."""
    allowed = min(_allowed_error(gate, trials, remaining) for gate in target)
    return next((k for k, error in enumerate(remaining) if error <= allowed), len(remaining) - 1)


def _allowed_error(gate: Gate, trials: dict[int, Trial], remaining: list[float]) -> float:
    """The summed remaining error at which `gate`'s value reaches its bound, on the power law through the two trials
    nearest the bound (through k = 0 alone: proportional). Only an upper bound on a positive value has one; any
    other gate asks for the next k."""
    upper = gate.max is not None and gate.max > 0
    points = sorted(((remaining[k], t.values[gate.metric]) for k, t in trials.items()
                     if upper and t.values[gate.metric] > 0 and remaining[k] > 0),
                    key=lambda point: abs(math.log(point[1] / gate.max)))[:2]
    if not points:  # no power law to draw: try the next k
        return remaining[min(1, len(remaining) - 1)]
    (x0, y0), (x1, y1) = points if len(points) == 2 else (points[0], (0.0, 0.0))
    power = math.log(y1 / y0) / math.log(x1 / x0) if x1 and y1 and x0 != x1 and y0 != y1 else 1.0
    return x0 * (gate.max / y0) ** (1.0 / power) if power > 0 else (x0 if y0 > gate.max else math.inf)
