"""Gates on a value's 95 % interval: pass inside, fail wholly outside, cannot tell when it straddles (never a pass,
printed with the interval, the gate and the images that would settle it); a value without an interval keeps two
outcomes."""

from __future__ import annotations

import pytest

from trtbuild.accuracy.gates import evaluate, failure_message, not_measured, verdict
from trtbuild.accuracy.intervals import Interval, wilson
from trtbuild.core.errors import UsageError
from trtbuild.recipe.schema import Gate

DROP = Gate(metric="map50_95_drop_pct", max=1.0)
AGREEMENT = Gate(metric="top1_agreement_pct", min=99.0)


def _drop(low: float, high: float) -> Interval:
    return Interval((low + high) / 2, low, high, "paired bootstrap 1000x seed 0 over 64 images", 64)


@pytest.mark.parametrize(("low", "high", "status"), [(0.1, 0.7, "pass"), (1.2, 2.0, "fail"), (0.6, 1.6, "cannot tell")])
def test_a_drop_gate_judges_the_whole_interval(low, high, status):
    interval = _drop(low, high)
    (result,) = evaluate([DROP], {DROP.metric: interval.value}, {DROP.metric: interval})
    assert result.status == status and result.passed == (status == "pass")
    assert (result.low, result.high, result.images) == (low, high, 64)


def test_cannot_tell_prints_the_interval_the_gate_and_the_images_to_settle_it():
    (result,) = evaluate([DROP], {DROP.metric: 0.9}, {DROP.metric: Interval(0.9, 0.6, 1.2, "bootstrap", 64)})
    assert result.status == "cannot tell" and not result.passed and result.excess == 0.0
    assert result.images_to_settle == 64 * 9  # half-width 0.3, 0.1 from the bound: 9x the images
    assert result.describe() == ("map50_95_drop_pct = 0.9 [0.6, 1.2] (gate <= 1): CANNOT TELL, the 95 % interval "
                                 "straddles the gate; about 512 more images would settle it (576 in all) (bootstrap)")


def test_a_point_value_over_the_gate_with_a_straddling_interval_cannot_tell_not_fail():
    (result,) = evaluate([DROP], {DROP.metric: 1.1}, {DROP.metric: _drop(0.6, 1.6)})
    assert result.status == "cannot tell" and result.excess == pytest.approx(0.1)


def test_a_floor_gate_on_a_wilson_interval():
    """64 of 64 agreeing cannot show >= 99 % (Wilson's lower end is 94.3 %): cannot tell; 500 of 500 can."""
    for agreeing, status in ((64, "cannot tell"), (500, "pass")):
        interval = wilson(agreeing, agreeing)
        percent = Interval(100 * interval.value, 100 * interval.low, 100 * interval.high, interval.method, agreeing)
        (result,) = evaluate([AGREEMENT], {AGREEMENT.metric: percent.value}, {AGREEMENT.metric: percent})
        assert result.status == status, result.describe()
    assert result.describe().startswith("top1_agreement_pct = 100 [99.2")


def test_both_bounds_any_fail_fails():
    band = Gate(metric="depth_delta1", min=0.9, max=1.0)
    (inside,) = evaluate([band], {"depth_delta1": 0.95}, {"depth_delta1": Interval(0.95, 0.93, 0.97, "b", 8)})
    (under,) = evaluate([band], {"depth_delta1": 0.8}, {"depth_delta1": Interval(0.8, 0.7, 0.85, "b", 8)})
    assert (inside.status, under.status) == ("pass", "fail")


def test_without_an_interval_two_outcomes_on_the_point_value():
    passed, failed = (evaluate([DROP], {DROP.metric: value})[0] for value in (0.99, 1.01))
    assert (passed.status, failed.status) == ("pass", "fail") and failed.excess == pytest.approx(0.01)
    assert passed.low is None and passed.describe() == "map50_95_drop_pct = 0.99 (gate <= 1): ok"


def test_verdict_and_the_error_cannot_tell_gives_by_setting():
    undecided = evaluate([DROP], {DROP.metric: 0.9}, {DROP.metric: _drop(0.6, 1.2)})
    assert verdict(undecided) == "cannot tell" and verdict(not_measured([DROP])) == "not measured"
    assert failure_message(undecided, cannot_tell_fails=False) is None
    message = failure_message(undecided, cannot_tell_fails=True)
    assert message.startswith("verify: accuracy gate cannot tell: map50_95_drop_pct = 0.9 [0.6, 1.2] (gate <= 1)")
    assert "--cannot-tell warn" in message
    failing = evaluate([DROP, AGREEMENT], {DROP.metric: 2.0, AGREEMENT.metric: 99.5},
                       {AGREEMENT.metric: Interval(99.5, 98.0, 100.0, "wilson over 64 images", 64)})
    assert verdict(failing) == "fail"
    assert failure_message(failing, cannot_tell_fails=False).startswith("verify: accuracy gate failed: map50_95")


def test_an_unknown_metric_is_one_usage_error():
    with pytest.raises(UsageError, match="unknown metric 'map' .this task has: map50_95_drop_pct"):
        evaluate([Gate(metric="map", max=1.0)], {DROP.metric: 0.5})
