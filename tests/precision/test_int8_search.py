"""The INT8 sensitivity ranking and the FP32-node search on a tiny real graph, quantized by ONNX Runtime's quantizer.

The graph: three Convs; the middle one has one huge weight per output channel on an input channel that is always 0
(so FP32 ignores it), and per-channel INT8 leaves its other weights almost no levels: it is the node that costs the
most accuracy, and the one the search must keep FP32.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from trtbuild.accuracy.intervals import Interval
from trtbuild.core.errors import UsageError
from trtbuild.precision.int8 import calibrate, quantize_int8
from trtbuild.precision.int8_search import Trial, _predict, search_fp32_nodes
from trtbuild.precision.policy import name_nodes
from trtbuild.precision.qdq_graph import quantized_nodes
from trtbuild.precision.sensitivity import SETTLE_MARGIN, _settled, rank_nodes
from trtbuild.runners.onnxruntime_runner import OnnxRuntimeRunner
from trtbuild.recipe.schema import Gate

OUTLIER = "/convs.1/Conv"


class ThreeConvs(torch.nn.Module):
    def __init__(self, last_relu: bool = True):
        super().__init__()
        self.last_relu = last_relu  # without it, the last Conv writes the graph output
        torch.manual_seed(0)
        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(8 if i else 3, 8, 3, padding=1) for i in range(3))
        with torch.no_grad():
            self.convs[0].weight[0], self.convs[0].bias[0] = 0.0, -1.0  # channel 0 is 0 after the ReLU
            self.convs[1].weight[:, 0, 0, 0] = 50.0  # one outlier per output channel, on that channel

    def forward(self, x):
        for conv in self.convs[:-1]:
            x = torch.relu(conv(x))
        x = self.convs[-1](x)
        return torch.relu(x) if self.last_relu else x


@pytest.fixture(scope="module")
def graphs(tmp_path_factory) -> tuple[Path, list[dict[str, np.ndarray]], object]:
    return make_graphs(tmp_path_factory.mktemp("int8_search"), last_relu=True)


@pytest.fixture(scope="module")
def graph_output_graphs(tmp_path_factory) -> tuple[Path, list[dict[str, np.ndarray]], object]:
    return make_graphs(tmp_path_factory.mktemp("int8_search_graph_output"), last_relu=False)


def make_graphs(folder: Path, last_relu: bool) -> tuple[Path, list[dict[str, np.ndarray]], object]:
    buffer = io.BytesIO()
    torch.onnx.export(ThreeConvs(last_relu).eval(), torch.randn(1, 3, 16, 16), buffer, input_names=["x"], dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    name_nodes(model)
    source = folder / "fp32.onnx"
    onnx.save(model, str(source))
    rng = np.random.default_rng(0)
    feeds = [{"x": rng.standard_normal((1, 3, 16, 16), dtype=np.float32)} for _ in range(8)]
    return source, feeds, calibrate(source, feeds, "minmax")


def rel_mse_pct(source: Path, candidate: Path, feeds) -> float:
    ref, cand = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (source, candidate))
    error = sum(float(np.sum((cand.run(None, f)[0] - ref.run(None, f)[0]) ** 2)) for f in feeds)
    return 100.0 * error / sum(float(np.sum(ref.run(None, f)[0] ** 2)) for f in feeds)


def evaluator(source: Path, ranges, feeds, folder: Path):
    calls = []

    def evaluate(nodes: list[str]) -> dict:
        calls.append(list(nodes))
        trial = folder / f"trial{len(calls)}.onnx"
        quantize_int8(source, trial, ranges, nodes)
        return {"rel_mse_pct": rel_mse_pct(source, trial, feeds)}

    return evaluate, calls


def test_every_conv_is_quantized_and_the_outlier_conv_ranks_first(graphs, tmp_path):
    source, feeds, ranges = graphs
    quantize_int8(source, tmp_path / "int8.onnx", ranges, [])
    assert sorted(quantized_nodes(onnx.load(str(tmp_path / "int8.onnx")))) == [f"/convs.{i}/Conv" for i in range(3)]
    ranking = rank_nodes(source, tmp_path / "int8.onnx", feeds[:2], keep=3)
    assert [name for name, _ in ranking][0] == OUTLIER and len(ranking) == 3
    assert ranking[0][1] > 10 * ranking[1][1] > 0


def outputs(path: Path, feeds) -> list[np.ndarray]:
    with OnnxRuntimeRunner(path, simulated_qdq=True) as runner:
        return [next(iter(runner.infer(f).values())) for f in feeds]


def without_output_qdq(path: Path, name: str) -> None:
    model = onnx.load(str(path))
    output = next(n for n in model.graph.node if n.name == name).output[0]
    quantize = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == output)
    dequantize = next(n for n in model.graph.node
                      if n.op_type == "DequantizeLinear" and n.input[0] == quantize.output[0])
    if dequantize.output[0] in {o.name for o in model.graph.output}:  # the node writes the graph output again
        next(n for n in model.graph.node if n.name == name).output[0] = dequantize.output[0]
    for node in model.graph.node:
        node.input[:] = [output if i == dequantize.output[0] else i for i in node.input]
    model.graph.node.remove(quantize)
    model.graph.node.remove(dequantize)
    onnx.save(model, str(path))


@pytest.mark.parametrize("fixture", ["graphs", "graph_output_graphs"])
def test_ranking_is_the_error_of_the_graph_with_only_that_node_quantized(fixture, request, tmp_path):
    """Each node's value equals the whole graph with only that node's inputs and weights quantized (the quantizer
    excluding every other node, the Q/DQ it adds on the node's output taken out), scored against FP32 on the same
    feeds (simulated Q/DQ): the suffix runs and the two stages change what the ranking costs, not what it measures.
    Also when a quantized node writes the graph output (the quantizer renames its output)."""
    source, feeds, ranges = request.getfixturevalue(fixture)
    quantize_int8(source, tmp_path / "int8.onnx", ranges, [])
    steps = []
    ranking = dict(rank_nodes(source, tmp_path / "int8.onnx", feeds[:4], keep=1,
                              progress=lambda task, done, total: steps.append((task.split(" (")[0], done, total))))
    names = [f"/convs.{i}/Conv" for i in range(3)]
    reference = outputs(source, feeds[:4])
    power = sum(float(np.sum(np.square(r, dtype=np.float64))) for r in reference)
    for name in names:
        quantize_int8(source, tmp_path / "one.onnx", ranges, [n for n in names if n != name])
        without_output_qdq(tmp_path / "one.onnx", name)
        error = sum(float(np.sum(np.square(c - r, dtype=np.float64)))
                    for c, r in zip(outputs(tmp_path / "one.onnx", feeds[:4]), reference))
        assert ranking[name] == pytest.approx(100.0 * error / power, rel=1e-4)
    assert steps[:3] == [("ranking nodes", i, 3) for i in (1, 2, 3)] and steps[-1][1:] == (3, 3)


def test_the_top_is_settled_once_no_unmeasured_node_can_reach_it():
    """all/first ratios seen so far are at most 2: a next node whose first-sample value times 2 and the margin stays
    under the keep-th value (4) cannot reach it, one a little over might."""
    order, full = ["a", "b", "c"], {"a": 8.0, "b": 4.0}
    reach = 4.0 / (2.0 * SETTLE_MARGIN)
    assert _settled(order, {"a": 4.0, "b": 2.0, "c": 0.99 * reach}, full, keep=2)
    assert not _settled(order, {"a": 4.0, "b": 2.0, "c": 1.01 * reach}, full, keep=2)
    assert not _settled(order, {"a": 4.0, "b": 2.0, "c": 0.01}, full, keep=3)


def test_search_keeps_only_the_outlier_conv_fp32_when_that_meets_the_target(graphs, tmp_path):
    source, feeds, ranges = graphs
    quantize_int8(source, tmp_path / "int8.onnx", ranges, [])
    ranking = rank_nodes(source, tmp_path / "int8.onnx", feeds[:2], keep=3)
    evaluate, calls = evaluator(source, ranges, feeds, tmp_path)
    everything = evaluate([])["rel_mse_pct"]
    without_outlier = evaluate([OUTLIER])["rel_mse_pct"]
    assert without_outlier < everything / 5  # the premise: the outlier conv is what costs the accuracy
    calls.clear()
    target = [Gate(metric="rel_mse_pct", max=(everything + without_outlier) / 2)]
    seen = []
    result = search_fp32_nodes(ranking, evaluate, target, max_fp32_nodes=3, max_evaluations=5,
                               on_trial=lambda done, trial: seen.append((done, trial.describe())))
    assert result.passed and list(result.kept) == [OUTLIER] and "rank 1" in result.kept[OUTLIER]
    assert seen == [(1, f"0 FP32 nodes: rel_mse_pct {everything:.4g}: fail"),
                    (2, f"1 FP32 nodes: rel_mse_pct {without_outlier:.4g}: pass")]
    assert result.before["rel_mse_pct"] == pytest.approx(everything)
    assert result.after["rel_mse_pct"] == pytest.approx(without_outlier)
    assert calls == [[], [OUTLIER]] and result.evaluations == 2


def test_an_unreachable_target_returns_the_best_trial_within_the_budget(graphs, tmp_path):
    source, feeds, ranges = graphs
    quantize_int8(source, tmp_path / "int8.onnx", ranges, [])
    ranking = rank_nodes(source, tmp_path / "int8.onnx", feeds[:2], keep=3)
    evaluate, calls = evaluator(source, ranges, feeds, tmp_path)
    result = search_fp32_nodes(ranking, evaluate, [Gate(metric="rel_mse_pct", max=-1.0)], max_fp32_nodes=2,
                               max_evaluations=2)
    assert not result.passed and result.evaluations == len(calls) == 2
    assert [t.fp32_nodes for t in result.trials] == [0, 1]  # a bound under 0 gives no line: the next k
    assert list(result.kept) == [OUTLIER]  # the smaller excess of the two trials
    with pytest.raises(UsageError, match="precision.int8.target: unknown metric 'map50_95_drop_pct'"):
        search_fp32_nodes(ranking, evaluate, [Gate(metric="map50_95_drop_pct", max=1.0)], 2, 2)


def test_the_next_trial_is_read_from_the_ranking_as_a_power_law():
    """errors 8, 4, 2, 1, 1: 16 quantized at k = 0, which scores 4 against a bound of 1. Proportional to the error
    still quantized, 1 is reached at 4, with the worst 2 nodes FP32; a second trial gives the power."""
    remaining = [16.0, 8.0, 4.0, 2.0, 1.0, 0.0]
    trials = {0: Trial(0, {"err": 4.0}, False, 3.0)}
    assert _predict([Gate(metric="err", max=1.0)], trials, remaining) == 2
    trials[2] = Trial(2, {"err": 2.0}, False, 1.0)  # the square root of the error: 1 at 1, with the worst 4 FP32
    assert _predict([Gate(metric="err", max=1.0)], trials, remaining) == 4
    assert _predict([Gate(metric="err", max=1.0), Gate(metric="err", max=100.0)], trials, remaining) == 4
    assert _predict([Gate(metric="err", min=0.5)], trials, remaining) == 1  # no power law for a lower bound


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("bound", [0.1, 0.3, 0.6, 0.9])
def test_the_search_finds_the_smallest_passing_k_in_fewer_trials_than_doubling_and_bisection(power, bound):
    """A metric that falls with the error still quantized, as a power of it: the answer is the brute-force smallest
    passing k, in at most 4 evaluations (doubling then bisecting took 5 to 9 here)."""
    errors = [0.5 ** (i / 3) for i in range(40)]
    ranking = [(f"node{i}", e) for i, e in enumerate(errors)]
    total = sum(errors)

    def evaluate(nodes: list[str]) -> dict:
        return {"err": (sum(errors[len(nodes):]) / total) ** power}

    cap = 24
    smallest = next(k for k in range(cap + 1) if evaluate(["n"] * k)["err"] <= bound)
    result = search_fp32_nodes(ranking, evaluate, [Gate(metric="err", max=bound)], cap, max_evaluations=8)
    assert result.passed and len(result.kept) == smallest
    assert result.evaluations <= 4 if smallest else result.evaluations == 1


def test_a_trial_passes_only_when_its_interval_is_inside_the_target():
    """The point value passes from k = 2 on, but only k >= 4 has its whole 95 % interval under the bound: the search
    keeps 4; with 3 nodes at most it ships the straddling best and says it cannot tell."""
    ranking = [(f"node{i}", 1.0) for i in range(6)]
    drops = [2.0, 1.5, 0.9, 0.8, 0.5, 0.4]

    def evaluate(nodes: list[str]) -> dict:
        drop = drops[len(nodes)]
        return {"drop": drop, "intervals": {"drop": Interval(drop, drop - 0.4, drop + 0.4, "test", 64)}}

    result = search_fp32_nodes(ranking, evaluate, [Gate(metric="drop", max=1.0)], 6, max_evaluations=8)
    assert result.passed and result.status == "pass" and len(result.kept) == 4
    assert {t.fp32_nodes: t.status for t in result.trials}[3] == "cannot tell"
    assert result.shipped().intervals["drop"]["high"] == pytest.approx(0.9)
    capped = search_fp32_nodes(ranking, evaluate, [Gate(metric="drop", max=1.0)], 3, max_evaluations=8)
    assert not capped.passed and capped.status == "cannot tell" and len(capped.kept) == 3
    assert "[0.4, 1.2]: cannot tell" in capped.shipped().describe()
