#!/usr/bin/env bash
# Builds the payload for the lent GPU machine (PyTorch 2.11 + CUDA 13 image, no network): the packages it lacks, the
# FP16 engine sets of both recipes (`trtbuild build RECIPE --until precision`) and the test data, as one xz tar split
# into 58 MiB parts under .payload/ (ignored by git). Each part travels with one `run` call (carry .payload/part.NN),
# back to back on one warm machine; benchmarks/device_payload.sh unpacks them there.
#   bash benchmarks/gpu_payload.sh [../shared]
set -euo pipefail
SHARED=$(realpath "${1:-../shared}")
WORK=/tmp/trtbuild-payload; rm -rf "$WORK"; mkdir -p "$WORK/wheels" "$WORK/payload/site" "$WORK/payload/shared"
grep -qx '/.payload/' .git/info/exclude 2>/dev/null || echo '/.payload/' >> .git/info/exclude
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 \
  -d "$WORK/wheels" onnxruntime-gpu==1.31.1 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types \
  typing-inspection ultralytics==8.4.190 ultralytics-thop ultralytics-platform colorama onnxsim==0.8.1 \
  onnxslim==0.1.98 onnxconverter-common==1.16.0 nvidia-ml-py
for wheel in "$WORK"/wheels/*.whl; do  # unpacked: xz then shrinks the CUDA provider (zip-compressed: 255 -> 200 MB)
  python3 -m zipfile -e "$wheel" "$WORK/payload/site"
done
export TRTBUILD_CACHE_DIR="$WORK/cache"
.venv/bin/trtbuild build yolo12n --weights "$SHARED/assets/yolo12n-coco128.pt" --until precision --out "$WORK/built"
.venv/bin/trtbuild build depth --weights "$SHARED/reference/depth_anything_v2_vits_seeded.pth" --until precision \
  --out "$WORK/built"
for recipe in yolo12n depth; do  # the set as `load` reads it: engines.json and the FP16 candidate it picks on CUDA
  mkdir -p "$WORK/payload/engines/$recipe"
  cp "$WORK/built/$recipe/engines.json" "$WORK/built/$recipe/$recipe.fp16.onnx" "$WORK/payload/engines/$recipe/"
done
mkdir -p "$WORK/payload/shared/assets" "$WORK/payload/shared/reference"
cp -r "$SHARED/assets/coco128" "$SHARED/assets/coco8" "$SHARED/assets/yolo12n-coco128.pt" "$WORK/payload/shared/assets/"
cp "$SHARED/reference/depth_anything_v2_vits_seeded.pth" "$SHARED/reference/depth_anything_v2_vits_reference_io.pt" \
  "$WORK/payload/shared/reference/"
rm -rf .payload; mkdir .payload
tar cf - -C "$WORK" payload | xz -T0 -6 | split -b 58M -d - .payload/part.
# core.tar.xz: pydantic alone (2 MB), enough for the torch-only GPU tests (engine runner on the stand-in bindings,
# device I/O), so the first call to a machine proves the runner while the parts still travel
mkdir -p "$WORK/core"
for wheel in "$WORK"/wheels/{pydantic,pydantic_core,annotated_types,typing_inspection}-*.whl; do
  python3 -m zipfile -e "$wheel" "$WORK/core/site"
done
tar cf - -C "$WORK/core" site | xz -T0 -6 > .payload/core.tar.xz
ls -l .payload
