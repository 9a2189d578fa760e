"""bench: runners side by side on one real input, warm-up by time, then a duration or a number of iterations.

Caching: the key holds the host (GPU, driver, TensorRT), the recipe's bench block and the models' digests, so
`trtbuild build` reuses a measurement taken on the same host; `trtbuild bench` always forces this stage (timings
vary run to run, and asking for a benchmark means asking for a fresh one).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from trtbuild.bench.stats import LatencyStats
from trtbuild.build.stages.base import Artifacts, Stage, StageContext, StageMetrics, StageOutput


class RunnerTiming(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runner: str
    describe: dict
    mode: str  # cpu | device-resident | cuda graph
    timer: str  # perf_counter | cuda_events
    warmup_iterations: int
    wall_s: float
    stats: LatencyStats
    unstable: bool
    memory: dict  # RSS / GPU memory slopes and the leak verdict (trtbuild.bench.stability)
    speedup_vs_torch: float | None


class BenchMetrics(StageMetrics):
    """report.json's `bench` section as well."""

    runners: list[RunnerTiming]
    skipped: dict[str, str]  # runner -> why it did not run here
    input: str
    batch: int
    warmup_s: float
    duration_s: float
    iterations: int | None

    def headline(self) -> str:
        return ", ".join(f"{t.runner} {t.stats.median_ms:.2f} ms" for t in self.runners)


class BenchStage(Stage):
    tools = ("torch", "onnxruntime")
    host_bound = True
    publish = {"latency_png": "{name}.bench.latency.png", "latencies": "{name}.bench.latencies.json"}
    Metrics = BenchMetrics

    def params(self) -> dict:
        return {"bench": self.recipe.bench.model_dump(mode="json"),
                "inputs": [s.model_dump(mode="json") for s in self.recipe.inputs]}

    def inputs(self, artifacts: Artifacts) -> dict:
        from trtbuild.runners.factory import RunnerFiles

        return RunnerFiles.from_artifacts(artifacts).as_inputs()

    def run(self, ctx: StageContext) -> StageOutput:
        import json

        from trtbuild.bench.session import time_runner
        from trtbuild.data.datasets import check_set
        from trtbuild.data.feeds import feeds_for
        from trtbuild.core.plots import latency_distribution
        from trtbuild.runners.factory import RunnerFiles, available_runners

        recipe, spec = self.recipe, self.recipe.bench
        files = RunnerFiles.from_inputs(ctx.inputs)
        names, skipped = available_runners(list(dict.fromkeys(spec.runners)), files)
        feeds, source = feeds_for(recipe, check_set(recipe).first(1))
        timings, latencies = [], {}
        for name in names:
            ctx.log(f"timing {name} ...")
            timing, samples = time_runner(name, recipe, files, feeds[0])
            ctx.log(json.dumps({k: v for k, v in timing.items() if k != "memory"}))
            timings.append(timing)
            latencies[f"{name} ({timing['mode']})"] = samples
        _add_speedups(timings)
        warnings = [f"{n} skipped: {why}" for n, why in skipped.items()]
        warnings += [f"{t['runner']}: unstable timing, CoV {t['stats']['cov_pct']:.1f} %"
                     for t in timings if t["unstable"]]
        warnings += [f"{t['runner']}: memory grows ({_slopes(t['memory'])})" for t in timings
                     if t["memory"]["verdict"] == "leak suspected"]
        artifacts = {}
        if latencies:
            latency_distribution(latencies, ctx.workdir / "latency.png")
            (ctx.workdir / "latencies.json").write_text(json.dumps(latencies))
            artifacts = {"latency_png": "latency.png", "latencies": "latencies.json"}
        metrics = BenchMetrics(runners=timings, skipped=skipped, input=source, batch=recipe.inputs[0].shape[0],
                               warmup_s=spec.warmup_s, duration_s=spec.duration_s, iterations=spec.iterations)
        return StageOutput(artifacts=artifacts, metrics=metrics, warnings=warnings)


def _add_speedups(timings: list[dict]) -> None:
    """speedup = torch median / runner median (None without a torch run)."""
    torch_median = next((t["stats"]["median_ms"] for t in timings if t["runner"] == "torch"), None)
    for timing in timings:
        timing["speedup_vs_torch"] = torch_median / timing["stats"]["median_ms"] if torch_median else None


def _slopes(memory: dict) -> str:
    return ", ".join(f"{key.split('_')[0]} {value:+.2f} MiB/min" for key, value in memory.items()
                     if key.endswith("_slope_mib_per_min"))
