"""DataParallel and the single-process multi-device helpers of gpuarr.nn.parallel (replicate,
scatter, gather, parallel_apply, comm), against torch's semantics and torch CPU's values.

The 'cpu' runs stand for a machine without CUDA (torch's CPU build): the ``dev`` fixture
reports CUDA unavailable there, whatever this machine has, so DataParallel just calls the
module and the CUDA-only helpers raise torch's errors. The 'cuda' runs use one device: a
DataParallel over it runs the module directly, as torch's does; ``device_ids=[0, 0]`` puts
two replicas on that device, which runs the whole scatter / replicate / parallel_apply /
gather path (tests/test_multi_gpu_data_parallel.py runs it across two devices).
"""

from __future__ import annotations

import collections
import copy
import re

import numpy as np
import pytest
import torch
from nn_helpers import load_from_torch, raises_like, to_np

import gpuarr
from gpuarr import nn
from gpuarr.nn.parallel import (
    DataParallel,
    comm,
    data_parallel,
    gather,
    parallel_apply,
    replicate,
    scatter,
)
from gpuarr.nn.parallel.scatter_gather import scatter_kwargs

NT = collections.namedtuple("NT", "a b")


@pytest.fixture
def dev(device, monkeypatch):
    """The device under test; on 'cpu', CUDA is reported unavailable."""
    if device == "cpu":
        monkeypatch.setattr(gpuarr.cuda, "is_available", lambda: False)
    return device


# ---- models: the same architecture in both libraries ------------------------------------
def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(5, 8), lib.nn.Tanh(), lib.nn.Linear(8, 3))


def cnn(lib):
    return lib.nn.Sequential(
        lib.nn.Conv2d(2, 4, 3, padding=1), lib.nn.BatchNorm2d(4), lib.nn.ReLU(),
        lib.nn.MaxPool2d(2), lib.nn.Flatten(), lib.nn.Linear(16, 3))


def twins(build, seed=0):
    torch.manual_seed(seed)
    tm = build(torch).double()
    gm = build(gpuarr).double()
    load_from_torch(gm, tm)
    return gm, tm


def rnd(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def check_grads(gm, tm, rtol=1e-10, atol=1e-12):
    tp = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        np.testing.assert_allclose(to_np(p.grad), tp[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def run_both(gm, tm, x, device_ids, pieces):
    """Forward + backward of ``DataParallel(gm)`` and of torch's ``tm`` run on the batch's
    ``pieces`` chunks (what each replica sees); returns both outputs and input grads."""
    dp = DataParallel(gm, device_ids=device_ids)
    gx = gpuarr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    gout = dp(gx)
    tout = torch.cat([tm(c) for c in tx.chunk(pieces)])
    w = rnd(*tout.shape, seed=7)
    (gout * gpuarr.tensor(w, device=gout.device)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(gout), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    return dp, gout


# ---- DataParallel ---------------------------------------------------------------------
@pytest.mark.parametrize("build", [mlp, cnn])
def test_whole_batch_matches_torch(dev, build):
    gm, tm = twins(build)
    x = rnd(6, 5) if build is mlp else rnd(6, 2, 4, 4)
    dp, out = run_both(gm, tm, x, None if dev == "cpu" else [0], 1)
    check_grads(gm, tm)
    if dev == "cpu":  # no CUDA: the module is just called, where it is
        assert dp.device_ids == [] and out.device == gpuarr.device("cpu")
    else:  # one device: moved there in __init__, inputs moved by scatter
        assert dp.device_ids == [0] and dp.output_device == 0
        assert out.device == gpuarr.device("cuda:0")
        assert all(p.device == gpuarr.device("cuda:0") for p in gm.parameters())
    if build is cnn:  # running statistics of the whole batch, as torch's
        bn_g, bn_t = gm[1], tm[1]
        np.testing.assert_allclose(to_np(bn_g.running_mean), bn_t.running_mean.numpy(),
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(to_np(bn_g.running_var), bn_t.running_var.numpy(),
                                   rtol=1e-10, atol=1e-12)
        assert int(to_np(bn_g.num_batches_tracked)) == 1


def test_default_devices(dev):
    m = nn.Linear(2, 2)
    dp = DataParallel(m)
    if dev == "cpu":
        assert dp.device_ids == [] and not hasattr(dp, "output_device")
        return
    n = gpuarr.cuda.device_count()
    assert dp.device_ids == list(range(n)) and dp.output_device == 0 and dp.dim == 0
    dp = DataParallel(m, device_ids=["cuda:0", gpuarr.device("cuda:0")], output_device="cuda:0",
                      dim=1)
    assert dp.device_ids == [0, 0] and dp.output_device == 0 and dp.dim == 1
    with pytest.raises(ValueError, match="Expected a non cpu device, but got: cpu"):
        DataParallel(m, device_ids=[0], output_device="cpu")


def test_one_device_calls_the_module_itself(dev):
    gm, _ = twins(mlp)
    params = list(gm.parameters())
    dp = DataParallel(gm, device_ids=None if dev == "cpu" else [0])
    out = dp(gpuarr.randn(4, 5, dtype=gpuarr.float64))
    direct = gm(gpuarr.randn(4, 5, dtype=gpuarr.float64, device=out.device))
    # the graph ends in the module's own last op, not in a gather
    assert type(out.grad_fn).__name__ == type(direct.grad_fn).__name__ == "AddmmBackward0"
    assert dp.module is gm and list(gm.parameters()) == params  # moved in place
    assert [p is q for p, q in zip(gm.parameters(), params)] == [True] * 4


def test_two_replicas_on_one_device(dev):
    """device_ids=[0, 0]: the full scatter / replicate / apply / gather path; gradients add
    up over the replicas; BatchNorm normalises each replica's piece, and only the first
    replica's running statistics reach the module, as in torch."""
    if dev == "cpu":
        pytest.skip("two replicas need a CUDA device; the 'cuda' run covers this")
    gm, tm = twins(cnn)
    t_first = copy.deepcopy(tm)
    x = rnd(6, 2, 4, 4)
    _, out = run_both(gm.cuda(), tm, x, [0, 0], 2)
    assert type(out.grad_fn).__name__ == "CatBackward0"
    check_grads(gm, tm)
    t_first(torch.tensor(x[:3]))  # the running statistics of the first piece only
    np.testing.assert_allclose(to_np(gm[1].running_mean), t_first[1].running_mean.numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_np(gm[1].running_var), t_first[1].running_var.numpy(),
                               rtol=1e-10, atol=1e-12)
    assert int(to_np(gm[1].num_batches_tracked)) == 1


def test_state_dict_keys_as_torch(dev):
    gm, tm = twins(cnn)
    gdp, tdp = DataParallel(gm), torch.nn.DataParallel(tm)
    assert list(gdp.state_dict()) == list(tdp.state_dict())
    assert all(k.startswith("module.") for k in gdp.state_dict())
    assert gdp.module is gm
    fresh = DataParallel(cnn(gpuarr).double())
    res = fresh.load_state_dict(gdp.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []


def test_module_must_be_on_device_ids_0(dev):
    gm, _ = twins(mlp)
    if dev == "cpu":  # torch's CPU build: data_parallel refuses, DataParallel just calls
        raises_like(lambda: torch.nn.parallel.data_parallel(torch.nn.Linear(2, 2),
                                                            torch.ones(1, 2)),
                    lambda: data_parallel(gm, gpuarr.ones(1, 5)))
        assert DataParallel(gm)(gpuarr.ones(1, 5, dtype=gpuarr.float64)).shape == (1, 3)
        return
    dp = DataParallel(gm, device_ids=[0])
    gm.cpu()  # moved away after wrapping
    msg = ("module must have its parameters and buffers on device cuda:0 (device_ids[0]) but "
           "found one of them on device: cpu")
    with pytest.raises(RuntimeError, match=f"^{re.escape(msg)}$"):
        dp(gpuarr.ones(1, 5, dtype=gpuarr.float64))
    with pytest.raises(RuntimeError, match="found one of them on device: cpu"):
        data_parallel(gm, gpuarr.ones(1, 5, dtype=gpuarr.float64), device_ids=[0])


def test_kwargs_non_tensors_and_fewer_pieces(dev):
    if dev == "cpu":
        pytest.skip("scattering needs a CUDA device; the 'cuda' run covers this")
    seen = []

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(gpuarr.ones(3, dtype=gpuarr.float64))
            self.log = seen  # a plain attribute: every replica shares the same list

        def forward(self, x, scale, *, mask=None, tag="t"):
            self.log.append((tuple(x.shape), tuple(mask.shape), tag, scale))
            return {"y": x * self.w * scale + mask, "n": None}

    m = M().cuda()
    x = gpuarr.randn(4, 3, dtype=gpuarr.float64)
    mask = gpuarr.randn(4, 3, dtype=gpuarr.float64)
    out = DataParallel(m, device_ids=[0, 0])(x, 2.0, mask=mask, tag="k")
    assert seen == [((2, 3), (2, 3), "k", 2.0)] * 2 and out["n"] is None
    np.testing.assert_allclose(to_np(out["y"]), to_np(x) * 2 + to_np(mask))
    seen.clear()  # a batch of one: one piece, one replica
    out = data_parallel(m, (x[:1], 3.0), device_ids=[0, 0], module_kwargs={"mask": mask[:1]})
    assert len(seen) == 1 and out["y"].shape == (1, 3)


def test_scalar_outputs_become_a_vector(dev):
    if dev == "cpu":
        pytest.skip("gathering needs a CUDA device; the 'cuda' run covers this")
    gm, _ = twins(mlp)
    loss = nn.Sequential(gm, nn.Flatten(0)).cuda()

    class Mean(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = loss

        def forward(self, x):
            return self.m(x).mean()

    x = gpuarr.randn(4, 5, dtype=gpuarr.float64)
    with pytest.warns(UserWarning, match="all input tensors were scalars; will instead "
                                         "unsqueeze and return a vector"):
        out = DataParallel(Mean(), device_ids=[0, 0])(x)
    assert out.shape == (2,)
    expect = [to_np(gm(x[:2].cuda()).mean()), to_np(gm(x[2:].cuda()).mean())]
    np.testing.assert_allclose(to_np(out), np.array(expect, dtype=np.float64).ravel())
    out.sum().backward()
    assert gm[0].weight.grad is not None


def test_no_grad_forward_records_nothing(dev):
    gm, _ = twins(mlp)
    ids = None if dev == "cpu" else [0, 0]
    with gpuarr.no_grad():
        out = DataParallel(gm.to(dev), device_ids=ids)(gpuarr.randn(4, 5, dtype=gpuarr.float64))
    assert not out.requires_grad and out.grad_fn is None


# ---- replicate ----------------------------------------------------------------------
def test_replicate(dev):
    gm, tm = twins(cnn)
    if dev == "cpu":  # torch's Broadcast refuses CPU tensors
        raises_like(lambda: torch.nn.parallel.replicate(tm, [0, 1]),
                    lambda: replicate(gm, [0, 1]))
        assert replicate(gm, []) == []
        return
    gm.cuda()
    r0, r1 = replicate(gm, [0, 0])
    for r in (r0, r1):
        assert type(r) is type(gm) and r is not gm and r[0] is not gm[0]
        assert list(r.parameters()) == []  # nothing for an optimizer to see
        w = r[0].weight
        assert not isinstance(w, nn.Parameter) and not w.is_leaf and w.requires_grad
        np.testing.assert_array_equal(to_np(w), to_np(gm[0].weight))
    # the first replica shares the module's buffers; the others have copies
    assert r0[1].running_mean is gm[1].running_mean
    assert r1[1].running_mean is not gm[1].running_mean
    assert [k for k, _ in r1.named_buffers()] == [k for k, _ in gm.named_buffers()]
    x = gpuarr.randn(2, 2, 4, 4, dtype=gpuarr.float64, device="cuda")
    r1(x).sum().backward()
    g1 = to_np(gm[0].weight.grad)
    r0(x).sum().backward()  # the same input: the gradient doubles
    np.testing.assert_allclose(to_np(gm[0].weight.grad), 2 * g1, rtol=1e-12)
    # detached: no history; devices[0] gets the module's own tensors (torch's
    # broadcast_coalesced), the others plain copies
    d0, d1 = replicate(gm, [0, 0], detach=True)
    assert d0[0].weight is gm[0].weight
    assert not d1[0].weight.requires_grad and d1[0].weight.grad_fn is None
    gm[0].cpu()
    with pytest.raises(AssertionError, match="Broadcast function not implemented for CPU"):
        replicate(gm, [0, 0])


# ---- scatter / gather -----------------------------------------------------------------
def test_scatter_nested_structures(dev):
    obj = (3, "a", [1, None], {"k": 2}, NT(1, "s"))
    assert scatter(obj, [0, 1]) == torch.nn.parallel.scatter(obj, [0, 1])
    for args in [((1,), {"a": 2}), ((), {"a": 2}), ((1,), None), ((), None)]:
        assert scatter_kwargs(*args, [0, 1]) == torch.nn.parallel.scatter_gather.scatter_kwargs(
            *args, [0, 1])
    for empty in [(), [], {}]:
        assert scatter(empty, [0, 1]) == torch.nn.parallel.scatter(empty, [0, 1])
    if dev == "cpu":
        return
    x = gpuarr.arange(10.0).reshape(5, 2)
    res = scatter((x, [x, 7], {"m": x}, NT(x, "s")), [0, 0])
    assert len(res) == 2
    (a0, [b0, s0], d0, n0), (a1, [b1, s1], d1, n1) = res
    assert s0 == s1 == 7 and isinstance(n0, NT) and n0.b == "s"
    for t in (a0, b0, d0["m"], n0.a):
        assert t.device == gpuarr.device("cuda:0")
        np.testing.assert_array_equal(to_np(t), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(to_np(a1), np.arange(6.0, 10.0).reshape(2, 2))
    # a tensor alone gives a tuple; dim picks the split; a short tensor gives fewer pieces
    pieces = scatter(x, [0, 0], dim=1)
    assert isinstance(pieces, tuple) and [tuple(p.shape) for p in pieces] == [(5, 1)] * 2
    assert len(scatter(x[:1], [0, 0])) == 1


def test_gather_structures_and_scalars(dev):
    if dev == "cpu":
        raises_like(lambda: torch.nn.parallel.gather([torch.tensor(1.), torch.tensor(2.)],
                                                     "cpu"),
                    lambda: gather([gpuarr.tensor(1.), gpuarr.tensor(2.)], "cpu"))
        assert gather([None, None], 0) is None
        return
    a = gpuarr.ones(2, 3, device="cuda")
    b = gpuarr.zeros(1, 3, device="cuda")
    out = gather([{"t": (a, None)}, {"t": (b, None)}], "cpu")
    assert out["t"][1] is None and out["t"][0].device == gpuarr.device("cpu")
    np.testing.assert_array_equal(to_np(out["t"][0]), np.r_[np.ones((2, 3)), np.zeros((1, 3))])
    nt = gather([NT(a, a), NT(a, a)], 0, dim=1)
    assert isinstance(nt, NT) and nt.a.shape == (2, 6)
    with pytest.raises(ValueError, match="All dicts must have the same number of keys"):
        gather([{"a": a}, {"a": a, "b": a}], 0)
    with pytest.warns(UserWarning, match="were scalars"):
        v = gather([a.sum(), b.sum()], 0)
    np.testing.assert_array_equal(to_np(v), [6.0, 0.0])
    with pytest.warns(FutureWarning, match="Using -1 to represent CPU tensor is deprecated"):
        assert gather([a, b], -1).device == gpuarr.device("cpu")


def test_scatter_gather_gradients(dev):
    if dev == "cpu":
        pytest.skip("scatter/gather move tensors to CUDA devices; the 'cuda' run covers this")
    x = gpuarr.tensor(rnd(5, 3), requires_grad=True)  # on the CPU: scattered to the GPU

    def f(x):
        pieces = scatter(x, [0, 0], dim=1)
        return gather([p * p * (i + 1) for i, p in enumerate(pieces)], "cpu", dim=1)

    y = f(x)
    assert y.device == gpuarr.device("cpu")
    y.sum().backward()
    xn = to_np(x)
    np.testing.assert_allclose(to_np(x.grad), np.c_[2 * xn[:, :2], 4 * xn[:, 2:]])
    assert gpuarr.autograd.gradcheck(f, (x,))
    assert gpuarr.autograd.gradgradcheck(f, (x,))
    xc = gpuarr.tensor(rnd(4, 2), requires_grad=True, device="cuda")
    g = lambda t: gather(list(scatter(t, [0, 0])), 0).sin()  # noqa: E731
    assert gpuarr.autograd.gradcheck(g, (xc,)) and gpuarr.autograd.gradgradcheck(g, (xc,))


# ---- parallel_apply -------------------------------------------------------------------
class Boom(nn.Module):
    def forward(self, x):
        raise ValueError(f"bad input of shape {tuple(x.shape)}")


def test_parallel_apply(dev):
    if dev == "cpu":
        raises_like(lambda: torch.nn.parallel.parallel_apply([torch.nn.Identity()],
                                                             [(torch.ones(1),)]),
                    lambda: parallel_apply([nn.Identity()], [(gpuarr.ones(1),)]))
        return
    lin = nn.Linear(3, 2).cuda()
    x = gpuarr.randn(4, 3, device="cuda")
    outs = parallel_apply([lin, lin], [x, (x[:2],)], [{}, {}], [0, 0])
    np.testing.assert_allclose(to_np(outs[0]), to_np(lin(x)), rtol=1e-6)
    assert outs[1].shape == (2, 2)
    assert parallel_apply([lin], [(x,)])[0].shape == (4, 2)  # device from the input
    with pytest.raises(ValueError, match=r"^Caught ValueError in replica 1 on device 0\.\n"
                                         r"Original Traceback[\s\S]*bad input of shape \(4, 3\)"):
        parallel_apply([lin, Boom()], [(x,), (x,)], None, [0, 0])
    with pytest.raises(AssertionError, match="The number of modules 2 is not equal to the "
                                             "number of inputs 1"):
        parallel_apply([lin, lin], [(x,)])
    with pytest.raises(AssertionError, match="number of devices 1"):
        parallel_apply([lin, lin], [(x,), (x,)], None, [0])


# ---- comm ------------------------------------------------------------------------------
def test_comm_on_one_device(dev):
    if dev == "cpu":
        with pytest.raises(RuntimeError, match="Expected all input tensors to be CUDA tensors, "
                                               "but tensor at index 0 has device cpu"):
            comm.gather([gpuarr.ones(2)], 0, "cpu")
        with pytest.raises(AssertionError, match="input 0 is on CPU"):
            comm.reduce_add([gpuarr.ones(2)], 0)
        with pytest.raises(ValueError, match="Expected a non cpu device, but got: cpu"):
            comm.broadcast(gpuarr.ones(2), ["cpu"])
        return
    x = gpuarr.arange(6.0, device="cuda").reshape(3, 2)
    b = comm.broadcast(x, [0, 0])
    assert b[0] is x and b[1] is x
    with pytest.raises(RuntimeError, match="Exactly one of 'devices' and 'out' must be"):
        comm.broadcast(x)
    out = [gpuarr.zeros(3, 2, device="cuda")]
    assert comm.broadcast(x, out=out)[0] is out[0]
    np.testing.assert_array_equal(to_np(out[0]), to_np(x))
    with pytest.raises(RuntimeError, match=r"same shape as the source tensor \[3, 2\], but "
                                           r"output tensor at index 0 has shape \[2\]"):
        comm.broadcast(x, out=[gpuarr.zeros(2, device="cuda")])
    (c0,), (c1,) = comm.broadcast_coalesced([x], [0, 0])
    assert c0 is x and c1 is not x and not c1.requires_grad
    np.testing.assert_array_equal(to_np(comm.reduce_add([x, x], 0)), 2 * to_np(x))
    with pytest.raises(ValueError, match="input 1 has invalid size: got 2x3, but expected 3x2"):
        comm.reduce_add([x, x.t()], 0)
    pieces = comm.scatter(x, [0, 0], chunk_sizes=[1, 2])
    assert [tuple(p.shape) for p in pieces] == [(1, 2), (2, 2)]
    with pytest.raises(RuntimeError, match="Expected at least one device to scatter to"):
        comm.scatter(x, [])
    with pytest.raises(RuntimeError, match=r"len\(devices\) = 2 and len\(chunk_sizes\) = 1"):
        comm.scatter(x, [0, 0], chunk_sizes=[3])
    g = comm.gather(pieces, 0, "cpu")
    assert g.device == gpuarr.device("cpu")
    np.testing.assert_array_equal(to_np(g), to_np(x))
    with pytest.raises(RuntimeError, match=r"Input tensor at index 1 has invalid shape \[2, 3\], "
                                           r"but expected \[2, 2\]"):
        comm.gather([x, gpuarr.zeros(2, 3, device="cuda")], 0)
    with pytest.raises(RuntimeError, match="Expected at least one tensor to gather from"):
        comm.gather([], 0)
