"""The INT8 pass's choice of ranking samples: evenly spaced over the calibration feeds."""

from __future__ import annotations

from trtbuild.precision.int8_pass import evenly_spaced


def test_evenly_spaced_takes_count_items_spread_over_the_set():
    assert evenly_spaced(list(range(32)), 8) == [0, 4, 8, 12, 16, 20, 24, 28]
    assert evenly_spaced(list(range(10)), 4) == [0, 2, 4, 6]


def test_evenly_spaced_takes_all_of_a_smaller_set():
    assert evenly_spaced([3, 1, 2], 8) == [3, 1, 2]
