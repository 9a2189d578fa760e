# trtbuild developer and CI entry points. `make setup` then `make test` on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RECIPES ?= yolo12n depth
# Checkpoints for the default recipes; override on the command line (make engines YOLO_WEIGHTS=...).
YOLO_WEIGHTS  ?= yolo12n.pt
DEPTH_WEIGHTS ?= depth_anything_v2_vits.pth
# Images for check, accuracy and verify (int8 calibrates on the YAML's train split): packaged recipes name none, so
# this checkout passes its ../shared test data; any Ultralytics dataset YAML or image folder works (YOLO_DATA=...).
YOLO_DATA  ?= ../shared/assets/coco128/coco128.yaml
# Depth gets COCO128 too: COCO8's 4 val images cannot make AbsRel or delta1 mean anything (docs/depth_images.md).
DEPTH_DATA ?= ../shared/assets/coco128/coco128.yaml

.PHONY: setup lock test test-long test-matrix test-gpu onnx engines bench bench-build clean

setup:  ## create .venv with exactly requirements.lock (hash-checked), then trtbuild itself as an editable install
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .

lock:  ## re-resolve pyproject.toml (extras test, rtx, dev, farm) into requirements.lock; LOCK_FLAGS=--upgrade for newest
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --extra test --extra rtx --extra dev --extra farm --constraint lock-constraints.txt $(LOCK_FLAGS) \
	  --output-file requirements.lock pyproject.toml

test:  ## the CPU test suite without the long real-data runs (GPU/TensorRT tests are skipped with their reason)
	$(BIN)/python -m pytest -m "not long"

test-long:  ## only the long real-data runs (INT8 searches on real models and data; CI runs them after make test)
	$(BIN)/python -m pytest -m long

test-matrix:  ## the suite under the lowest and highest torch/torchvision/onnxruntime pyproject.toml allows (/tmp venvs)
	$(BIN)/python benchmarks/test_matrix.py --out benchmarks/results/test_matrix.json

test-gpu:  ## only the tests that need an NVIDIA GPU and TensorRT (run on a GPU host)
	$(BIN)/python -m pytest -m gpu

onnx:  ## every recipe to a checked ONNX (export -> simplify -> check)
	$(BIN)/trtbuild export yolo12n --weights $(YOLO_WEIGHTS) --data $(YOLO_DATA)
	$(BIN)/trtbuild export depth --weights $(DEPTH_WEIGHTS) --data $(DEPTH_DATA)

engines:  ## every recipe to an engine: full TensorRT on a GPU host, else TensorRT-RTX (builds on any CPU)
	$(BIN)/trtbuild build yolo12n --weights $(YOLO_WEIGHTS) --data $(YOLO_DATA) --until engine
	$(BIN)/trtbuild build depth --weights $(DEPTH_WEIGHTS) --data $(DEPTH_DATA) --until engine

bench-build:  ## engine build time, peak RSS, size and stage overhead vs a bare builder call (TensorRT-RTX, CPU)
	$(BIN)/python benchmarks/engine_build.py --out benchmarks/results/engine_build_cpu.json

bench:  ## accuracy gates and latency for every recipe (TensorRT when present, else ONNX Runtime)
	$(BIN)/trtbuild bench yolo12n --weights $(YOLO_WEIGHTS) --data $(YOLO_DATA)
	$(BIN)/trtbuild bench depth --weights $(DEPTH_WEIGHTS) --data $(DEPTH_DATA)

clean:  ## remove build outputs and the stage cache
	rm -rf engines/*/ .pytest_cache
	$(BIN)/trtbuild cache clean
