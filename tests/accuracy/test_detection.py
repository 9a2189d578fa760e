"""Detection metrics on hand-made detections whose mAP is known, plus the label mapping through LetterBox."""

from __future__ import annotations

import numpy as np
import pytest
from ultralytics.data.augment import LetterBox

from trtbuild.accuracy.detection import (decode_yolo, load_yolo_labels, match_images, reference_matches,
                                         score_matches, with_drops)

# two images, two classes, one object of each class: [x1, y1, x2, y2, conf, cls]
REFERENCE = [
    np.array([[10, 10, 50, 50, 0.9, 0], [100, 100, 200, 220, 0.8, 1]], np.float32),
    np.array([[300, 300, 400, 380, 0.7, 0], [5, 5, 9, 9, 0.1, 1]], np.float32),  # conf 0.1: not ground truth
]


def map_vs_reference(reference: list[np.ndarray], candidate: list[np.ndarray]) -> dict:
    """The candidate's mAP with PyTorch's confident detections as labels, and its drop below their own."""
    matches, ceiling = reference_matches(reference, candidate)
    return with_drops(score_matches(ceiling), score_matches(matches))


def test_identical_detections_have_no_drop():
    result = map_vs_reference(REFERENCE, REFERENCE)
    assert result["n_gt"] == 3
    assert result["map50_95_drop_pct"] == 0.0 and result["map50_drop_pct"] == 0.0
    assert result["recall"] == 1.0  # the conf-0.1 box is a false positive for precision, not a miss
    assert result["map50_95"] == pytest.approx(0.995)  # Ultralytics' 101-point AP of a perfect match


def test_removing_the_only_box_of_one_class_halves_map():
    candidate = [REFERENCE[0][:1], REFERENCE[1]]  # class 1 lost: its AP is 0, class 0 stays perfect
    result = map_vs_reference(REFERENCE, candidate)
    assert result["map50_95_drop_pct"] == pytest.approx(50.0)
    assert result["recall"] == pytest.approx(0.5)


def test_a_box_shifted_below_iou_05_counts_as_missed_at_every_threshold():
    shifted = REFERENCE[0].copy()
    shifted[1, [0, 2]] += 60  # IoU with the original box = 40*120 / (160*120) = 0.25
    result = map_vs_reference(REFERENCE, [shifted, REFERENCE[1]])
    assert result["map50_drop_pct"] == pytest.approx(50.0)


def test_labels_and_empty_images():
    labels = [np.array([[0, 10, 10, 50, 50]], np.float32), np.zeros((0, 5), np.float32)]
    candidate = [np.array([[10, 10, 50, 50, 0.5, 0]], np.float32), np.zeros((0, 6), np.float32)]
    assert score_matches(match_images(labels, candidate))["map50_95"] == pytest.approx(0.995)


def test_decode_yolo_keeps_the_best_box_and_converts_xywh():
    raw = np.zeros((1, 4 + 2, 3), np.float32)
    raw[0, :4, 0] = [100, 100, 40, 20]  # cx, cy, w, h
    raw[0, 4 + 1, 0] = 0.9
    raw[0, :4, 1] = [101, 100, 40, 20]  # overlapping duplicate, lower score: suppressed
    raw[0, 4 + 1, 1] = 0.6
    (dets,) = decode_yolo(raw)
    np.testing.assert_allclose(dets, [[80, 90, 120, 110, 0.9, 1]], rtol=1e-6)


def test_labels_land_where_letterbox_puts_the_pixels(tmp_path):
    original_hw, input_hw = (480, 640), (640, 640)  # scale 1, 80 px of padding above and below
    label = tmp_path / "a.txt"
    label.write_text("3 0.5 0.5 0.25 0.5\n")
    np.testing.assert_allclose(load_yolo_labels(label, original_hw, input_hw), [[3, 240, 200, 400, 440]])
    # check the same corner against LetterBox on a marked image (odd size: uneven padding)
    image = np.zeros((333, 500, 3), np.uint8)
    image[100:, 200:] = 255
    boxed = LetterBox((640, 640), auto=False, stride=32)(image=image)
    label.write_text(f"0 {250 / 500} {216.5 / 333} 0.2 {233 / 333}\n")  # box x 200..300, y 100..333
    x1, y1 = load_yolo_labels(label, (333, 500), (640, 640))[0, 1:3]
    rows, cols = np.nonzero(boxed[..., 0] > 127)
    assert abs(x1 - cols.min()) <= 1 and abs(y1 - rows.min()) <= 1
    assert load_yolo_labels(tmp_path / "missing.txt", original_hw, input_hw).shape == (0, 5)
