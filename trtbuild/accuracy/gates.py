"""Gates: a recipe's bounds on named accuracy values (Olive-style goals as data).

A value with a 95 % interval (trtbuild.accuracy.intervals) has three outcomes: pass when the whole interval is
inside the bound, fail when it is wholly outside, cannot tell when it straddles the bound, never a pass (what that
does to the exit code is `verify.cannot_tell`). A value without one (a search trial's number, a tensor tolerance)
has two: its point value is inside or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Gate

if TYPE_CHECKING:  # intervals needs numpy; report.json's reader (every build's summary) reads GateResult only
    from trtbuild.accuracy.intervals import Interval

Status = Literal["pass", "fail", "cannot tell", "not measured"]


class GateResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str
    value: float | None  # None: not measured (or not a number: NaN/Inf is null in JSON)
    max: float | None
    min: float | None
    passed: bool  # only a pass is; cannot tell and not measured are not
    excess: float | None  # how far the point value is past the bound: 0 inside it, None when not measured
    status: Status
    low: float | None = None  # the value's 95 % interval, when it has one
    high: float | None = None
    method: str | None = None  # how the interval was computed
    images: int | None = None  # the images behind the interval
    images_to_settle: int | None = None  # cannot tell: about how many images in all would settle it

    def bound(self) -> str:
        return " and ".join(f"{op} {b:g}" for op, b in (("<=", self.max), (">=", self.min)) if b is not None)

    def measured(self) -> str:
        """The value, with its interval where it has one."""
        if self.value is None:
            return "n/a"
        interval = f" [{_num(self.low)}, {_num(self.high)}]" if self.method else ""
        return f"{self.value:.4g}{interval}"

    def describe(self) -> str:
        """One line: the value and interval, the gate, the outcome; cannot tell says what would settle it."""
        head = f"{self.metric} = {self.measured()} (gate {self.bound()})"
        if self.status == "not measured":
            return f"{self.metric} (gate {self.bound()}): not measured"
        if self.status == "fail":
            return f"{head}: FAILED by {self.excess:.4g}"
        if self.status == "pass":
            return f"{head}: ok"
        return f"{head}: CANNOT TELL, the 95 % interval straddles the gate; {self.settle()} ({self.method})"

    def settle(self) -> str:
        if self.images_to_settle is None:
            return "no number of images settles it (the value sits on the gate)"
        return (f"about {self.images_to_settle - self.images} more images would settle it "
                f"({self.images_to_settle} in all)")

    def as_dict(self) -> dict:
        return self.model_dump()


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def evaluate(gates: list[Gate], values: Mapping[str, float],
             intervals: Mapping[str, Interval] | None = None) -> list[GateResult]:
    """Each gate on its value; on the value's interval too where `intervals` has one."""
    results = []
    for gate in gates:
        if gate.metric not in values:
            known = ", ".join(sorted(values))
            raise UsageError(f"verify.gates: unknown metric {gate.metric!r} (this task has: {known})")
        value = float(values[gate.metric])
        over = value - gate.max if gate.max is not None else -math.inf
        under = gate.min - value if gate.min is not None else -math.inf
        excess = math.inf if math.isnan(value) else max(over, under, 0.0)
        interval = (intervals or {}).get(gate.metric)
        if interval is None or math.isnan(value):
            status = "pass" if excess == 0.0 else "fail"
            results.append(GateResult(metric=gate.metric, value=value, max=gate.max, min=gate.min,
                                      passed=status == "pass", excess=excess, status=status))
        else:
            results.append(_on_interval(gate, interval, excess))
    return results


def _on_interval(gate: Gate, interval: Interval, excess: float) -> GateResult:
    """Every bound judged on the interval: any fail fails, else any straddled bound cannot tell."""
    from trtbuild.accuracy.intervals import Outcome, images_to_settle, judge

    bounds = [(limit, higher_is_worse) for limit, higher_is_worse in ((gate.max, True), (gate.min, False))
              if limit is not None]
    outcomes = [judge(interval, limit, higher_is_worse) for limit, higher_is_worse in bounds]
    straddled = [limit for (limit, _), outcome in zip(bounds, outcomes) if outcome is Outcome.CANNOT_TELL]
    status = "fail" if Outcome.FAIL in outcomes else "cannot tell" if straddled else "pass"
    settle = images_to_settle(interval, straddled[0]) if status == "cannot tell" else None
    return GateResult(metric=gate.metric, value=interval.value, max=gate.max, min=gate.min, passed=status == "pass",
                      excess=excess, status=status, low=interval.low, high=interval.high, method=interval.method,
                      images=interval.images, images_to_settle=settle)


def not_measured(gates: list[Gate]) -> list[GateResult]:
    return [GateResult(metric=g.metric, value=None, max=g.max, min=g.min, passed=False, excess=None,
                       status="not measured") for g in gates]


def verdict(results: list[GateResult]) -> Status:
    """The gates together: any fail fails; else any cannot tell; else any not measured; else pass."""
    statuses = {r.status for r in results}
    return next((s for s in ("fail", "cannot tell", "not measured") if s in statuses), "pass")


def failure_message(results: list[GateResult], cannot_tell_fails: bool) -> str | None:
    """The error that ends verify: failed gates, and gates that cannot tell when `cannot_tell_fails`."""
    failed = [r.describe() for r in results if r.status == "fail"]
    if failed:
        return f"verify: accuracy gate failed: {'; '.join(failed)}"
    undecided = [r.describe() for r in results if r.status == "cannot tell"]
    if undecided and cannot_tell_fails:
        return (f"verify: accuracy gate cannot tell: {'; '.join(undecided)} (verify.cannot_tell: fail; "
                "--cannot-tell warn lets it through as a warning)")
    return None
