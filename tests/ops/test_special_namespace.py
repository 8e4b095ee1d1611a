"""``gpuarr.special`` against ``torch.special``: the same values and gradients, one
implementation per function (the namespace re-exports gpuarr's own)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import gpuarr
from gpuarr.ops import special as S

UNARY = ["digamma", "erf", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p", "psi",
         "round"]


def test_same_functions_as_the_ops():
    assert inspect.unwrap(gpuarr.special.erf) is S.erf
    # torch.special's names over the ops (wrapped for out= where torch.special takes it)
    assert inspect.unwrap(gpuarr.special.gammaln) is S.lgamma
    assert inspect.unwrap(gpuarr.special.psi) is S.digamma
    assert inspect.unwrap(gpuarr.erf) is S.erf and gpuarr.Tensor.erf is S.erf
    assert not hasattr(gpuarr.ops.elementwise, "Erf")
    assert gpuarr.special.airy_ai is gpuarr.ops.special_polynomials.airy_ai


@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_torch(device, name):
    x_np = np.array([0.1, 0.45, 0.9, 2.5, 3.0]) if name != "erfinv" else \
        np.array([-0.9, -0.2, 0.0, 0.3, 0.95])
    x = gpuarr.tensor(x_np, device=device, requires_grad=name != "round")
    tx = torch.tensor(x_np, requires_grad=name != "round")
    y, ty = getattr(gpuarr.special, name)(x), getattr(torch.special, name)(tx)
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-12,
                               atol=1e-14)
    if name != "round":
        y.sum().backward()
        ty.sum().backward()
        # torch's trigamma (digamma's gradient) is accurate to ~2e-10
        np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-8)


def test_others_match_torch(device):
    a_np, b_np = np.array([[0.0, 2.0], [1.5, 3.0]]), np.array([[0.0, 3.0], [2.0, 0.5]])
    a, b = (gpuarr.tensor(v, device=device) for v in (a_np, b_np))
    ta, tb = torch.tensor(a_np), torch.tensor(b_np)
    pairs = [
        (gpuarr.special.xlogy(a, b), torch.special.xlogy(ta, tb)),
        (gpuarr.special.polygamma(2, b + 1), torch.special.polygamma(2, tb + 1)),
        (gpuarr.special.logsumexp(a, 1), torch.special.logsumexp(ta, 1)),
        (gpuarr.special.softmax(a, 0), torch.special.softmax(ta, 0)),
        (gpuarr.special.log_softmax(a, 1), torch.special.log_softmax(ta, 1)),
    ]
    for got, want in pairs:
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-12, atol=1e-14)


def test_erf_gradcheck_and_inplace(device):
    x = gpuarr.tensor([-1.2, 0.3, 2.0], dtype=gpuarr.float64, device=device,
                      requires_grad=True)
    assert gpuarr.autograd.gradgradcheck(gpuarr.erf, (x,))
    y = gpuarr.tensor([0.0, 1.0], device=device)
    assert y.erf_() is y
    np.testing.assert_allclose(y.cpu().numpy(), torch.erf(torch.tensor([0.0, 1.0])).numpy())


@pytest.mark.parametrize("name", ["digamma", "erf", "erfinv", "expit", "gammaln", "polygamma",
                                  "psi", "round", "xlogy", "logsumexp"])
def test_special_out_keyword(device, name):
    """torch.special's out= on the functions gpuarr.special shares with the top level."""
    x = np.array([0.3, 0.6], dtype=np.float32)
    extra = {"polygamma": lambda m, t: (1, t), "xlogy": lambda m, t: (t, t),
             "logsumexp": lambda m, t: (t, 0)}.get(name, lambda m, t: (t,))
    shape = () if name == "logsumexp" else (2,)
    out = gpuarr.empty(shape, device=device)
    res = getattr(gpuarr.special, name)(*extra(gpuarr, gpuarr.tensor(x, device=device)), out=out)
    tout = torch.empty(shape)
    getattr(torch.special, name)(*extra(torch, torch.tensor(x)), out=tout)
    assert res is out
    np.testing.assert_allclose(out.cpu().numpy(), tout.numpy(), rtol=1e-5, atol=1e-6)
