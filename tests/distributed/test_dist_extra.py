"""all_to_all / all_to_all_single, scatter/send/recv_object_list, monitored_barrier, subgroups,
the backend and local-rank queries, and the key-value stores (HashStore, FileStore,
PrefixStore).

The stores and queries are tested in the ordinary run (against torch's stores, and a FileStore
shared with other processes, torch's among them); the collectives run under ``mpirun -n 2``
on every engine this machine has (``mpirun -n 2 python -m pytest
tests/distributed/test_dist_extra.py``), which ``test_extra_under_mpirun_*`` start from the
ordinary run, with and without the CuPy stand-in.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from dist_helpers import (
    LAUNCHED,
    SKIP_REASON,
    assert_matches,
    host,
    make,
    nccl_usable,
    tensor,
    use_own_gpu,
)
from test_dist_launch import ROOT, STANDIN, run_pytest_under_mpirun

import gpuarr
from gpuarr.distributed import distributed_c10d as c10d
from gpuarr.distributed.all_to_all import all_to_all, all_to_all_single
from gpuarr.distributed.object_collectives import (
    recv_object_list,
    scatter_object_list,
    send_object_list,
)
from gpuarr.distributed.store import (
    DistNetworkError,
    DistStoreError,
    FileStore,
    HashStore,
    PrefixStore,
    Store,
    TCPStore,
)
from gpuarr.distributed.subgroups import (
    get_default_backend_for_device,
    get_node_local_rank,
    is_backend_available,
    monitored_barrier,
    new_subgroups,
    new_subgroups_by_enumeration,
)

ordinary_run = pytest.mark.skipif(LAUNCHED, reason="runs in the ordinary (non-MPI) test run")
MS = datetime.timedelta(milliseconds=1)


# =============================================================================================
# the ordinary run: launching this file under mpirun


@ordinary_run
def test_extra_under_mpirun_cpu_and_cuda_standin(tmp_path):
    """This file's collectives under ``mpirun -n 2``: CPU tensors over MPI and, with the CuPy
    stand-in first on PYTHONPATH (a simulated GPU per rank), CUDA tensors over NCCL (the
    stand-in's, over MPI) and over MPI, through host memory and directly. One launch runs
    every configuration, as launches are slow."""
    standin = STANDIN.is_dir()
    run_pytest_under_mpirun([__file__], tmp_path, standin=standin, timeout=600,
                            want=100 if standin else 25)


# =============================================================================================
# the ordinary run: queries and errors before init_process_group


@ordinary_run
def test_every_collective_needs_init_process_group():
    assert not c10d.is_initialized()
    x = gpuarr.zeros(2)
    calls = [lambda: all_to_all_single(x, x), lambda: all_to_all([x], [x]),
             lambda: scatter_object_list([None], [1]), lambda: send_object_list([1], 1),
             lambda: recv_object_list([None], 0), lambda: monitored_barrier(),
             lambda: new_subgroups(1), lambda: new_subgroups_by_enumeration([[0]])]
    for call in calls:
        # torch 2.13 raises ValueError here; gpuarr's process groups raise RuntimeError
        with pytest.raises(RuntimeError, match="^Default process group has not been "
                           "initialized, please make sure to call init_process_group.$"):
            call()


@ordinary_run
def test_get_node_local_rank(monkeypatch):
    torch = pytest.importorskip("torch")
    for var in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK",
                "MV2_COMM_WORLD_LOCAL_RANK", "PMIX_LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError) as te:
        torch.distributed.get_node_local_rank()
    with pytest.raises(RuntimeError, match="^" + re.escape(str(te.value))):
        get_node_local_rank()
    assert get_node_local_rank(3) == torch.distributed.get_node_local_rank(3) == 3
    monkeypatch.setenv("MPI_LOCALRANKID", "1")  # MPICH's launcher
    assert get_node_local_rank(5) == 1
    monkeypatch.setenv("LOCAL_RANK", "2")  # torch's variable comes first
    assert get_node_local_rank(5) == torch.distributed.get_node_local_rank(5) == 2


@ordinary_run
def test_default_backend_for_device_and_backend_availability():
    torch = pytest.importorskip("torch")
    assert get_default_backend_for_device("cuda") == "nccl"
    assert get_default_backend_for_device("cuda:1") == "nccl"
    assert get_default_backend_for_device(gpuarr.device("cpu")) == "mpi"  # torch: gloo
    for dev in ("meta", "ipu"):
        with pytest.raises(ValueError) as te:
            torch.distributed.get_default_backend_for_device(dev)
        with pytest.raises(ValueError, match="^" + str(te.value) + "$"):
            get_default_backend_for_device(dev)
    assert is_backend_available("mpi") is c10d.is_mpi_available()
    assert is_backend_available("MPI") is c10d.is_mpi_available()
    assert is_backend_available("nccl") is c10d.is_nccl_available()
    assert is_backend_available("cpu:mpi,cuda:nccl") is c10d.is_nccl_available()
    for name in ("gloo", "ucc", "foo", "cpu:nccl", 3):
        assert is_backend_available(name) is False


# =============================================================================================
# the ordinary run: stores, against torch's


def _ops(s, get_times_out: bool = True) -> list:
    """A fixed script of store calls; each entry is a result or (exception type name,
    message)."""
    out = []

    def rec(f):
        try:
            out.append(f())
        except Exception as e:
            out.append(("RuntimeError" if isinstance(e, RuntimeError) else type(e).__name__,
                        str(e)))

    rec(lambda: s.set("a", "text"))
    rec(lambda: s.get("a"))
    rec(lambda: s.set("b", b"\x00\xff"))
    rec(lambda: s.get("b"))
    rec(lambda: s.set("empty", ""))
    rec(lambda: s.get("empty"))
    rec(lambda: s.add("n", 3))
    rec(lambda: s.add("n", -5))
    rec(lambda: s.get("n"))
    rec(lambda: s.compare_set("c", "", "v"))
    rec(lambda: s.compare_set("c", "x", "w"))
    rec(lambda: s.compare_set("c", "v", "w"))
    rec(lambda: s.get("c"))
    rec(lambda: s.compare_set("missing", "old", "new"))
    rec(lambda: s.check(["a", "n"]))
    rec(lambda: s.check(["a", "zz"]))
    rec(lambda: s.check([]))
    rec(lambda: s.num_keys())
    rec(lambda: s.delete_key("a"))
    rec(lambda: s.check(["a"]))
    rec(lambda: s.num_keys())
    rec(lambda: s.wait(["b", "n"]))
    rec(lambda: s.wait(["b", "zz"], 30 * MS))
    rec(lambda: s.timeout)
    rec(lambda: s.set_timeout(40 * MS))
    rec(lambda: s.timeout)
    if get_times_out:
        rec(lambda: s.get("zz"))
    return out


def _store_pair(kind: str, tmp_path):
    torch = pytest.importorskip("torch")
    td = torch.distributed
    if kind == "hash":
        return HashStore(), td.HashStore()
    if kind == "file":
        return (FileStore(str(tmp_path / "mine"), 1), td.FileStore(str(tmp_path / "theirs"), 1))
    if kind == "tcp":  # a master with a free port; torch's needs a free port too
        return (TCPStore("127.0.0.1", 0, 1, True, timeout=5000 * MS),
                td.TCPStore("127.0.0.1", 0, 1, True, timeout=5000 * MS))
    if kind == "prefix_hash":
        return PrefixStore("p", HashStore()), td.PrefixStore("p", td.HashStore())
    return (PrefixStore("p", FileStore(str(tmp_path / "mine"))),
            td.PrefixStore("p", td.FileStore(str(tmp_path / "theirs"))))


@ordinary_run
@pytest.mark.parametrize("kind", ["hash", "file", "tcp", "prefix_hash", "prefix_file"])
def test_stores_match_torch(kind, tmp_path):
    mine, theirs = _store_pair(kind, tmp_path)
    assert isinstance(mine, Store)
    # torch's FileStore looks for a missing key once a second: its get() timeout costs a
    # second (test_store_timeouts_raise_dist_store_error checks gpuarr's message)
    quick = not kind.endswith("file")
    assert _ops(mine, quick) == _ops(theirs, quick)


@ordinary_run
def test_store_timeouts_raise_dist_store_error(tmp_path):
    torch = pytest.importorskip("torch")
    for s in (HashStore(), FileStore(str(tmp_path / "f")), PrefixStore("q", HashStore())):
        s.set_timeout(20 * MS)
        with pytest.raises(DistStoreError) as ei:
            s.get("never")
        assert isinstance(ei.value, RuntimeError)
        # torch's messages: HashStore "Wait timeout", FileStore names the key
        assert str(ei.value) == ("Timeout waiting for key: never after 20 ms"
                                 if isinstance(s, FileStore) else "Wait timeout")
        with pytest.raises(DistStoreError, match="^Wait timeout$"):
            s.wait(["never", "nor_this"])
        with pytest.raises(DistStoreError):
            s.wait(["never"], 10 * MS)
    assert issubclass(torch.distributed.DistStoreError, RuntimeError)


@ordinary_run
def test_store_argument_types_as_torch(tmp_path):
    torch = pytest.importorskip("torch")
    for mine, theirs in [(HashStore(), torch.distributed.HashStore()),
                         (FileStore(str(tmp_path / "m")),
                          torch.distributed.FileStore(str(tmp_path / "t")))]:
        for call in (lambda s: s.set(1, "x"), lambda s: s.set("x", 1),
                     lambda s: s.add("k", 2.5), lambda s: s.get(5),
                     lambda s: s.set_timeout(5), lambda s: s.wait(["a"], 1),
                     lambda s: s.compare_set("k", 1, "v")):
            with pytest.raises(TypeError):
                call(theirs)
            with pytest.raises(TypeError):
                call(mine)
        mine.set("word", "abc")
        with pytest.raises(ValueError):  # torch: ValueError('stoll')
            mine.add("word", 1)
    with pytest.raises(TypeError):
        PrefixStore("p", 5)
    with pytest.raises(DistStoreError, match="No such file or directory"):
        FileStore(str(tmp_path / "missing" / "f"))


@ordinary_run
def test_tcp_store_clients_share_the_masters_keys():
    master = TCPStore("127.0.0.1", 0, 3, True, wait_for_workers=False, timeout=5000 * MS)
    assert master.host == "127.0.0.1" and master.port > 0
    clients = [TCPStore("localhost", master.port, 3, timeout=5000 * MS) for _ in range(2)]
    threads = [threading.Thread(target=lambda c=c: [c.add("n", 1) for _ in range(50)])
               for c in clients]
    threads.append(threading.Timer(0.05, clients[0].set, args=("late", "1")))
    for t in threads:
        t.start()
    master.wait(["late"], 5000 * MS)  # the server answers once the key is set
    for t in threads:
        t.join()
    assert master.get("n") == clients[1].get("n") == b"100"
    assert master.num_keys() == 3  # "n", "late" and the join counter, as torch counts
    # the master waits for its workers when asked to
    with pytest.raises(DistStoreError, match="^Timed out after 1 seconds waiting for clients. "
                       "1/2 clients joined.$"):
        TCPStore("127.0.0.1", 0, 2, True, timeout=200 * MS)
    with pytest.raises(DistNetworkError, match="failed to listen"):
        TCPStore("127.0.0.1", master.port, 1, True, timeout=200 * MS)
    port = master.port
    del master, clients, threads
    with pytest.raises(DistNetworkError, match=f"^The client socket has timed out after 200ms "
                       rf"while trying to connect to \(127.0.0.1, {port}\).$"):
        TCPStore("127.0.0.1", port, 1, timeout=200 * MS)


@ordinary_run
def test_hash_store_wait_wakes_when_another_thread_sets_the_key():
    s = HashStore()
    t = threading.Timer(0.05, lambda: s.set("late", "1"))
    t.start()
    s.wait(["late"], datetime.timedelta(seconds=10))
    assert s.get("late") == b"1"
    t.join()


@ordinary_run
def test_prefix_store_keys_and_timeout_live_in_the_underlying_store():
    base = HashStore()
    p = PrefixStore("trainer", base)
    p.set("step", "10")
    assert base.get("trainer/step") == b"10" and p.underlying_store is base
    assert p.add("n", 2) == 2 and base.get("trainer/n") == b"2"
    assert p.num_keys() == base.num_keys() == 2
    nested = PrefixStore("inner", p)
    nested.set("k", "v")
    assert base.get("trainer/inner/k") == b"v"
    p.set_timeout(3 * MS)
    assert base.timeout == p.timeout == 3 * MS


_WORKER = textwrap.dedent("""
    import sys, datetime
    path, n, lib = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if lib == "torch":
        from torch.distributed import FileStore
    else:
        from gpuarr.distributed.store import FileStore
    s = FileStore(path, 3)
    s.set_timeout(datetime.timedelta(seconds=60))
    s.wait(["go"])
    for _ in range(n):
        s.add("counter", 1)
    s.set(f"done_{lib}", lib + " " + s.get("go").decode())
""")


@ordinary_run
def test_file_store_is_shared_by_processes_and_with_torch(tmp_path):
    """Three processes (this one, a gpuarr one, a torch one) add to one counter in one file:
    no increment is lost (file locks), and torch reads and writes gpuarr's records."""
    pytest.importorskip("torch")
    path = str(tmp_path / "store")
    s = FileStore(path, 3)
    s.set_timeout(datetime.timedelta(seconds=60))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                        os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, path, "100", lib], env=env,
                              stderr=subprocess.PIPE, text=True)
             for lib in ("gpuarr", "torch")]
    s.set("go", "now")
    for _ in range(100):
        s.add("counter", 1)
    s.wait(["done_gpuarr", "done_torch"])
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    assert s.get("counter") == b"300"
    assert s.get("done_torch") == b"torch now" and s.get("done_gpuarr") == b"gpuarr now"
    del s  # the last of the 3 stores removes the file, as torch's
    assert not os.path.exists(path)


@ordinary_run
def test_file_store_of_unknown_world_size_keeps_its_file(tmp_path):
    path = str(tmp_path / "keep")
    a = FileStore(path)
    a.set("k", "v")
    assert a.path == path and a.num_keys() == 2  # "refcount/" counts, as in torch
    del a
    b = FileStore(path)
    assert b.get("k") == b"v"  # the keys outlive the store
    assert os.path.exists(path)


# =============================================================================================
# under mpirun -n 2

CONFIGS = [("cpu_mpi", "mpi", "cpu", None)]
if LAUNCHED and gpuarr.cuda.is_available():
    use_own_gpu()
    CONFIGS += [("cuda_mpi", "mpi", "cuda", "0"), ("cuda_mpi_aware", "mpi", "cuda", "1")]
    if nccl_usable()[0]:
        CONFIGS += [("cuda_nccl", "nccl", "cuda", None)]
ASYNC = pytest.mark.parametrize("async_op", [False, True], ids=["sync", "async"])


@pytest.fixture(scope="module", params=CONFIGS, ids=[c[0] for c in CONFIGS])
def cfg(request):
    if not LAUNCHED:
        pytest.skip(SKIP_REASON)
    import gpuarr.distributed as dist

    name, backend, device, aware = request.param
    old = os.environ.get("GPUARR_MPI_CUDA_AWARE")
    if aware is not None:
        os.environ["GPUARR_MPI_CUDA_AWARE"] = aware
    dist.init_process_group(backend)
    yield SimpleNamespace(name=name, device=device, rank=dist.get_rank(),
                          n=dist.get_world_size())
    dist.destroy_process_group()
    if old is None:
        os.environ.pop("GPUARR_MPI_CUDA_AWARE", None)
    else:
        os.environ["GPUARR_MPI_CUDA_AWARE"] = old


def _rows(r: int, j: int) -> int:
    """Rows rank r sends rank j in the uneven tests (some are 0)."""
    return (r + 2 * j) % 3


def _finish(work, async_op: bool) -> None:
    if async_op:
        assert isinstance(work, c10d.Work) and work.wait() is True
    else:
        assert work is None


@ASYNC
@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "uint8", "bool"])
def test_all_to_all_single_even(cfg, dtype, async_op):
    n, r = cfg.n, cfg.rank
    xs = [make(dtype, (2 * n, 3), k, seed=5) for k in range(n)]
    out = gpuarr.zeros(2 * n, 3, dtype=getattr(gpuarr, dtype), device=cfg.device)
    v0 = out._version_value()
    _finish(all_to_all_single(out, tensor(xs[r], cfg.device), async_op=async_op), async_op)
    want = np.concatenate([xs[k][2 * r:2 * r + 2] for k in range(n)])
    assert_matches(host(out), want)
    assert out._version_value() > v0


@ASYNC
@pytest.mark.parametrize("dtype", ["float64", "int16"])
def test_all_to_all_single_uneven_split_sizes(cfg, dtype, async_op):
    n, r = cfg.n, cfg.rank
    sends = [_rows(r, j) for j in range(n)]
    recvs = [_rows(j, r) for j in range(n)]
    xs = [make(dtype, (sum(_rows(k, j) for j in range(n)), 2, 2), k, seed=6) for k in range(n)]
    out = gpuarr.full((sum(recvs), 2, 2), 7, dtype=getattr(gpuarr, dtype), device=cfg.device)
    work = all_to_all_single(out, tensor(xs[r], cfg.device), output_split_sizes=recvs,
                             input_split_sizes=sends, async_op=async_op)
    _finish(work, async_op)
    parts = []
    for k in range(n):
        start = sum(_rows(k, j) for j in range(r))
        parts.append(xs[k][start:start + _rows(k, r)])
    assert_matches(host(out), np.concatenate(parts))


def test_all_to_all_single_scalar_empty_and_in_place(cfg):
    e = gpuarr.zeros(0, 4, device=cfg.device)
    all_to_all_single(e, gpuarr.zeros(0, 4, device=cfg.device))
    assert e.shape == (0, 4)
    x = gpuarr.arange(2.0 * cfg.n, device=cfg.device) + 100 * cfg.rank
    all_to_all_single(x, x)  # output and input are one tensor: the input is read first
    want = np.concatenate([np.arange(2.0 * cfg.n)[2 * cfg.rank:2 * cfg.rank + 2] + 100 * k
                           for k in range(cfg.n)]).astype(np.float32)
    assert_matches(host(x), want)


@ASYNC
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_all_to_all_lists_of_uneven_tensors(cfg, dtype, async_op):
    n, r = cfg.n, cfg.rank
    dt = getattr(gpuarr, dtype)

    def chunk(k, j):  # what rank k sends rank j
        return make(dtype, (_rows(k, j), 3), k * 10 + j, seed=7)

    ins = [tensor(chunk(r, j), cfg.device) for j in range(n)]
    outs = [gpuarr.zeros(_rows(j, r), 3, dtype=dt, device=cfg.device) for j in range(n)]
    _finish(all_to_all(outs, ins, async_op=async_op), async_op)
    for j in range(n):
        assert_matches(host(outs[j]), chunk(j, r))


def test_all_to_all_errors(cfg):
    n = cfg.n
    x = gpuarr.zeros(2 * n, device=cfg.device)
    with pytest.raises(RuntimeError, match="^Split sizes doesn't match total dim 0 size$"):
        all_to_all_single(x, x, [1] * n, [2] * n)
    with pytest.raises(RuntimeError, match="^Split sizes doesn't match total dim 0 size$"):
        all_to_all_single(gpuarr.zeros(2 * n + 1, device=cfg.device), x)
    with pytest.raises(RuntimeError, match="^Number of tensor splits not equal to group size$"):
        all_to_all_single(x, x, [2 * n], [2 * n])
    with pytest.raises(ValueError, match="different dtypes"):
        all_to_all_single(x, gpuarr.zeros(2 * n, dtype=gpuarr.int32, device=cfg.device))
    with pytest.raises(ValueError, match="Tensors must be contiguous"):
        all_to_all_single(x, gpuarr.zeros(2, n, device=cfg.device).t())
    ts = [gpuarr.zeros(2, device=cfg.device) for _ in range(n)]
    with pytest.raises(RuntimeError, match=f"input tensor list size {n + 1} does not match "
                       f"world size {n}"):
        all_to_all(ts, ts + ts[:1])
    with pytest.raises(RuntimeError, match=f"output tensor list size {n - 1} does not match"):
        all_to_all(ts[1:], ts)
    with pytest.raises(ValueError, match="different dtypes"):
        all_to_all(ts, [t.long() for t in ts])
    with pytest.raises(TypeError, match="Expected parameter `output_tensor_list` of type "
                       "List"):
        all_to_all(ts[0], ts)
    c10d.barrier()  # nothing was sent: the group still works
    all_to_all_single(x, x.clone())


@pytest.fixture
def detail():
    prev = c10d.get_debug_level()
    c10d.set_debug_level(c10d.DebugLevel.DETAIL)
    yield
    c10d.set_debug_level(prev)


def test_detail_check_names_mismatched_split_sizes_on_every_rank(cfg, detail):
    n, r = cfg.n, cfg.rank
    # every rank sends one row to each, but rank 0 expects two from rank 1
    recvs = [1] * n
    if r == 0:
        recvs[1] = 2
    out = gpuarr.zeros(sum(recvs), device=cfg.device)
    with pytest.raises(RuntimeError) as ei:
        all_to_all_single(out, gpuarr.zeros(n, device=cfg.device), recvs, [1] * n)
    msg = str(ei.value)
    assert "all_to_all_single: the ranks of group 'default_pg' called collectives that do " \
           "not match" in msg
    assert "expects [4, 8]" in msg and "sends [4, 4]" in msg
    with pytest.raises(RuntimeError, match="(?s)dtype=float32.*dtype=float64"):
        dt = gpuarr.float32 if r == 0 else gpuarr.float64
        all_to_all([gpuarr.zeros(1, dtype=dt, device=cfg.device) for _ in range(n)],
                   [gpuarr.zeros(1, dtype=dt, device=cfg.device) for _ in range(n)])
    z = [gpuarr.zeros(1, device=cfg.device) for _ in range(n)]
    with pytest.raises(RuntimeError, match=r"(?s)#\d+ all_to_all\(.*#\d+ all_to_all_single\("):
        if r == 0:
            all_to_all(z, [t.clone() for t in z])
        else:
            all_to_all_single(z[0].new_zeros(n), z[0].new_zeros(n))
    y = gpuarr.ones(n, device=cfg.device)
    all_to_all_single(y, y.clone())  # matching calls still work
    assert (host(y) == 1).all()


def test_scatter_object_list(cfg):
    n, r = cfg.n, cfg.rank
    for src in (0, n - 1):
        out = [None, "kept"]
        objs = [{"to": k, "from": src} for k in range(n)] if r == src else None
        assert scatter_object_list(out, objs, src=src) is None
        assert out == [{"to": r, "from": src}, "kept"]
    out = [None]
    scatter_object_list(out, [k * 3 for k in range(n)] if r == n - 1 else None,
                        group_src=n - 1)
    assert out == [r * 3]
    with pytest.raises(ValueError, match="^Expected argument scatter_object_output_list to "
                       "be a list of size at least 1.$"):
        scatter_object_list([], [1] * n)
    if r == 0:  # the source checks its list before sending anything
        with pytest.raises(ValueError, match="^source rank must provide non-None "
                           "scatter_object_input_list$"):
            scatter_object_list([None], None, src=0)
        with pytest.raises(RuntimeError, match=f"Incorrect input list size {n + 1}. Input list "
                           f"size should be {n}, same as size of the process group."):
            scatter_object_list([None], [0] * (n + 1), src=0)


def test_send_and_recv_object_list(cfg):
    n, r = cfg.n, cfg.rank
    if r == 0:
        for dst in range(1, n):
            send_object_list([{"lr": 0.1}, dst, "x" * 1000], dst=dst)
        send_object_list(["by group rank"], group_dst=n - 1)
    elif r < n:
        got = [None] * 3
        assert recv_object_list(got, src=0) == 0
        assert got == [{"lr": 0.1}, r, "x" * 1000]
        if r == n - 1:
            one = ["old"]
            assert recv_object_list(one) == 0  # from any rank: returns the sender
            assert one == ["by group rank"]
    # a length mismatch is refused on the receiver
    if r == 0:
        send_object_list([1, 2], dst=1)
    elif r == 1:
        with pytest.raises(ValueError, match="rank 0 sent 2 objects, object_list has 1"):
            recv_object_list([None], src=0)
    with pytest.raises(ValueError, match="^Invalid destination rank: destination rank should "
                       "not be the same as the rank of the current process.$"):
        send_object_list([1], dst=r)
    with pytest.raises(ValueError, match="^Invalid source rank: source rank should not be "
                       "the same as the rank of the current process.$"):
        recv_object_list([1], src=r)
    with pytest.raises(ValueError, match="^Must specify global_rank or group_rank$"):
        send_object_list([1])


def test_monitored_barrier(cfg):
    if cfg.name != "cpu_mpi":
        pytest.skip("monitored_barrier runs over MPI whatever the device: once is enough")
    monitored_barrier(timeout=datetime.timedelta(seconds=30))
    for wait_all in (False, True):
        if cfg.rank == cfg.n - 1:
            time.sleep(0.4)  # arrives after the others gave up
        with pytest.raises(RuntimeError) as ei:
            monitored_barrier(timeout=100 * MS, wait_all_ranks=wait_all)
        if cfg.rank == 0:
            assert str(ei.value) == (f"[Rank 0]: Rank {cfg.n - 1} failed to pass "
                                     "monitoredBarrier in 100 ms")
        else:
            assert "did not release this rank within 100 ms" in str(ei.value)
    # the late arrivals of the failed calls do not confuse the next one
    monitored_barrier(timeout=datetime.timedelta(seconds=30), wait_all_ranks=True)
    monitored_barrier()


def test_new_subgroups(cfg):
    n, r = cfg.n, cfg.rank
    solo, groups = new_subgroups(1)
    assert len(groups) == n and groups[r] is solo
    assert c10d.get_process_group_ranks(solo) == [r]
    assert all(g == c10d.GroupMember.NON_GROUP_MEMBER for k, g in enumerate(groups) if k != r)
    x = gpuarr.ones(2, device=cfg.device) * (r + 1)
    c10d.all_reduce(x, group=solo)
    assert (host(x) == r + 1).all()
    whole, groups = new_subgroups(n, group_desc="everyone")
    assert groups == [whole] and whole.group_name == "everyone"
    c10d.all_reduce(x, group=whole)
    assert (host(x) == n * (n + 1) / 2).all()
    if gpuarr.cuda.is_available():  # one subgroup per machine's worth of GPUs
        g, _ = new_subgroups() if n % gpuarr.cuda.device_count() == 0 else (None, None)
        if g is not None:
            assert c10d.get_world_size(g) == gpuarr.cuda.device_count()
    else:
        with pytest.raises(ValueError, match="only takes effect when CUDA is available"):
            new_subgroups()
    for size, msg in ((0, r"The arg 'group_size' \(0\) must be positive"),
                      (n + 1, rf"The arg 'group_size' \({n + 1}\) must not exceed the world "
                              rf"size \({n}\)")):
        with pytest.raises(ValueError, match=msg):
            new_subgroups(size)
    for g in [solo, whole]:
        c10d.destroy_process_group(g)


def test_new_subgroups_by_enumeration(cfg):
    n, r = cfg.n, cfg.rank
    lists = [[k] for k in reversed(range(n - 1))]  # the last rank is in no subgroup
    mine, groups = new_subgroups_by_enumeration(lists)
    assert len(groups) == n - 1
    if r == n - 1:
        assert mine is None
    else:
        assert c10d.get_process_group_ranks(mine) == [r] and groups[n - 2 - r] is mine
        c10d.destroy_process_group(mine)
    with pytest.raises(ValueError, match="^The arg 'ranks_per_subgroup_list' cannot be "
                       "empty$"):
        new_subgroups_by_enumeration([])
    with pytest.raises(ValueError, match=r"^Rank 0 has appeared in both subgroup \[0, 1\] "
                       r"and \[0\]$"):
        new_subgroups_by_enumeration([[0, 1], [0]])
    with pytest.raises(ValueError):
        new_subgroups_by_enumeration([[n]])  # outside the world
    c10d.barrier()


def test_tcp_store_served_by_rank_0(cfg):
    """A real server socket on rank 0, every rank a client (rank 0 too)."""
    if cfg.name != "cpu_mpi":
        pytest.skip("the store does not depend on the device: once is enough")
    n, r = cfg.n, cfg.rank
    master = TCPStore("127.0.0.1", 0, n, True, wait_for_workers=False,
                      timeout=30000 * MS) if r == 0 else None
    port = [master.port if master else None]
    c10d.broadcast_object_list(port, src=0)
    store = master or TCPStore("127.0.0.1", port[0], n, timeout=30000 * MS)
    for _ in range(20):
        store.add("count", 1)
    store.set(f"done{r}", str(r))
    store.wait([f"done{k}" for k in range(n)])
    assert store.get("count") == str(20 * n).encode()
    assert store.compare_set("winner", "", str(r)) in {str(k).encode() for k in range(n)}
    c10d.barrier()  # the clients are done before the master's server stops
    assert int(store.get("winner")) in range(n)
    c10d.barrier()


def test_node_local_rank_from_the_mpi_launcher(cfg):
    assert get_node_local_rank() == cfg.rank  # one machine: local rank == rank
