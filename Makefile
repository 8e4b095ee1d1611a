# gpuarr developer commands. `make test` and `make demo` work on a fresh machine:
# they create .venv and install gpuarr with its test extras first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

STANDIN := tests/cupy_standin

.PHONY: venv test test-cpu test-cuda-sim demo bench notebooks lint clean

# Installing gpuarr builds its optional C extension (setup.py) in place.
# The test environment includes the oracle (PyTorch 2.13, CPU build) and the real CuPy with
# NVRTC (imported only by the kernel-compile and CuPy-name checks; no GPU needed).
$(STAMP): pyproject.toml setup.py gpuarr/backends/_cpu_kernels.c Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q 'torch==2.13.0'
	touch $(STAMP)

venv: $(STAMP)

# The whole suite: the CPU half, then the CUDA half on the CuPy stand-in (one and two devices).
test: test-cpu test-cuda-sim

test-cpu: $(STAMP)
	bash ci/ensure_chromium.sh
	GPUARR_REQUIRE_NVRTC=1 GPUARR_REQUIRE_CUPY=1 GPUARR_REQUIRE_MPI=1 GPUARR_REQUIRE_CPU_KERNELS=1 \
		$(PY) -m pytest

test-cuda-sim: $(STAMP)
	PYTHONPATH=$(STANDIN) $(PY) -m pytest -p no:cacheprovider -k cuda
	PYTHONPATH=$(STANDIN) CUPY_SIM_NDEV=2 $(PY) -m pytest -p no:cacheprovider tests/test_multi_gpu.py \
		tests/test_multi_gpu_data_parallel.py

demo: $(STAMP)
	$(PY) -m gpuarr.demo

bench: $(STAMP)
	$(PY) benchmarks/run.py --device cpu --out benchmarks/RESULTS.md

notebooks: $(STAMP)
	$(PY) notebooks/run_notebooks.py --inplace

lint: $(STAMP)
	$(VENV)/bin/ruff check gpuarr tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache gpuarr/backends/_cpu_kernels*.so
