"""MPI through mpi4py: the import (with an install hint), the launch environment, whether MPI
may read CUDA memory, the datatype and op tables, and ending every rank when one fails."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np

INSTALL_HINT = ("gpuarr.distributed runs on MPI: `pip install 'gpuarr[mpi]'` (mpi4py and "
                "MPICH, which puts `mpirun` in the environment's bin/), then start the processes "
                "with `mpirun -n N python script.py`.")

# environment variables MPI launchers set in every process they start: (size, rank)
_LAUNCH_VARS = (("PMI_SIZE", "PMI_RANK"),                               # MPICH (hydra), Intel
                ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),       # Open MPI
                ("PMIX_SIZE", "PMIX_RANK"),                             # PMIx launchers
                ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"))         # MVAPICH

_MPI = None


def available() -> bool:
    """Whether mpi4py can be imported (without importing it: that starts MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


def mpi():
    """The ``mpi4py.MPI`` module (MPI is initialised on first import)."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI  # lazy: importing mpi4py initialises MPI
        except ImportError as e:
            raise RuntimeError(f"mpi4py is not installed ({e}). {INSTALL_HINT}") from e
        _MPI = MPI
    return _MPI


def launch_size() -> int | None:
    """The number of processes an MPI launcher started, from its environment (None: this
    process was not started by ``mpirun``/``mpiexec``). Does not import MPI."""
    for size, _ in _LAUNCH_VARS:
        v = os.environ.get(size)
        if v and v.isdigit():
            return int(v)
    return None


def launch_rank() -> int | None:
    """This process's rank from the launcher's environment (None when not launched)."""
    for _, rank in _LAUNCH_VARS:
        v = os.environ.get(rank)
        if v and v.isdigit():
            return int(v)
    return None


def cuda_aware() -> bool:
    """Whether MPI may be handed CUDA memory directly.

    ``GPUARR_MPI_CUDA_AWARE=1``/``0`` decides when set; otherwise the MPI library is asked
    (``MPI.Query_cuda_support()``, which mpi4py offers only where the library has it; MPICH
    from PyPI has not, so CUDA tensors go through host memory there).
    """
    env = os.environ.get("GPUARR_MPI_CUDA_AWARE")
    if env in ("0", "1"):
        return env == "1"
    query = getattr(mpi(), "Query_cuda_support", None)
    if query is None:
        return False
    try:
        return bool(query())
    except Exception:  # the library declined to answer
        return False


def float16_native() -> bool:
    """Whether float16 reductions run on MPI's own float16 type (MPICH's ``MPIX_C_FLOAT16``,
    which mpi4py calls ``FLOAT16_T``) rather than through a float32 staging buffer.

    MPI's type is used where the library has one: measured on MPICH it is as fast as staging or
    faster (see ``benchmarks/bench_distributed.py``), with no extra memory. Where it is missing
    (it is not a standard MPI type), float16 goes through float32.
    ``GPUARR_MPI_FLOAT16=stage`` or ``=native`` chooses.
    """
    MPI = mpi()
    has = getattr(MPI, "FLOAT16_T", MPI.DATATYPE_NULL) != MPI.DATATYPE_NULL
    return has and os.environ.get("GPUARR_MPI_FLOAT16", "native") != "stage"


_TYPES: dict = {}


def datatype(dt: np.dtype):
    """The MPI datatype reductions use for NumPy dtype ``dt``."""
    if not _TYPES:
        MPI = mpi()
        _TYPES.update({np.dtype(k): v for k, v in (
            (np.int8, MPI.INT8_T), (np.int16, MPI.INT16_T), (np.int32, MPI.INT32_T),
            (np.int64, MPI.INT64_T), (np.uint8, MPI.UINT8_T), (np.uint16, MPI.UINT16_T),
            (np.uint32, MPI.UINT32_T), (np.uint64, MPI.UINT64_T), (np.float32, MPI.FLOAT),
            (np.float64, MPI.DOUBLE))})
        f16 = getattr(MPI, "FLOAT16_T", MPI.DATATYPE_NULL)
        if f16 != MPI.DATATYPE_NULL:
            _TYPES[np.dtype(np.float16)] = f16
    return _TYPES[dt]


def op(name: str):
    """The MPI op for 'sum', 'prod', 'min', 'max', 'band', 'bor' or 'bxor'."""
    MPI = mpi()
    return {"sum": MPI.SUM, "prod": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX,
            "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}[name]


# ---- one failing rank ends them all --------------------------------------------------------

_previous_hook = None


def _abort_hook(tp, value, tb):
    """sys.excepthook while a multi-process group exists: print the traceback as usual, then
    MPI_Abort, which ends every rank of the job (the others would wait forever in their next
    collective)."""
    try:
        (_previous_hook or sys.__excepthook__)(tp, value, tb)
    finally:
        MPI = mpi()
        world = MPI.COMM_WORLD
        sys.stderr.write(f"[gpuarr.distributed] rank {world.Get_rank()} of "
                         f"{world.Get_size()}: uncaught {tp.__name__}; calling MPI_Abort to end "
                         "every rank of the job\n")
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except Exception:
                pass
        world.Abort(130 if issubclass(tp, KeyboardInterrupt) else 1)


def install_abort_hook() -> None:
    """Make an uncaught exception on this rank end the whole job (idempotent)."""
    global _previous_hook
    if sys.excepthook is not _abort_hook:
        _previous_hook = sys.excepthook
        sys.excepthook = _abort_hook


def remove_abort_hook() -> None:
    """Undo :func:`install_abort_hook` (when nothing replaced it since)."""
    global _previous_hook
    if sys.excepthook is _abort_hook:
        sys.excepthook = _previous_hook or sys.__excepthook__
    _previous_hook = None
