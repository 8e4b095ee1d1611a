"""Every collective against a NumPy reference, for every dtype and reduction, sync and async,
on every engine this machine has: CPU tensors over MPI; CUDA tensors over MPI through host
memory, over MPI directly (``GPUARR_MPI_CUDA_AWARE=1``) and over NCCL. Without a GPU the CUDA
configurations run on the CuPy stand-in (``PYTHONPATH=tests/cupy_standin``), whose
``cupy.cuda.nccl`` runs NCCL's calls over MPI.

Run under MPI: ``mpirun -n 2 python -m pytest tests/distributed`` (any number of ranks works).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest
from dist_helpers import (
    ASYNC,
    DTYPES,
    LAUNCHED,
    OPS,
    SKIP_REASON,
    assert_matches,
    expected_error,
    host,
    make,
    nccl_usable,
    ref_reduce,
    tensor,
    use_own_gpu,
)

if not LAUNCHED:
    pytest.skip(SKIP_REASON, allow_module_level=True)

import gpuarr
import gpuarr.distributed as dist

CONFIGS = [("cpu_mpi", "mpi", "cpu", None)]
if gpuarr.cuda.is_available():
    use_own_gpu()
    CONFIGS += [("cuda_mpi", "mpi", "cuda", "0"), ("cuda_mpi_aware", "mpi", "cuda", "1")]
    if nccl_usable()[0]:
        CONFIGS += [("cuda_nccl", "nccl", "cuda", None)]


@pytest.fixture(scope="module", params=CONFIGS, ids=[c[0] for c in CONFIGS])
def cfg(request):
    name, backend, device, aware = request.param
    old = os.environ.get("GPUARR_MPI_CUDA_AWARE")
    if aware is not None:
        os.environ["GPUARR_MPI_CUDA_AWARE"] = aware
    dist.init_process_group(backend)
    yield SimpleNamespace(name=name, backend=backend, device=device, nccl=backend == "nccl",
                          rank=dist.get_rank(), n=dist.get_world_size())
    dist.destroy_process_group()
    if old is None:
        os.environ.pop("GPUARR_MPI_CUDA_AWARE", None)
    else:
        os.environ["GPUARR_MPI_CUDA_AWARE"] = old


def _finish(work, async_op):
    if async_op:
        assert isinstance(work, dist.Work)
        assert work.wait() is True
        assert work.is_completed() and work.is_success() and work.exception() is None
    else:
        assert work is None


# ---- all_reduce --------------------------------------------------------------------------------


@ASYNC
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_all_reduce(cfg, dtype, op, async_op):
    shape = (3, 5)
    x = tensor(make(dtype, shape, cfg.rank), cfg.device)
    err = expected_error(dtype, op, cfg.nccl)
    if err is not None:
        with pytest.raises(err[0], match=err[1]):
            dist.all_reduce(x, op=getattr(dist.ReduceOp, op), async_op=async_op)
        return
    ptr, v0 = x.data_ptr(), x._version_value()
    work = dist.all_reduce(x, op=getattr(dist.ReduceOp, op), async_op=async_op)
    _finish(work, async_op)
    assert x.data_ptr() == ptr and x._version_value() > v0  # in place, version bumped
    want = ref_reduce([make(dtype, shape, r) for r in range(cfg.n)], op)
    assert_matches(host(x), want, op)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int64"])
def test_all_reduce_integer_sums_wrap_and_avg_truncates(cfg, dtype):
    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, 7, -7 if info.min < 0 else 7, 0, 1], dtype=dtype)
    x, y = tensor(a, cfg.device), tensor(a, cfg.device)
    dist.all_reduce(x)
    dist.all_reduce(y, op=dist.ReduceOp.AVG)
    xs = [a] * cfg.n
    assert_matches(host(x), ref_reduce(xs, "SUM"))
    assert_matches(host(y), ref_reduce(xs, "AVG"))


@pytest.mark.parametrize("mode", ["native", "stage"])
@pytest.mark.parametrize("op", ["SUM", "AVG", "PRODUCT", "MIN", "MAX"])
def test_float16_through_mpis_type_and_through_float32(cfg, op, mode, monkeypatch):
    """Over MPI, float16 uses MPI's float16 type where the library has one, else a float32
    buffer (GPUARR_MPI_FLOAT16 picks): both give the reference."""
    if cfg.nccl:
        pytest.skip("NCCL reduces float16 natively")
    monkeypatch.setenv("GPUARR_MPI_FLOAT16", mode)
    red = getattr(dist.ReduceOp, op)
    xs = [make("float16", (4, 3), r, seed=12) for r in range(cfg.n)]
    a = tensor(xs[cfg.rank], cfg.device)
    dist.all_reduce(a, op=red)
    assert_matches(host(a), ref_reduce(xs, op))
    out = gpuarr.zeros(3, dtype=gpuarr.float16, device=cfg.device)
    big = tensor(np.concatenate([xs[cfg.rank].reshape(-1)] * cfg.n)[:3 * cfg.n], cfg.device)
    dist.reduce_scatter_tensor(out, big, op=red, async_op=True).wait()
    full = ref_reduce([np.concatenate([x.reshape(-1)] * cfg.n)[:3 * cfg.n] for x in xs], op)
    assert_matches(host(out), full[3 * cfg.rank:3 * cfg.rank + 3])
    b = tensor(xs[cfg.rank], cfg.device)
    dist.reduce(b, dst=0, op=red)
    if cfg.rank == 0:
        assert_matches(host(b), ref_reduce(xs, op))


def test_all_reduce_scalar_and_empty(cfg):
    s = gpuarr.tensor(float(cfg.rank + 1), device=cfg.device)
    dist.all_reduce(s)
    assert s.shape == () and s.item() == cfg.n * (cfg.n + 1) / 2
    e = gpuarr.zeros(0, 3, device=cfg.device)
    dist.all_reduce(e)
    assert e.shape == (0, 3)


def test_non_contiguous_tensors_are_refused(cfg):
    x = gpuarr.zeros(4, 4, device=cfg.device).t()
    with pytest.raises(ValueError, match="Tensors must be contiguous"):
        dist.all_reduce(x)


def test_async_all_reduces_overlap_and_complete_in_any_order(cfg):
    xs = [gpuarr.ones(1000, device=cfg.device) * (i + cfg.rank) for i in range(4)]
    works = [dist.all_reduce(x, async_op=True) for x in xs]
    for w in reversed(works):
        w.wait()
    for i, x in enumerate(xs):
        want = sum(i + r for r in range(cfg.n))
        assert (host(x) == want).all()
    assert works[0].result()[0] is xs[0]


# ---- broadcast ---------------------------------------------------------------------------------


@ASYNC
@pytest.mark.parametrize("src", ["first", "last"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast(cfg, dtype, src, async_op):
    root = 0 if src == "first" else cfg.n - 1
    x = tensor(make(dtype, (2, 3, 2), cfg.rank, seed=1), cfg.device)
    work = dist.broadcast(x, src=root, async_op=async_op)
    _finish(work, async_op)
    assert_matches(host(x), make(dtype, (2, 3, 2), root, seed=1))


def test_broadcast_by_group_src(cfg):
    x = gpuarr.ones(3, device=cfg.device) * cfg.rank
    dist.broadcast(x, group_src=cfg.n - 1)
    assert (host(x) == cfg.n - 1).all()
    with pytest.raises(ValueError, match="either src or group_src"):
        dist.broadcast(x, src=0, group_src=0)


# ---- all_gather and all_gather_into_tensor -------------------------------------------------


@ASYNC
@pytest.mark.parametrize("dtype", DTYPES)
def test_all_gather(cfg, dtype, async_op):
    x = tensor(make(dtype, (4, 3), cfg.rank, seed=2), cfg.device)
    outs = [gpuarr.zeros(4, 3, dtype=getattr(gpuarr, dtype), device=cfg.device)
            for _ in range(cfg.n)]
    work = dist.all_gather(outs, x, async_op=async_op)
    _finish(work, async_op)
    for r, o in enumerate(outs):
        assert_matches(host(o), make(dtype, (4, 3), r, seed=2))


@ASYNC
@pytest.mark.parametrize("dtype", ["float32", "int16", "bool"])
def test_all_gather_uneven_sizes(cfg, dtype, async_op):
    x = tensor(make(dtype, (cfg.rank + 1, 2), cfg.rank, seed=3), cfg.device)
    outs = [gpuarr.zeros(r + 1, 2, dtype=getattr(gpuarr, dtype), device=cfg.device)
            for r in range(cfg.n)]
    work = dist.all_gather(outs, x, async_op=async_op)
    _finish(work, async_op)
    for r, o in enumerate(outs):
        assert_matches(host(o), make(dtype, (r + 1, 2), r, seed=3))


@ASYNC
@pytest.mark.parametrize("layout", ["concat", "stack"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_all_gather_into_tensor(cfg, dtype, layout, async_op):
    x = tensor(make(dtype, (3, 2), cfg.rank, seed=4), cfg.device)
    shape = (cfg.n * 3, 2) if layout == "concat" else (cfg.n, 3, 2)
    out = gpuarr.zeros(*shape, dtype=getattr(gpuarr, dtype), device=cfg.device)
    ptr = out.data_ptr()
    work = dist.all_gather_into_tensor(out, x, async_op=async_op)
    _finish(work, async_op)
    want = np.stack([make(dtype, (3, 2), r, seed=4) for r in range(cfg.n)]).reshape(shape)
    assert_matches(host(out), want)
    assert out.data_ptr() == ptr


def test_all_gather_argument_errors(cfg):
    x = gpuarr.ones(3, device=cfg.device)
    with pytest.raises(ValueError, match="world_size times input tensor size"):
        dist.all_gather_into_tensor(gpuarr.zeros(3 * cfg.n + 1, device=cfg.device), x)
    with pytest.raises(TypeError, match="same type as input tensor"):
        dist.all_gather_into_tensor(
            gpuarr.zeros(3 * cfg.n, dtype=gpuarr.float64, device=cfg.device), x)
    with pytest.raises(ValueError, match="tensor_list has"):
        dist.all_gather([x], x) if cfg.n != 1 else dist.all_gather([], x)
    with pytest.raises(TypeError, match="Expected parameter `tensor_list`"):
        dist.all_gather(x, x)


# ---- reduce_scatter ----------------------------------------------------------------------------


@ASYNC
@pytest.mark.parametrize("op", ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BXOR"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_reduce_scatter_tensor(cfg, dtype, op, async_op):
    big = tensor(make(dtype, (cfg.n * 4,), cfg.rank, seed=5), cfg.device)
    out = gpuarr.zeros(4, dtype=getattr(gpuarr, dtype), device=cfg.device)
    err = expected_error(dtype, op, cfg.nccl)
    if err is not None:
        with pytest.raises(err[0], match=err[1]):
            dist.reduce_scatter_tensor(out, big, op=getattr(dist.ReduceOp, op))
        return
    work = dist.reduce_scatter_tensor(out, big, op=getattr(dist.ReduceOp, op),
                                      async_op=async_op)
    _finish(work, async_op)
    full = ref_reduce([make(dtype, (cfg.n * 4,), r, seed=5) for r in range(cfg.n)], op)
    assert_matches(host(out), full[cfg.rank * 4:(cfg.rank + 1) * 4])


def test_reduce_scatter_list(cfg):
    ins = [gpuarr.ones(2, 2, device=cfg.device) * (cfg.rank + i) for i in range(cfg.n)]
    out = gpuarr.zeros(2, 2, device=cfg.device)
    dist.reduce_scatter(out, ins)
    assert (host(out) == sum(r + cfg.rank for r in range(cfg.n))).all()


# ---- reduce, gather, scatter ---------------------------------------------------------------------


@ASYNC
@pytest.mark.parametrize("dst", ["first", "last"])
@pytest.mark.parametrize("op", ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BOR"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_reduce(cfg, dtype, op, dst, async_op):
    root = 0 if dst == "first" else cfg.n - 1
    x = tensor(make(dtype, (5,), cfg.rank, seed=6), cfg.device)
    err = expected_error(dtype, op, cfg.nccl)
    if err is not None:
        with pytest.raises(err[0], match=err[1]):
            dist.reduce(x, dst=root, op=getattr(dist.ReduceOp, op))
        return
    work = dist.reduce(x, dst=root, op=getattr(dist.ReduceOp, op), async_op=async_op)
    _finish(work, async_op)
    if cfg.rank == root:
        want = ref_reduce([make(dtype, (5,), r, seed=6) for r in range(cfg.n)], op)
        assert_matches(host(x), want)


@ASYNC
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather(cfg, dtype, async_op):
    root = cfg.n - 1
    x = tensor(make(dtype, (2, 2), cfg.rank, seed=7), cfg.device)
    outs = ([gpuarr.zeros(2, 2, dtype=getattr(gpuarr, dtype), device=cfg.device)
             for _ in range(cfg.n)] if cfg.rank == root else None)
    work = dist.gather(x, outs, dst=root, async_op=async_op)
    _finish(work, async_op)
    if cfg.rank == root:
        for r, o in enumerate(outs):
            assert_matches(host(o), make(dtype, (2, 2), r, seed=7))


@ASYNC
@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter(cfg, dtype, async_op):
    root = 0
    x = gpuarr.zeros(3, dtype=getattr(gpuarr, dtype), device=cfg.device)
    ins = ([tensor(make(dtype, (3,), r, seed=8), cfg.device) for r in range(cfg.n)]
           if cfg.rank == root else None)
    work = dist.scatter(x, ins, src=root, async_op=async_op)
    _finish(work, async_op)
    assert_matches(host(x), make(dtype, (3,), cfg.rank, seed=8))


def test_gather_scatter_list_only_on_the_root(cfg):
    x = gpuarr.ones(2, device=cfg.device)
    lst = [gpuarr.zeros(2, device=cfg.device) for _ in range(cfg.n)]
    if cfg.rank != 0:
        with pytest.raises(ValueError, match="must NOT be specified on non-destination"):
            dist.gather(x, lst, dst=0)
        with pytest.raises(ValueError, match="must NOT be specified on non-source"):
            dist.scatter(x, lst, src=0)
    else:
        with pytest.raises(ValueError, match="gather_list.*required"):
            dist.gather(x, None, dst=0)
        with pytest.raises(ValueError, match="shape and dtype"):
            dist.scatter(x, [gpuarr.zeros(3, device=cfg.device)] * cfg.n, src=0)


# ---- point to point ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_send_recv(cfg, dtype):
    nxt, prv = (cfg.rank + 1) % cfg.n, (cfg.rank - 1) % cfg.n
    x = tensor(make(dtype, (3, 2), cfg.rank, seed=9), cfg.device)
    y = gpuarr.zeros(3, 2, dtype=getattr(gpuarr, dtype), device=cfg.device)
    if cfg.rank % 2 == 0:
        dist.send(x, dst=nxt)
        got = dist.recv(y, src=prv)
    else:
        got = dist.recv(y, src=prv)
        dist.send(x, dst=nxt)
    assert got == prv
    assert_matches(host(y), make(dtype, (3, 2), prv, seed=9))


@pytest.mark.parametrize("dtype", ["float16", "int64", "bool"])
def test_isend_irecv(cfg, dtype):
    """Each pair of ranks: the even one sends first (NCCL runs a rank's sends and receives in
    the order they were issued, so both receiving first would deadlock, as with torch)."""
    peer = cfg.rank ^ 1
    if peer >= cfg.n:
        return
    x = tensor(make(dtype, (100,), cfg.rank, seed=10), cfg.device)
    y = gpuarr.zeros(100, dtype=getattr(gpuarr, dtype), device=cfg.device)
    if cfg.rank % 2 == 0:
        ws = [dist.isend(x, dst=peer), dist.irecv(y, src=peer)]
    else:
        ws = [dist.irecv(y, src=peer), dist.isend(x, dst=peer)]
    for w in ws:
        w.wait()
    assert all(w.is_completed() for w in ws)
    assert_matches(host(y), make(dtype, (100,), peer, seed=10))


@pytest.mark.parametrize("dtype", ["float16", "int64", "bool"])
def test_batch_isend_irecv_ring(cfg, dtype):
    nxt, prv = (cfg.rank + 1) % cfg.n, (cfg.rank - 1) % cfg.n
    x = tensor(make(dtype, (100,), cfg.rank, seed=11), cfg.device)
    y = gpuarr.zeros(100, dtype=getattr(gpuarr, dtype), device=cfg.device)
    ops = [dist.P2POp(dist.irecv, y, prv), dist.P2POp(dist.isend, x, nxt)]
    works = dist.batch_isend_irecv(ops)
    assert len(works) == 2
    for w in works:
        w.wait()
    assert_matches(host(y), make(dtype, (100,), prv, seed=11))
    with pytest.raises(ValueError, match="Invalid ``op``"):
        dist.P2POp(dist.send, x, nxt)


def test_recv_from_any_source_and_tags(cfg):
    if cfg.nccl:
        y = gpuarr.zeros(2, device=cfg.device)
        with pytest.raises(RuntimeError, match="any source is not supported by NCCL"):
            dist.recv(y)
        return
    last = cfg.n - 1
    if cfg.rank == last:
        dist.send(gpuarr.ones(2, device=cfg.device) * 5, dst=0, tag=7)
        dist.send(gpuarr.ones(2, device=cfg.device) * 6, dst=0, tag=8)
    elif cfg.rank == 0:
        a, b = gpuarr.zeros(2, device=cfg.device), gpuarr.zeros(2, device=cfg.device)
        assert dist.recv(b, tag=8) == last  # tags pick the message, not the order
        w = dist.irecv(a, tag=7)
        w.wait()
        assert w.source_rank() == last
        assert (host(a) == 5).all() and (host(b) == 6).all()


def test_send_argument_errors(cfg):
    x = gpuarr.ones(2, device=cfg.device)
    with pytest.raises(ValueError, match="to or from itself"):
        dist.send(x, dst=cfg.rank)
    with pytest.raises(ValueError, match="not part of group"):
        dist.send(x, dst=cfg.n + 3)
    with pytest.raises(ValueError, match="tag"):
        dist.isend(x, dst=(cfg.rank + 1) % cfg.n, tag=-1)


# ---- barrier, subgroups, objects ---------------------------------------------------------------


@ASYNC
def test_barrier(cfg, async_op):
    _finish(dist.barrier(async_op=async_op), async_op)


def test_subgroups(cfg):
    everyone = dist.new_group(list(reversed(range(cfg.n))))  # ranks are sorted, as in torch
    assert dist.get_process_group_ranks(everyone) == list(range(cfg.n))
    x = gpuarr.ones(3, device=cfg.device)
    dist.all_reduce(x, group=everyone)
    assert (host(x) == cfg.n).all()
    # one group per rank: the collective involves that rank alone
    solo = [dist.new_group([r]) for r in range(cfg.n)]
    mine = solo[cfg.rank]
    assert isinstance(mine, dist.ProcessGroup)
    assert dist.get_rank(mine) == 0 and dist.get_world_size(mine) == 1
    assert dist.get_global_rank(mine, 0) == cfg.rank
    assert dist.get_group_rank(mine, cfg.rank) == 0
    y = gpuarr.ones(3, device=cfg.device) * 4
    dist.all_reduce(y, group=mine)
    dist.broadcast(y, src=cfg.rank, group=mine)
    assert (host(y) == 4).all()
    other = solo[(cfg.rank + 1) % cfg.n]
    assert other == dist.GroupMember.NON_GROUP_MEMBER == -100
    assert dist.get_rank(other) == -1 and dist.get_world_size(other) == -1
    assert dist.all_reduce(y, group=other) is None  # non-members return at once
    for g in [everyone, mine]:
        dist.destroy_process_group(g)
    with pytest.raises(RuntimeError, match="destroyed"):
        dist.all_reduce(y, group=mine)


def test_subgroup_of_the_first_ranks_with_local_synchronization(cfg):
    members = list(range(max(1, cfg.n - 1)))
    if cfg.rank in members:
        g = dist.new_group(members, use_local_synchronization=True)
        x = gpuarr.ones(2, device=cfg.device) * (cfg.rank + 1)
        dist.all_reduce(x, op=dist.ReduceOp.MAX, group=g)
        assert (host(x) == len(members)).all()
        assert dist.get_process_group_ranks(g) == members
        dist.destroy_process_group(g)
    dist.barrier()


def test_new_group_argument_errors(cfg):
    with pytest.raises(ValueError, match="outside the world"):
        dist.new_group([0, cfg.n])
    with pytest.raises(ValueError, match="duplicate"):
        dist.new_group([0, 0])


def test_object_collectives(cfg):
    objs = [None] * cfg.n
    dist.all_gather_object(objs, {"rank": cfg.rank, "name": cfg.name})
    assert objs == [{"rank": r, "name": cfg.name} for r in range(cfg.n)]
    lst = ["a", 3] if cfg.rank == 0 else [None, None]
    dist.broadcast_object_list(lst, src=0)
    assert lst == ["a", 3]
    got = [None] * cfg.n if cfg.rank == 0 else None
    dist.gather_object(cfg.rank * 10, got, dst=0)
    if cfg.rank == 0:
        assert got == [r * 10 for r in range(cfg.n)]


# ---- the DETAIL debug check ----------------------------------------------------------------


@pytest.fixture
def detail():
    prev = dist.get_debug_level()
    dist.set_debug_level(dist.DebugLevel.DETAIL)
    yield
    dist.set_debug_level(prev)


def test_debug_check_names_mismatched_shapes_on_every_rank(cfg, detail):
    x = gpuarr.ones(3 + cfg.rank, device=cfg.device)
    with pytest.raises(RuntimeError) as ei:
        dist.all_reduce(x)
    msg = str(ei.value)
    assert "do not match" in msg and "rank 0: #" in msg
    assert "shape=(3,)" in msg and "shape=(4,)" in msg
    dist.all_reduce(gpuarr.ones(3, device=cfg.device))  # matching calls still work


def test_debug_check_catches_dtype_and_collective_mismatches(cfg, detail):
    dt = gpuarr.float32 if cfg.rank == 0 else gpuarr.float64
    with pytest.raises(RuntimeError, match="(?s)dtype=float32.*dtype=float64"):
        dist.all_reduce(gpuarr.ones(2, dtype=dt, device=cfg.device))
    x = gpuarr.ones(2, device=cfg.device)
    with pytest.raises(RuntimeError, match="(?s)all_reduce.*broadcast|broadcast.*all_reduce"):
        if cfg.rank == 0:
            dist.all_reduce(x)
        else:
            dist.broadcast(x, src=0)
    with pytest.raises(RuntimeError, match="(?s)root=0.*root=1|root=1.*root=0"):
        dist.broadcast(x, src=min(cfg.rank, 1))
    dist.barrier()
