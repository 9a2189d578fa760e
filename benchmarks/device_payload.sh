# Sourced by the device scripts on a lent GPU machine (PyTorch + CUDA image, no TensorRT, no network): unpack the
# payload of benchmarks/gpu_payload.sh that arrived as xz tar parts in /tmp/parts, put its packages (unpacked wheels) on the path beside
# the image's torch (onnxruntime-gpu shadows the image's CPU onnxruntime), make the CUDA libraries of torch's nvidia
# wheels loadable, and put the test data where engines.json and the tests look (/work/shared, ../shared).
if [ ! -d /tmp/payload ]; then
  cat /tmp/parts/part.* | python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)" \
    | tar xf - -C /tmp
fi
export PYTHONPATH=/tmp/payload/site:$PWD PYTHONUNBUFFERED=1
site=$(python3 -c "import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))")
export LD_LIBRARY_PATH=$(ls -d "$site"/nvidia/*/lib 2>/dev/null | tr '\n' ':')${LD_LIBRARY_PATH:-}
mkdir -p /work
[ -e /work/shared ] || ln -s /tmp/payload/shared /work/shared
[ -e ../shared ] || ln -s /tmp/payload/shared ../shared
