"""nn.utils.parametrize and nn.utils.parametrizations (weight_norm, spectral_norm) against
torch: the same modules wrapped both ways with the same weights give the same outputs,
gradients, SGD steps, state_dict keys and repr; checkpoints load in both directions."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from nn_helpers import raises_like, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.nn.utils import parametrizations as P
from gpuarr.nn.utils import parametrize

TP = torch.nn.utils.parametrize
TPZ = torch.nn.utils.parametrizations


def raises_renamed(tfn, gfn):
    """``gfn`` raises what ``tfn`` raises, with torch's type names (torch.Size, torch.float32)
    read as gpuarr's."""
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(type(te.value)) as ge:
        gfn()
    assert str(ge.value) == str(te.value).replace("torch.", "gpuarr.")


def g_state(tm, device):
    return {k: gpuarr.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()}


def t_state(gm):
    return {k: torch.tensor(to_np(v)) for k, v in gm.state_dict().items()}


def pair(gcls, tcls, *args, device="cpu"):
    """A float64 gpuarr module and a torch one with the same weights."""
    tm = tcls(*args).double()
    gm = gcls(*args).to(device=device, dtype=gpuarr.float64)
    gm.load_state_dict(g_state(tm, device))
    return gm, tm


def assert_same(gm, tm, x, device, rtol=1e-10):
    """Same output and same gradient of every parameter (and of the input)."""
    xt = torch.tensor(x, requires_grad=True)
    xg = gpuarr.tensor(x, device=device, requires_grad=True)
    yt, yg = tm(xt), gm(xg)
    np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=rtol, atol=1e-12)
    w = rnd(*yt.shape, seed=7)
    (yt * torch.tensor(w)).sum().backward()
    (yg * gpuarr.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=rtol, atol=1e-12)
    tp = dict(tm.named_parameters())
    gp = dict(gm.named_parameters())
    assert list(gp) == list(tp)
    for k in tp:
        np.testing.assert_allclose(to_np(gp[k].grad), tp[k].grad.numpy(), rtol=rtol,
                                   atol=1e-12, err_msg=k)


# ---- user parametrizations (the same class for both libraries) -------------------------------

def symmetric(base):
    class Symmetric(base.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()
    return Symmetric


def scale(base, k):
    class Scale(base.Module):
        def forward(self, X):
            return X * k

        def right_inverse(self, A):
            return A / k
    return Scale


def split_sum(base):
    class SplitSum(base.Module):  # right_inverse gives two tensors
        def forward(self, A, B):
            return A + B

        def right_inverse(self, X):
            return X * 0.25, X * 0.75
    return SplitSum


def test_register_chain_state_dict_repr(device):
    gm, tm = pair(nn.Linear, torch.nn.Linear, 3, 3, device=device)
    for lib, m in ((nn, gm), (torch.nn, tm)):
        mod = parametrize if lib is nn else TP
        mod.register_parametrization(m, "weight", symmetric(lib)())
        mod.register_parametrization(m, "weight", scale(lib, 2.0)())
    assert type(gm).__name__ == type(tm).__name__ == "ParametrizedLinear"
    assert repr(gm) == repr(tm).replace("Symmetric", "Symmetric")
    assert list(gm.state_dict()) == list(tm.state_dict()) == [
        "bias", "parametrizations.weight.original"]
    orig = gm.parametrizations.weight.original
    assert isinstance(orig, nn.Parameter) and orig.requires_grad
    np.testing.assert_allclose(to_np(orig), tm.parametrizations.weight.original.detach().numpy())
    w = to_np(gm.weight)
    np.testing.assert_allclose(w, w.T)
    assert parametrize.is_parametrized(gm) and parametrize.is_parametrized(gm, "weight")
    assert not parametrize.is_parametrized(gm, "bias")
    assert parametrize.type_before_parametrizations(gm) is nn.Linear
    assert_same(gm, tm, rnd(4, 3), device)


def test_assignment_runs_right_inverse(device):
    gm, tm = pair(nn.Linear, torch.nn.Linear, 3, 3, device=device)
    parametrize.register_parametrization(gm, "weight", symmetric(nn)())
    TP.register_parametrization(tm, "weight", symmetric(torch.nn)())
    orig = gm.parametrizations.weight.original
    a = rnd(3, 3, seed=3)
    gm.weight = gpuarr.tensor(a, device=device)
    with torch.no_grad():
        tm.weight = torch.tensor(a)
    assert gm.parametrizations.weight.original is orig  # set in place
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy())


def test_several_originals_and_sgd_steps(device):
    gm, tm = pair(nn.Linear, torch.nn.Linear, 4, 2, device=device)
    parametrize.register_parametrization(gm, "weight", split_sum(nn)())
    TP.register_parametrization(tm, "weight", split_sum(torch.nn)())
    assert list(gm.state_dict()) == list(tm.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    gopt = gpuarr.optim.SGD(gm.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    x = rnd(5, 4)
    for _ in range(3):
        gopt.zero_grad()
        topt.zero_grad()
        assert_same(gm, tm, x, device)
        gopt.step()
        topt.step()
    for k, v in t_state(gm).items():
        np.testing.assert_allclose(v.numpy(), tm.state_dict()[k].numpy(), rtol=1e-10)


def test_state_dict_loads_both_ways(device):
    tm = torch.nn.Linear(3, 3).double()
    TP.register_parametrization(tm, "weight", symmetric(torch.nn)())
    gm = nn.Linear(3, 3).to(device=device, dtype=gpuarr.float64)
    parametrize.register_parametrization(gm, "weight", symmetric(nn)())
    gm.load_state_dict(g_state(tm, device))
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy())
    with gpuarr.no_grad():
        gm.parametrizations.weight.original.mul_(3.0)
    tm.load_state_dict(t_state(gm))
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy())


def test_remove_parametrizations(device):
    for leave in (True, False):
        gm, tm = pair(nn.Linear, torch.nn.Linear, 3, 3, device=device)
        parametrize.register_parametrization(gm, "weight", scale(nn, 3.0)())
        TP.register_parametrization(tm, "weight", scale(torch.nn, 3.0)())
        orig = gm.parametrizations.weight.original
        parametrize.remove_parametrizations(gm, "weight", leave_parametrized=leave)
        TP.remove_parametrizations(tm, "weight", leave_parametrized=leave)
        assert type(gm) is nn.Linear and not hasattr(gm, "parametrizations")
        assert gm.weight is orig and isinstance(gm.weight, nn.Parameter)
        assert list(gm.state_dict()) == list(tm.state_dict()) == ["bias", "weight"]
        np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy())
    gm, tm = pair(nn.Linear, torch.nn.Linear, 3, 3, device=device)
    parametrize.register_parametrization(gm, "weight", split_sum(nn)())
    TP.register_parametrization(tm, "weight", split_sum(torch.nn)())
    raises_like(lambda: TP.remove_parametrizations(tm, "weight", leave_parametrized=False),
                lambda: parametrize.remove_parametrizations(gm, "weight",
                                                            leave_parametrized=False))
    parametrize.remove_parametrizations(gm, "weight")
    TP.remove_parametrizations(tm, "weight")
    np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy())
    assert isinstance(gm.weight, nn.Parameter)
    raises_like(lambda: TP.remove_parametrizations(tm, "weight"),
                lambda: parametrize.remove_parametrizations(gm, "weight"))


def test_buffer_and_unsafe_shape_change(device):
    class Flat(nn.Module):
        def forward(self, X):
            return X.reshape(-1)

    class TFlat(torch.nn.Module):
        def forward(self, X):
            return X.reshape(-1)

    gm, tm = pair(nn.BatchNorm1d, torch.nn.BatchNorm1d, 3, device=device)
    parametrize.register_parametrization(gm, "running_mean", scale(nn, 2.0)())
    TP.register_parametrization(tm, "running_mean", scale(torch.nn, 2.0)())
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert "parametrizations.running_mean.original" in dict(gm.named_buffers())
    lg = nn.Linear(3, 2).to(device)
    lt = torch.nn.Linear(3, 2)
    raises_renamed(lambda: TP.register_parametrization(lt, "weight", TFlat()),
                lambda: parametrize.register_parametrization(lg, "weight", Flat()))
    raises_like(lambda: TP.register_parametrization(lt, "nope", TFlat()),
                lambda: parametrize.register_parametrization(lg, "nope", Flat()))
    parametrize.register_parametrization(lg, "weight", Flat(), unsafe=True)
    TP.register_parametrization(lt, "weight", TFlat(), unsafe=True)
    assert lg.weight.shape == lt.weight.shape == (6,)


def test_cached_computes_once():
    calls = []

    class Count(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1.0

    m = parametrize.register_parametrization(nn.Linear(2, 2), "weight", Count())
    calls.clear()
    with parametrize.cached():
        a, b = m.weight, m.weight
        with parametrize.cached():
            c = m.weight
    assert a is b is c and len(calls) == 1
    assert m.weight is not a and len(calls) == 2  # outside: computed at each access


def test_transfer_parametrizations_and_params(device):
    src = nn.Linear(3, 3).to(device)
    parametrize.register_parametrization(src, "weight", symmetric(nn)())
    dst = nn.Linear(3, 3).to(device)
    out = parametrize.transfer_parametrizations_and_params(src, dst)
    assert out is dst and type(dst).__name__ == "ParametrizedLinear"
    assert dst.parametrizations.weight.original is src.parametrizations.weight.original
    np.testing.assert_allclose(to_np(dst.weight), to_np(src.weight))
    plain = nn.Linear(3, 3)
    assert parametrize.transfer_parametrizations_and_params(plain, dst) is dst


def test_pickle_refused_deepcopy_kept():
    m = parametrize.register_parametrization(nn.Linear(3, 3), "weight", symmetric(nn)())
    t = TP.register_parametrization(torch.nn.Linear(3, 3), "weight", symmetric(torch.nn)())
    raises_like(lambda: pickle.dumps(t), lambda: pickle.dumps(m))
    c = copy.deepcopy(m)
    assert type(c).__name__ == "ParametrizedLinear"
    assert c.parametrizations.weight.original is not m.parametrizations.weight.original
    np.testing.assert_allclose(to_np(c.weight), to_np(m.weight))


def test_gradcheck_through_parametrizations(device):
    """gradcheck/gradgradcheck of a parametrized layer's output w.r.t. its originals."""
    m = P.weight_norm(nn.Linear(3, 2).to(device=device, dtype=gpuarr.float64))
    parametrize.register_parametrization(m, "bias", scale(nn, 2.0)())
    x = gpuarr.tensor(rnd(4, 3), device=device)
    pl = m.parametrizations

    def f(g, v, b):
        return nn.functional.linear(x, v * (g / v.norm(dim=1, keepdim=True)), b * 2.0)

    args = [pl.weight.original0.detach().clone().requires_grad_(),
            pl.weight.original1.detach().clone().requires_grad_(),
            pl.bias.original.detach().clone().requires_grad_()]
    assert gpuarr.autograd.gradcheck(f, args)
    assert gpuarr.autograd.gradgradcheck(f, args)
    np.testing.assert_allclose(to_np(m(x)), to_np(f(*args)), rtol=1e-12)  # f is the layer


# ---- weight_norm -----------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_weight_norm_matches_torch(device, dim):
    gm, tm = pair(nn.Conv1d, torch.nn.Conv1d, 2, 3, 3, device=device)
    P.weight_norm(gm, dim=dim)
    TPZ.weight_norm(tm, dim=dim)
    assert list(gm.state_dict()) == list(tm.state_dict())
    for k, v in gm.state_dict().items():
        assert tuple(v.shape) == tuple(tm.state_dict()[k].shape), k
        np.testing.assert_allclose(to_np(v), tm.state_dict()[k].numpy(), rtol=1e-12)
    assert repr(gm) == repr(tm)
    assert_same(gm, tm, rnd(2, 2, 5), device)


def test_weight_norm_sgd_steps_and_old_checkpoints(device):
    gm, tm = pair(nn.Linear, torch.nn.Linear, 4, 3, device=device)
    P.weight_norm(gm)
    TPZ.weight_norm(tm)
    gopt = gpuarr.optim.SGD(gm.parameters(), lr=0.2)
    topt = torch.optim.SGD(tm.parameters(), lr=0.2)
    x = rnd(6, 4)
    for _ in range(3):
        gopt.zero_grad()
        topt.zero_grad()
        assert_same(gm, tm, x, device)
        gopt.step()
        topt.step()
    # a checkpoint of the hook form (weight_g / weight_v) loads into the parametrized one
    old = torch.nn.Linear(4, 3).double()
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(old)
    gm.load_state_dict(g_state(old, device))
    np.testing.assert_allclose(to_np(gm.weight), old.weight.detach().numpy(), rtol=1e-12)


# ---- spectral_norm ---------------------------------------------------------------------------

@pytest.mark.parametrize("cls,args,kw", [
    ("Linear", (5, 3), {}),
    ("Conv2d", (2, 4, 3), {"n_power_iterations": 3}),
    ("ConvTranspose2d", (4, 2, 3), {"eps": 1e-6}),
])
def test_spectral_norm_train_and_eval(device, cls, args, kw):
    gm, tm = pair(getattr(nn, cls), getattr(torch.nn, cls), *args, device=device)
    TPZ.spectral_norm(tm, **kw)
    P.spectral_norm(gm, **kw)
    assert list(gm.state_dict()) == list(tm.state_dict())
    gm.load_state_dict(g_state(tm, device))  # the same u, v
    x = rnd(2, args[0]) if cls == "Linear" else rnd(2, args[0], 5, 5)
    gopt = gpuarr.optim.SGD(gm.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for _ in range(2):  # training: power iteration updates u and v each forward
        gopt.zero_grad()
        topt.zero_grad()
        assert_same(gm, tm, x, device, rtol=1e-8)
        gopt.step()
        topt.step()
    for k, v in t_state(gm).items():
        np.testing.assert_allclose(v.numpy(), tm.state_dict()[k].numpy(), rtol=1e-8,
                                   atol=1e-12, err_msg=k)
    gm.eval()
    tm.eval()
    u = to_np(gm.parametrizations.weight[0]._u).copy()
    gopt.zero_grad()
    topt.zero_grad()
    assert_same(gm, tm, x, device, rtol=1e-8)
    np.testing.assert_array_equal(to_np(gm.parametrizations.weight[0]._u), u)  # eval: no step


def test_spectral_norm_errors_and_1d():
    for kw in ({"n_power_iterations": 0}, {"dim": 2}):
        raises_like(lambda kw=kw: TPZ.spectral_norm(torch.nn.Linear(3, 2), **kw),
                    lambda kw=kw: P.spectral_norm(nn.Linear(3, 2), **kw))
    raises_like(lambda: TPZ.spectral_norm(torch.nn.Linear(3, 2), name="nope"),
                lambda: P.spectral_norm(nn.Linear(3, 2), name="nope"))
    gm, tm = pair(nn.Linear, torch.nn.Linear, 3, 2)
    TPZ.spectral_norm(tm, name="bias")
    P.spectral_norm(gm, name="bias")
    assert list(gm.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(to_np(gm.bias), tm.bias.detach().numpy(), rtol=1e-12)


# ---- orthogonal ------------------------------------------------------------------------------

ORTH_CASES = [((4, 4), None), ((4, 4), "cayley"), ((4, 4), "householder"), ((5, 3), None),
              ((3, 5), "matrix_exp"), ((3, 5), "cayley"), ((3, 5), "householder")]


def _orthonormal(w, atol=1e-10):
    w = w.reshape(-1, *w.shape[-2:])
    for m in w:
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(gram, np.eye(min(m.shape)), atol=atol)


@pytest.mark.parametrize("shape,omap", ORTH_CASES)
def test_orthogonal_matches_torch(device, shape, omap):
    gm, tm = pair(nn.Linear, torch.nn.Linear, shape[1], shape[0], device=device)
    P.orthogonal(gm, orthogonal_map=omap)
    TPZ.orthogonal(tm, orthogonal_map=omap)
    assert list(gm.state_dict()) == list(tm.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.0.base"]
    _orthonormal(to_np(gm.weight))
    if shape[0] == shape[1]:  # no random completion: the same base as torch's
        np.testing.assert_allclose(to_np(gm.weight), tm.weight.detach().numpy(), atol=1e-12)
    with torch.no_grad():  # move away from the base point, then compare through training
        step = 0.2 * torch.randn(shape, dtype=torch.float64)
        step.diagonal().zero_()  # householder reads the diagonal as the columns' signs (+-1)
        tm.parametrizations.weight.original.add_(step)
    gm.load_state_dict(g_state(tm, device))
    gopt = gpuarr.optim.SGD(gm.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for _ in range(2):
        gopt.zero_grad()
        topt.zero_grad()
        assert_same(gm, tm, rnd(3, shape[1]), device, rtol=1e-9)
        gopt.step()
        topt.step()
    _orthonormal(to_np(gm.weight))


def test_orthogonal_assignment_batches_and_no_trivialization(device):
    m = P.orthogonal(nn.Linear(3, 3).to(device=device, dtype=gpuarr.float64))
    q = np.linalg.qr(rnd(3, 3, seed=4))[0]
    m.weight = gpuarr.tensor(q, device=device)
    np.testing.assert_allclose(to_np(m.weight), q, atol=1e-12)

    class Batch(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(gpuarr.tensor(rnd(2, 5, 3), device=device))

    b = P.orthogonal(Batch(), "w", "cayley")
    _orthonormal(to_np(b.w))
    t = TPZ.orthogonal(torch.nn.Linear(3, 3).double(), use_trivialization=False)
    g = P.orthogonal(nn.Linear(3, 3).double(), use_trivialization=False)
    assert list(g.state_dict()) == list(t.state_dict())
    g.load_state_dict(g_state(t, "cpu"))
    np.testing.assert_allclose(to_np(g.weight), t.weight.detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="geqrf"):
        P.orthogonal(nn.Linear(3, 5), orthogonal_map="householder", use_trivialization=False)


@pytest.mark.parametrize("kw", [{"name": "bias"}, {"name": "nope"},
                                {"orthogonal_map": "qr"}])
def test_orthogonal_errors(kw):
    raises_like(lambda: TPZ.orthogonal(torch.nn.Linear(3, 3), **kw),
                lambda: P.orthogonal(nn.Linear(3, 3), **kw))


@pytest.mark.parametrize("omap", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_gradcheck(device, omap):
    m = P.orthogonal(nn.Linear(2, 3).to(device=device, dtype=gpuarr.float64), orthogonal_map=omap)
    orth = m.parametrizations.weight[0]
    x = gpuarr.tensor(rnd(3, 2, seed=2), device=device, requires_grad=True)
    assert gpuarr.autograd.gradcheck(orth, [x])
    assert gpuarr.autograd.gradgradcheck(orth, [x])
