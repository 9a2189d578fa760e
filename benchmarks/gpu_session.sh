#!/usr/bin/env bash
# Issue 27's proof on the lent GPU machine (H100/H200, PyTorch 2.11 + CUDA 13, no TensorRT, no network), run from
# the repository root after the parts of benchmarks/gpu_payload.sh arrived in /tmp/parts. Everything lands in
# $OUT/gpu (logs and JSON; at most 8 files come back, so the logs are bundled into one tar at the end).
#   STEPS="versions tests binding overhead ceiling workers one-process no-graph cpu-prepare" bash benchmarks/gpu_session.sh
set -uo pipefail
source "$(dirname "$0")/device_payload.sh"
R=$OUT/gpu; mkdir -p "$R"; E=/tmp/payload/engines; S=/tmp/payload/shared/assets/coco128/images/train2017
STEPS=${STEPS:-versions tests binding overhead ceiling workers one-process no-graph cpu-prepare}  # and soak
step() { [[ " $STEPS " == *" $1 "* ]]; }
if step versions; then
  { nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader
    python3 -c "import sys, torch, onnxruntime as o; print('python', sys.version.split()[0], '| torch', torch.__version__, \
'| cuda', torch.version.cuda, '| onnxruntime', o.__version__, o.get_available_providers())"
  } 2>&1 | tee "$R/versions.txt"
  timeout 120 python3 -m trtbuild doctor --json > "$R/doctor.json" 2> "$R/doctor.stderr"
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
# A run that hangs dumps every thread's stack to the log and exits instead of eating the call's time limit: the
# main process after FH_MAIN seconds, each run's process and worker after FH_CHILD.
mkdir -p /tmp/faulthandler
cat > /tmp/faulthandler/sitecustomize.py <<'PY'
import faulthandler, os
seconds = os.environ.pop("FH_MAIN", None) or os.environ.get("FH_CHILD")
if seconds:
    faulthandler.dump_traceback_later(float(seconds), exit=True)
PY
pipeline() {  # NAME, then the example's options; the JSON is rewritten after every run
  local name=$1; shift
  PYTHONPATH=/tmp/faulthandler:$PYTHONPATH FH_MAIN=${FH_MAIN:-280} FH_CHILD=${FH_CHILD:-120} \
    python3 examples/perception_pipeline.py --source $S --detect $E/yolo12n --depth $E/depth --max-frames 64 \
    --duration ${DURATION:-10} --json "$R/pipeline_$name.json" "$@" > "$R/pipeline_$name.log" 2>&1
  grep -v "plugin EP device" "$R/pipeline_$name.log" | tail -40
}
if step ceiling; then  # the two-worker layout without models: what the queues alone allow on this host
  python3 benchmarks/queue_ceiling.py --source $S --out "$R/queue_ceiling.json"
fi
if step workers; then pipeline workers --layouts workers; fi  # torch and auto: load's defaults
if step one-process; then pipeline one_process --layouts one-process; fi
if step no-graph; then pipeline workers_no_graph --layouts workers --runtimes auto --cuda-graph off; fi
if step cpu-prepare; then pipeline workers_cpu_prepare --layouts workers --runtimes auto --prepare-on cpu; fi
if step soak; then  # the users' "stable for 10 minutes", as long as one call allows: memory slopes per process
  SOAK=${SOAK:-540}; DURATION=$SOAK FH_MAIN=$((SOAK + 50)) FH_CHILD=$((SOAK + 40)) \
    pipeline workers_soak --layouts workers --runtimes auto
fi
