"""The vectorised bootstrap mAP against Ultralytics' own: equal (to rounding) on the sample and on resamples with
repeated images, fast enough for every evaluation; and the drop's interval around a known drop."""

from __future__ import annotations

import time

import numpy as np
import pytest

from trtbuild.accuracy.detection import match_images, score_matches
from trtbuild.accuracy.intervals import resample_counts, resample_indices
from trtbuild.accuracy.matched import MatchedDetections, drop_intervals


def scene(seed: int, images: int = 64, classes: int = 30) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Labels (m, 5) and noisy detections (n, 6) per image: boxes jittered off the labels, some with a wrong class,
    some images without labels; conf down to 0.001 as `yolo val` keeps them."""
    rng = np.random.default_rng(seed)
    labels, detections = [], []
    for _ in range(images):
        m, n = int(rng.integers(0, 12)), int(rng.integers(20, 120))
        corner = rng.uniform(0, 560, (m, 2))
        truth = np.c_[rng.integers(0, classes, m), corner, corner + rng.uniform(8, 200, (m, 2))].astype(np.float32)
        source = truth[rng.integers(0, max(m, 1), n)] if m else np.c_[np.zeros(n), np.tile([50, 50, 150, 150], (n, 1))]
        cls = np.where(rng.random(n) < 0.8, source[:, 0], rng.integers(0, classes, n))
        boxes = source[:, 1:] + rng.normal(0, 6, (n, 4))
        labels.append(truth)
        detections.append(np.c_[boxes, rng.uniform(0.001, 1, n), cls].astype(np.float32))
    return labels, detections


def test_the_sample_itself_gives_ultralytics_map():
    stats = match_images(*scene(3))
    expected = score_matches(stats)
    map50_95, map50 = MatchedDetections.from_images(stats).mean_ap(np.ones((1, 64)))
    assert map50_95[0] == pytest.approx(expected["map50_95"], abs=1e-14)
    assert map50[0] == pytest.approx(expected["map50"], abs=1e-14)


def test_a_resample_gives_the_map_of_its_images_repeated():
    stats = match_images(*scene(4))
    indices, counts = resample_indices(64, 12, seed=1), resample_counts(64, 12, seed=1)
    map50_95, map50 = MatchedDetections.from_images(stats).mean_ap(counts)
    for row, drawn in enumerate(indices):
        expected = score_matches([stats[i] for i in drawn])
        assert map50_95[row] == pytest.approx(expected["map50_95"], abs=1e-12)
        assert map50[row] == pytest.approx(expected["map50"], abs=1e-12)


def test_a_class_drawn_without_its_detections_scores_zero_and_one_without_labels_is_left_out():
    labels = [np.array([[0, 10, 10, 50, 50]], np.float32), np.array([[1, 10, 10, 50, 50]], np.float32)]
    detections = [np.zeros((0, 6), np.float32), np.array([[10, 10, 50, 50, 0.9, 1]], np.float32)]
    matched = MatchedDetections.from_images(match_images(labels, detections))
    map50_95, _ = matched.mean_ap(np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]]))
    assert map50_95 == pytest.approx([0.995 / 2, 0.0, 0.995])


def test_a_thousand_resamples_of_64_images_take_about_a_second():
    matched = MatchedDetections.from_images(match_images(*scene(5)))
    counts = resample_counts(64)
    start = time.perf_counter()
    matched.mean_ap(counts)
    assert time.perf_counter() - start < 5.0  # about 1.2 s on this 2-core host under load


def test_the_drop_interval_covers_a_drop_made_on_purpose():
    labels, detections = scene(6)
    rng = np.random.default_rng(7)
    worse = [np.c_[d[:, :4] + rng.normal(0, 3, (len(d), 4)), d[:, 4:]].astype(np.float32) for d in detections]
    found = drop_intervals(match_images(labels, detections), match_images(labels, worse))
    expected = score_matches(match_images(labels, detections)), score_matches(match_images(labels, worse))
    drop = 100 * (expected[0]["map50_95"] - expected[1]["map50_95"]) / expected[0]["map50_95"]
    interval = found["map50_95_drop_pct"]
    assert interval.value == pytest.approx(drop, abs=1e-9) and interval.low < drop < interval.high
    assert interval.low > 0  # jittered boxes lose AP on every resample
    assert "paired bootstrap 1000x seed 0 over 64 images" == interval.method
