"""Intervals and three-outcome gates on numbers with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trtbuild.accuracy.intervals import Interval, Outcome, images_to_settle, judge, paired_bootstrap, wilson


def test_paired_bootstrap_keeps_the_pairing_that_makes_a_drop_precise():
    rng = np.random.default_rng(1)
    reference = rng.uniform(0.2, 0.9, 200)  # per-image scores that vary a lot between images
    candidate = reference - 0.01 + rng.normal(0, 0.002, 200)  # a small, steady drop on every image
    paired = paired_bootstrap(lambda i: float(np.mean(reference[i] - candidate[i])), 200)
    other = np.random.default_rng(2)  # the candidate resampled on its own: the pairing lost
    unpaired = paired_bootstrap(lambda i: float(np.mean(reference[i]) - np.mean(candidate[other.integers(0, 200, 200)])),
                                200)
    assert paired.low < 0.01 < paired.high
    assert paired.high - paired.low < 0.002
    assert unpaired.high - unpaired.low > 10 * (paired.high - paired.low)
    assert "seed 0" in paired.method and paired.images == 200


def test_bootstrap_is_reproducible_by_seed():
    values = np.arange(30, dtype=float)
    first, again = (paired_bootstrap(lambda i: float(values[i].mean()), 30, seed=5) for _ in range(2))
    assert first == again
    assert paired_bootstrap(lambda i: float(values[i].mean()), 30, seed=6) != first


def test_wilson_matches_the_textbook_value_and_stays_inside_0_1():
    interval = wilson(81, 100)  # Wilson (1927) / Newcombe (1998) worked example: 0.7222 .. 0.8749
    assert interval.low == pytest.approx(0.7222, abs=1e-3) and interval.high == pytest.approx(0.8749, abs=1e-3)
    assert wilson(64, 64).high == 1.0 and wilson(64, 64).low < 1.0
    assert wilson(0, 64).low == 0.0 and wilson(0, 64).high > 0.0


@pytest.mark.parametrize(("low", "high", "outcome"), [
    (0.2, 0.8, Outcome.PASS), (1.1, 1.9, Outcome.FAIL), (0.6, 1.4, Outcome.CANNOT_TELL), (math.nan, math.nan,
                                                                                       Outcome.CANNOT_TELL)])
def test_a_drop_gate_has_three_outcomes(low, high, outcome):
    assert judge(Interval((low + high) / 2, low, high, "test", 64), limit=1.0) is outcome


def test_a_floor_gate_reads_the_other_side():
    assert judge(Interval(0.99, 0.985, 0.995, "test", 64), limit=0.98, higher_is_worse=False) is Outcome.PASS
    assert judge(Interval(0.97, 0.96, 0.975, "test", 64), limit=0.98, higher_is_worse=False) is Outcome.FAIL


def test_images_to_settle_grows_with_the_square_of_the_width():
    straddling = Interval(0.9, 0.6, 1.2, "test", 64)  # half-width 0.3, 0.1 from the limit
    assert images_to_settle(straddling, 1.0) == 64 * 9
    assert images_to_settle(Interval(1.0, 0.7, 1.3, "test", 64), 1.0) is None
