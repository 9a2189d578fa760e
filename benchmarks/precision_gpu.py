"""FP32/FP16/INT8 ONNX graphs on ONNX Runtime's CUDA EP: median latency (IO binding, device-resident input and
output, with and without CUDA graphs) and accuracy vs PyTorch FP32 — real FP16/INT8 arithmetic, unlike ORT CPU.

Inputs: the ONNX files (e.g. engines/<model>/<model>.{fp32,fp16,int8}.onnx) and the reference bundle that
benchmarks/precision_cpu.py writes (model inputs + PyTorch FP32 CPU outputs), so only numpy, onnxruntime(-gpu) and
trtbuild.metrics (ultralytics for YOLO NMS/AP) are needed here. Without a CUDA EP it runs on CPU, labelled so.

    python benchmarks/precision_gpu.py --reference /tmp/precision_bench/yolo12n.reference.npz \
        fp32=yolo12n.fp32.onnx fp16=yolo12n.fp16.onnx int8=yolo12n.int8.onnx --out results.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from precision_reference import load_reference, median_ms  # noqa: E402

from trtbuild.precision.accuracy import task_accuracy  # noqa: E402


def session_for(path: Path, device: str, cuda_graph: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if device == "cuda":
        providers = [("CUDAExecutionProvider", {"enable_cuda_graph": "1" if cuda_graph else "0"})]
    else:
        providers = ["CPUExecutionProvider"]
    return ort.InferenceSession(str(path), options, providers=providers)


def bound_run(session: ort.InferenceSession, device: str, feed: dict[str, np.ndarray]):
    """A run() closure over IO binding with inputs and outputs resident on `device` (fixed addresses, as CUDA
    graphs require), plus the function that copies a new feed in place and returns the outputs on the host."""
    ort_device = "cuda" if device == "cuda" else "cpu"
    binding = session.io_binding()
    inputs = {name: ort.OrtValue.ortvalue_from_numpy(value, ort_device, 0) for name, value in feed.items()}
    for name, value in inputs.items():
        binding.bind_ortvalue_input(name, value)
    for output in session.get_outputs():
        binding.bind_output(output.name, ort_device)
    session.run_with_iobinding(binding)  # first run allocates outputs (and captures the CUDA graph)

    def run():
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()

    def infer(new_feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name, value in new_feed.items():
            inputs[name].update_inplace(value)
        run()
        return dict(zip([o.name for o in session.get_outputs()], binding.copy_outputs_to_cpu()))

    return run, infer


def measure(path: Path, device: str, cuda_graph: bool, feeds, reference, task: str, iterations: int) -> dict:
    session = session_for(path, device, cuda_graph)
    run, infer = bound_run(session, device, feeds[0])
    latency = median_ms(run, warmup=20, iterations=iterations)
    candidate = [infer(f) for f in feeds]
    return {"providers": session.get_providers(), "median_ms": latency,
            "accuracy_vs_pytorch_fp32": task_accuracy(task, reference, candidate)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graphs", nargs="+", help="label=path.onnx, e.g. fp16=yolo12n.fp16.onnx")
    parser.add_argument("--reference", type=Path, required=True, help="bundle from benchmarks/precision_cpu.py")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--max-images", type=int, default=None)
    args = parser.parse_args()

    cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    device = "cuda" if cuda else "cpu"
    task, feeds, reference = load_reference(args.reference)
    feeds, reference = feeds[: args.max_images], reference[: args.max_images]
    result = {"command": " ".join(map(shlex.quote, sys.argv)), "onnxruntime": ort.__version__, "device": device,
              "note": None if cuda else "NO CUDA EP: CPU fallback, not GPU numbers", "images": len(feeds), "graphs": {}}
    for item in args.graphs:
        label, _, path = item.partition("=")
        runs = {"cuda_graph_off": measure(Path(path), device, False, feeds, reference, task, args.iterations)}
        if cuda:  # CUDA graphs are a CUDA EP feature
            try:
                runs["cuda_graph_on"] = measure(Path(path), device, True, feeds, reference, task, args.iterations)
            except Exception as exc:  # ORT refuses graphs with CPU-placed nodes under CUDA graph capture
                runs["cuda_graph_on"] = {"error": " ".join(str(exc).split())[:300]}
        result["graphs"][label] = {"onnx": path, **runs}
        print(label, json.dumps(runs), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
