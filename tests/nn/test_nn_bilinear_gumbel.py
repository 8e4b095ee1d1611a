"""F.bilinear and nn.Bilinear against PyTorch CPU; F.gumbel_softmax by its definition (its
noise comes from gpuarr's generator, so it cannot match torch's stream)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import compare_module, rnd, to_np

import gpuarr
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.nn import functional as F

DTYPES = [gpuarr.float32, gpuarr.float64]


# ------------------------------------------------------------------------------------------
# bilinear


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch", [(4,), (2, 3), (), (0,)])
def test_bilinear_module(device, dtype, bias, batch):
    tm = torch.nn.Bilinear(3, 4, 5, bias=bias)
    gm = nn.Bilinear(3, 4, 5, bias=bias)
    compare_module(gm, tm, [rnd(*batch, 3), rnd(*batch, 4, seed=1)], device, dtype)


def test_bilinear_module_init_and_repr(device):
    gm = nn.Bilinear(9, 4, 300, device=device, dtype=gpuarr.float64)
    w, b = to_np(gm.weight), to_np(gm.bias)
    assert w.shape == (300, 9, 4) and b.shape == (300,)
    assert gm.weight.dtype == gpuarr.float64 and gm.weight.device.type == device
    # U(-1/sqrt(in1), 1/sqrt(in1)): bounded and spread over the whole range
    assert np.abs(w).max() <= 1 / 3 and np.abs(w).max() > 0.3
    assert np.abs(b).max() <= 1 / 3 and np.abs(b).max() > 0.3
    for bias in (True, False):
        assert repr(nn.Bilinear(3, 4, 5, bias=bias)) == repr(torch.nn.Bilinear(3, 4, 5, bias))
    assert nn.Bilinear(3, 4, 5, bias=False).bias is None
    with pytest.raises(ValueError, match=re.escape("in1_features must be > 0, but got "
                                                   "(in1_features=0)")):
        nn.Bilinear(0, 4, 5)
    with pytest.raises(ValueError, match=re.escape("in1_features must be > 0")):
        torch.nn.Bilinear(0, 4, 5)


def test_bilinear_functional(device):
    x1, x2, w, b = rnd(2, 3, 3), rnd(2, 3, 4, seed=1), rnd(5, 3, 4, seed=2), rnd(5, seed=3)
    want = TF.bilinear(*(torch.tensor(a) for a in (x1, x2, w, b))).numpy()
    got = F.bilinear(*(gpuarr.tensor(a, device=device) for a in (x1, x2, w, b)))
    np.testing.assert_allclose(to_np(got), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_np(got), np.einsum("bki,oij,bkj->bko", x1, w, x2) + b,
                               rtol=1e-12, atol=1e-12)


def test_bilinear_gradcheck(device):
    args = [gpuarr.tensor(a, device=device, requires_grad=True)
            for a in (rnd(2, 3), rnd(2, 4, seed=1), rnd(2, 3, 4, seed=2), rnd(2, seed=3))]
    assert gradcheck(F.bilinear, args)
    assert gradgradcheck(F.bilinear, args)


BILINEAR_ERRORS = [
    ("0d", (), (4,), (5, 3, 4), None, torch.float32),
    ("ndim", (1, 2, 3), (2, 4), (5, 3, 4), None, torch.float32),
    ("batch", (2, 3), (3, 4), (5, 3, 4), None, torch.float32),
    ("batch_no_broadcast", (1, 2, 3), (6, 2, 4), (5, 3, 4), None, torch.float32),
    ("in1", (2, 2), (2, 4), (5, 3, 4), None, torch.float32),
    ("in2", (2, 3), (2, 5), (5, 3, 4), None, torch.float32),
    ("bias", (2, 3), (2, 4), (5, 3, 4), (4,), torch.float32),
    ("bias2d", (2, 3), (2, 4), (5, 3, 4), (1, 5), torch.float32),
    ("dtype", (2, 3), (2, 4), (5, 3, 4), None, torch.float64),
    ("dtype_bias", (2, 3), (2, 4), (5, 3, 4), (5,), torch.float64),
]


@pytest.mark.parametrize("name,s1,s2,sw,sb,dt1", BILINEAR_ERRORS,
                         ids=[c[0] for c in BILINEAR_ERRORS])
def test_bilinear_errors(device, name, s1, s2, sw, sb, dt1):
    a1 = np.ones(s1, np.float64 if dt1 == torch.float64 else np.float32)
    a2, aw = np.ones(s2, np.float32), np.ones(sw, np.float32)
    ab = None if sb is None else np.ones(sb, np.float16 if name == "dtype_bias" else np.float32)
    targs = [None if a is None else torch.tensor(a) for a in (a1, a2, aw, ab)]
    with pytest.raises(RuntimeError) as te:
        TF.bilinear(*targs)
    gargs = [None if a is None else gpuarr.tensor(a, device=device) for a in (a1, a2, aw, ab)]
    with pytest.raises(RuntimeError, match="^" + re.escape(str(te.value)) + "$"):
        F.bilinear(*gargs)


# ------------------------------------------------------------------------------------------
# gumbel_softmax


def drawn_gumbels(logits, seed):
    """The Gumbel noise gumbel_softmax draws for ``logits`` right after ``manual_seed(seed)``."""
    gpuarr.manual_seed(seed)
    return -gpuarr.empty_like(logits).exponential_().log()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tau,dim", [(1.0, -1), (0.5, 0), (2.0, 1)])
def test_gumbel_soft(device, dtype, tau, dim):
    x = rnd(3, 4, 5)
    logits = gpuarr.tensor(x, device=device, dtype=dtype)
    g = drawn_gumbels(logits, 7)
    gpuarr.manual_seed(7)
    y = F.gumbel_softmax(logits, tau=tau, dim=dim)
    assert y.dtype == dtype and tuple(y.shape) == (3, 4, 5) and y.device.type == device
    want = torch.softmax((torch.tensor(x) + torch.tensor(to_np(g).astype(np.float64))) / tau,
                         dim)
    tol = 1e-5 if dtype == gpuarr.float32 else 1e-12
    np.testing.assert_allclose(to_np(y), want.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(to_np(y).sum(dim), 1, rtol=tol)
    # same seed, same sample; another seed, another one
    gpuarr.manual_seed(7)
    np.testing.assert_array_equal(to_np(F.gumbel_softmax(logits, tau=tau, dim=dim)), to_np(y))
    gpuarr.manual_seed(8)
    assert not np.allclose(to_np(F.gumbel_softmax(logits, tau=tau, dim=dim)), to_np(y))


@pytest.mark.parametrize("dim", [-1, 0])
def test_gumbel_hard(device, dim):
    x = rnd(4, 6)
    logits = gpuarr.tensor(x, device=device, requires_grad=True)
    gpuarr.manual_seed(3)
    y = F.gumbel_softmax(logits, tau=0.7, hard=True, dim=dim)
    gpuarr.manual_seed(3)
    soft = F.gumbel_softmax(logits, tau=0.7, dim=dim)
    yn, sn = to_np(y), to_np(soft)
    np.testing.assert_array_equal(np.sort(yn, axis=dim).take(-1, axis=dim), 1)
    np.testing.assert_array_equal(yn.sum(dim), 1)
    np.testing.assert_array_equal(yn.argmax(dim), sn.argmax(dim))
    # straight through: the gradient is the soft sample's
    up = rnd(4, 6, seed=1)
    (y * gpuarr.tensor(up, device=device)).sum().backward()
    ts = torch.tensor(x, requires_grad=True)
    tsoft = torch.softmax((ts + torch.tensor(to_np(drawn_gumbels(logits.detach(), 3)))) / 0.7,
                          dim)
    (tsoft * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(to_np(logits.grad), ts.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gumbel_gradcheck(device):
    logits = gpuarr.tensor(rnd(3, 4), device=device, requires_grad=True)

    def f(x, hard):
        gpuarr.manual_seed(5)  # the same noise at every evaluation
        return F.gumbel_softmax(x, tau=0.8, hard=hard)

    assert gradcheck(lambda x: f(x, False), (logits,))
    # the hard sample is piecewise constant, but its (straight-through) gradient is smooth
    for hard in (False, True):
        assert gradgradcheck(lambda x, hard=hard: f(x, hard), (logits,))


def test_gumbel_distribution(device):
    # hard samples pick class k with probability softmax(logits)[k]
    p = np.array([0.1, 0.2, 0.3, 0.4])
    logits = gpuarr.tensor(np.tile(np.log(p), (20000, 1)), device=device)
    freq = to_np(F.gumbel_softmax(logits, tau=0.3, hard=True)).mean(0)
    np.testing.assert_allclose(freq, p, atol=4 * math.sqrt(0.25 / 20000))


def test_gumbel_eps_warning_and_types(device):
    logits = gpuarr.zeros(2, 3, device=device)
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(logits, eps=1e-5)
    with pytest.raises(TypeError):
        TF.gumbel_softmax([1.0, 2.0])
    with pytest.raises(TypeError):
        F.gumbel_softmax([1.0, 2.0])
