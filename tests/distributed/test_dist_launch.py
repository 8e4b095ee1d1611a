"""The MPI half of the suite, launched from the ordinary (non-MPI) test run.

``make test`` runs pytest once, not under ``mpirun``: the tests here start ``mpirun -n 2`` as a
subprocess (from the environment's bin/, where the ``mpi`` extra's MPICH puts it) and check that
it passed, so the collectives are tested without a separate make target:

* ``tests/distributed/test_dist_api.py`` and ``test_dist_collectives.py`` on the CPU;
* the same on ``device='cuda'`` with the CuPy stand-in first on PYTHONPATH, whose
  ``cupy.cuda.nccl`` runs NCCL's calls over MPI (``backend='nccl'``), and CUDA tensors over MPI;
* a rank that raises ends every rank within seconds;
* mismatched shapes under ``TORCH_DISTRIBUTED_DEBUG=DETAIL`` (and gpuarr's own variable) give a
  clear error on every rank.

Without mpi4py/mpirun these skip, or fail when ``GPUARR_REQUIRE_MPI=1`` (CI).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gpuarr.distributed import _mpi

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STANDIN = ROOT / "tests" / "cupy_standin"
OWN_FILES = [str(HERE / "test_dist_api.py"), str(HERE / "test_dist_collectives.py")]


def _mpirun() -> str:
    """mpirun of this environment (or PATH's); skip or fail when there is none."""
    if _mpi.launch_size() is not None:
        pytest.skip("already under mpirun: the launching tests run in the ordinary test run")
    cand = Path(sys.executable).parent / "mpirun"
    found = str(cand) if cand.exists() else shutil.which("mpirun")
    why = None
    if importlib.util.find_spec("mpi4py") is None:
        why = "mpi4py is not installed"
    elif found is None:
        why = "no mpirun next to the Python interpreter or on PATH"
    if why:
        msg = f"{why}: pip install 'gpuarr[mpi]' (mpi4py + MPICH)"
        if os.environ.get("GPUARR_REQUIRE_MPI") == "1":
            pytest.fail(f"GPUARR_REQUIRE_MPI=1 but {msg}", pytrace=False)
        pytest.skip(msg)
    return found


def _env(tmp_path, standin: bool = False, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "OMPI_", "PMIX_", "MV2_", "HYDRA_"))}
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
             if p and Path(p).resolve() != STANDIN.resolve()]
    env["PYTHONPATH"] = os.pathsep.join(([str(STANDIN)] if standin else []) + [str(ROOT)]
                                        + parts)
    env["GPUARR_DIST_LOG_DIR"] = str(tmp_path)
    env.pop("TORCH_DISTRIBUTED_DEBUG", None)
    env.pop("GPUARR_DISTRIBUTED_DEBUG", None)
    env.update(extra)
    return env


def run_pytest_under_mpirun(files: list[str], tmp_path, *, standin: bool, want: int,
                            select: str | None = None, no_skips: bool = False,
                            timeout: int = 900, **env_extra) -> None:
    """Run pytest on ``files`` under ``mpirun -n 2`` and fail unless it passes with at least
    ``want`` tests passed (and, with ``no_skips``, none skipped).

    Args:
        files: test files (every rank runs them all).
        tmp_path: where the ranks write their logs (shown on failure).
        standin: put the CuPy stand-in first on PYTHONPATH (a simulated GPU per rank).
        want: the least number of tests that must pass.
        select: a ``-k`` expression.
        no_skips: a skipped test fails the run too.
        timeout: seconds before the launch counts as hung.
        **env_extra: more environment variables for the ranks.
    """
    cmd = [_mpirun(), "-n", "2", sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
           "-o", "addopts=-q -rs", *files]
    if select:
        cmd += ["-k", select]
    try:
        proc = subprocess.run(cmd, cwd=str(ROOT), env=_env(tmp_path, standin, **env_extra),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        logs = _logs(tmp_path)
        pytest.fail(f"mpirun -n 2 pytest did not finish in {e.timeout} s\n{e.stdout}\n{logs}")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:] + _logs(tmp_path)
    m = re.search(r"(\d+) passed", proc.stdout)
    passed = int(m.group(1)) if m else 0
    assert passed >= want and " failed" not in proc.stdout, out[-4000:]
    assert not (no_skips and "skipped" in proc.stdout), out[-4000:]


def _logs(tmp_path) -> str:
    return "".join(f"\n==== {p.name} (tail) ====\n{p.read_text()[-6000:]}"
                   for p in sorted(Path(tmp_path).glob("rank*.log")))


def test_mpirun_collectives_cpu(tmp_path):
    """Both MPI test files, CPU tensors over MPI, two ranks."""
    run_pytest_under_mpirun(OWN_FILES, tmp_path, standin=False, want=101)


def test_mpirun_collectives_on_the_cupy_standin_nccl(tmp_path):
    """The same files with a (simulated) GPU per rank: CUDA tensors over the NCCL stand-in and
    over MPI (through host memory, and directly as with a CUDA-aware MPI)."""
    if not STANDIN.is_dir():
        pytest.skip("tests/cupy_standin is missing")
    run_pytest_under_mpirun(OWN_FILES, tmp_path, standin=True, want=101,
                            select="not cpu_mpi")


RAISING = textwrap.dedent("""
    import time
    import gpuarr
    import gpuarr.distributed as dist

    dist.init_process_group("mpi")
    if dist.get_rank() == 1:
        time.sleep(0.3)
        raise ValueError("rank 1 gives up")
    t = gpuarr.ones(4)
    dist.all_reduce(t)          # rank 0 waits here for a rank that is gone
    print("rank 0 finished the all_reduce", flush=True)
""")


def test_a_rank_that_raises_ends_every_rank(tmp_path):
    script = tmp_path / "raises.py"
    script.write_text(RAISING)
    t0 = time.monotonic()
    proc = subprocess.run([_mpirun(), "-n", "2", sys.executable, str(script)], cwd=str(ROOT),
                          env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert elapsed < 30, f"took {elapsed:.1f} s\n{out}"
    assert "ValueError: rank 1 gives up" in out
    assert "MPI_Abort" in out
    assert "rank 0 finished" not in out


MISMATCH = textwrap.dedent("""
    import gpuarr
    import gpuarr.distributed as dist

    dist.init_process_group("mpi")
    r = dist.get_rank()
    try:
        dist.all_reduce(gpuarr.ones(3 + r, 2))
    except RuntimeError as e:
        print(f"rank {r} caught: {e}", flush=True)
    dist.all_reduce(gpuarr.ones(2))          # the group still works
    dist.destroy_process_group()
""")


@pytest.mark.parametrize("var", ["TORCH_DISTRIBUTED_DEBUG", "GPUARR_DISTRIBUTED_DEBUG"])
def test_mismatched_shapes_with_the_debug_flag_fail_clearly_on_every_rank(tmp_path, var):
    script = tmp_path / "mismatch.py"
    script.write_text(MISMATCH)
    proc = subprocess.run([_mpirun(), "-n", "2", sys.executable, str(script)], cwd=str(ROOT),
                          env=_env(tmp_path, **{var: "DETAIL"}), capture_output=True,
                          text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for r in (0, 1):
        assert f"rank {r} caught: all_reduce: the ranks of group 'default_pg' called " \
               "collectives that do not match" in out, out
    assert out.count("shape=(3, 2)") == 2 and out.count("shape=(4, 2)") == 2, out


def test_one_process_without_mpirun(tmp_path):
    """``python script.py`` without mpirun is a world of one (MPI's singleton start)."""
    _mpirun()  # skips (or fails under GPUARR_REQUIRE_MPI=1) without mpi4py
    code = textwrap.dedent("""
        import sys
        import gpuarr, gpuarr.distributed as dist
        dist.init_process_group("mpi")
        x = gpuarr.arange(3.0)
        dist.all_reduce(x, op=dist.ReduceOp.AVG)
        outs = [gpuarr.zeros(3)]
        dist.all_gather(outs, x)
        dist.barrier()
        print(dist.get_rank(), dist.get_world_size(), x.tolist(), outs[0].tolist(),
              sys.excepthook is sys.__excepthook__)
        dist.destroy_process_group()
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), env=_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # one rank: nothing to abort, so the exception hook stays Python's
    assert out.stdout.split("\n")[0] == "0 1 [0.0, 1.0, 2.0] [0.0, 1.0, 2.0] True"


def test_extras_bring_mpi_and_nccl():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert {"mpi4py>=4", "mpich"} <= set(extras["mpi"]) <= set(extras["test"])
    assert any(r.startswith("nvidia-nccl-cu12") for r in extras["cuda12"])
    assert any(r.startswith("nvidia-nccl-cu13") for r in extras["cuda13"])
