#!/usr/bin/env bash
# Issue 27's proof on the lent GPU machine (H100/H200, PyTorch 2.11 + CUDA 13, no TensorRT, no network), run from
# the repository root after the parts of benchmarks/gpu_payload.sh arrived in /tmp/parts. Everything lands in
# $OUT/gpu (logs and JSON; at most 8 files come back, so the logs are bundled into one tar at the end).
#   STEPS="versions tests binding overhead pipeline graphs" bash benchmarks/gpu_session.sh
set -uo pipefail
source "$(dirname "$0")/device_payload.sh"
R=$OUT/gpu; mkdir -p "$R"; E=/tmp/payload/engines; S=/tmp/payload/shared/assets/coco128/images/train2017
STEPS=${STEPS:-versions tests binding overhead pipeline graphs}
step() { [[ " $STEPS " == *" $1 "* ]]; }
if step versions; then
  { nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader
    python3 -c "import sys, torch, onnxruntime as o; print('python', sys.version.split()[0], '| torch', torch.__version__, \
'| cuda', torch.version.cuda, '| onnxruntime', o.__version__, o.get_available_providers())"
  } 2>&1 | tee "$R/versions.txt"
  timeout 120 python3 -m trtbuild doctor --json > "$R/doctor.json" 2>&1
fi
if step tests; then  # make test-gpu on the image's Python (not the lock: torch 2.11 here)
  PYTEST_ADDOPTS="-rA -p no:cacheprovider --junitxml=$R/test_gpu.xml" timeout 420 make test-gpu VENV=/opt/torch/.venv \
    > "$R/test_gpu.log" 2>&1; echo "make test-gpu exit $?" | tee -a "$R/test_gpu.log"; tail -30 "$R/test_gpu.log"
fi
if step binding; then
  for recipe in yolo12n depth; do
    timeout 120 python3 benchmarks/onnxruntime_binding.py $E/$recipe/$recipe.fp16.onnx \
      --out "$R/onnxruntime_binding_$recipe.json" 2>&1 | tail -12
  done
fi
if step overhead; then
  timeout 150 python3 benchmarks/runtime_overhead.py --detect $E/yolo12n --depth $E/depth --images $S --frames 64 \
    --passes 3 --out "$R/runtime_overhead_gpu.json" 2>&1 | tail -30
fi
pipeline() {  # NAME, then the example's options
  local name=$1; shift
  timeout 300 python3 examples/perception_pipeline.py --source $S --detect $E/yolo12n --depth $E/depth \
    --duration ${DURATION:-15} --json "$R/pipeline_$name.json" "$@" 2>&1 | tail -8
}
if step pipeline; then pipeline gpu; fi  # torch and auto, both layouts, load's defaults
if step graphs; then pipeline gpu_graph --runtimes auto --cuda-graph on; fi
