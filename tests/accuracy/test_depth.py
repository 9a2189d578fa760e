"""Depth errors of known perturbations."""

from __future__ import annotations

import numpy as np
import pytest

from trtbuild.accuracy.depth import aggregate_depth_errors, depth_errors, depth_errors_by_range

REFERENCE = np.random.default_rng(0).uniform(0.5, 2.0, (1, 32, 32)).astype(np.float32)


def test_identical_maps_have_no_error():
    assert depth_errors(REFERENCE, REFERENCE) == {"rel_mse_pct": 0.0, "abs_rel": 0.0, "delta1": 1.0, "finite": True}


def test_one_percent_scale():
    errors = depth_errors(REFERENCE, 1.01 * REFERENCE)
    assert errors["rel_mse_pct"] == pytest.approx(0.01, rel=1e-4)  # 100 * 0.01^2
    assert errors["abs_rel"] == pytest.approx(0.01, rel=1e-4)
    assert errors["delta1"] == 1.0


def test_half_the_pixels_off_by_factor_two():
    candidate = REFERENCE.copy()
    candidate[..., :16] *= 2  # ratio 2 > 1.25 there, |c - r| / r = 1
    errors = depth_errors(REFERENCE, candidate)
    assert errors["delta1"] == pytest.approx(0.5)
    assert errors["abs_rel"] == pytest.approx(0.5)


def test_nan_is_reported_not_averaged():
    candidate = REFERENCE.copy()
    candidate[0, 0, 0] = np.nan
    errors = depth_errors(REFERENCE, candidate)
    assert errors["finite"] is False and errors["rel_mse_pct"] == float("inf")
    merged = aggregate_depth_errors([errors, depth_errors(REFERENCE, REFERENCE)])
    assert merged["finite"] is False and merged["images"] == 2


def test_aggregate_means_and_worst():
    merged = aggregate_depth_errors([depth_errors(REFERENCE, REFERENCE), depth_errors(REFERENCE, 1.01 * REFERENCE)])
    assert merged["rel_mse_pct"] == pytest.approx(0.005, rel=1e-3)
    assert merged["worst_rel_mse_pct"] == pytest.approx(0.01, rel=1e-3)


def test_far_pixels_are_left_out_of_abs_rel_and_delta1_at_any_scale():
    """A disparity map whose background is almost 0 (sky, a ReLU'd region): an invisible absolute error there is a huge
    relative one, so those pixels are not counted; the rule scales with the map, so a scaled map scores the same."""
    reference, candidate = REFERENCE.copy(), REFERENCE.copy()
    reference[..., :8], candidate[..., :8] = 1e-4, 2e-4  # 0.005 % of the max: off by 100 %, unseen on screen
    errors = depth_errors(reference, candidate)
    assert errors["abs_rel"] == 0.0 and errors["delta1"] == 1.0
    assert errors["rel_mse_pct"] > 0  # still in the squared error, where it weighs what it is
    assert depth_errors(1000 * reference, 1000 * candidate) == pytest.approx(errors)


def test_an_all_zero_reference_has_no_relative_errors():
    zeros = np.zeros_like(REFERENCE)
    errors = depth_errors(zeros, zeros)
    assert np.isnan(errors["abs_rel"]) and np.isnan(errors["delta1"]) and errors["rel_mse_pct"] == 0.0


def test_an_error_on_the_near_third_shows_only_there():
    near = REFERENCE > np.quantile(REFERENCE, 2 / 3)  # relative inverse depth: the largest values are nearest
    candidate = np.where(near, REFERENCE * 1.1, REFERENCE)
    by_range = depth_errors_by_range(REFERENCE, candidate)
    near_share = np.mean(REFERENCE[near].astype(np.float64) ** 2) / np.mean(REFERENCE.astype(np.float64) ** 2)
    assert by_range[0]["abs_rel"] == pytest.approx(0.1)
    assert by_range[0]["rel_mse_pct"] == pytest.approx(near_share)  # 1 % of the near power, over the image's
    assert by_range[1]["abs_rel"] == by_range[2]["abs_rel"] == 0.0 and by_range[2]["delta1"] == 1.0
