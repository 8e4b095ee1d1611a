"""Setting up and tearing down process groups, torch's argument checks, names and errors, the
per-device backend strings, the debug level from the environment, Work timeouts.

Run under MPI: ``mpirun -n 2 python -m pytest tests/distributed``.
"""

from __future__ import annotations

import datetime
import sys

import pytest
from dist_helpers import LAUNCHED, SKIP_REASON, host, nccl_usable, use_own_gpu

if not LAUNCHED:
    pytest.skip(SKIP_REASON, allow_module_level=True)

import gpuarr
import gpuarr.distributed as dist
from gpuarr.distributed import _mpi

use_own_gpu()
HAS_NCCL = dist.is_nccl_available()
needs_nccl = pytest.mark.skipif(not nccl_usable()[0], reason=nccl_usable()[1])


@pytest.fixture
def fresh():
    """No process group before the test; none left after it."""
    assert not dist.is_initialized()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_queries_before_init(fresh):
    assert dist.is_available() and dist.is_mpi_available()
    assert not dist.is_gloo_available() and not dist.is_torchelastic_launched()
    assert dist.group.WORLD is None
    # torch 2.13's type is ValueError; the error is also a RuntimeError, as it was before
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="has not been initialized"):
        dist.all_reduce(gpuarr.ones(2))


def test_init_destroy_and_init_again(fresh):
    hook = sys.excepthook
    dist.init_process_group("mpi", init_method="env://", world_size=-1, rank=-1,
                            timeout=datetime.timedelta(seconds=30))
    n, r = dist.get_world_size(), dist.get_rank()
    assert n == _mpi.launch_size() and r == _mpi.launch_rank()
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    assert dist.group.WORLD is dist.GroupMember.WORLD
    assert isinstance(dist.group.WORLD, dist.ProcessGroup)
    assert dist.group.WORLD.rank() == r and dist.group.WORLD.size() == n
    assert dist.group.WORLD.timeout == datetime.timedelta(seconds=30)
    assert sys.excepthook is not hook  # an uncaught exception now ends every rank
    with pytest.raises(RuntimeError, match="initialize the default process group twice"):
        dist.init_process_group("mpi")
    dist.destroy_process_group()
    assert not dist.is_initialized() and sys.excepthook is hook
    dist.init_process_group(world_size=n, rank=r, group_name="again")
    assert dist.group.WORLD.group_name == "again"
    x = gpuarr.ones(2)
    dist.all_reduce(x)
    assert (host(x) == n).all()


def test_init_checks_torchs_arguments(fresh, monkeypatch):
    n, r = _mpi.launch_size(), _mpi.launch_rank()
    with pytest.raises(ValueError, match="world_size=99 does not match the MPI launch"):
        dist.init_process_group("mpi", world_size=99)
    with pytest.raises(ValueError, match="rank=.* does not match"):
        dist.init_process_group("mpi", rank=(r + 1) % n)
    with pytest.raises(TypeError, match="datetime.timedelta"):
        dist.init_process_group("mpi", timeout=30)
    with pytest.raises(ValueError, match="store= is not supported"):
        dist.init_process_group("mpi", store=object())
    with pytest.raises(ValueError, match="no Gloo backend"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("cpu:mpi,tpu:x")
    with pytest.raises(ValueError, match="init_method="):
        dist.init_process_group("mpi", init_method="bogus://x")
    monkeypatch.setenv("WORLD_SIZE", str(n + 1))
    with pytest.raises(ValueError, match="WORLD_SIZE="):
        dist.init_process_group("mpi", init_method="env://")
    monkeypatch.delenv("WORLD_SIZE")
    assert not dist.is_initialized()
    dist.init_process_group("MPI", init_method="tcp://127.0.0.1:29500")  # URL accepted
    assert dist.get_backend() == "mpi"


def test_names_as_torchs():
    assert [o.name for o in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.PRODUCT,
                             dist.ReduceOp.MIN, dist.ReduceOp.MAX, dist.ReduceOp.BAND,
                             dist.ReduceOp.BOR, dist.ReduceOp.BXOR)] == [
        "SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
    assert repr(dist.ReduceOp.SUM) == "<RedOpType.SUM: 0>"
    assert dist.Backend("NCCL") == dist.Backend.NCCL == "nccl"
    assert dist.Backend("cuda:nccl, cpu:mpi") == "cuda:nccl,cpu:mpi"
    assert dist.GroupMember.NON_GROUP_MEMBER == -100
    with pytest.raises(ValueError, match="NCCL moves CUDA tensors only"):
        dist.Backend("cpu:nccl")


def test_reduce_op_must_be_a_reduce_op(fresh):
    dist.init_process_group("mpi")
    with pytest.raises(TypeError, match="op must be a ReduceOp"):
        dist.all_reduce(gpuarr.ones(2), op="sum")
    with pytest.raises(TypeError, match="Expected parameter `tensor`"):
        dist.all_reduce([1.0, 2.0])


def test_debug_level_from_the_environment(fresh, monkeypatch):
    prev = dist.get_debug_level()
    try:
        monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "detail")
        dist.init_process_group("mpi")
        assert dist.get_debug_level() == dist.DebugLevel.DETAIL
        dist.destroy_process_group()
        monkeypatch.setenv("GPUARR_DISTRIBUTED_DEBUG", "OFF")  # gpuarr's name wins
        dist.set_debug_level_from_env()
        assert dist.get_debug_level() == "OFF"
        monkeypatch.setenv("GPUARR_DISTRIBUTED_DEBUG", "LOUD")
        with pytest.raises(ValueError, match="GPUARR_DISTRIBUTED_DEBUG='LOUD'"):
            dist.set_debug_level_from_env()
        with pytest.raises(ValueError, match="unknown debug level"):
            dist.set_debug_level("LOUD")
    finally:
        dist.set_debug_level(prev)


def test_work_wait_times_out_then_completes(fresh):
    dist.init_process_group("mpi")
    n, r = dist.get_world_size(), dist.get_rank()
    y = gpuarr.zeros(3)
    if r == 0:
        w = dist.irecv(y, src=n - 1, tag=5)
        assert not w.is_completed()
        with pytest.raises(RuntimeError, match="did not finish within"):
            w.wait(timeout=datetime.timedelta(milliseconds=50))
    dist.barrier()  # only now does the last rank send
    if r == n - 1:
        dist.send(gpuarr.ones(3) * 9, dst=0, tag=5)
    if r == 0:
        assert w.wait() and (host(y) == 9).all()


def test_nccl_backend_without_nccl_says_why(fresh):
    if HAS_NCCL:
        pytest.skip("NCCL is available here")
    with pytest.raises(RuntimeError, match="needs NCCL, which is not available here"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


@needs_nccl
def test_nccl_backend_refuses_cpu_tensors_as_torch(fresh):
    dist.init_process_group("nccl")
    with pytest.raises(RuntimeError, match="No backend type associated with device type cpu"):
        dist.all_reduce(gpuarr.ones(2))
    x = gpuarr.ones(2, device="cuda")
    dist.all_reduce(x)
    assert (host(x) == dist.get_world_size()).all()


@needs_nccl
def test_per_device_backends(fresh):
    dist.init_process_group("cpu:mpi,cuda:nccl", device_id=gpuarr.cuda.current_device())
    assert dist.get_backend() == "cpu:mpi,cuda:nccl"
    assert dist.group.WORLD._nccl is not None  # device_id makes the NCCL communicator now
    n = dist.get_world_size()
    a, b = gpuarr.ones(2), gpuarr.ones(2, device="cuda")
    dist.all_reduce(a)
    dist.all_reduce(b, op=dist.ReduceOp.AVG)
    assert (host(a) == n).all() and (host(b) == 1).all()
    dist.barrier()


@needs_nccl
def test_default_backend_picks_nccl_for_cuda(fresh):
    dist.init_process_group()
    assert dist.get_backend() == "cpu:mpi,cuda:nccl"


@pytest.mark.skipif(not gpuarr.cuda.is_available(), reason="needs a CUDA device (or the "
                    "CuPy stand-in)")
def test_tensors_of_two_devices_are_refused(fresh):
    dist.init_process_group("mpi")
    outs = [gpuarr.zeros(2) for _ in range(dist.get_world_size())]
    with pytest.raises(ValueError, match="one device"):
        dist.all_gather(outs, gpuarr.ones(2, device="cuda"))
