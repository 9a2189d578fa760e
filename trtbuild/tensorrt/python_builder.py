"""The Python-API builder shared by every TensorRT-family flavor: applies a BuildPlan to the bindings module it is
given (`tensorrt`, `tensorrt_rtx_bindings`). No decisions here (see plan.py); every name it touches is checked
against each supported version's manifest by tests/tensorrt, and it runs for real against TensorRT-RTX."""

from __future__ import annotations

import json
from pathlib import Path

from filelock import FileLock

from trtbuild.core.errors import StageFailed
from trtbuild.core.stale import write_atomically
from trtbuild.tensorrt.built_engine import BuiltEngine, Log
from trtbuild.tensorrt.dtypes import dtype_name
from trtbuild.tensorrt.parser_errors import parse_failure
from trtbuild.tensorrt.plan import BuildPlan
from trtbuild.tensorrt.progress import ProgressLines
from trtbuild.tensorrt.sidecar import IoTensor


def build_engine(trt, plan: BuildPlan, onnx: Path, log: Log, inspect: bool) -> BuiltEngine:
    """`inspect`: read the engine back (I/O and inspector JSON); needs a GPU the engine runs on."""
    logger = make_logger(trt, log)
    builder = trt.Builder(logger)
    network = builder.create_network(flag_bits(trt.NetworkDefinitionCreationFlag, plan.network_flags))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx)):  # from a file, so external-data weights resolve beside it
        lines, message = parse_failure(onnx.name, [parser.get_error(i) for i in range(parser.num_errors)])
        for line in lines:
            log(line)
        raise StageFailed(message)

    config = builder.create_builder_config()
    configure(trt, builder, config, plan)
    monitor = make_progress_monitor(trt, ProgressLines(log))
    config.progress_monitor = monitor  # kept referenced until the build returns
    if plan.timing_cache:
        load_timing_cache(config, plan.timing_cache, log)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        last = logger.errors[-1] if logger.errors else "no error was logged"
        raise StageFailed(f"engine: the builder could not build the engine: {last[:300]}")
    if plan.timing_cache:
        save_timing_cache(config, plan.timing_cache, log)
    blob = bytes(serialized)
    if not inspect:
        log("engine inspector skipped: reading an engine back needs a GPU it runs on; I/O from the parsed network")
        return BuiltEngine(blob, network_io(network, plan), None)
    io, info = inspect_engine(trt, logger, blob, plan)
    return BuiltEngine(blob, io, info)


def flag_bits(enum, names: tuple[str, ...]) -> int:
    bits = 0
    for name in names:
        bits |= 1 << int(getattr(enum, name))
    return bits


def configure(trt, builder, config, plan: BuildPlan) -> None:
    for pool, nbytes in plan.memory_pools.items():
        config.set_memory_pool_limit(getattr(trt.MemoryPoolType, pool), nbytes)
    for flag in plan.builder_flags:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    config.builder_optimization_level = plan.optimization_level
    if plan.hardware_compatibility is not None:
        config.hardware_compatibility_level = getattr(trt.HardwareCompatibilityLevel, plan.hardware_compatibility)
    if plan.compute_capabilities:
        config.num_compute_capabilities = len(plan.compute_capabilities)
        for index, member in enumerate(plan.compute_capabilities):
            if not config.set_compute_capability(getattr(trt.ComputeCapability, member), index):
                raise StageFailed(f"engine: the builder refused compute capability target {member}")
    config.profiling_verbosity = getattr(trt.ProfilingVerbosity, plan.profiling_verbosity)
    for spec in plan.profiles:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in spec.shapes.items():
            profile.set_shape(name, lo, opt, hi)
        if config.add_optimization_profile(profile) < 0:
            raise StageFailed(f"engine: TensorRT rejected the optimization profile {spec.shapes}")


def load_timing_cache(config, path: Path, log: Log) -> None:
    with FileLock(str(path) + ".lock"):
        data = path.read_bytes() if path.is_file() else b""
    cache = config.create_timing_cache(data)
    if not config.set_timing_cache(cache, False):
        log(f"timing cache {path} does not match this device; starting from an empty one")
        config.set_timing_cache(config.create_timing_cache(b""), False)
    else:
        log(f"timing cache: {path} ({len(data)} bytes)")


def save_timing_cache(config, path: Path, log: Log) -> None:
    """Merge into what is on disk now (another build may have saved meanwhile), then replace atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        merged = config.create_timing_cache(path.read_bytes() if path.is_file() else b"")
        merged.combine(config.get_timing_cache(), False)
        write_atomically(path, bytes(merged.serialize()))
    log(f"timing cache saved: {path}")


def inspect_engine(trt, logger, blob: bytes, plan: BuildPlan) -> tuple[list[IoTensor], dict]:
    runtime = trt.Runtime(logger)
    if plan.version_compatible:  # version-compatible plans embed the lean runtime they run with
        runtime.engine_host_code_allowed = True
    engine = runtime.deserialize_cuda_engine(blob)
    if engine is None:
        raise StageFailed("engine: the engine just built does not deserialize on this GPU (see the log)")
    io = [describe_tensor(trt, engine, engine.get_tensor_name(i)) for i in range(engine.num_io_tensors)]
    inspector = engine.create_engine_inspector()
    info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
    return io, info


def network_io(network, plan: BuildPlan) -> list[IoTensor]:
    """I/O as the parsed network declares it (no GPU needed); dynamic inputs carry the plan's profile."""
    ranges = {name: [list(d) for d in triple] for p in plan.profiles[:1] for name, triple in p.shapes.items()}
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    outputs = [network.get_output(i) for i in range(network.num_outputs)]
    return [IoTensor(name=t.name, mode=mode, dtype=dtype_name(t.dtype), shape=list(t.shape),
                     profile=ranges.get(t.name) if mode == "input" else None)
            for mode, tensors in (("input", inputs), ("output", outputs)) for t in tensors]


def describe_tensor(trt, engine, name: str) -> IoTensor:
    is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
    shape = list(engine.get_tensor_shape(name))
    profile = None
    if is_input and -1 in shape:
        profile = [list(dims) for dims in engine.get_tensor_profile_shape(name, 0)]
    return IoTensor(name=name, mode="input" if is_input else "output", dtype=dtype_name(engine.get_tensor_dtype(name)),
                    shape=shape, profile=profile)


def make_logger(trt, log: Log):
    """A trt.ILogger that writes to the stage log and keeps errors for the failure message."""

    class StageLogger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity, msg):
            if int(severity) > int(trt.ILogger.Severity.INFO):  # VERBOSE floods the log with tactic timings
                return
            label = severity.name if hasattr(severity, "name") else str(severity)
            log(f"[TRT] [{label}] {msg}")
            if int(severity) <= int(trt.ILogger.Severity.ERROR):
                self.errors.append(" ".join(str(msg).split()))

    return StageLogger()


def make_progress_monitor(trt, lines: ProgressLines):
    class ProgressMonitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name, parent_phase, num_steps):
            lines.phase_start(phase_name, parent_phase, num_steps)

        def step_complete(self, phase_name, step):
            return lines.step_complete(phase_name, step)

        def phase_finish(self, phase_name):
            lines.phase_finish(phase_name)

    return ProgressMonitor()
