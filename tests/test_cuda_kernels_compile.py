"""Every CUDA kernel gpuarr declares compiles with NVRTC, for sm_90 and sm_80, every dtype and
array layout, on machines without a GPU (see ``tests/cuda_compile.py``).

The compile runs once, in one subprocess, with the REAL CuPy: ``tests/cupy_standin`` (the CuPy
stand-in the CUDA half of the suite may run on) is removed from that subprocess's PYTHONPATH.
Without the real CuPy or NVRTC the tests skip, or fail when ``GPUARR_REQUIRE_NVRTC=1`` (CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cuda_compile as cc
import pytest
from real_cupy_scripts import compile_sets, skip_or_fail_when_unavailable

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(cc.__file__).resolve()

BROKEN_SPECS = '''
from gpuarr.backends.cupy_kernels import ElementwiseSpec

SPECS = (
    ElementwiseSpec("broken_undeclared", "T g, T lr", "T p", "p -= lr * gg;",
                    dtypes=("float32",)),
    ElementwiseSpec("broken_type", "T g", "T p", "T *q = g;\\np = *q;", dtypes=("float64",)),
)
'''


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """One subprocess: gpuarr's kernels and the deliberately broken ones, as JSON."""
    broken = tmp_path_factory.mktemp("specs") / "broken_specs.py"
    broken.write_text(textwrap.dedent(BROKEN_SPECS))
    return compile_sets("--specs", cc.DEFAULT_SPECS, "--specs", f"{broken}:SPECS", timeout=600)


def test_gpuarr_kernels_compile_for_sm90_and_sm80(compiled):
    from gpuarr.backends.cupy_kernels import ELEMENTWISE

    results = compiled[cc.DEFAULT_SPECS]
    want = {(s.name, dt, nd, c, arch) for s in ELEMENTWISE for dt in s.dtypes
            for nd, c in cc.LAYOUTS for arch in cc.ARCHS}
    got = {(r["kernel"], r["dtype"], r["ndim"], r["contiguous"], r["arch"]) for r in results}
    assert got == want
    failures = [f"{r['kernel']} {r['dtype']} ndim={r['ndim']} {r['arch']}:\n{r['error']}"
                for r in results if not r["ok"]]
    assert not failures, "NVRTC rejected gpuarr kernels:\n" + "\n".join(failures)
    assert all(r["bytes"] > 0 for r in results)


def test_broken_kernels_fail_with_nvrtc_messages(compiled):
    (results,) = [v for k, v in compiled.items() if k != cc.DEFAULT_SPECS]
    by_kernel = {}
    for r in results:
        assert not r["ok"], r
        by_kernel.setdefault(r["kernel"], []).append(r["error"])
    assert set(by_kernel) == {"broken_undeclared", "broken_type"}
    assert all('identifier "gg" is undefined' in e for e in by_kernel["broken_undeclared"])
    assert all("cannot be used to initialize an entity of type" in e
               for e in by_kernel["broken_type"])


def test_generated_source_has_cupys_shape():
    """The generator alone (no CuPy needed): typedefs, CArray/CIndexer parameters, references
    to the array elements, scalars passed by value."""
    from gpuarr.backends.cupy_kernels import spec

    src = cc.kernel_source(spec("gpuarr_sgd"), "float32", 2, False)
    assert "#include <cupy/carray.cuh>" in src
    assert "typedef float T;" in src
    assert ('extern "C" __global__ void gpuarr_sgd(const CArray<float, 2, 0, 1> _raw_g, '
            "const float lr, const float wd, const float sign, CArray<float, 2, 0, 1> _raw_p, "
            "CIndexer<2, 1> _ind)") in src
    assert "const T &g = _raw_g[_ind.get()];" in src
    assert "T &p = _raw_p[_ind.get()];" in src
    src0 = cc.kernel_source(spec("gpuarr_sgd"), "float64", 0, True)
    assert "CArray<double, 0, 1, 1> _raw_p" in src0 and "CIndexer<0, 1> _ind" in src0


def test_standin_is_never_the_compiler(tmp_path):
    """The stand-in's folder (or a copy of it) is dropped from the path before CuPy loads."""
    assert cc.is_standin_dir(str(ROOT / "tests" / "cupy_standin"))
    assert not cc.is_standin_dir(str(ROOT / "tests"))
    assert cc.drop_standin([str(ROOT / "tests" / "cupy_standin"), str(ROOT)]) == [str(ROOT)]


def test_without_cupy_the_check_skips_or_fails(tmp_path, monkeypatch):
    """No real CuPy: the script exits 3 with the reason; the test skips, or fails under
    GPUARR_REQUIRE_NVRTC=1."""
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text("raise ImportError('no CuPy here')\n")
    env = cc.subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    proc = subprocess.run([sys.executable, str(SCRIPT), "--json"], cwd=str(ROOT), env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == cc.UNAVAILABLE_EXIT, proc.stderr
    doc = json.loads(proc.stdout)
    assert "no CuPy here" in doc["unavailable"]
    monkeypatch.delenv("GPUARR_REQUIRE_NVRTC", raising=False)
    with pytest.raises(pytest.skip.Exception, match="unavailable"):
        skip_or_fail_when_unavailable(doc)
    monkeypatch.setenv("GPUARR_REQUIRE_NVRTC", "1")
    with pytest.raises(pytest.fail.Exception, match="GPUARR_REQUIRE_NVRTC=1"):
        skip_or_fail_when_unavailable(doc)
