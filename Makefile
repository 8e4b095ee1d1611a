# gpuarr developer commands. `make test` and `make demo` work on a fresh machine:
# they create .venv and install gpuarr with its test extras first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv test demo bench notebooks lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m gpuarr.demo

bench: $(STAMP)
	$(PY) benchmarks/run.py --device cpu --out benchmarks/RESULTS.md

notebooks: $(STAMP)
	$(PY) notebooks/run_notebooks.py --inplace

lint: $(STAMP)
	$(VENV)/bin/ruff check gpuarr tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
