#!/usr/bin/env bash
# Issue 16's runtime measurements on the lent GPU machine (H200, PyTorch 2.11 + CUDA 13, no TensorRT, no network):
# benchmarks/runtime_overhead.py and examples/perception_pipeline.py, results to $OUT. The payload arrives as tar
# parts in /tmp/parts: wheels (onnxruntime-gpu 1.31.1, ultralytics 8.4.190, pydantic), engines/{yolo12n,depth}
# (engines.json + the FP16 ONNX of `trtbuild build RECIPE --until precision`), shared/ (the two checkpoints at the
# paths engines.json records, 64 COCO128 images).
set -uo pipefail
source "$(dirname "$0")/device_payload.sh"
[ -e /work/shared ] || { mkdir -p /work && ln -s /tmp/payload/shared /work/shared; }
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())" | tee -a "$OUT/gpu.txt"
E=/tmp/payload/engines; S=/tmp/payload/shared/assets/coco128/images/train2017
timeout 150 python3 benchmarks/runtime_overhead.py --detect $E/yolo12n --depth $E/depth --images $S --frames 64 \
    --passes 3 --out "$OUT/runtime_overhead_h200.json" 2>&1 | tee "$OUT/overhead.log"
timeout 400 python3 examples/perception_pipeline.py --source $S --detect $E/yolo12n --depth $E/depth --duration 30 \
    --json "$OUT/runtime_h200.json" 2>&1 | tee "$OUT/pipeline.log"
