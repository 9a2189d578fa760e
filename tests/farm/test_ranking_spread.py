"""The INT8 sensitivity ranking spread over a local Ray instance's CPUs ranks exactly as the serial run does."""

from __future__ import annotations

from precision.test_int8_search import graphs  # noqa: F401 - the module fixture: a tiny real quantized graph

from trtbuild.core import parallel
from trtbuild.farm import ray_cluster
from trtbuild.precision.int8 import quantize_int8
from trtbuild.precision.sensitivity import rank_nodes


def test_ranking_on_ray_workers_equals_the_serial_ranking(graphs, tmp_path):  # noqa: F811
    source, feeds, ranges = graphs
    quantize_int8(source, tmp_path / "int8.onnx", ranges, [])
    serial = rank_nodes(source, tmp_path / "int8.onnx", feeds[:4], keep=1)
    with ray_cluster.session(None):
        import ray

        spreader = ray_cluster.RaySpreader(ray)
        assert spreader.workers >= 2
        with parallel.spreading(spreader):
            assert parallel.workers() == spreader.workers
            spread = rank_nodes(source, tmp_path / "int8.onnx", feeds[:4], keep=1)
    assert parallel.workers() == 1
    assert spread == serial
