"""Depth errors of known perturbations."""

from __future__ import annotations

import numpy as np
import pytest

from trtbuild.metrics.depth import aggregate_depth_errors, depth_errors

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
