"""pytest on every rank of an ``mpirun``: hooks and a fixture that test folders run under MPI
take into their ``conftest.py`` (``from mpi_ranks import *``).

``mpirun -n 2 python -m pytest tests/distributed`` starts pytest once per rank; each rank runs
the same tests in the same order (collection is deterministic; there is no randomness across
ranks). Only rank 0 writes to the terminal: the other ranks' reports go to
``$GPUARR_DIST_LOG_DIR/rank<r>.log`` (default: ``gpuarr-dist-<pid of mpirun's proxy>`` in the
temp folder), and a rank whose tests failed says so on stderr at the end. Around every test
all ranks check that they run the same test and meet again afterwards: a rank stuck in a
collective that another rank never reached ends the job (MPI_Abort) after
``GPUARR_DIST_TEST_TIMEOUT`` seconds (default 120) instead of hanging.

Outside ``mpirun`` (the ordinary run) all of it does nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import pytest

from gpuarr.distributed import _mpi

__all__ = ["pytest_configure", "pytest_report_header", "pytest_sessionfinish",
           "mpi_ranks_in_step"]

SIZE = _mpi.launch_size()
RANK = _mpi.launch_rank()
LAUNCHED = SIZE is not None and SIZE > 1
# one folder per job: the ranks of one node share their parent (mpirun's proxy)
LOG_DIR = os.environ.get("GPUARR_DIST_LOG_DIR") or os.path.join(
    tempfile.gettempdir(), f"gpuarr-dist-{os.getppid()}")
TIMEOUT = float(os.environ.get("GPUARR_DIST_TEST_TIMEOUT", "120"))


def _log_path(rank: int) -> str:
    return os.path.join(LOG_DIR, f"rank{rank}.log")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if not LAUNCHED or RANK == 0:
        return
    rep = config.pluginmanager.get_plugin("terminalreporter")
    if rep is None:
        return
    from _pytest.config import create_terminal_writer

    os.makedirs(LOG_DIR, exist_ok=True)
    fh = open(_log_path(RANK), "w", buffering=1)  # noqa: SIM115 (lives as long as the run)
    rep._tw = create_terminal_writer(config, fh)


def pytest_report_header(config):
    if LAUNCHED:
        return [f"gpuarr.distributed: {SIZE} MPI ranks; this is rank 0's report, the others "
                f"write theirs to {_log_path(1)} ..."]
    return None


def pytest_sessionfinish(session, exitstatus):
    if LAUNCHED and RANK != 0 and exitstatus not in (0, 5):
        sys.stderr.write(f"[rank {RANK}] pytest exit status {exitstatus}: see "
                         f"{_log_path(RANK)}\n")
        sys.stderr.flush()


def _world():
    from mpi4py import MPI

    return MPI


@pytest.fixture(autouse=True)
def mpi_ranks_in_step(request):
    """All ranks run the same test, and meet after it (or the job ends)."""
    if not LAUNCHED:
        yield
        return
    MPI = _world()
    world = MPI.COMM_WORLD
    ids = world.allgather(request.node.nodeid)
    if len(set(ids)) != 1:
        sys.stderr.write(f"[rank {RANK}] ranks run different tests: {ids}\n")
        world.Abort(3)
    yield
    req = world.Ibarrier()
    deadline = time.monotonic() + TIMEOUT
    while not req.Test():
        if time.monotonic() > deadline:
            sys.stderr.write(f"[rank {RANK}] {request.node.nodeid}: the other ranks did not "
                             f"finish it within {TIMEOUT:.0f} s; ending the job\n")
            sys.stderr.flush()
            world.Abort(4)
        time.sleep(0.0005)
