#!/usr/bin/env bash
# Runs gpuarr's checks on a CUDA machine: the test suite's CUDA half (the `device` fixture adds
# 'cuda' when a GPU is usable), the notebooks with GPUARR_DEVICE=cuda, then the GPU benchmarks.
# Expects Python with CuPy, NumPy, pytest, hypothesis, Pillow, tensorboard and PyTorch installed
# (nbclient + ipykernel for the notebooks); installs nothing and needs no network.
# Usage: bash ci/gpu.sh [OUTDIR]     (results and logs are written to OUTDIR, default ci-out/)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-ci-out}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 GPUARR_TEST_CUDA=1

python -c "import gpuarr, sys; ok = gpuarr.cuda.is_available(); \
print('cuda available:', ok, gpuarr.cuda.unavailable_reason()); sys.exit(0 if ok else 1)" \
  || { echo "gpu.sh: no usable CUDA device"; exit 1; }

# The CPU half of every test runs in CI; here run what only a GPU can: every test whose
# `device` parameter is 'cuda' (ids like test_x[cuda-...]) and the CUDA-only tests.
python -m pytest -q -p no:cacheprovider -k "cuda or multi_gpu" tests 2>&1 | tee "$out/pytest.log"
test_rc=${PIPESTATUS[0]}

nb_rc=0
if python -c "import nbclient, ipykernel" 2>/dev/null; then
  GPUARR_DEVICE=cuda python notebooks/run_notebooks.py 2>&1 | tee "$out/notebooks.log"
  nb_rc=${PIPESTATUS[0]}
else
  echo "notebooks: nbclient/ipykernel missing on this machine (bring them as wheels)"
  nb_rc=1
fi

python benchmarks/run.py --device cuda --out "$out/RESULTS-cuda.md" 2>&1 | tee "$out/bench.log"
bench_rc=${PIPESTATUS[0]}

summary=$(grep -E "^[0-9]+ (passed|failed)|passed|failed" "$out/pytest.log" | tail -n 1)
echo "gpu.sh summary: tests rc=$test_rc ($summary); notebooks rc=$nb_rc; benchmarks rc=$bench_rc"
[ "$test_rc" -eq 0 ] && [ "$nb_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
