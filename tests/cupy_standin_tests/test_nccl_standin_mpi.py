"""The CuPy stand-in's ``cupy.cuda.nccl`` under ``mpirun -n 2`` with the stand-in first on
PYTHONPATH (``test_nccl_standin.py`` launches this from the ordinary run): CuPy 14.2's names and
signatures, NCCL's results against NumPy, and its refusals (bad pointers, another device's
memory, a destroyed communicator).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from gpuarr.distributed import _mpi

STANDIN = Path(__file__).resolve().parents[1] / "cupy_standin"


def _standin_is_cupy() -> bool:
    spec = importlib.util.find_spec("cupy")
    return bool(spec and spec.origin
                and Path(spec.origin).resolve().is_relative_to(STANDIN.resolve()))


if not ((_mpi.launch_size() or 1) > 1 and _standin_is_cupy()):
    pytest.skip("runs under mpirun with the CuPy stand-in (test_nccl_standin.py launches it)",
                allow_module_level=True)

import cupy
from cupy.cuda import nccl
from mpi4py import MPI

WORLD = MPI.COMM_WORLD
RANK, SIZE = WORLD.Get_rank(), WORLD.Get_size()


def _params(sigtext: str) -> list[str]:
    """Parameter names of a recorded Cython signature: '(self, intptr_t sendbuf, ...)'."""
    inner = sigtext.strip()[1:-1]
    return [p.split("=")[0].split()[-1] for p in inner.split(",") if p.strip()]


def test_names_and_signatures_are_cupys():
    meta = json.loads((STANDIN / "cupy_meta.json").read_text())
    mod = meta["cupy_backends.cuda.libs.nccl"]
    public = {n for n in dir(nccl) if not n.startswith("_")}
    assert public <= set(mod) | {"available"}
    assert {n for n in mod if not n.startswith("_")} <= public
    for name, sig in meta["NcclCommunicator"].items():
        if name.startswith("_") or sig is None:
            continue
        got = list(inspect.signature(getattr(nccl.NcclCommunicator, name)).parameters)
        want = _params(sig)
        assert got == want, (name, got, want)
    for name in ("NCCL_SUM", "NCCL_AVG", "NCCL_FLOAT16", "NCCL_BFLOAT16", "NCCL_UINT64"):
        assert mod[name]["kind"] == "value"
    assert (nccl.NCCL_SUM, nccl.NCCL_PROD, nccl.NCCL_MAX, nccl.NCCL_MIN, nccl.NCCL_AVG) == (
        0, 1, 2, 3, 4)
    assert (nccl.NCCL_INT8, nccl.NCCL_UINT8, nccl.NCCL_INT32, nccl.NCCL_UINT32, nccl.NCCL_INT64,
            nccl.NCCL_UINT64, nccl.NCCL_FLOAT16, nccl.NCCL_FLOAT32, nccl.NCCL_FLOAT64,
            nccl.NCCL_BFLOAT16) == tuple(range(10))


@pytest.fixture(scope="module")
def comm():
    uid = nccl.get_unique_id() if RANK == 0 else None
    uid = WORLD.bcast(uid, root=0)
    assert isinstance(uid, bytes) and len(uid) == 128
    c = nccl.NcclCommunicator(SIZE, uid, RANK)
    yield c
    c.destroy()


CODES = {"int8": 0, "uint8": 1, "int32": 2, "uint32": 3, "int64": 4, "uint64": 5,
         "float16": 6, "float32": 7, "float64": 8}


def _data(dtype, rank, n=6):
    rng = np.random.default_rng([rank, CODES[dtype]])
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(n) * 3).astype(dtype)
    lo = -4 if np.dtype(dtype).kind == "i" else 0
    return rng.integers(lo, 5, n).astype(dtype)


def _ref(xs, op):
    st = np.stack(xs)
    if op == "avg":
        if st.dtype.kind == "f":
            return np.add.reduce(st * st.dtype.type(1 / len(xs)), 0, dtype=st.dtype)
        s = np.add.reduce(st, 0, dtype=st.dtype)
        q = s // len(xs)
        if st.dtype.kind == "i":
            q += ((s % len(xs)) != 0) & (s < 0)
        return q
    f = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum}[op]
    return f.reduce(st, 0, dtype=st.dtype)


OPCODES = {"sum": 0, "prod": 1, "max": 2, "min": 3, "avg": 4}
STREAM = 0


@pytest.mark.parametrize("inplace", [True, False], ids=["inplace", "outofplace"])
@pytest.mark.parametrize("op", list(OPCODES))
@pytest.mark.parametrize("dtype", list(CODES))
def test_all_reduce(comm, dtype, op, inplace):
    a = cupy.asarray(_data(dtype, RANK))
    out = a if inplace else cupy.zeros_like(a)
    comm.allReduce(a.data.ptr, out.data.ptr, a.size, CODES[dtype], OPCODES[op],
                   cupy.cuda.get_current_stream().ptr)
    want = _ref([_data(dtype, r) for r in range(SIZE)], op)
    np.testing.assert_array_equal(out.get(), want)


def test_reduce_broadcast_bcast(comm):
    root = SIZE - 1
    a = cupy.asarray(_data("float32", RANK))
    out = cupy.zeros_like(a)
    comm.reduce(a.data.ptr, out.data.ptr, a.size, nccl.NCCL_FLOAT32, nccl.NCCL_MAX, root,
                STREAM)
    if RANK == root:
        np.testing.assert_array_equal(out.get(), _ref([_data("float32", r)
                                                       for r in range(SIZE)], "max"))
    else:
        assert (out.get() == 0).all()
    b = cupy.asarray(_data("int64", RANK))
    c = cupy.zeros_like(b)
    comm.broadcast(b.data.ptr, c.data.ptr, b.size, nccl.NCCL_INT64, 0, STREAM)
    np.testing.assert_array_equal(c.get(), _data("int64", 0))
    comm.bcast(b.data.ptr, b.size, nccl.NCCL_INT64, root, STREAM)
    np.testing.assert_array_equal(b.get(), _data("int64", root))


def test_all_gather_and_reduce_scatter(comm):
    a = cupy.asarray(_data("uint8", RANK, 4))
    out = cupy.zeros(4 * SIZE, cupy.uint8)
    comm.allGather(a.data.ptr, out.data.ptr, 4, nccl.NCCL_UINT8, STREAM)
    np.testing.assert_array_equal(out.get(), np.concatenate([_data("uint8", r, 4)
                                                             for r in range(SIZE)]))
    big = cupy.asarray(_data("float64", RANK, 3 * SIZE))
    mine = cupy.zeros(3)
    comm.reduceScatter(big.data.ptr, mine.data.ptr, 3, nccl.NCCL_FLOAT64, nccl.NCCL_SUM, STREAM)
    full = _ref([_data("float64", r, 3 * SIZE) for r in range(SIZE)], "sum")
    np.testing.assert_array_equal(mine.get(), full[RANK * 3:(RANK + 1) * 3])


def test_send_recv_in_a_group_both_ways(comm):
    nxt, prv = (RANK + 1) % SIZE, (RANK - 1) % SIZE
    a = cupy.arange(5, dtype=cupy.float32) + RANK
    b = cupy.zeros(5, cupy.float32)
    nccl.groupStart()
    comm.recv(b.data.ptr, 5, nccl.NCCL_FLOAT32, prv, STREAM)
    comm.send(a.data.ptr, 5, nccl.NCCL_FLOAT32, nxt, STREAM)
    nccl.groupEnd()
    np.testing.assert_array_equal(b.get(), np.arange(5, dtype=np.float32) + prv)
    with pytest.raises(nccl.NcclError, match="NCCL_ERROR_INVALID_USAGE"):
        nccl.groupEnd()


def test_a_view_inside_a_larger_array(comm):
    a = cupy.arange(10, dtype=cupy.int32)
    view = a[4:8]
    comm.allReduce(view.data.ptr, view.data.ptr, 4, nccl.NCCL_INT32, nccl.NCCL_SUM, STREAM)
    want = np.arange(10, dtype=np.int32)
    want[4:8] *= SIZE
    np.testing.assert_array_equal(a.get(), want)


def test_queries_and_split(comm):
    assert comm.rank_id() == RANK and comm.size() == SIZE and comm.device_id() == 0
    assert isinstance(comm.comm, int) and comm.comm != 0
    sub = comm.commSplit(0 if RANK == 0 else -1, 0)
    if RANK == 0:
        assert sub.size() == 1 and sub.rank_id() == 0
        sub.destroy()
    else:
        assert sub is None
    assert nccl.get_version() >= 22000 and nccl.get_build_version() >= 22000
    comm.check_async_error()


def test_refusals(comm):
    a = cupy.arange(4, dtype=cupy.float32)
    with pytest.raises(nccl.NcclError, match="NCCL_ERROR_INVALID_ARGUMENT") as ei:
        comm.allReduce(a.data.ptr, a.data.ptr, 5, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, STREAM)
    assert "not inside a live device array" in "".join(getattr(ei.value, "__notes__", []))
    host = np.zeros(4, np.float32)
    with pytest.raises(nccl.NcclError, match="INVALID_ARGUMENT"):
        comm.allReduce(host.ctypes.data, host.ctypes.data, 4, nccl.NCCL_FLOAT32, 0, STREAM)
    with pytest.raises(TypeError, match="integer"):
        comm.allReduce(a, a, 4, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, STREAM)
    with pytest.raises(NotImplementedError, match="bfloat16"):
        comm.allReduce(a.data.ptr, a.data.ptr, 4, nccl.NCCL_BFLOAT16, nccl.NCCL_SUM, STREAM)
    with pytest.raises(TypeError, match="bytes"):
        nccl.NcclCommunicator(SIZE, tuple(range(128)), RANK)
    # memory of another (simulated) GPU than the communicator's
    prev = cupy._sim_set_device_count(2)
    try:
        with cupy.cuda.Device(1):
            other = cupy.zeros(4, cupy.float32)
        with pytest.raises(nccl.NcclError, match="INVALID_ARGUMENT") as ei:
            comm.allReduce(other.data.ptr, other.data.ptr, 4, nccl.NCCL_FLOAT32, 0, STREAM)
        assert "memory of device 1" in "".join(getattr(ei.value, "__notes__", []))
    finally:
        cupy._sim_set_device_count(prev)


def test_destroyed_communicator_refuses():
    uid = WORLD.bcast(nccl.get_unique_id() if RANK == 0 else None, root=0)
    c = nccl.NcclCommunicator(SIZE, uid, RANK)
    c.destroy()
    assert c.comm == 0
    a = cupy.zeros(2, cupy.float32)
    with pytest.raises(nccl.NcclError, match="INVALID_ARGUMENT"):
        c.allReduce(a.data.ptr, a.data.ptr, 2, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, STREAM)
