"""The CuPy stand-in's ``cupy.cuda.nccl``: CuPy 14.2's names and signatures, NCCL's results
(checked against NumPy), and its refusals (bad pointers, wrong device, destroyed communicator).

It runs over MPI, one simulated GPU per process: the tests in ``test_nccl_standin_mpi.py``
run under ``mpirun -n 2`` with the stand-in first on PYTHONPATH, which
``test_nccl_standin_under_mpirun`` launches from the ordinary run; ``test_without_libnccl``
checks ``CUPY_SIM_NO_NCCL=1`` in a plain subprocess.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpuarr.distributed import _mpi

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
STANDIN = TESTS / "cupy_standin"


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "OMPI_", "PMIX_", "MV2_", "HYDRA_"))}
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(STANDIN), str(ROOT), *parts])
    env.update(extra)
    return env


def test_nccl_standin_under_mpirun(tmp_path):
    if _mpi.launch_size() is not None:
        pytest.skip("already under mpirun")
    cand = Path(sys.executable).parent / "mpirun"
    mpirun = str(cand) if cand.exists() else shutil.which("mpirun")
    if mpirun is None or importlib.util.find_spec("mpi4py") is None:
        if os.environ.get("GPUARR_REQUIRE_MPI") == "1":
            pytest.fail("GPUARR_REQUIRE_MPI=1 but mpi4py/mpirun are missing", pytrace=False)
        pytest.skip("needs mpi4py and mpirun: pip install 'gpuarr[mpi]'")
    proc = subprocess.run(
        [mpirun, "-n", "2", sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o",
         "addopts=-q -rs", str(Path(__file__).with_name("test_nccl_standin_mpi.py"))],
        cwd=str(ROOT), env=_env(CUPY_SIM_NDEV="2", GPUARR_DIST_LOG_DIR=str(tmp_path)),
        capture_output=True, text=True, timeout=600)
    logs = "".join(p.read_text()[-4000:] for p in tmp_path.glob("rank*.log"))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:] + logs
    m = re.search(r"(\d+) passed", proc.stdout)
    assert m and int(m.group(1)) >= 20 and " failed" not in proc.stdout, proc.stdout


def test_without_libnccl():
    code = ("import warnings; warnings.simplefilter('ignore')\n"
            "from cupy.cuda import nccl\n"
            "print(nccl.available, hasattr(nccl, 'NcclCommunicator'))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(CUPY_SIM_NO_NCCL="1"),
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.split() == ["False", "False"]
