"""The human view of report.json: engines/<recipe>/report.md, with the plots the stages published beside it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from trtbuild.build.report import BuildReport

if TYPE_CHECKING:  # types only: report.py already imports verify's and bench's; precision's when a report has one
    from trtbuild.build.stages.bench import BenchMetrics
    from trtbuild.build.stages.precision import PrecisionMetrics
    from trtbuild.build.stages.verify import BatchShapes, VerifyMetrics


def write_markdown(report: BuildReport, out_dir: Path) -> Path:
    path = out_dir / "report.md"
    path.write_text(render(report, out_dir))
    return path


def render(report: BuildReport, out_dir: Path) -> str:
    lines = [f"# trtbuild report: {report.recipe} ({report.status})", "",
             f"recipe `{report.recipe_path}` · trtbuild {report.trtbuild} · schema {report.schema_version} · "
             f"{_host(report.host)} · {report.seconds:.1f} s", ""]
    if report.random_weights:
        lines += ["**Random weights: the numbers check numerics only, not model quality.**", ""]
    if report.error:
        lines += [f"**Error (exit {report.exit_code}):** {report.error}", ""]
    if report.not_measured:
        lines += ["**Accuracy not measured** (a warning; `--strict` makes it an error):", ""]
        lines += [f"- {reason}" for reason in report.not_measured] + [""]
    lines += _table(["stage", "status", "seconds", "result"],
                    [[s.name, s.status, f"{s.seconds:.2f}", s.headline().replace("|", "/")] for s in report.stages])
    if report.verify or report.bench:
        lines += ["", "## Summary", ""] + _summary(report.verify, report.bench)
    precision = report.stage("precision")
    if precision and precision.metrics:
        from trtbuild.build.stages.precision import PrecisionMetrics

        lines += _precision(PrecisionMetrics.model_validate(precision.metrics))
    if report.verify:
        lines += ["", "## Accuracy (verify)", ""] + _verify(report.verify)
    if report.bench:
        lines += ["", "## Latency (bench)", ""] + _bench(report.bench)
    plots = [(Path(a.path).name, f"{s.name}: {a.role.removesuffix('_png').replace('_', ' ')}")
             for s in report.stages for a in s.artifacts
             if a.path.endswith(".png") and (out_dir / Path(a.path).name).exists()]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{title}]({name})\n" for name, title in plots]
    return "\n".join(lines) + "\n"


def _summary(verify: VerifyMetrics | None, bench: BenchMetrics | None) -> list[str]:
    """report.md's headline table: metric | PyTorch | candidate | speedup (verify's first two rows, then latency)."""
    rows = [[r.metric, _num(r.pytorch), _num(r.candidate), ""] for r in (verify.table[:2] if verify else [])]
    timings = {t.runner: t for t in (bench.runners if bench else [])}
    reference = timings.get("torch")
    for name, timing in timings.items():
        if reference and name != "torch":
            rows.append([f"median latency, {name} ({timing.mode}) ms", _num(reference.stats.median_ms),
                         _num(timing.stats.median_ms), f"{timing.speedup_vs_torch:.2f}x"])
    return _table(["metric", "PyTorch", "candidate", "speedup"], rows)


def _precision(precision: PrecisionMetrics) -> list[str]:
    """The graph's values with their 95 % intervals: on the holdout, beside the search set's where the INT8 search
    ran (a search tuned on its set reads better there than on unseen images)."""
    sets = [(f"{name} ({found.samples} images)", found) for name, found in
            (("holdout", precision.accuracy_vs_pytorch_fp32), ("search set", precision.accuracy_search_set))
            if found is not None and found.intervals]
    if not sets:
        return []
    names = list(dict.fromkeys(name for _, found in sets for name in found.intervals))
    rows = [[name, *(str(found.intervals[name]) if name in found.intervals else "" for _, found in sets)]
            for name in names]
    lines = ["", f"## Accuracy (precision stage, {precision.mode}), with 95 % intervals", "",
             *_table(["value", *(title for title, _ in sets)], rows), "", _methods(sets[0][1].intervals)]
    search = precision.int8_search
    if search and search.trials:
        lines += ["", f"INT8 FP32-node search on {search.inputs or 'the search set'}: {search.summary()}, "
                      f"{search.evaluations} evaluations:", "",
                  *_table(["FP32 nodes", "target values [95 % interval]", "result"],
                          [[str(t.fp32_nodes), t.scores(), t.status or ""] for t in search.trials])]
    return lines


def _methods(intervals: dict) -> str:
    return "Intervals: " + "; ".join(sorted({i.method for i in intervals.values()})) + "."


def _verify(verify: VerifyMetrics) -> list[str]:
    providers = verify.candidate.get("providers")
    lines = [f"candidate: **{verify.candidate_runner}**" + (f" ({', '.join(providers)})" if providers else "") +
             f" · model `{verify.candidate.get('model', verify.candidate.get('plan', ''))}` · {verify.inputs}", "",
             *_basis(verify.detail.get("basis"))]
    lines += _table(["metric", "PyTorch", "candidate", "difference"],
                    [[r.metric, _num(r.pytorch), _num(r.candidate),
                      _num(r.candidate - r.pytorch) if None not in (r.pytorch, r.candidate) else ""]
                     for r in verify.table])
    if verify.intervals:
        lines += ["", *_table(["value", "point", "95 % interval"],
                              [[name, _num(i.value), i.bounds()]
                               for name, i in verify.intervals.items()]), "", _methods(verify.intervals)]
    lines += ["", "| gate | value [95 % interval] | bound | result |", "|---|---|---|---|"]
    for g in verify.gates:
        result = {"pass": "pass", "fail": f"**FAIL** by {_num(g.excess)}",
                  "cannot tell": f"**cannot tell**: {g.settle()}"}.get(g.status, f"**{g.status}**")
        lines.append(f"| {g.metric} | {g.measured()} | {g.bound()} | {result} |")
    if verify.verdict:
        lines += ["", f"Verdict: **{verify.verdict}**"]
    if verify.slices:
        lines += ["", "### Accuracy by slice (plots below)", "", *_slices(verify.slices)]
    if verify.batch_shapes:
        lines += ["", *_batch_shapes(verify.batch_shapes)]
    lines += ["", "Tensor parity (worst over images):", ""]
    lines += _table(["output", "max abs", "rel L2", "finite"],
                    [[name, _num(p.max_abs), _num(p.rel_l2), str(p.finite)] for name, p in verify.parity.items()])
    return lines


def _slices(slices: dict) -> list[str]:
    """The task's slices as it shapes them: a table per list of rows, a line per other entry."""
    lines = [f"{key.replace('_', ' ')}: {value}" for key, value in slices.items() if not isinstance(value, list)]
    for key, rows in slices.items():
        if isinstance(rows, list) and rows:
            lines += ["", f"**{key.replace('_', ' ')}**", "",
                      *_table(list(rows[0]), [[_cell(row.get(column)) for column in rows[0]] for row in rows])]
    return lines


def _cell(value) -> str:
    if isinstance(value, float) or value is None:
        return _num(value)
    if isinstance(value, list):
        return "–".join(_cell(v) for v in value)
    return str(value).replace("|", "/")


def _basis(basis: str | None) -> list[str]:
    """What the numbers are: against labels, or agreement with PyTorch's outputs (which says nothing of quality)."""
    if basis == "pytorch":
        return ["Judged against PyTorch's outputs: agreement with the reference model, not accuracy on labels.", ""]
    return ["Judged against the labels.", ""] if basis == "labels" else []


def _batch_shapes(shapes: BatchShapes) -> list[str]:
    """Each batch of the dynamic profile against the same images alone."""
    rows = [[str(b.batch), "; ".join(f"{name} {_num(p.rel_l2)}" for name, p in b.outputs.items()),
             "same as alone" if b.passed else f"**DIFFERS**: {b.problem}"] for b in shapes.batches]
    return [f"Dynamic batch of `{shapes.input}` on {shapes.runner}: each image inside a batch against itself alone "
            f"(relative L2 <= {shapes.rel_l2:g}):", "", *_table(["batch", "worst rel L2", "result"], rows)]


def _bench(bench: BenchMetrics) -> list[str]:
    rows = [[t.runner, t.mode, t.timer, *(_num(getattr(t.stats, k)) for k in
             ("median_ms", "mean_ms", "p90_ms", "p99_ms", "min_ms", "max_ms")),
             f"{t.stats.cov_pct:.1f}", f"{t.stats.throughput_qps:.1f}",
             f"{t.speedup_vs_torch:.2f}x" if t.speedup_vs_torch else "", t.memory.get("verdict", "")]
            for t in bench.runners]
    lines = [f"batch {bench.batch} · input: {bench.input} · warm-up {bench.warmup_s:g} s · "
             + (f"{bench.iterations} iterations" if bench.iterations else f"{bench.duration_s:g} s per runner"), ""]
    lines += _table(["runner", "mode", "timer", "median ms", "mean", "p90", "p99", "min", "max", "CoV %", "qps",
                     "vs torch", "memory"], rows)
    lines += [f"- {name} skipped: {why}" for name, why in bench.skipped.items()]
    return lines


def _host(host: dict) -> str:
    gpus = host.get("gpus") or []
    return f"GPU {gpus[0]['name']}" if gpus else f"CPU only ({host.get('cpu_count')} cores)"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"] + [f"| {' | '.join(r)} |" for r in rows]
