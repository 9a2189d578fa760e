"""YOLO12n + Depth-Anything-V2 on every frame of a video or image folder, the way a perception stack runs them.

Layouts: `one-process` (both Models in this process, each a `Model.stream`: frame N+1 prepared and N-1 decoded in
threads while N infers) and `workers` (the users' layout: a detection worker and a depth worker, started with
`spawn`, fed numpy frames by queues, returning boxes and (depth_map, depth_raw)). Runtimes: `torch` (the checkpoint,
eager PyTorch) and `auto` (what `trtbuild.load` picks here), in the same run, each layout and runtime in a fresh
process. On a GPU both prepare frames and post-process on it (`--prepare-on` picks where numpy frames are prepared).

Per model: inference p50/p90 and pre/post p50/p90 in ms, as the thread that runs each stage sees it (on a GPU the
device work a stage enqueues may finish inside the next one: `benchmarks/runtime_overhead.py` times them apart).
End to end: frames per second with both models, speed-up against `torch` in the same layout, and per process the
peak host RSS and the peak GPU memory (NVML's figure for this pid; else torch.cuda.memory_reserved, named as such).
With --duration the frames go round for that many seconds per run (a run costs about that plus loading), and each
process's memory slope is reported (the soak).

    python examples/perception_pipeline.py --source video.mp4 --detect engines/yolo12n --depth engines/depth
    python examples/perception_pipeline.py --source frames/ --duration 20 --json results.json
    python examples/perception_pipeline.py --source frames/ ... --layouts workers --runtimes auto --duration 600
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import multiprocessing
import os
import queue
import shlex
import sys
import time
import traceback
from array import array
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import trtbuild
from trtbuild.bench.stability import MemorySampler, leak_report, sample_interval
from trtbuild.bench.stats import summarize
from trtbuild.runtime.frames import iter_source
from trtbuild.runtime.stream import STAGES

LEAK_MIB_PER_MIN = 1.0
IN_FLIGHT = 4  # frames handed to the workers and not yet back


def main() -> None:
    args = _parse()
    load_before = os.getloadavg()  # this host's other work: CPU numbers on a busy host are slower
    runs = []
    for runtime in args.runtimes:
        for layout in args.layouts:
            # each run in a fresh process: its peak memory and GPU allocations are its own
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                run = pool.submit(LAYOUTS[layout], runtime, args).result()
            runs.append({"layout": layout, "runtime": runtime, **run})
            print(_line(runs[-1]), flush=True)
            if args.json:  # after every run: a run cut short by a time limit keeps the ones before it
                _write_json(args, runs, load_before)


def _write_json(args, runs: list, load_before: tuple) -> None:
    for run in runs:  # speed-up against eager PyTorch in the same layout
        torch_run = next((r for r in runs if r["layout"] == run["layout"] and r["runtime"] == "torch"), None)
        run["speedup_vs_torch"] = run["fps"] / torch_run["fps"] if torch_run else None
    args.json.parent.mkdir(parents=True, exist_ok=True)
    from trtbuild.backends.registry import library_versions
    from trtbuild.core.host import host_summary

    found = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "source": args.source,
             "host": host_summary(library_versions()), "load_average_1min": [load_before[0], os.getloadavg()[0]],
             "runs": runs}
    args.json.write_text(json.dumps(found, indent=1, default=str) + "\n")


def read_frames(args) -> list:
    return [frame for _, frame in itertools.islice(iter_source(args.source)[1], args.max_frames)]


def frame_source(frames: list, duration: float | None):
    """Every frame once, or the frames over and over for `duration` seconds."""
    if not duration:
        yield from frames
        return
    end = time.perf_counter() + duration
    for frame in itertools.cycle(frames):
        if time.perf_counter() >= end:
            return
        yield frame


def one_process(runtime: str, args) -> dict:
    frames = read_frames(args)
    threads = args.threads or os.cpu_count()
    models = {task: trtbuild.load(folder, runtime=runtime, threads=threads, **_load_settings(args))
              for task, folder in _folders(args)}
    for model in models.values():
        model.warmup()
    probe = Probe(args.duration)
    sources = itertools.tee(frame_source(frames, args.duration), len(models))
    streams = [m.stream(s, args.lookahead, timings=probe.timings[t]) for (t, m), s in zip(models.items(), sources)]
    start = time.perf_counter()
    count = 0
    for count, (_, depth) in enumerate(zip(*streams), 1):
        depth.depth_colormap()  # the users' depth_map, displayed beside the boxes
        probe.sample(start)
    wall = time.perf_counter() - start
    return {"models": {t: _describe(m) for t, m in models.items()}, "frames": count, "wall_s": wall,
            "fps": count / wall, **probe.report({"main": probe.memory()})}


def workers(runtime: str, args) -> dict:
    frames = read_frames(args)
    spawn = multiprocessing.get_context("spawn")  # CUDA's rule: never fork a process that may use the GPU
    threads = args.threads or max(1, os.cpu_count() // 2)  # two workers share the cores
    settings = {"runtime": runtime, "threads": threads, **_load_settings(args)}
    inboxes = {task: spawn.Queue() for task, _ in _folders(args)}
    outboxes = {task: spawn.Queue() for task in inboxes}
    procs = [spawn.Process(target=worker, args=(task, str(folder), settings, args.lookahead, args.duration,
                                                 inboxes[task], outboxes[task]), daemon=True)
             for task, folder in _folders(args)]
    for proc in procs:
        proc.start()
    described = {task: _receive(outboxes[task], procs) for task in inboxes}  # loaded and warmed up
    probe = Probe(args.duration)
    start, count, pending = time.perf_counter(), 0, 0
    for frame in itertools.chain(frame_source(frames, args.duration), [None]):
        for inbox in inboxes.values():
            inbox.put(frame)
        pending += frame is not None
        while pending and (pending >= IN_FLIGHT or frame is None):
            for outbox in outboxes.values():  # (boxes, scores, classes) and (depth_map, depth_raw)
                _receive(outbox, procs)
            pending, count = pending - 1, count + 1
            probe.sample(start)
    wall = time.perf_counter() - start
    reports = {task: _receive(outboxes[task], procs) for task in inboxes}
    for proc in procs:
        proc.join()
    for task, report in reports.items():
        probe.timings[task] = report["timings"]
    return {"models": described, "frames": count, "wall_s": wall, "fps": count / wall,
            **probe.report({**{task: r["memory"] for task, r in reports.items()}, "main": probe.memory()})}


def worker(task: str, folder: str, settings: dict, lookahead: int, duration: float | None, inbox, outbox) -> None:
    """One Model in its own process: numpy frames from `inbox` until None, results to `outbox` in order; a failure
    goes to `outbox` too, so the main process stops with it instead of waiting."""
    try:
        model = trtbuild.load(folder, **settings)
        model.warmup()
        outbox.put(_describe(model))
        probe = Probe(duration)
        start = time.perf_counter()
        for result in model.stream(_until_none(inbox), lookahead, timings=probe.timings[task]):
            outbox.put((result.boxes, result.scores, result.classes) if task == "detect"
                       else (result.depth_colormap(), result.depth))
            probe.sample(start)
        outbox.put({"timings": probe.timings[task], "memory": probe.memory()})
    except Exception:
        outbox.put(WorkerFailed(f"{task} worker: {traceback.format_exc()}"))


class WorkerFailed(str):
    """A worker's traceback, sent in place of its next result."""


def _receive(outbox, procs: list):
    """The worker's next item; its failure, or its death without a word (killed, out of memory), is raised."""
    while True:
        try:
            item = outbox.get(timeout=1.0)
        except queue.Empty:
            if dead := [p for p in procs if p.exitcode not in (None, 0)]:
                raise RuntimeError(f"worker {dead[0].name} died (exit code {dead[0].exitcode})") from None
            continue
        if isinstance(item, WorkerFailed):
            raise RuntimeError(item)
        return item


def _until_none(queue):
    while (frame := queue.get()) is not None:
        yield frame


class Probe:
    """Stage timings of each model and this process's memory over the run."""

    def __init__(self, duration: float | None):
        self.timings = {task: {stage: array("d") for stage in STAGES} for task in ("detect", "depth")}
        self.sampler = MemorySampler(sample_interval(duration or 60.0))
        self.gpu_peak_mib, self.gpu_source = None, None

    def sample(self, start: float) -> None:
        own = sum(len(values) * values.itemsize for stages in self.timings.values() for values in stages.values())
        count = len(self.sampler.samples)
        self.sampler.maybe_sample(time.perf_counter() - start, own)
        if len(self.sampler.samples) > count:
            self._sample_gpu()

    def _sample_gpu(self) -> None:
        used, self.gpu_source = process_gpu_mib()
        if used is not None:
            self.gpu_peak_mib = max(self.gpu_peak_mib or 0.0, used)

    def memory(self) -> dict:
        """Peak RSS, this process's peak GPU memory with its source, and the slope report of the run (its verdict
        needs a minute)."""
        self._sample_gpu()  # at least once, at the end of the run
        found = {"peak_rss_mib": _peak_rss_mib(), "gpu_peak_mib": self.gpu_peak_mib, "gpu_source": self.gpu_source}
        if len(self.sampler.samples) > 1:
            report = leak_report(self.sampler.samples, LEAK_MIB_PER_MIN)
            found.update({k: v for k, v in report.items() if k != "series"})
        return found

    def report(self, memory: dict) -> dict:
        stats = {task: {stage: summarize(list(values)).as_dict() for stage, values in stages.items() if values}
                 for task, stages in self.timings.items()}
        return {"latency_ms": stats, "memory": memory}


def _peak_rss_mib() -> float:
    """This process's high-water RSS (VmHWM; ru_maxrss would carry the parent's over a spawn's exec)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def _describe(model) -> dict:
    """What runs, as `load` chose it and as the runner reports it (the providers a session really got), and where
    frames are prepared."""
    return {"runtime": model.runtime, "why": model.why, "device": str(model.device), "prepare_on": model.prepare_on,
            "runner": model.runner.describe()}


def process_gpu_mib() -> tuple[float | None, str]:
    """(MiB, source) of this process's GPU memory. NVML's per-process figure counts everything the process holds on
    the GPU (CUDA context, torch, ONNX Runtime's arena, TensorRT); where NVML lists no process with this pid (a
    container's PID namespace) or cannot say, torch.cuda.memory_reserved, which counts torch's allocator only."""
    try:
        nvml = _nvml()
        used = [p.usedGpuMemory for i in range(nvml.nvmlDeviceGetCount())
                for p in nvml.nvmlDeviceGetComputeRunningProcesses(nvml.nvmlDeviceGetHandleByIndex(i))
                if p.pid == os.getpid()]
        if used and None not in used:
            return sum(used) / 2**20, "nvml (this pid)"
        why = f"NVML lists no process with pid {os.getpid()}" if not used else "NVML has no per-process figure here"
    except Exception as exc:  # no nvidia-ml-py, no driver, no GPU
        why = f"NVML unavailable ({type(exc).__name__}: {exc})"
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_initialized():
        return None, f"{why}; no CUDA context through torch in this process"
    reserved = sum(torch.cuda.memory_reserved(i) for i in range(torch.cuda.device_count()))
    return reserved / 2**20, f"torch.cuda.memory_reserved: torch's allocator only, not the CUDA context nor ONNX " \
                             f"Runtime's or TensorRT's memory ({why})"


@functools.cache
def _nvml():
    import pynvml  # nvidia-ml-py

    pynvml.nvmlInit()
    return pynvml


def _load_settings(args) -> dict:
    """`trtbuild.load`'s choices given on the command line (None: trtbuild's defaults)."""
    return {"prepare_on": args.prepare_on, "cuda_graph": {"on": True, "off": False, None: None}[args.cuda_graph]}


def _folders(args) -> list[tuple[str, Path]]:
    return [("detect", args.detect), ("depth", args.depth)]


def _line(run: dict) -> str:
    parts = [f"{run['layout']:<11} {run['runtime']:<5} {run['fps']:7.2f} FPS"]
    for task, stages in run["latency_ms"].items():
        s = {stage: stages[stage] for stage in STAGES}
        parts.append(f"{task} infer p50 {s['infer']['median_ms']:.1f} p90 {s['infer']['p90_ms']:.1f} (pre "
                     f"{s['prepare']['median_ms']:.1f}/{s['prepare']['p90_ms']:.1f} post {s['post']['median_ms']:.1f}/"
                     f"{s['post']['p90_ms']:.1f}) ms")
    peaks = ", ".join(f"{p}: {m['peak_rss_mib']:.0f}" for p, m in run["memory"].items())
    gpu = ", ".join(f"{p}: {m['gpu_peak_mib']:.0f}" for p, m in run["memory"].items() if m["gpu_peak_mib"] is not None)
    return " | ".join(parts) + f" | peak RSS MiB {peaks}" + (f" | GPU MiB {gpu}" if gpu else "")


LAYOUTS = {"one-process": one_process, "workers": workers}


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", required=True, help="a video file, an image folder or a glob")
    parser.add_argument("--detect", type=Path, default=Path("engines/yolo12n"), help="YOLO12n engine-set folder")
    parser.add_argument("--depth", type=Path, default=Path("engines/depth"), help="depth engine-set folder")
    parser.add_argument("--runtimes", nargs="+", default=["torch", "auto"], help="torch, auto, onnxruntime, engine")
    parser.add_argument("--layouts", nargs="+", default=["one-process", "workers"],
                        choices=["one-process", "workers"])
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds per run, the frames over and over (600: the 10-minute soak); default: each "
                             "frame once")
    parser.add_argument("--max-frames", type=int, default=256, help="frames read from the source (kept in memory)")
    parser.add_argument("--prepare-on", choices=["gpu", "cpu"], default=None,
                        help="where numpy frames are prepared when a model runs on a GPU (default: trtbuild's)")
    parser.add_argument("--cuda-graph", choices=["on", "off"], default=None,
                        help="engines and ONNX Runtime on a GPU replay CUDA graphs (default: trtbuild's); never torch")
    parser.add_argument("--lookahead", type=int, default=2,
                        help="Model.stream's frames prepared ahead in threads (0: no threads)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per Model (default: all cores in one process, half in each worker)")
    parser.add_argument("--json", type=Path, default=None, help="write the runs as JSON here")
    return parser.parse_args()


if __name__ == "__main__":
    main()
