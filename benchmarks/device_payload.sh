# Sourced by the device scripts (device_run.sh, runtime_device.sh) on a lent GPU machine (PyTorch + CUDA image, no
# TensorRT, no network): unpack the payload that arrives as split tar parts in /tmp/parts, install its wheels beside
# the image's torch, and make the CUDA libraries of torch's nvidia wheels loadable.
cat /tmp/parts/part.* | tar xf - -C /tmp
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site /tmp/payload/wheels/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
site=$(python3 -c "import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))")
export LD_LIBRARY_PATH=$(ls -d "$site"/nvidia/*/lib | tr '\n' ':')${LD_LIBRARY_PATH:-}
