"""The INT8 sensitivity ranking spread by the spreader it is handed (trtbuild.core.parallel): over a local Ray
instance's CPUs, or any other Spreader, it ranks exactly as the serial run does."""

from __future__ import annotations

from precision.test_int8_search import graphs  # noqa: F401 - the module fixture: a tiny real quantized graph

from trtbuild.core.parallel import IN_PROCESS
from trtbuild.farm import ray_cluster
from trtbuild.precision.int8 import quantize_int8
from trtbuild.precision.sensitivity import rank_nodes


class Recording:
    """Two workers, run here one after another; counts the pieces it was given."""

    workers = 2

    def __init__(self):
        self.pieces = 0

    def map(self, fn, args: list[tuple]) -> list:
        self.pieces += len(args)
        return IN_PROCESS.map(fn, args)


def test_ranking_uses_the_spreader_it_is_given_and_ranks_the_same(graphs, tmp_path):  # noqa: F811
    source, feeds, ranges = graphs
    quantize_int8(source, tmp_path / "int8.onnx", ranges, [])
    serial = rank_nodes(source, tmp_path / "int8.onnx", feeds[:4], keep=1)
    spreader = Recording()
    assert rank_nodes(source, tmp_path / "int8.onnx", feeds[:4], keep=1, spreader=spreader) == serial
    assert spreader.pieces >= 2


def test_ranking_on_ray_workers_equals_the_serial_ranking(graphs, tmp_path):  # noqa: F811
    source, feeds, ranges = graphs
    quantize_int8(source, tmp_path / "int8.onnx", ranges, [])
    serial = rank_nodes(source, tmp_path / "int8.onnx", feeds[:4], keep=1)
    with ray_cluster.session(None):
        import ray

        spreader = ray_cluster.RaySpreader(ray)
        assert spreader.workers >= 2
        spread = rank_nodes(source, tmp_path / "int8.onnx", feeds[:4], keep=1, spreader=spreader)
    assert spread == serial
