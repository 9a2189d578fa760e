"""ONNX Runtime's CUDA provider called five ways on one ONNX (issue 27's hot path), in one process on one GPU:

- `session.run` on numpy arrays: a plain session, as `trtbuild.load` called it before the runner bound buffers;
- the runner (`OnnxRuntimeRunner`) on host arrays (`infer`: pinned staging, IO binding, one stream synchronisation)
  and on device frames (`infer_device`: CUDA tensors in and out, no host synchronisation);
- the same two with `cuda_graph=True` (one CUDA graph per bound shape, replayed).

Each step is timed with CUDA events on the caller's stream (the step's outputs are ready there when the end event
fires), after warm-up; the host time of the call itself is kept beside it: a device step whose call returns well
before its events close did not make the host wait.

    .venv/bin/python benchmarks/onnxruntime_binding.py engines/yolo12n/yolo12n.fp16.onnx \
        --out benchmarks/results/onnxruntime_binding_yolo12n_h100.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path


def main() -> None:
    args = _parse()
    import numpy as np
    import onnxruntime as ort
    import torch

    from trtbuild.backends.registry import library_versions
    from trtbuild.core.host import host_summary
    from trtbuild.runners.onnxruntime_runner import BINDABLE, CPU_EP, CUDA_EP, OnnxRuntimeRunner

    plain = ort.InferenceSession(str(args.onnx), providers=[(CUDA_EP, {"device_id": str(args.device_id)}), CPU_EP])
    if plain.get_providers()[0] != CUDA_EP:
        raise SystemExit(f"onnxruntime {ort.__version__} gave {plain.get_providers()}: this measures its CUDA provider")
    rng = np.random.default_rng(0)
    host = {arg.name: rng.random(_shape(arg, args.batch), dtype=np.float32) for arg in plain.get_inputs()}
    exact = {arg.name: host[arg.name].astype(BINDABLE[arg.type]) for arg in plain.get_inputs()}  # session.run's dtype
    device = {name: torch.from_numpy(array).to(f"cuda:{args.device_id}") for name, array in host.items()}

    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "host": host_summary(library_versions()),
               "onnx": str(args.onnx), "inputs": {name: list(array.shape) for name, array in host.items()},
               "versions": {"onnxruntime": ort.__version__, "torch": torch.__version__},
               "device": torch.cuda.get_device_name(args.device_id), "warmup": args.warmup,
               "iterations": args.iterations, "modes": {}}
    results["modes"]["session.run, numpy"] = measure(lambda: plain.run(None, exact), args)
    for cuda_graph in (False, True):
        suffix = ", cuda graph" if cuda_graph else ""
        with OnnxRuntimeRunner(args.onnx, [CUDA_EP, CPU_EP], cuda_graph=cuda_graph, device_id=args.device_id) as runner:
            results["modes"][f"io binding, numpy{suffix}"] = measure(lambda: runner.infer(host), args, runner)
            results["modes"][f"io binding, device{suffix}"] = measure(lambda: runner.infer_device(device), args, runner)
    for mode, found in results["modes"].items():
        print(f"{mode:36s} median {found['device_ms']['median_ms']:7.3f} ms  p90 {found['device_ms']['p90_ms']:7.3f}"
              f" ms  host call {found['host_call_ms']['median_ms']:7.3f} ms", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


def measure(step, args, runner=None) -> dict:
    """CUDA-event times of `step` on the caller's stream and the host time of each call, after warm-up."""
    import torch

    from trtbuild.bench.stats import summarize
    from trtbuild.bench.timer import CudaEventTimer

    for _ in range(args.warmup):  # binds the shape (and captures its graph) on the first call
        step()
    torch.cuda.synchronize(args.device_id)
    timer, calls = CudaEventTimer(), []

    def call() -> None:
        start = time.perf_counter()
        step()
        calls.append((time.perf_counter() - start) * 1000)

    with torch.cuda.device(args.device_id):
        events = [timer.measure(call) for _ in range(args.iterations)]
    found = {"device_ms": summarize(events).as_dict(), "host_call_ms": summarize(calls).as_dict()}
    if runner is not None:
        found["describe"] = runner.describe()
    return found


def _shape(arg, batch: int) -> tuple[int, ...]:
    shape = tuple(batch if axis == 0 and not isinstance(d, int) else d for axis, d in enumerate(arg.shape))
    if not all(isinstance(d, int) for d in shape):
        raise SystemExit(f"input {arg.name} has shape {arg.shape}: only the batch axis may be symbolic here")
    return shape


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("onnx", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="JSON results")
    parser.add_argument("--batch", type=int, default=1, help="for a symbolic batch axis")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--device-id", type=int, default=0)
    return parser.parse_args()


if __name__ == "__main__":
    main()
