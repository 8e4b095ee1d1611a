"""Inputs and NumPy references for the collective tests: every rank can compute every other
rank's input (seeded by the test and the rank), so each checks its results alone."""

from __future__ import annotations

import numpy as np
import pytest

import gpuarr
from gpuarr.distributed import _mpi

LAUNCHED = (_mpi.launch_size() or 1) > 1
SKIP_REASON = ("needs an MPI launch: `mpirun -n 2 python -m pytest tests/distributed` "
               "(tests/distributed/test_dist_launch.py runs it in the ordinary test run)")

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64", "bool"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
ASYNC = pytest.mark.parametrize("async_op", [False, True], ids=["sync", "async"])


def use_own_gpu() -> None:
    """Each rank on its own CUDA device where there are enough (NCCL refuses two ranks on one
    GPU); the CuPy stand-in simulates one GPU per process."""
    if gpuarr.cuda.is_available():
        gpuarr.cuda.set_device((_mpi.launch_rank() or 0) % gpuarr.cuda.device_count())


def nccl_usable() -> tuple[bool, str]:
    """(usable, why not) for NCCL tests with this launch."""
    import sys

    import gpuarr.distributed as dist

    if not dist.is_nccl_available():
        return False, ("needs NCCL: runs on the CuPy stand-in (PYTHONPATH=tests/cupy_standin) "
                       "or on GPUs with nvidia-nccl-cu12")
    standin = getattr(sys.modules.get("cupy"), "_IS_STANDIN", False)
    n = _mpi.launch_size() or 1
    if not standin and gpuarr.cuda.device_count() < n:
        return False, f"NCCL needs one GPU per rank: {n} ranks, " \
                      f"{gpuarr.cuda.device_count()} GPU(s)"
    return True, ""


def make(dtype: str, shape, rank: int, seed: int = 0) -> np.ndarray:
    """Rank ``rank``'s input: small values, so that products stay readable."""
    rng = np.random.default_rng([seed, rank, DTYPES.index(dtype)])
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 3).astype(dt)
    if dt.kind == "i":
        return rng.integers(-4, 5, shape).astype(dt)
    return rng.integers(0, 6, shape).astype(dt)


def ref_reduce(xs: list[np.ndarray], op: str) -> np.ndarray:
    """The reduction of the ranks' inputs, with gpuarr's (torch's) semantics."""
    st = np.stack(xs)
    n = len(xs)
    if st.dtype == np.bool_:
        if op in ("SUM", "MAX", "BOR"):
            return st.any(0)
        if op in ("PRODUCT", "MIN", "BAND"):
            return st.all(0)
        return np.logical_xor.reduce(st, 0)
    if op == "AVG":
        s = np.add.reduce(st, 0, dtype=st.dtype)
        if st.dtype.kind == "f":
            return (s / st.dtype.type(n)).astype(st.dtype)
        q = s // st.dtype.type(n)
        if st.dtype.kind == "i":
            q = q + (((s % n) != 0) & (s < 0)).astype(st.dtype)
        return q
    f = {"SUM": np.add, "PRODUCT": np.multiply, "MIN": np.minimum, "MAX": np.maximum,
         "BAND": np.bitwise_and, "BOR": np.bitwise_or, "BXOR": np.bitwise_xor}[op]
    return f.reduce(st, 0, dtype=st.dtype)


def expected_error(dtype: str, op: str, nccl: bool):
    """(exception type, message) the reduction raises, or None."""
    kind = np.dtype(dtype).kind
    if op in ("BAND", "BOR", "BXOR"):
        if nccl:
            return ValueError, f"Cannot use ReduceOp.{op} with NCCL"
        if kind == "f":
            return ValueError, f"Cannot use ReduceOp.{op} with {dtype}"
    if kind == "b" and op == "AVG":
        return TypeError, "Cannot use ReduceOp.AVG with boolean inputs"
    return None


def assert_matches(got: np.ndarray, want: np.ndarray, op: str = "SUM") -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
    if got.dtype.kind == "f":
        tol = {2: 2e-3, 4: 1e-6, 8: 1e-12}[got.dtype.itemsize]
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol,
                                   atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def tensor(a: np.ndarray, device: str):
    return gpuarr.tensor(a, device=device)
