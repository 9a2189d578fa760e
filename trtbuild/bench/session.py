"""Time one runner: create it, stage the input where it runs best, loop, summarise, sample memory."""

from __future__ import annotations

import numpy as np

from trtbuild.bench.loop import LoopConfig, run_loop
from trtbuild.bench.stability import MemorySampler, leak_report, sample_interval
from trtbuild.bench.stats import summarize
from trtbuild.bench.timer import timer_for
from trtbuild.recipe.schema import Recipe
from trtbuild.runners.base import Runner
from trtbuild.runners.factory import RunnerFiles, RunnerOptions, create_runner


def time_runner(name: str, recipe: Recipe, files: RunnerFiles, feed: dict[str, np.ndarray]) -> tuple[dict, list[float]]:
    """(timing record for the report, raw latencies in ms) for the recipe's bench settings."""
    spec = recipe.bench
    runner = create_runner(name, recipe, files, RunnerOptions(cuda_graph=spec.cuda_graph))
    with runner:
        return time_active_runner(runner, feed, LoopConfig(spec.warmup_s, spec.duration_s, spec.iterations),
                                  spec.leak_mib_per_min)


def time_active_runner(runner: Runner, feed: dict[str, np.ndarray], config: LoopConfig,
                       leak_mib_per_min: float) -> tuple[dict, list[float]]:
    staged = runner.device_feed(feed)
    sampler = MemorySampler(sample_interval(config.duration_s), gpu=runner.on_gpu())
    timer = timer_for(runner.on_gpu())
    result = run_loop(lambda: runner.timed_step(staged), timer, config, sampler)
    stats = summarize(result.latencies_ms, result.wall_s)
    record = {"runner": runner.name, "describe": runner.describe(), "mode": runner.timing_mode(), "timer": timer.name,
              "warmup_iterations": result.warmup_iterations, "wall_s": result.wall_s, "stats": stats.as_dict(),
              "unstable": stats.unstable, "memory": leak_report(sampler.samples, leak_mib_per_min)}
    return record, result.latencies_ms
