"""INT8 calibration on a real one-Conv graph: every feed counts (the entropy calibrator's too, whatever its chunking),
percentile is the exact order statistic, and the clipping methods clip outliers (symmetric ranges), silently."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from trtbuild.precision.int8 import CALIBRATION_CHUNK, calibrate


@pytest.fixture(scope="module")
def conv_graph(tmp_path_factory):
    weight = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], "one_conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 32, 32])], [weight])
    path = tmp_path_factory.mktemp("calibrate") / "conv.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime 1.21 (the floor) loads; onnx's own default is newer
    onnx.save(model, str(path))
    rng = np.random.default_rng(0)
    feeds = [{"x": rng.standard_normal((1, 1, 32, 32), dtype=np.float32)} for _ in range(2 * CALIBRATION_CHUNK + 3)]
    feeds[-1]["x"][0, 0, 0, 0] = -40.0  # the outlier sits in the last, partial chunk
    return path, feeds


def x_range(ranges) -> tuple[float, float]:
    low, high = ranges["x"].range_value
    return float(np.asarray(low).reshape(-1)[0]), float(np.asarray(high).reshape(-1)[0])


def test_minmax_sees_every_feed_and_is_symmetric_and_reports_each(conv_graph):
    path, feeds = conv_graph
    done = []
    assert x_range(calibrate(path, feeds, "minmax", progress=lambda *step: done.append(step))) == (-40.0, 40.0)
    assert done == [(i, len(feeds)) for i in range(1, len(feeds) + 1)]


def test_entropy_sees_every_chunk_and_reports_each(conv_graph):
    path, feeds = conv_graph
    done = []
    calibrate(path, feeds, "entropy", progress=lambda *step: done.append(step))
    chunk, total = CALIBRATION_CHUNK, len(feeds)  # images done / total after each chunk, the partial last one too
    assert done == [(chunk, total), (2 * chunk, total), (total, total)]


def test_percentile_is_the_exact_order_statistic_of_every_feed(conv_graph):
    path, feeds = conv_graph
    values = np.sort(np.abs(np.concatenate([f["x"].ravel() for f in feeds])))
    for percentile in (99.9, 99.0):
        clipped = int(values.size * (100.0 - percentile) / 100.0)  # the share of |x| above the range
        low, high = x_range(calibrate(path, feeds, "percentile", percentile=percentile))
        assert high == -low == values[-clipped]


@pytest.mark.parametrize("method", ["percentile", "entropy"])
def test_histogram_methods_clip_the_outlier_without_printing(conv_graph, method, capsys):
    path, feeds = conv_graph
    low, high = x_range(calibrate(path, feeds, method, percentile=99.9))
    values = np.abs(np.concatenate([f["x"].ravel() for f in feeds]))
    assert 2.0 < -low < 10.0 and 2.0 < high < 10.0  # the bulk is |x| < 4; the -40 is clipped
    if method == "percentile":  # numpy's 99.9th percentile of |x| lies between two neighbouring values
        assert low == -high and high == pytest.approx(np.percentile(values, 99.9), rel=0.02)
    assert capsys.readouterr().out == ""


def test_a_percentile_clipping_more_than_one_feed_reads_the_histogram(conv_graph):
    path, feeds = conv_graph  # 19 feeds: 90 % clips 1.9 feeds' worth of values, too many to keep exactly
    values = np.abs(np.concatenate([f["x"].ravel() for f in feeds]))
    low, high = x_range(calibrate(path, feeds, "percentile", percentile=90.0))
    assert low == -high and high == pytest.approx(np.percentile(values, 90.0), abs=2 * 40 / 2048)  # a bin's width
