"""Gates: a recipe's pass/fail bounds on named accuracy values (Olive-style goals as data)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Gate


@dataclass(frozen=True)
class GateResult:
    metric: str
    value: float | None  # None: not measured
    max: float | None
    min: float | None
    passed: bool
    excess: float | None  # how far past the bound (0 when passed, None when not measured)
    status: str = "pass"  # pass | fail | not measured (never passed)

    def describe(self) -> str:
        bound = " and ".join(f"{op} {b:g}" for op, b in (("<=", self.max), (">=", self.min)) if b is not None)
        if self.value is None:
            return f"{self.metric} (gate {bound}): not measured"
        verdict = "ok" if self.passed else f"FAILED by {self.excess:.4g}"
        return f"{self.metric} = {self.value:.4g} (gate {bound}): {verdict}"

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate(gates: list[Gate], values: dict[str, float]) -> list[GateResult]:
    results = []
    for gate in gates:
        if gate.metric not in values:
            known = ", ".join(sorted(values))
            raise UsageError(f"verify.gates: unknown metric {gate.metric!r} (this task has: {known})")
        value = float(values[gate.metric])
        over = value - gate.max if gate.max is not None else -math.inf
        under = gate.min - value if gate.min is not None else -math.inf
        excess = math.inf if math.isnan(value) else max(over, under, 0.0)
        results.append(GateResult(gate.metric, value, gate.max, gate.min, excess == 0.0, excess,
                                  "pass" if excess == 0.0 else "fail"))
    return results


def not_measured(gates: list[Gate]) -> list[GateResult]:
    return [GateResult(g.metric, None, g.max, g.min, False, None, "not measured") for g in gates]


def failure_message(results: list[GateResult]) -> str | None:
    failed = [r.describe() for r in results if r.status == "fail"]
    return f"verify: accuracy gate failed: {'; '.join(failed)}" if failed else None
