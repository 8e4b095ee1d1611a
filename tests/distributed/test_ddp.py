"""``gpuarr.nn.parallel.DistributedDataParallel``.

The MPI tests run under ``mpirun -n 2``: two ranks training on half a batch each must end with
the parameters one process gets on the whole batch. In the ordinary run they skip, and
``test_mpi_suite_under_mpirun`` launches all three files of this feature under ``mpirun -n 2``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from ddp_helpers import get_dist, init_dist, mpi_env, mpirun_path, not_under_mpi, requires_mpi

import gpuarr
from gpuarr import nn
from gpuarr.nn.parallel import DistributedDataParallel as DDP
from gpuarr.nn.parallel.distributed import _assign_buckets

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MPI_FILES = ["test_ddp.py", "test_sampler.py", "test_demo_distributed.py"]


# ---------------------------------------------------------------------------------------------
# ordinary run


_RANK_PYTEST = (
    "import os, sys, pytest; "
    "r = os.environ.get('PMI_RANK', os.environ.get('OMPI_COMM_WORLD_RANK', '0')); "
    "sys.exit(pytest.main(['-p', 'no:cacheprovider', '-rs', "
    "'--junitxml=' + os.path.join(sys.argv[1], 'rank' + r + '.xml'), *sys.argv[2:]]))"
)


@not_under_mpi
def test_mpi_suite_under_mpirun(tmp_path):
    """`make test` covers the MPI tests: run this feature's files under `mpirun -n 2`."""
    import xml.etree.ElementTree as ET

    mpirun = mpirun_path()
    if mpirun is None:
        pytest.fail("mpirun not found: install the test extras (mpi4py, mpich) into the venv")
    if importlib.util.find_spec("mpi4py") is None:
        pytest.fail("mpi4py not installed: install the test extras (mpi4py, mpich) into the venv")
    cmd = [mpirun, "-n", "2", sys.executable, "-c", _RANK_PYTEST, str(tmp_path),
           *[os.path.join(HERE, f) for f in MPI_FILES]]
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=mpi_env(), capture_output=True, text=True,
                           timeout=600)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"")[-6000:]
        pytest.fail(f"mpirun -n 2 pytest timed out after 600 s (a rank hung?):\n{out!r}")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-8000:]
    for rank in range(2):  # both ranks ran the MPI tests, none failed, none skipped for MPI
        suite = ET.parse(tmp_path / f"rank{rank}.xml").getroot().find("testsuite")
        counts = {k: int(suite.get(k)) for k in ("tests", "failures", "errors", "skipped")}
        assert counts["failures"] == counts["errors"] == 0, out[-8000:]
        assert counts["tests"] - counts["skipped"] >= 20, (rank, counts)
        reasons = [s.get("message", "") for s in suite.iter("skipped")]
        assert not [m for m in reasons if "needs `mpirun" in m], (rank, reasons)


def test_post_accumulate_grad_hook_runs_once_with_the_full_grad():
    torch = pytest.importorskip("torch")
    seen, tseen = [], []
    w = gpuarr.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    tw.register_post_accumulate_grad_hook(lambda p: tseen.append(p.grad.tolist()))
    for x in (w, tw):
        (x * 3 + x * x).sum().backward()  # two uses: one call, after both are summed
        (x * 2).sum().backward()  # accumulates onto the existing grad
    assert seen == tseen == [[5.0, 7.0], [7.0, 9.0]]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        gpuarr.ones(2).register_post_accumulate_grad_hook(lambda p: None)


def test_post_accumulate_grad_hook_order_follows_backward():
    a = gpuarr.ones(2, requires_grad=True)
    b = gpuarr.ones(2, requires_grad=True)
    order = []
    a.register_post_accumulate_grad_hook(lambda p: order.append("a"))
    h = b.register_post_accumulate_grad_hook(lambda p: order.append("b"))
    ((a * 2).exp() * b).sum().backward()
    assert sorted(order) == ["a", "b"]
    gpuarr.autograd.grad((a * b).sum(), [a, b])  # autograd.grad accumulates nothing
    assert len(order) == 2
    h.remove()
    (a * b).sum().backward()
    assert order[2:] == ["a"]


@pytest.mark.parametrize("limits", [[1000, 2000], [1 << 20, 25 << 20], [1, 1], [10**9]])
def test_bucket_assignment_matches_torch(limits):
    torch = pytest.importorskip("torch")
    tdist = pytest.importorskip("torch.distributed")
    specs = [(300, "float32"), (100, "float64"), (50, "float32"), (400, "float32"),
             (10, "float64"), (700, "float32"), (3, "float32")]
    params = [gpuarr.zeros(n, dtype=getattr(gpuarr, d)) for n, d in specs]
    tparams = [torch.zeros(n, dtype=getattr(torch, d)) for n, d in specs]
    mine = _assign_buckets(params, limits)
    # torch builds its buckets in the order gradients become ready: the reverse order here
    rev = list(reversed(tparams))
    theirs, _ = tdist._compute_bucket_assignment_by_size(rev, limits, [False] * len(rev))
    assert mine == [[len(rev) - 1 - j for j in b] for b in theirs]


# ---------------------------------------------------------------------------------------------
# under mpirun -n 2


def _mlp(seed: int, dtype=gpuarr.float64) -> nn.Module:
    gpuarr.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 5)).to(dtype)


def _data(steps: int, batch: int = 64, dtype=np.float64):
    rng = np.random.default_rng(1234)  # the same global data on every rank
    xs = rng.standard_normal((steps, batch, 20)).astype(dtype)
    ys = rng.integers(0, 5, (steps, batch))
    return xs, ys


def _rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def _allgather_np(dist, t) -> list[np.ndarray]:
    out = [gpuarr.zeros_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(out, t.detach().clone())
    return [o.numpy() for o in out]


def _make_opt(name: str, params):
    if name == "sgd":
        return gpuarr.optim.SGD(params, lr=0.1, momentum=0.9)
    return gpuarr.optim.Adam(params, lr=1e-2)


@requires_mpi
def test_ddp_needs_an_initialized_process_group():
    # runs first in the MPI session, before the fixture below initializes the group
    dist = get_dist()
    if dist.is_initialized():
        pytest.skip("a process group is already initialized in this process")
    with pytest.raises(RuntimeError, match="init_process_group"):
        DDP(nn.Linear(2, 2))


@pytest.fixture(scope="module")
def dist():
    return init_dist()


@requires_mpi
@pytest.mark.parametrize("accumulate", [False, True], ids=["plain", "no_sync"])
@pytest.mark.parametrize("as_view", [False, True], ids=["copy", "bucket_view"])
@pytest.mark.parametrize("cap", [None, 0.001], ids=["default_buckets", "tiny_buckets"])
def test_two_ranks_match_one_process_on_the_whole_batch(dist, accumulate, as_view, cap):
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == 2
    steps = 10
    xs, ys = _data(2 * steps)
    model = _mlp(seed=100 + rank)  # different on each rank: construction broadcasts rank 0's
    ddp = DDP(model, bucket_cap_mb=cap, gradient_as_bucket_view=as_view)
    ref = _mlp(seed=0)
    ref.load_state_dict(model.state_dict())
    for p in model.parameters():
        got = _allgather_np(dist, p)
        assert np.array_equal(got[0], got[1])
    loss_fn = nn.CrossEntropyLoss()
    half = 64 // world
    for phase, name in enumerate(["sgd", "adam"]):
        opt, ref_opt = _make_opt(name, ddp.parameters()), _make_opt(name, ref.parameters())
        for s in range(phase * steps, (phase + 1) * steps):
            x, y = gpuarr.from_numpy(xs[s]), gpuarr.from_numpy(ys[s])
            ref_opt.zero_grad()
            loss_fn(ref(x), y).backward()
            ref_opt.step()

            xr, yr = x[rank * half:(rank + 1) * half], y[rank * half:(rank + 1) * half]
            opt.zero_grad()
            if accumulate:  # two micro-batches: the first accumulates locally
                q = half // 2
                with ddp.no_sync():
                    (loss_fn(ddp(xr[:q]), yr[:q]) / 2).backward()
                (loss_fn(ddp(xr[q:]), yr[q:]) / 2).backward()
            else:
                loss_fn(ddp(xr), yr).backward()
            opt.step()
        for (n, p), q in zip(model.named_parameters(), ref.parameters()):
            assert _rel(p.detach().numpy(), q.detach().numpy()) <= 1e-6, (name, n)
    for p in model.parameters():
        got = _allgather_np(dist, p)
        assert np.array_equal(got[0], got[1])


@requires_mpi
def test_float32_training_matches_one_process(dist):
    """In float32 the two ways of summing the batch round differently: 1e-5 after 20 steps
    (float64 above shows the algorithm itself is exact to 1e-6)."""
    rank = dist.get_rank()
    xs, ys = _data(20, dtype=np.float32)
    model = _mlp(seed=7 + rank, dtype=gpuarr.float32)
    ddp = DDP(model)
    ref = _mlp(seed=0, dtype=gpuarr.float32)
    ref.load_state_dict(model.state_dict())
    loss_fn = nn.CrossEntropyLoss()
    for phase, name in enumerate(["sgd", "adam"]):
        opt, ref_opt = _make_opt(name, ddp.parameters()), _make_opt(name, ref.parameters())
        for s in range(phase * 10, phase * 10 + 10):
            x, y = gpuarr.from_numpy(xs[s]), gpuarr.from_numpy(ys[s])
            ref_opt.zero_grad()
            loss_fn(ref(x), y).backward()
            ref_opt.step()
            opt.zero_grad()
            loss_fn(ddp(x[rank * 32:(rank + 1) * 32]), y[rank * 32:(rank + 1) * 32]).backward()
            opt.step()
    for p, q in zip(model.parameters(), ref.parameters()):
        assert _rel(p.detach().numpy(), q.detach().numpy()) <= 1e-5


@requires_mpi
def test_gradients_are_averaged_when_backward_returns(dist):
    rank = dist.get_rank()
    lin = nn.Linear(3, 1)
    ddp = DDP(lin)
    x = gpuarr.full((1, 3), float(rank + 1))
    ddp(x).sum().backward()
    # d(sum(w.x + b))/dw = x: ranks hold 1s and 2s, the average is 1.5
    np.testing.assert_array_equal(lin.weight.grad.numpy(), np.full((1, 3), 1.5))
    np.testing.assert_array_equal(lin.bias.grad.numpy(), [1.0])
    # a second backward without a new forward does not synchronise again (as torch)
    y = ddp(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(lin.weight.grad.numpy(), np.full((1, 3), 1.5 + 1.5 + rank + 1))


@requires_mpi
def test_buckets_are_reduced_while_backward_runs(dist, monkeypatch):
    """With small buckets the last layer's bucket is all-reduced (asynchronously) before the
    first layer's gradient exists: communication overlaps the rest of backward."""
    model = _mlp(seed=0)
    ddp = DDP(model, bucket_cap_mb=0.0005)  # ~500 bytes: several buckets
    assert len(ddp.reducer.buckets) > 2
    first_w = model[0].weight
    calls = []
    real = dist.all_reduce

    def spy(tensor, *a, **kw):
        calls.append((kw.get("async_op", False), first_w.grad is None))
        return real(tensor, *a, **kw)

    monkeypatch.setattr(dist, "all_reduce", spy)
    x = gpuarr.randn(8, 20, dtype=gpuarr.float64)
    model.zero_grad()
    ddp(x).square().sum().backward()
    assert len(calls) == len(ddp.reducer.buckets)
    assert all(a for a, _ in calls)
    assert calls[0][1], "the first bucket went out only after all gradients were computed"
    assert first_w.grad is not None


@requires_mpi
def test_unused_parameter_without_find_unused_raises_clearly(dist):
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(4, 2)
            self.unused = nn.Linear(4, 2)

        def forward(self, x):
            return self.used(x)

    ddp = DDP(Branchy())
    x = gpuarr.randn(3, 4)
    ddp(x).sum().backward()
    with pytest.raises(RuntimeError, match="find_unused_parameters=True") as e:
        ddp(x)
    assert "unused.weight" in str(e.value) and "unused.bias" in str(e.value)
    assert "used.weight" not in str(e.value).replace("unused.weight", "")


@requires_mpi
def test_find_unused_parameters(dist):
    rank = dist.get_rank()

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 2)
            self.b = nn.Linear(4, 2)
            self.never = nn.Linear(4, 2)

        def forward(self, x, use_b):
            out = self.a(x)
            return out + self.b(x) if use_b else out

    model = Branchy()
    ddp = DDP(model, find_unused_parameters=True)
    x = gpuarr.ones(1, 4)
    for _ in range(2):  # a second iteration proves the first one finished its reduction
        model.zero_grad()
        ddp(x, use_b=(rank == 0)).sum().backward()
        # b is used on rank 0 only: rank 1 contributes zeros, so both hold half of rank 0's
        np.testing.assert_array_equal(model.b.weight.grad.numpy(), np.full((2, 4), 0.5))
        np.testing.assert_array_equal(model.a.weight.grad.numpy(), np.ones((2, 4)))
        assert model.never.weight.grad is None  # unused everywhere: left alone (torch)


@requires_mpi
def test_buffers_broadcast_from_rank0(dist):
    rank = dist.get_rank()
    bn = nn.BatchNorm1d(3)
    with gpuarr.no_grad():
        bn.running_mean.fill_(rank + 1.0)
    ddp = DDP(bn)
    rm = bn.running_mean
    np.testing.assert_array_equal(rm.numpy(), np.ones(3))  # rank 0's, at construction
    mom = bn.momentum

    def batch(r):
        return gpuarr.full((4, 3), float(10 * r)) + gpuarr.arange(4.0).reshape(4, 1)

    ddp(batch(rank)).sum().backward()  # running stats diverge: each rank saw its own batch
    before = _allgather_np(dist, rm)
    assert not np.array_equal(before[0], before[1])
    ddp(batch(rank))  # starts from rank 0's buffers, then updates them with the local batch
    after = _allgather_np(dist, rm)
    for r in range(2):
        np.testing.assert_allclose(after[r], (1 - mom) * before[0] + mom * (10 * r + 1.5),
                                   rtol=1e-6)
    nosync = DDP(nn.BatchNorm1d(3), broadcast_buffers=False)
    with gpuarr.no_grad():
        nosync.module.running_mean.fill_(rank + 1.0)
    nosync(batch(rank))
    got = _allgather_np(dist, nosync.module.running_mean)
    assert not np.array_equal(got[0], got[1])


@requires_mpi
def test_state_dict_module_attribute_and_forward(dist):
    lin = nn.Linear(2, 3)
    ddp = DDP(lin, device_ids=None, output_device=None)
    assert ddp.module is lin
    assert list(ddp.state_dict()) == ["module.weight", "module.bias"]
    ddp.load_state_dict({k: v.clone() for k, v in ddp.state_dict().items()})
    x = gpuarr.randn(4, 2)
    np.testing.assert_array_equal(ddp(x).detach().numpy(), lin(x).detach().numpy())
    assert [p is q for p, q in zip(ddp.parameters(), lin.parameters())] == [True, True]
    assert "DistributedDataParallel" in repr(ddp) and "(module): Linear" in repr(ddp)
    with pytest.raises(ValueError, match="device_ids"):
        DDP(nn.Linear(2, 2), device_ids=[0])
    with pytest.raises(RuntimeError, match="doesn't have any parameter"):
        DDP(nn.Linear(2, 2).requires_grad_(False))


@requires_mpi
def test_process_group_from_new_group(dist):
    if not hasattr(dist, "new_group"):
        pytest.skip("gpuarr.distributed has no new_group yet")
    rank = dist.get_rank()
    group = dist.new_group([0, 1])
    lin = nn.Linear(2, 1)
    ddp = DDP(lin, process_group=group)
    assert ddp.world_size == 2
    ddp(gpuarr.full((1, 2), float(rank))).sum().backward()
    np.testing.assert_array_equal(lin.weight.grad.numpy(), np.full((1, 2), 0.5))
