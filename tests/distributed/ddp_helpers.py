"""Helpers for the DDP / DistributedSampler / distributed-demo tests.

The MPI tests run only under ``mpirun -n 2`` (``test_ddp.py::test_mpi_suite_under_mpirun``
launches them from the ordinary run).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

WORLD = int(os.environ.get("PMI_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", "1")))
IN_MPI = WORLD > 1

requires_mpi = pytest.mark.skipif(
    not IN_MPI,
    reason="needs `mpirun -n 2` (test_ddp.py::test_mpi_suite_under_mpirun runs it that way)")
not_under_mpi = pytest.mark.skipif(
    IN_MPI, reason="launches mpirun itself; runs in the ordinary (non-MPI) test run")


def mpirun_path() -> str | None:
    """``mpirun`` next to this Python (the venv's mpich wheel), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if os.access(here, os.X_OK):
        return here
    return shutil.which("mpirun")


def mpi_env() -> dict:
    """Environment for an ``mpirun`` child: one BLAS thread per rank (2 ranks, 2 cores)."""
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = "1"
    for k in list(env):  # a parent started by mpirun must not leak its PMI wiring
        if k.startswith(("PMI_", "MPI_LOCAL", "OMPI_")):
            del env[k]
    return env


def get_dist():
    """:mod:`gpuarr.distributed`."""
    import gpuarr.distributed as dist

    return dist


def init_dist():
    """The initialized default process group's module (initialized once per process)."""
    dist = get_dist()
    if not dist.is_initialized():
        dist.init_process_group("mpi")
    return dist
