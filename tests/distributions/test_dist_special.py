"""lgamma / digamma / polygamma / erfinv / xlogy: values and gradients against torch, gradcheck,
and the NumPy fallbacks (used when SciPy is absent) against SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special as sps

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck
from gpuarr.backends import NUMPY, _np_special
from gpuarr.ops.special import digamma, erfinv, lgamma, polygamma, xlogy


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


@pytest.fixture(params=[True, False], ids=["scipy", "numpy-fallback"])
def backend(request, monkeypatch):
    """Run a test with the SciPy path and again with the pure-NumPy fallback."""
    monkeypatch.setattr(NUMPY, "use_scipy", request.param)
    return request.param


POINTS = np.array([-7.3, -2.5, -0.5, 1e-6, 0.1, 0.5, 1.0, 1.4616, 2.0, 3.7, 10.0, 25.5, 170.0,
                   1e4])


def test_values_match_torch(device, backend):
    x = gpuarr.tensor(POINTS, device=device)
    tx = torch.tensor(POINTS)
    np.testing.assert_allclose(host(lgamma(x)), torch.lgamma(tx).numpy(), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(host(digamma(x)), torch.digamma(tx).numpy(), rtol=1e-10,
                               atol=1e-10)
    for n in (1, 2, 3):
        # torch's own polygamma is accurate to ~5e-10 relative; SciPy (below) is the exact one
        np.testing.assert_allclose(host(polygamma(n, x)), torch.polygamma(n, tx).numpy(),
                                   rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(host(polygamma(n, x)), sps.polygamma(n, POINTS),
                                   rtol=1e-12, atol=1e-12)
    one = gpuarr.tensor([1.0], dtype=gpuarr.float64, device=device)
    np.testing.assert_allclose(host(polygamma(1, one)), [np.pi ** 2 / 6], rtol=1e-14)
    np.testing.assert_allclose(host(digamma(one)), [-np.euler_gamma], rtol=1e-14)
    u = np.array([-0.999, -0.5, 0.0, 0.3, 0.9, 0.99999])
    np.testing.assert_allclose(host(erfinv(gpuarr.tensor(u, device=device))),
                               torch.erfinv(torch.tensor(u)).numpy(), rtol=1e-9, atol=1e-12)


def test_poles_and_infinities_match_torch(device, backend):
    x = np.array([0.0, -1.0, -2.0, np.inf])
    ours = host(lgamma(gpuarr.tensor(x, device=device)))
    assert np.array_equal(ours, torch.lgamma(torch.tensor(x)).numpy())
    d = host(digamma(gpuarr.tensor([0.0, -1.0], device=device, dtype=gpuarr.float64)))
    assert d[0] == -np.inf and np.isnan(d[1])
    e = host(erfinv(gpuarr.tensor([-1.0, 1.0, 2.0], device=device)))
    assert e[0] == -np.inf and e[1] == np.inf and np.isnan(e[2])


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
                  elements=st.floats(0.01, 60.0)))
def test_random_shapes_and_float32(arr):
    for dt, tdt, rtol in ((gpuarr.float64, torch.float64, 1e-8),
                          (gpuarr.float32, torch.float32, 1e-5)):
        x = gpuarr.tensor(arr, dtype=dt)
        tx = torch.tensor(arr, dtype=tdt)
        for ours, theirs in ((lgamma(x), torch.lgamma(tx)), (digamma(x), torch.digamma(tx)),
                             (polygamma(1, x), torch.polygamma(1, tx))):
            assert ours.shape == tuple(theirs.shape) and ours.dtype == dt
            np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=rtol, atol=rtol)


def test_integer_input_gives_default_float(device):
    out = lgamma(gpuarr.tensor([1, 2, 5], device=device))
    assert out.dtype == gpuarr.float32
    np.testing.assert_allclose(host(out), [0.0, 0.0, np.log(24.0)], atol=1e-6)
    h = lgamma(gpuarr.tensor([3.0], dtype=gpuarr.float16, device=device))
    assert h.dtype == gpuarr.float16


def test_gradients(device, backend):
    x = gpuarr.tensor([0.3, 1.7, 4.2, -0.5], dtype=gpuarr.float64, device=device,
                      requires_grad=True)
    assert gradcheck(lgamma, (x,))
    assert gradcheck(digamma, (x,))
    assert gradcheck(lambda t: polygamma(2, t), (x,))
    assert gradgradcheck(lgamma, (x,))
    u = gpuarr.tensor([-0.7, 0.1, 0.95], dtype=gpuarr.float64, device=device,
                      requires_grad=True)
    assert gradcheck(erfinv, (u,))
    # lgamma' = digamma, compared with torch's autograd
    tx = torch.tensor([0.3, 1.7, 4.2, -0.5], dtype=torch.float64, requires_grad=True)
    torch.lgamma(tx).sum().backward()
    lgamma(x).sum().backward()
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-10)


def test_xlogy(device):
    x = np.array([0.0, 0.0, 2.0, 3.0, 0.0])
    y = np.array([0.0, 5.0, 3.0, 0.0, np.nan])
    ours = host(xlogy(gpuarr.tensor(x, device=device), gpuarr.tensor(y, device=device)))
    theirs = torch.xlogy(torch.tensor(x), torch.tensor(y)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    # torch's derivatives: d/dx = log(y) but 0 where x == 0 and y <= 0; d/dy = x / y (NaN at
    # x == y == 0, as torch)
    xs, ys = [0.0, 1.5, 0.0, 0.0, 2.0], [0.0, 2.0, 3.0, -1.0, np.nan]
    a = gpuarr.tensor(xs, dtype=gpuarr.float64, device=device, requires_grad=True)
    b = gpuarr.tensor(ys, dtype=gpuarr.float64, device=device, requires_grad=True)
    ta = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(ys, dtype=torch.float64, requires_grad=True)
    xlogy(a, b).sum().backward()
    torch.xlogy(ta, tb).sum().backward()
    np.testing.assert_array_equal(host(a.grad), ta.grad.numpy())
    np.testing.assert_array_equal(host(b.grad), tb.grad.numpy())
    np.testing.assert_allclose(host(xlogy(2.0, gpuarr.tensor([np.e], device=device))), [2.0],
                               rtol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_numpy_fallbacks_against_scipy(n):
    x = np.concatenate([np.linspace(-12.7, 40.0, 997), np.geomspace(1e-8, 1e8, 50)])
    x = x[np.abs(x - np.round(x)) > 1e-3]  # keep away from the poles
    ref = sps.digamma(x) if n == 0 else sps.polygamma(n, x)
    ours = _np_special.polygamma(n, x)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(_np_special.lgamma(x), sps.gammaln(x), rtol=1e-12, atol=1e-12)
    u = np.linspace(-0.9999, 0.9999, 301)
    np.testing.assert_allclose(_np_special.erfinv(u), sps.erfinv(u), rtol=1e-10, atol=1e-12)


def test_tensor_methods(device):
    x = gpuarr.tensor([2.0, 3.0], device=device)
    np.testing.assert_allclose(host(x.lgamma()), host(lgamma(x)))
    np.testing.assert_allclose(host(x.digamma()), host(digamma(x)))
    np.testing.assert_allclose(host(x.polygamma(1)), host(polygamma(1, x)))
    with pytest.raises(RuntimeError, match="does not support negative n"):
        polygamma(-1, x)
