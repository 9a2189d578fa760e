# trtbuild developer and CI entry points. `make setup` then `make test` on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RECIPES ?= yolo12n depth
# Checkpoints for the default recipes; override on the command line (make engines YOLO_WEIGHTS=...).
YOLO_WEIGHTS  ?= yolo12n.pt
DEPTH_WEIGHTS ?= depth_anything_v2_vits.pth

.PHONY: setup test test-gpu onnx engines bench clean

setup:  ## create .venv and install trtbuild with its test extras
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"

test:  ## the CPU test suite (GPU/TensorRT tests are skipped with their reason)
	$(BIN)/python -m pytest

test-gpu:  ## only the tests that need an NVIDIA GPU and TensorRT (run on a GPU host)
	$(BIN)/python -m pytest -m gpu

onnx:  ## every recipe to a checked ONNX (export -> simplify -> check)
	$(BIN)/trtbuild export yolo12n --weights $(YOLO_WEIGHTS)
	$(BIN)/trtbuild export depth --weights $(DEPTH_WEIGHTS)

engines:  ## every recipe end to end; exits 3 at the engine stage on a host without TensorRT
	$(BIN)/trtbuild build yolo12n --weights $(YOLO_WEIGHTS) --until engine
	$(BIN)/trtbuild build depth --weights $(DEPTH_WEIGHTS) --until engine

bench:  ## accuracy gates and latency for every recipe (TensorRT when present, else ONNX Runtime)
	$(BIN)/trtbuild bench yolo12n --weights $(YOLO_WEIGHTS)
	$(BIN)/trtbuild bench depth --weights $(DEPTH_WEIGHTS)

clean:  ## remove build outputs and the stage cache
	rm -rf engines/*/ .pytest_cache
	$(BIN)/trtbuild cache clean
