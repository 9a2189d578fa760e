#!/usr/bin/env bash
# How the GPU results in benchmarks/results/ were produced on a lent H100 (PyTorch 2.11 + CUDA 13 image, no TensorRT,
# no network). The payload (onnxruntime-gpu, ultralytics, pydantic, onnxsim/onnxslim, onnxconverter-common wheels and
# the ../shared test data) arrives as split tar parts in /tmp/parts; results go to $OUT.
set -uo pipefail
source "$(dirname "$0")/device_payload.sh"
ln -sfn /tmp/payload/shared ../shared
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -m trtbuild doctor --json > "$OUT/doctor.json" 2>&1
python3 -m pytest -m gpu -q -p no:cacheprovider tests 2>&1 | tail -25 | tee "$OUT/pytest_gpu.txt"
python3 benchmarks/gpu_baselines.py --out "$OUT/h100.json" --precisions fp32 fp16 int8 --shared ../shared \
    --duration 5 --warmup 1 --work /tmp/gbw 2>&1 | tail -40 | tee "$OUT/gpu_baselines.log"
