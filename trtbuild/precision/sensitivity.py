"""Per-node INT8 sensitivity: how much the model's output moves when only that node is quantized.

For every Conv/MatMul/Gemm the quantizer gave Q/DQ inputs, its quantized form (the node with its Q/DQ and INT8
weights, cut out of the quantized graph with onnx.utils.Extractor) replaces it in the FP32 graph, and the graph
outputs are compared with the FP32 outputs (relative MSE). That is the accuracy each node costs on its own, measured
where the task reads it. A node's error measured at its own output ranks badly: it ignores how much the rest of the
network amplifies or forgets it (YOLO12n: Spearman 0.47 between the two; the DFL Conv, 3rd by its effect on the
output, is 92nd by its own error).

The measure is exact; what it costs is cut two ways (benchmarks/int8_search.py compares it with running the whole
graph once per node):
- only what the node changes runs: the nodes downstream of it, fed the tensors they read from further up as one FP32
  pass recorded them (with only that node quantized, everything upstream of it is still FP32);
- two stages: every node on the first sample, then, worst first by that, the other samples (added to the first's
  error), until the worst `keep` are settled: the next node's first-sample error, times the largest all-samples /
  first-sample ratio seen so far and a margin of SETTLE_MARGIN, stays below the keep-th all-samples error. Nodes
  never measured on all samples are ranked by their first-sample error times the median ratio.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx

from trtbuild.core.parallel import IN_PROCESS, Spreader
from trtbuild.precision.qdq_graph import quantized_nodes, rename_tensor

SETTLE_MARGIN = 1.25  # over the largest all/first ratio seen (Depth-Anything-V2: 0.31-1.33 over 32 nodes); 2.0 measured
# 12 more nodes on every sample, most of them transformer-block Gemms, for the same top 16 in the same order
RECORD_BUDGET_BYTES = 1 << 30  # recorded FP32 tensors held at once (Depth-Anything-V2 518: 45 MB per attention map)
CHUNK = 4  # nodes measured on all samples between two checks of whether the top is settled (or one per worker)


def rank_nodes(fp32_path: Path, qdq_path: Path, feeds: list[dict[str, np.ndarray]], keep: int,
               progress: Callable[[str, int, int], None] | None = None,
               spreader: Spreader = IN_PROCESS) -> list[tuple[str, float]]:
    """(node, relative MSE % of the graph outputs with only that node quantized) for every quantized node, worst
    first; measured on every feed for at least the worst `keep`. Evaluated with simulated Q/DQ, so the ranking is
    the same on every CPU. `spreader`: where the nodes' measurements run (the build's, trtbuild.core.parallel)."""
    suffixes = _Suffixes(onnx.load(str(fp32_path)), onnx.load(str(qdq_path)))
    measure, chunk = _measure_with(suffixes, fp32_path, qdq_path, spreader), max(CHUNK, spreader.workers)
    on_first = measure(suffixes.names, feeds[:1], progress and (lambda done: progress(
        "ranking nodes (first sample)", done, len(suffixes.names))))
    first = {name: _percent(*measured) for name, measured in on_first.items()}
    order = sorted(first, key=lambda name: -first[name])
    full: dict[str, float] = {} if len(feeds) > 1 else dict(first)
    rest = feeds[1:]  # one list: the recorded FP32 tensors are kept for it across calls
    label = f"ranking nodes (all {len(feeds)} samples, until the worst {keep} are settled)"
    while len(full) < len(order):
        if _settled(order, first, full, keep):
            if progress:  # done: the nodes it took are the whole of it
                progress(label, len(full), len(full))
            break
        unmeasured = [name for name in order if name not in full]
        for name, (error, power) in measure(unmeasured[:chunk], rest, ahead=unmeasured[chunk:]).items():
            full[name] = _percent(on_first[name][0] + error, on_first[name][1] + power)  # the first sample counts
        if progress:
            progress(label, len(full), len(order))
    ratios = [full[n] / first[n] for n in full if first[n] > 0]
    scale = float(np.median(ratios)) if ratios else 1.0
    estimated = {name: full.get(name, first[name] * scale) for name in order}
    return sorted(estimated.items(), key=lambda item: -item[1])


def _percent(error: float, power: float) -> float:
    """Relative MSE %: summed squared error over the summed squared FP32 outputs."""
    return 100.0 * error / power if power else 0.0


def _measure_with(suffixes: _Suffixes, fp32_path: Path, qdq_path: Path, spreader: Spreader):
    """`suffixes.errors`, split over the spreader's workers when it has several (Ray tasks in a farm): each node's
    error is measured alone, so the numbers, and the nodes kept FP32, are the same."""

    def measure(names: list[str], feeds: list[dict[str, np.ndarray]], done=None,
                ahead=()) -> dict[str, tuple[float, float]]:
        parts = min(spreader.workers, len(names))
        if parts <= 1:
            return suffixes.errors(names, feeds, done, ahead)
        models = (fp32_path.read_bytes(), qdq_path.read_bytes())
        found: dict[str, tuple[float, float]] = {}
        for measured in spreader.map(_errors_of, [(*models, names[i::parts], feeds) for i in range(parts)]):
            found.update(measured)
        if done:
            done(len(names))
        return {name: found[name] for name in names}  # the serial order: ties rank the same

    return measure


def _errors_of(fp32: bytes, qdq: bytes, names: list[str],
               feeds: list[dict[str, np.ndarray]]) -> dict[str, tuple[float, float]]:
    """One worker's share of the ranking."""
    return _Suffixes(onnx.load_from_string(fp32), onnx.load_from_string(qdq), names).errors(names, feeds)


def _renamed_output(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """`model` with its one output called `name`: the quantizer renames the output of a node that writes a graph
    output (its Q/DQ pair then writes the graph output), which the FP32 graph's nodes and outputs know by `name`."""
    old = model.graph.output[0].name
    rename_tensor(model.graph, old, name)
    model.graph.output[0].name = name
    return model


def _settled(order: list[str], first: dict[str, float], full: dict[str, float], keep: int) -> bool:
    if len(full) < keep or not full:
        return False
    bound = sorted(full.values(), reverse=True)[keep - 1]
    ratio = max((full[n] / first[n] for n in full if first[n] > 0), default=np.inf)
    following = next(name for name in order if name not in full)
    return first[following] * ratio * SETTLE_MARGIN < bound


class _Suffixes:
    """Each quantized node's suffix model: its quantized form and every FP32 node downstream of it, reading the
    tensors that cross into it from further up as graph inputs."""

    def __init__(self, fp32: onnx.ModelProto, qdq: onnx.ModelProto, only: list[str] | None = None):
        """`only`: the quantized nodes to measure (a worker's share), else every one."""
        import onnxruntime as ort

        from trtbuild.runners.onnxruntime_runner import SIMULATED_QDQ

        sources = quantized_nodes(qdq)
        extractor = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(qdq))
        fp32_outputs = {node.name: node.output[0] for node in fp32.graph.node}
        self.replacements = {n.name: _renamed_output(extractor.extract_model(sources[n.name], [n.output[0]]),
                                                    fp32_outputs[n.name])
                             for n in qdq.graph.node if n.name in sources and (only is None or n.name in only)}
        self.names = list(self.replacements)
        self.fp32, self.opsets, self.ir_version = fp32, qdq.opset_import, qdq.ir_version
        self.index = {node.name: i for i, node in enumerate(fp32.graph.node)}
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(fp32.graph.node):
            for tensor in node.input:
                self.consumers.setdefault(tensor, []).append(i)
        self.initializers = {i.name: i for i in fp32.graph.initializer}
        self.inputs = {i.name for i in fp32.graph.input}
        self.outputs = [o.name for o in fp32.graph.output]
        shapes = onnx.shape_inference.infer_shapes(fp32).graph.value_info
        self.bytes = {v.name: 4 * int(np.prod([d.dim_value for d in v.type.tensor_type.shape.dim])) for v in shapes}
        self.frontiers: dict[str, list[str]] = {}
        self.held_feeds, self.held = None, {}  # the feeds recorded for, and tensor -> its FP32 value per feed
        self.options = ort.SessionOptions()
        self.options.log_severity_level = 3
        self.options.add_session_config_entry(*SIMULATED_QDQ)
        self.options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # many small sessions

    def errors(self, names: list[str], feeds: list[dict[str, np.ndarray]],
               done: Callable[[int], None] | None = None,
               ahead: list[str] | tuple = ()) -> dict[str, tuple[float, float]]:
        """(summed squared error of the graph outputs with only that node quantized, summed squared FP32 outputs)
        over `feeds`, for each of `names`; `done(count)` after each. `ahead`: nodes likely measured next on the
        same feeds, whose recorded inputs are kept too while RECORD_BUDGET_BYTES allows (one FP32 pass over the
        feeds instead of one per call)."""
        found = {}
        for chunk in self._chunks(names, len(feeds)):
            recorded = self._recorded(chunk, ahead, feeds)
            power = sum(float(np.sum(np.square(r[o], dtype=np.float64))) for r in recorded for o in self.outputs)
            for name in chunk:
                found[name] = (self._error(*self._model(name), recorded), power)
                if done:
                    done(len(found))
        return found

    def _recorded(self, chunk: list[str], ahead, feeds: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
        """Per feed: the feed, the FP32 values of what `chunk` reads from upstream, and the graph outputs."""
        needed = {t for name in chunk for t in self._frontier(name)} | set(self.outputs)
        if feeds is not self.held_feeds:
            self.held_feeds, self.held = feeds, {}
        if not needed <= self.held.keys():
            wanted = set(needed)
            for name in ahead:
                more = wanted | set(self._frontier(name))
                if len(feeds) * sum(self.bytes.get(t, 0) for t in more) > RECORD_BUDGET_BYTES:
                    break
                wanted = more
            self.held = {t: v for t, v in self.held.items() if t in wanted}
            self.held.update(self._record(sorted(wanted - self.held.keys()), feeds))
        return [{**feed, **{t: self.held[t][i] for t in needed if t in self.held}} for i, feed in enumerate(feeds)]

    def _chunks(self, names: list[str], samples: int):
        """Consecutive groups of `names` whose recorded tensors fit RECORD_BUDGET_BYTES."""
        chunk, tensors = [], set()
        for name in names:
            frontier = set(self._frontier(name))
            if chunk and samples * sum(self.bytes.get(t, 0) for t in tensors | frontier) > RECORD_BUDGET_BYTES:
                yield chunk
                chunk, tensors = [], set()
            chunk.append(name)
            tensors |= frontier
        if chunk:
            yield chunk

    def _frontier(self, name: str) -> list[str]:
        if name not in self.frontiers:
            self.frontiers[name] = self._model(name)[1]
        return self.frontiers[name]

    def _downstream(self, name: str) -> list[onnx.NodeProto]:
        nodes = self.fp32.graph.node
        found, pending = set(), list(nodes[self.index[name]].output)
        while pending:
            for i in self.consumers.get(pending.pop(), []):
                if i not in found:
                    found.add(i)
                    pending.extend(nodes[i].output)
        return [nodes[i] for i in sorted(found)]

    def _model(self, name: str) -> tuple[onnx.ModelProto, list[str]]:
        """The suffix model of `name` (inputs still untyped) and its frontier: the tensors it reads from upstream."""
        replacement = self.replacements[name].graph
        nodes = [*replacement.node, *self._downstream(name)]
        produced = {out for node in nodes for out in node.output}
        initializers = {i.name: i for i in replacement.initializer}
        for node in nodes:
            initializers.update({t: self.initializers[t] for t in node.input if t in self.initializers})
        frontier = list(dict.fromkeys(t for node in nodes for t in node.input
                                      if t and t not in produced and t not in initializers))
        outputs = [o for o in self.fp32.graph.output if o.name in produced]
        graph = onnx.helper.make_graph(nodes, f"suffix of {name}", [], outputs, list(initializers.values()))
        return onnx.helper.make_model(graph, opset_imports=self.opsets, ir_version=self.ir_version), frontier

    def _session(self, model: onnx.ModelProto):
        import onnxruntime as ort

        return ort.InferenceSession(model.SerializeToString(), self.options, providers=["CPUExecutionProvider"])

    def _record(self, tensors: list[str], feeds: list[dict[str, np.ndarray]]) -> dict[str, list[np.ndarray]]:
        """The FP32 values of `tensors` (graph inputs excepted: the feeds hold them), per feed."""
        wanted = [t for t in tensors if t not in self.inputs]
        if not wanted:
            return {}
        model = onnx.ModelProto()
        model.CopyFrom(self.fp32)
        del model.graph.output[:]
        model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(t) for t in wanted)
        session = self._session(model)
        runs = [session.run(wanted, feed) for feed in feeds]
        return {t: [values[i] for values in runs] for i, t in enumerate(wanted)}

    def _error(self, model: onnx.ModelProto, frontier: list[str], recorded: list[dict[str, np.ndarray]]) -> float:
        """Summed squared difference of the suffix's outputs from the recorded FP32 outputs over the feeds."""
        sample = recorded[0]
        model.graph.input.extend(onnx.helper.make_tensor_value_info(
            t, onnx.helper.np_dtype_to_tensor_dtype(sample[t].dtype), sample[t].shape) for t in frontier)
        session = self._session(model)
        outputs = [o.name for o in session.get_outputs()]
        runs = [(values, session.run(outputs, {t: values[t] for t in frontier})) for values in recorded]
        return sum(float(np.sum(np.square(c.astype(np.float64) - values[o]))) for values, candidate in runs
                   for o, c in zip(outputs, candidate))
