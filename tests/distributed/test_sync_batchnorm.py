"""``SyncBatchNorm`` and ``SyncBatchNorm.convert_sync_batchnorm``.

The ordinary run checks the single-process behaviour (no process group: BatchNorm, against
torch's SyncBatchNorm and BatchNorm*d), the conversion and the errors, and launches this file
under ``mpirun -n 2`` (``test_sync_batchnorm_under_mpirun``). There the two ranks each take
part of a global batch and must get what one process gets with BatchNorm on the whole batch
(gpuarr and torch): outputs, input gradients, summed weight/bias gradients, running
statistics, second derivatives; on the CPU over MPI and, with the CuPy stand-in first on
PYTHONPATH, on (simulated) GPUs over MPI and NCCL.
"""

from __future__ import annotations

import inspect
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from dist_helpers import LAUNCHED, SKIP_REASON, nccl_usable, use_own_gpu
from test_dist_launch import STANDIN, run_pytest_under_mpirun

import gpuarr
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.nn.normalization import _BatchNorm
from gpuarr.nn.sync_batchnorm import SyncBatchNorm, sync_batch_norm

ordinary_run = pytest.mark.skipif(LAUNCHED, reason="runs in the ordinary (non-MPI) test run")
under_mpi = pytest.mark.skipif(not LAUNCHED, reason=SKIP_REASON)


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def close(got, want, tol: float = 1e-10) -> None:
    got, want = (host(a) if isinstance(a, (gpuarr.Tensor, torch.Tensor)) else np.asarray(a)
                 for a in (got, want))
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def raises_like(tfn, gfn) -> None:
    """``gfn`` raises what ``tfn`` raises in torch: the same type and message (gpuarr's
    ``Size`` where torch's names ``torch.Size``)."""
    with pytest.raises(Exception) as te:
        tfn()
    msg = str(te.value).replace("torch.Size", "gpuarr.Size")
    with pytest.raises(type(te.value), match="^" + re.escape(msg) + "$"):
        gfn()


def data(shape, seed: int = 0):
    """(input, output gradient) float64 arrays: channels with different means and scales."""
    rng = np.random.default_rng(seed)
    c = shape[1]
    loc = np.arange(c).reshape((1, c) + (1,) * (len(shape) - 2))
    x = rng.standard_normal(shape) * (1 + loc) + loc - 1
    return x, rng.standard_normal(shape)


def set_affine(m, c: int) -> None:
    """A weight and bias other than 1 and 0 (gpuarr or torch module)."""
    w = np.linspace(0.5, 2.0, c)
    b = np.linspace(-1.0, 1.0, c)
    lib = torch if isinstance(m, torch.nn.Module) else gpuarr
    with lib.no_grad():
        for p, v in ((m.weight, w), (m.bias, b)):
            if p is not None:
                p.copy_(lib.tensor(v, dtype=p.dtype, device=p.device))


def torch_reference(x, g, steps: int = 1, **kw):
    """torch BatchNorm (as a SyncBatchNorm without a process group) on the whole batch:
    (module, input tensor, output) after ``steps`` forward/backward passes."""
    m = torch.nn.SyncBatchNorm(x.shape[1], dtype=torch.float64, **kw)
    if m.affine:
        set_affine(m, x.shape[1])
    for _ in range(steps):
        tx = torch.tensor(x, requires_grad=True)
        ty = m(tx)
        (ty * torch.tensor(g)).sum().backward()
    return m, tx, ty


# =============================================================================================
# the ordinary run: one process


@ordinary_run
def test_signature_defaults_repr_and_state_dict_match_torch(device):
    params = inspect.signature(SyncBatchNorm.__init__).parameters
    tparams = inspect.signature(torch.nn.SyncBatchNorm.__init__).parameters
    assert list(params) == list(tparams)
    assert [(p.default, p.kind) for p in params.values()] == \
        [(p.default, p.kind) for p in tparams.values()]
    m = SyncBatchNorm(5, device=device)
    t = torch.nn.SyncBatchNorm(5)
    assert isinstance(m, _BatchNorm) and m.process_group is None
    assert repr(m) == repr(t)
    assert repr(SyncBatchNorm(4, 0.1, None, False, False, bias=False)) == \
        repr(torch.nn.SyncBatchNorm(4, 0.1, None, False, False, bias=False))
    sd, tsd = m.state_dict(), t.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        close(sd[k], tsd[k], 0)
        assert str(sd[k].dtype).split(".")[-1] == str(tsd[k].dtype).split(".")[-1]
        assert sd[k].device.type == device
    m2 = SyncBatchNorm(5, affine=False, track_running_stats=False, dtype=gpuarr.float64)
    assert m2.weight is None and m2.running_mean is None and m2.num_batches_tracked is None
    assert SyncBatchNorm(5, dtype=gpuarr.float64).running_var.dtype == gpuarr.float64
    assert SyncBatchNorm(3, process_group="pg").process_group == "pg"


SHAPES = [(6, 3), (5, 2, 4), (4, 3, 2, 3), (3, 2, 2, 2, 2), (4, 2, 0, 3)]
KWARGS = [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False},
          {"bias": False}]


@ordinary_run
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("kw", KWARGS, ids=str)
def test_without_process_group_it_is_batchnorm(device, shape, kw):
    """Training (twice) then eval: values, gradients, running statistics as torch's
    SyncBatchNorm (which falls back to batch norm) and gpuarr's BatchNorm."""
    if 0 in shape:
        # torch's batch_norm rejects size-0 batches when training too: only eval runs here
        kw = {**kw, "track_running_stats": True}
    x, g = data(shape)
    c = shape[1]
    t = torch.nn.SyncBatchNorm(c, dtype=torch.float64, **kw)
    m = SyncBatchNorm(c, dtype=gpuarr.float64, device=device, **kw)
    if m.affine:
        set_affine(t, c)
        set_affine(m, c)
    steps = 0 if 0 in shape else 2
    for _ in range(steps):
        tx = torch.tensor(x, requires_grad=True)
        gx = gpuarr.tensor(x, device=device, requires_grad=True)
        ty, gy = t(tx), m(gx)
        close(gy, ty)
        (ty * torch.tensor(g)).sum().backward()
        (gy * gpuarr.tensor(g, device=device)).sum().backward()
        close(gx.grad, tx.grad)
        x = x * 0.5 + 1  # a second batch with other statistics
    if m.affine and steps:
        close(m.weight.grad, t.weight.grad)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        got, want = getattr(m, name), getattr(t, name)
        assert (got is None) == (want is None)
        if got is not None:
            close(got, want)
    t.eval()
    m.eval()
    close(m(gpuarr.tensor(x, device=device)), t(torch.tensor(x)))


@ordinary_run
def test_fallback_is_bit_for_bit_batchnorm2d(device):
    x, g = data((4, 3, 2, 2), seed=3)
    bn = nn.BatchNorm2d(3, device=device)
    sbn = SyncBatchNorm(3, device=device)
    outs = []
    for m in (bn, sbn):
        gx = gpuarr.tensor(x.astype(np.float32), device=device, requires_grad=True)
        y = m(gx)
        (y * gpuarr.tensor(g.astype(np.float32), device=device)).sum().backward()
        outs.append((host(y), host(gx.grad), host(m.weight.grad), host(m.running_var)))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


@ordinary_run
def test_fallback_gradcheck_and_gradgradcheck(device):
    m = SyncBatchNorm(2, dtype=gpuarr.float64, device=device)
    set_affine(m, 2)
    x = gpuarr.tensor(data((3, 2, 2))[0], device=device, requires_grad=True)
    assert gradcheck(lambda a: m(a), (x,))
    assert gradgradcheck(lambda a: m(a), (x,))


@ordinary_run
def test_input_errors_match_torch(device):
    t, m = torch.nn.SyncBatchNorm(3), SyncBatchNorm(3, device=device)
    for shape in [(4,), (), (4, 0, 2), (1, 3)]:
        raises_like(lambda s=shape: t(torch.zeros(s)),
                    lambda s=shape: m(gpuarr.zeros(s, device=device)))
    t.num_batches_tracked = None
    m.num_batches_tracked = None
    raises_like(lambda: t(torch.zeros(4, 3)), lambda: m(gpuarr.zeros(4, 3, device=device)))
    t.eval()
    m.eval()
    raises_like(lambda: t(torch.zeros(5)), lambda: m(gpuarr.zeros(5, device=device)))
    close(m(gpuarr.ones(1, 3, device=device)), t(torch.ones(1, 3)), 1e-6)


def _models(lib):
    """The same model in torch and gpuarr: BatchNorm1d/2d/3d at several depths."""
    n = lib.nn

    class Block(n.Module):
        def __init__(self):
            super().__init__()
            self.conv = n.Conv2d(2, 3, 1)
            self.bn = n.BatchNorm2d(3, momentum=None, bias=False)
            self.inner = n.Sequential(n.BatchNorm3d(3, affine=False), n.ReLU())

    return n.Sequential(n.Linear(4, 4), n.BatchNorm1d(4, eps=1e-3), Block(),
                        n.BatchNorm2d(2, track_running_stats=False), n.LayerNorm(3))


@ordinary_run
def test_convert_sync_batchnorm_matches_torch(device):
    net, tnet = _models(gpuarr).to(device), _models(torch)
    net[2].eval()
    tnet[2].eval()
    net[1].qconfig = "q"
    tnet[1].qconfig = "q"
    before = {name: m for name, m in net.named_modules()}
    params = dict(net.named_parameters())
    buffers = dict(net.named_buffers())
    out = SyncBatchNorm.convert_sync_batchnorm(net, process_group="pg")
    tout = torch.nn.SyncBatchNorm.convert_sync_batchnorm(tnet, process_group="pg")
    assert out is net
    kinds = [(name, type(m).__name__, m.training) for name, m in out.named_modules()]
    assert kinds == [(name, type(m).__name__, m.training) for name, m in tout.named_modules()]
    for name, m in out.named_modules():
        tm = dict(tout.named_modules())[name]
        if isinstance(m, SyncBatchNorm):
            assert not isinstance(before[name], SyncBatchNorm)
            assert repr(m) == repr(tm) and m.process_group == "pg"
            assert getattr(m, "qconfig", None) == getattr(tm, "qconfig", None)
        else:
            assert m is before[name]
    # the same Parameter and buffer objects, under the same names
    assert dict(out.named_parameters()).keys() == params.keys()
    assert all(p is params[k] for k, p in out.named_parameters())
    assert dict(out.named_buffers()).keys() == buffers.keys()
    assert all(b is buffers[k] for k, b in out.named_buffers())
    assert out[1].qconfig == "q" and not hasattr(out[2].bn, "qconfig")
    assert out[2].bn.bias is None and out[2].inner[0].weight is None
    assert out[3].running_mean is None and out[3].momentum == 0.1
    assert out[2].bn.momentum is None and out[1].eps == 1e-3


@ordinary_run
def test_convert_a_batchnorm_itself_and_a_module_without_one():
    bn = nn.BatchNorm1d(3)
    bn.train(False)
    s = SyncBatchNorm.convert_sync_batchnorm(bn)
    assert type(s) is SyncBatchNorm and s is not bn and not s.training
    assert s.weight is bn.weight and s.running_var is bn.running_var
    assert s.num_batches_tracked is bn.num_batches_tracked and s.process_group is None
    again = SyncBatchNorm.convert_sync_batchnorm(s)  # a SyncBatchNorm is a _BatchNorm: new one
    assert type(again) is SyncBatchNorm and again is not s and again.weight is s.weight
    lin = nn.Linear(2, 2)
    assert SyncBatchNorm.convert_sync_batchnorm(lin) is lin
    # the converted layer computes what the BatchNorm did
    x = gpuarr.randn(5, 3)
    close(s(x), bn(x), 0)


@ordinary_run
def test_sync_batchnorm_under_mpirun(tmp_path):
    """This file's MPI tests under ``mpirun -n 2``: CPU tensors over MPI and, with the CuPy
    stand-in first on PYTHONPATH (a simulated GPU per rank), CUDA tensors over MPI and the
    stand-in's NCCL. One launch runs every configuration, as launches are slow."""
    standin = STANDIN.is_dir()
    want = N_MPI_TESTS * (3 if standin else 1)  # cpu_mpi; with the stand-in cuda_mpi, cuda_nccl
    one_blas_thread = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS"), "1")  # two ranks: a thread each
    run_pytest_under_mpirun([__file__], tmp_path, standin=standin, want=want, select="mpi_",
                            no_skips=True, timeout=300, **one_blas_thread)


# =============================================================================================
# under mpirun -n 2: every rank runs these with its part of the batch

CONFIGS = [("cpu_mpi", "mpi", "cpu")]
if LAUNCHED and gpuarr.cuda.is_available():
    use_own_gpu()
    CONFIGS += [("cuda_mpi", "mpi", "cuda")]
    if nccl_usable()[0]:
        CONFIGS += [("cuda_nccl", "nccl", "cuda")]


@pytest.fixture(scope="module", params=CONFIGS, ids=[c[0] for c in CONFIGS])
def cfg(request):
    if not LAUNCHED:
        pytest.skip(SKIP_REASON)
    import gpuarr.distributed as dist

    name, backend, device = request.param
    dist.init_process_group(backend)
    yield SimpleNamespace(name=name, device=device, rank=dist.get_rank(),
                          n=dist.get_world_size(), dist=dist)
    dist.destroy_process_group()


def share(cfg, a: np.ndarray, first: int) -> np.ndarray:
    """This rank's part of the batch ``a``: rank 0 the first ``first`` samples."""
    return a[:first] if cfg.rank == 0 else a[first:]


def summed(cfg, t):
    """``t`` summed over the ranks (what DDP's averaging does, times the world size)."""
    t = t.detach().clone()
    cfg.dist.all_reduce(t)
    return t


def run_sync(cfg, x, g, first: int, steps: int = 1, group=None, **kw):
    """SyncBatchNorm on this rank's share: (module, input, output) after ``steps`` passes."""
    m = SyncBatchNorm(x.shape[1], process_group=group, dtype=gpuarr.float64, device=cfg.device,
                      **kw)
    if m.affine:
        set_affine(m, x.shape[1])
    for _ in range(steps):
        gx = gpuarr.tensor(share(cfg, x, first), device=cfg.device, requires_grad=True)
        y = m(gx)
        (y * gpuarr.tensor(share(cfg, g, first), device=cfg.device)).sum().backward()
    return m, gx, y


# (global shape, rank 0's batch size, module arguments)
MPI_CASES = [((6, 3), 3, {}), ((5, 2, 4), 3, {"momentum": None}), ((4, 3, 2, 3), 2, {}),
             ((4, 2, 2, 2, 2), 1, {"affine": False}),
             ((5, 3, 2, 2), 4, {"momentum": None, "bias": False}),
             ((3, 2, 3), 3, {})]  # the last: rank 1 gets an empty batch


@under_mpi
@pytest.mark.parametrize("shape, first, kw", MPI_CASES, ids=str)
def test_mpi_matches_batchnorm_on_the_whole_batch(cfg, shape, first, kw):
    x, g = data(shape, seed=sum(shape))
    steps = 2
    m, gx, y = run_sync(cfg, x, g, first, steps, **kw)
    tm, tx, ty = torch_reference(x, g, steps, **kw)
    close(y, share(cfg, ty.detach().numpy(), first))
    close(gx.grad, share(cfg, tx.grad.numpy(), first))
    if m.affine:
        close(summed(cfg, m.weight.grad), tm.weight.grad)
    if m.bias is not None:
        close(summed(cfg, m.bias.grad), tm.bias.grad)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        close(getattr(m, name), getattr(tm, name))
    # gpuarr's own BatchNorm on the whole batch, one process
    bn = (nn.BatchNorm1d if len(shape) < 4 else nn.BatchNorm2d if len(shape) == 4
          else nn.BatchNorm3d)(shape[1], dtype=gpuarr.float64, device=cfg.device, **kw)
    if bn.affine:
        set_affine(bn, shape[1])
    for _ in range(steps):
        bx = gpuarr.tensor(x, device=cfg.device, requires_grad=True)
        by = bn(bx)
        (by * gpuarr.tensor(g, device=cfg.device)).sum().backward()
    close(y, share(cfg, host(by), first))
    close(gx.grad, share(cfg, host(bx.grad), first))
    close(m.running_var, bn.running_var)
    # eval mode: the (identical) running statistics, no synchronisation
    m.eval()
    tm.eval()
    xe = x[:, :, :1] if len(shape) > 2 else x
    close(m(gpuarr.tensor(share(cfg, xe, 1), device=cfg.device)),
          share(cfg, tm(torch.tensor(xe)).detach().numpy(), 1))


@under_mpi
def test_mpi_float32_and_float16(cfg):
    x, g = data((6, 3, 2, 2), seed=5)
    tm = torch.nn.BatchNorm2d(3)
    tx = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    (tm(tx) * torch.tensor(g, dtype=torch.float32)).sum().backward()
    for dt, tol in ((gpuarr.float32, 1e-5), (gpuarr.float16, 5e-3)):
        m = SyncBatchNorm(3, device=cfg.device).to(dt)
        gx = gpuarr.tensor(share(cfg, x, 2), dtype=dt, device=cfg.device, requires_grad=True)
        y = m(gx)
        assert y.dtype == dt and m.running_mean.dtype == dt
        (y * gpuarr.tensor(share(cfg, g, 2), dtype=dt, device=cfg.device)).sum().backward()
        assert gx.grad.dtype == dt
        want = tm(torch.tensor(x, dtype=torch.float32)).detach().numpy()  # eval-free: train
        close(y.float(), share(cfg, want, 2), tol * 10)
        close(gx.grad.float(), share(cfg, tx.grad.numpy(), 2), tol * 10)
        close(summed(cfg, m.weight.grad).float(), tm.weight.grad, tol * 20)


@under_mpi
def test_mpi_second_derivatives_match_one_process(cfg):
    """grad of (grad of the loss . h): the backward's all_reduce is differentiable too."""
    x, g = data((5, 2, 3), seed=7)
    h = np.random.default_rng(8).standard_normal(x.shape)
    m = SyncBatchNorm(2, dtype=gpuarr.float64, device=cfg.device)
    set_affine(m, 2)
    gx = gpuarr.tensor(share(cfg, x, 2), device=cfg.device, requires_grad=True)
    loss = (m(gx) * gpuarr.tensor(share(cfg, g, 2), device=cfg.device)).sum()
    (dx,) = gpuarr.autograd.grad(loss, gx, create_graph=True)
    (dx * gpuarr.tensor(share(cfg, h, 2), device=cfg.device)).sum().backward()
    tm = torch.nn.BatchNorm1d(2, dtype=torch.float64)
    set_affine(tm, 2)
    tx = torch.tensor(x, requires_grad=True)
    (tdx,) = torch.autograd.grad((tm(tx) * torch.tensor(g)).sum(), tx, create_graph=True)
    (tdx * torch.tensor(h)).sum().backward()
    close(dx, share(cfg, tdx.detach().numpy(), 2))
    close(gx.grad, share(cfg, tx.grad.numpy(), 2))
    close(summed(cfg, m.weight.grad), tm.weight.grad)


@under_mpi
def test_mpi_gradcheck_in_one_rank_groups(cfg):
    """The synchronised path (collectives included) on a group of one rank each, where
    finite differences on one rank are valid: gradcheck and gradgradcheck in float64."""
    dist = cfg.dist
    groups = [dist.new_group([r]) for r in range(cfg.n)]
    mine = groups[cfg.rank]
    rng = np.random.default_rng(cfg.rank)
    x = gpuarr.tensor(rng.standard_normal((3, 2, 2)), device=cfg.device, requires_grad=True)
    w = gpuarr.tensor([0.7, 1.3], dtype=gpuarr.float64, device=cfg.device, requires_grad=True)
    b = gpuarr.tensor([0.1, -0.2], dtype=gpuarr.float64, device=cfg.device, requires_grad=True)

    def f(x, w, b):
        return sync_batch_norm(x, w, b, None, None, 1e-5, 0.1, mine, 1)

    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))
    # it is batch norm on this rank's batch
    tm = torch.nn.functional.batch_norm(torch.tensor(host(x)), None, None,
                                        torch.tensor(host(w)), torch.tensor(host(b)), True)
    close(f(x, w, b), tm)
    for grp in groups:
        dist.destroy_process_group(grp)


@under_mpi
def test_mpi_process_groups_and_when_there_is_no_sync(cfg):
    dist = cfg.dist
    x, g = data((4, 2, 3), seed=11)
    # an explicit group of both ranks synchronises like the default one
    both = dist.new_group(list(range(cfg.n)))
    m, gx, y = run_sync(cfg, x, g, 2, group=both)
    tm, tx, ty = torch_reference(x, g)
    close(y, share(cfg, ty.detach().numpy(), 2))
    close(gx.grad, share(cfg, tx.grad.numpy(), 2))
    close(m.running_var, tm.running_var)
    dist.destroy_process_group(both)
    # one-rank groups (world size 1): plain batch norm on this rank's part
    groups = [dist.new_group([r]) for r in range(cfg.n)]
    m, gx, y = run_sync(cfg, x, g, 2, group=groups[cfg.rank])
    tm, tx, ty = torch_reference(share(cfg, x, 2), share(cfg, g, 2))
    close(y, ty)
    close(gx.grad, tx.grad)
    close(m.running_mean, tm.running_mean)
    for grp in groups:
        dist.destroy_process_group(grp)
    # eval mode without running statistics: batch statistics, but this rank's only (torch)
    m = SyncBatchNorm(2, track_running_stats=False, dtype=gpuarr.float64, device=cfg.device)
    m.eval()
    tm = torch.nn.BatchNorm1d(2, track_running_stats=False, dtype=torch.float64)
    close(m(gpuarr.tensor(share(cfg, x, 2), device=cfg.device)),
          tm(torch.tensor(share(cfg, x, 2))))
    # without needing gradients: forward only, still synchronised
    m = SyncBatchNorm(2, dtype=gpuarr.float64, device=cfg.device)
    with gpuarr.no_grad():
        y = m(gpuarr.tensor(share(cfg, x, 1), device=cfg.device))
    close(y, share(cfg, torch.nn.BatchNorm1d(2, dtype=torch.float64)(torch.tensor(x))
                   .detach().numpy(), 1))


@under_mpi
def test_mpi_converted_model_under_ddp_matches_one_process(cfg):
    """convert_sync_batchnorm + DistributedDataParallel on half a batch each: the parameters
    after two SGD steps equal one process's with BatchNorm on the whole batch."""
    from gpuarr.nn.parallel import DistributedDataParallel as DDP

    def model(lib):
        n = lib.nn
        return n.Sequential(n.Conv2d(2, 3, 1), n.BatchNorm2d(3), n.ReLU(), n.Flatten(),
                            n.Linear(12, 1))

    torch.manual_seed(0)
    ref = model(torch).double()
    net = model(gpuarr).to(gpuarr.float64)
    net.load_state_dict({k: gpuarr.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    net = DDP(SyncBatchNorm.convert_sync_batchnorm(net).to(cfg.device))
    assert isinstance(net.module[1], SyncBatchNorm)
    opt = gpuarr.optim.SGD(net.parameters(), lr=0.1)
    rng = np.random.default_rng(3)
    for _ in range(2):
        x, t = rng.standard_normal((6, 2, 2, 2)), rng.standard_normal((6, 1))
        opt.zero_grad()
        out = net(gpuarr.tensor(share(cfg, x, 3), device=cfg.device))
        ((out - gpuarr.tensor(share(cfg, t, 3), device=cfg.device)) ** 2).mean().backward()
        opt.step()
        ref.zero_grad()
        ((ref(torch.tensor(x)) - torch.tensor(t)) ** 2).mean().backward()
        with torch.no_grad():  # SGD by hand: torch.optim's first step imports for seconds
            for p in ref.parameters():
                p -= 0.1 * p.grad
    for (k, v), (tk, tv) in zip(net.module.state_dict().items(), ref.state_dict().items()):
        assert k == tk
        close(v, tv)


N_MPI_TESTS = len(MPI_CASES) + 5  # per configuration
