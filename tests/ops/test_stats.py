"""Statistics and scans against PyTorch: quantile/nanquantile, mode, logcumsumexp, cov,
corrcoef, histogram/histogramdd, dist, renorm, trapezoid/trapz/cumulative_trapezoid, gradient
and the in-place scans: values, dtypes, shapes, gradients (gradcheck and gradgradcheck in
float64) and torch's errors, on both devices."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def g(a, device, requires_grad=False):
    return gpuarr.tensor(np.asarray(a), device=device, requires_grad=requires_grad)


def t(a, requires_grad=False):
    return torch.tensor(np.asarray(a), requires_grad=requires_grad)


def np_of(x):
    return x.detach().cpu().numpy()


def same(ours, ref, rtol=1e-6, atol=1e-6):
    """Values, dtype and shape equal torch's (NaN where torch has NaN)."""
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(np_of(ours), ref.detach().numpy(), rtol=rtol, atol=atol)


def raises_same(fn_ours, fn_ref):
    with pytest.raises(Exception) as ref:
        fn_ref()
    with pytest.raises(type(ref.value)) as ours:
        fn_ours()
    assert str(ours.value) == str(ref.value)


def grads_same(op_g, op_t, arrays, device, rtol=1e-6, atol=1e-8):
    """Forward and the gradient of a random projection of the output equal torch's."""
    gin = [g(a, device, True) for a in arrays]
    tin = [t(a, True) for a in arrays]
    go, to = op_g(*gin), op_t(*tin)
    same(go, to, rtol, atol)
    w = RNG.standard_normal(to.shape)
    (go * g(w.astype(np_of(go).dtype), device)).sum().backward()
    (to * t(w.astype(to.detach().numpy().dtype))).sum().backward()
    for a, b in zip(gin, tin, strict=True):
        np.testing.assert_allclose(np_of(a.grad), b.grad.numpy(), rtol=rtol, atol=atol)


# --------------------------------------------------------------------------------------------
# quantile, nanquantile

INTERP = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("interpolation", INTERP)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), (-1, True),
                                         (0, False)])
@pytest.mark.parametrize("qkind", ["float", "0d", "1d"])
def test_quantile_matches_torch(device, interpolation, dim, keepdim, qkind):
    x = RNG.standard_normal((4, 7))  # no ties: torch's sort orders tied values arbitrarily
    q = {"float": 0.3, "0d": np.array(0.75), "1d": np.array([0.0, 0.1, 0.5, 0.9, 1.0])}[qkind]
    gq = q if qkind == "float" else g(q, device)
    tq = q if qkind == "float" else t(q)
    for op in ("quantile", "nanquantile"):
        grads_same(lambda a, op=op: getattr(gpuarr, op)(a, gq, dim, keepdim,
                                                         interpolation=interpolation),
                   lambda a, op=op: getattr(torch, op)(a, tq, dim, keepdim,
                                                        interpolation=interpolation),
                   [x], device)


def test_quantile_nan_rows(device):
    x = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan] * 4, [4.0, 1.0, 2.0, 0.5]])
    q = np.array([0.2, 0.5, 1.0])
    for op in ("quantile", "nanquantile"):
        for interp in INTERP:
            same(getattr(gpuarr, op)(g(x, device), g(q, device), 1, interpolation=interp),
                 getattr(torch, op)(t(x), t(q), 1, interpolation=interp))


def test_quantile_exact_ranks_and_rounding(device):
    """'nearest' rounds half to even; exact ranks need no interpolation."""
    x = np.arange(5.0)
    q = np.array([0.125, 0.375, 0.625, 0.875, 0.25])
    for interp in INTERP:
        same(gpuarr.quantile(g(x, device), g(q, device), interpolation=interp),
             torch.quantile(t(x), t(q), interpolation=interp))


def test_quantile_float32_and_0d(device):
    x = RNG.standard_normal(9).astype(np.float32)
    same(gpuarr.quantile(g(x, device), 0.37), torch.quantile(t(x), 0.37))
    same(gpuarr.quantile(g(np.float64(2.5), device), 0.5, dim=0),
         torch.quantile(t(np.float64(2.5)), 0.5, dim=0))
    same(gpuarr.tensor([3.0, 1.0], device=device).quantile(0.5),
         torch.tensor([3.0, 1.0]).quantile(0.5))


def test_quantile_gradcheck(device):
    x = g(RNG.standard_normal((3, 5)), device, True)
    q = g(np.array([0.2, 0.6]), device)
    assert gradcheck(lambda a: gpuarr.quantile(a, q, dim=1), (x,))
    assert gradgradcheck(lambda a: gpuarr.quantile(a, q, dim=1), (x,))
    assert gradcheck(lambda a: gpuarr.nanquantile(a, 0.3, interpolation="midpoint"), (x,))


def test_quantile_errors(device):
    f = np.array([1.0, 2.0])
    cases = [
        (lambda m: m.quantile(m.tensor([1, 2]), 0.5)),
        (lambda m: m.quantile(m.tensor(f), 1.5)),
        (lambda m: m.nanquantile(m.tensor(f), -0.5)),
        (lambda m: m.quantile(m.tensor(f), m.tensor([0.5], dtype=m.float32))),
        (lambda m: m.quantile(m.tensor(f), m.tensor([[0.5]], dtype=m.float64))),
        (lambda m: m.quantile(m.tensor(f), m.tensor([1.5], dtype=m.float64))),
        (lambda m: m.quantile(m.zeros(2, 0), 0.5, dim=0)),
        (lambda m: m.quantile(m.tensor(f), 0.5, interpolation="foo")),
        (lambda m: m.quantile(m.tensor(f), 0.5, dim=2)),
    ]
    for case in cases:
        raises_same(lambda c=case: c(gpuarr), lambda c=case: c(torch))


def test_quantile_out(device):
    out = gpuarr.empty(2, device=device)
    res = gpuarr.quantile(g(np.arange(4.0), device), g(np.array([0.5, 1.0]), device), out=out)
    assert res is out
    np.testing.assert_allclose(np_of(out), [1.5, 3.0])


# --------------------------------------------------------------------------------------------
# mode

@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "int8"])
@pytest.mark.parametrize("dim,keepdim", [(-1, False), (0, True), (1, False)])
def test_mode_matches_torch(device, dtype, dim, keepdim):
    x = RNG.integers(0, 4, size=(5, 9, 3)).astype(dtype)
    ours = gpuarr.mode(g(x, device), dim, keepdim)
    ref = torch.mode(t(x), dim, keepdim)
    same(ours.values, ref.values)
    same(ours.indices, ref.indices)
    assert type(ours).__name__ == "mode"


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), rows=st.integers(0, 4), hi=st.integers(1, 5))
def test_mode_hypothesis(n, rows, hi):
    x = np.random.default_rng(n * 31 + rows).integers(0, hi, size=(rows, n)).astype(np.float64)
    ours = gpuarr.mode(gpuarr.tensor(x), 1)
    ref = torch.mode(torch.tensor(x), 1)
    np.testing.assert_array_equal(ours.values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), ref.indices.numpy())


def test_mode_grad_0d_and_errors(device):
    x = np.array([[1.0, 2.0, 2.0, 3.0], [5.0, 5.0, 1.0, 1.0]])
    grads_same(lambda a: gpuarr.mode(a, 1).values, lambda a: torch.mode(a, 1).values, [x],
               device)
    assert gpuarr.mode(g(x, device), 1).values.grad_fn is None
    a = g(x, device, True)
    assert type(gpuarr.mode(a, 1).values.grad_fn).__name__ == "ModeBackward0"
    z = gpuarr.mode(g(np.float64(3.0), device))
    assert float(z.values) == 3.0 and int(z.indices) == 0 and z.indices.dtype == gpuarr.int64
    same(gpuarr.mode(gpuarr.zeros(2, 0, device=device), 0).values,
         torch.mode(torch.zeros(2, 0), 0).values)
    for case in [lambda m: m.mode(m.zeros(2, 0), 1), lambda m: m.mode(m.zeros(3), 1)]:
        raises_same(lambda c=case: c(gpuarr), lambda c=case: c(torch))
    same(g(x, device).mode().values, t(x).mode().values)


# --------------------------------------------------------------------------------------------
# logcumsumexp

@pytest.mark.parametrize("shape,dim", [((7,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 0, 3), 2),
                                       ((2, 0, 3), 1), ((), 0), ((4, 17), -1)])
def test_logcumsumexp_matches_torch(device, shape, dim):
    x = RNG.standard_normal(shape) * 5
    grads_same(lambda a: gpuarr.logcumsumexp(a, dim), lambda a: torch.logcumsumexp(a, dim),
               [x], device, rtol=1e-10, atol=1e-12)


def test_logcumsumexp_extremes(device):
    x = np.array([-1000.0, 0.0, -np.inf, 5.0, np.inf, 2.0, -np.inf])
    same(gpuarr.logcumsumexp(g(x, device), 0), torch.logcumsumexp(t(x), 0))
    x32 = np.array([-200.0, -150.0, 0.0, 1e3], dtype=np.float32)
    same(gpuarr.logcumsumexp(g(x32, device), 0), torch.logcumsumexp(t(x32), 0))
    x = np.array([[-np.inf, -np.inf, 1.0]])
    same(gpuarr.logcumsumexp(g(x, device), 1), torch.logcumsumexp(t(x), 1))


def test_logcumsumexp_gradcheck_and_errors(device):
    x = g(RNG.standard_normal((3, 6)), device, True)
    assert gradcheck(lambda a: gpuarr.logcumsumexp(a, 1), (x,))
    assert gradgradcheck(lambda a: gpuarr.logcumsumexp(a, 0), (x,))
    raises_same(lambda: gpuarr.logcumsumexp(gpuarr.tensor([1, 2]), 0),
                lambda: torch.logcumsumexp(torch.tensor([1, 2]), 0))
    raises_same(lambda: gpuarr.logcumsumexp(gpuarr.zeros(2), 1),
                lambda: torch.logcumsumexp(torch.zeros(2), 1))
    h = gpuarr.tensor([0.5, 1.5, -2.0], dtype=gpuarr.float16, device=device)
    ref = torch.logcumsumexp(torch.tensor([0.5, 1.5, -2.0], dtype=torch.float16), 0)
    same(h.logcumsumexp(0), ref, rtol=1e-3)


# --------------------------------------------------------------------------------------------
# in-place scans

def test_inplace_scans(device):
    x = RNG.standard_normal((3, 4))
    a, b = g(x, device), t(x)
    assert a.cumsum_(1) is a
    b.cumsum_(1)
    same(a, b, 1e-12)
    a.cumprod_(0)
    b.cumprod_(0)
    same(a, b, 1e-12)
    i = gpuarr.tensor([1, 2, 3], device=device)
    i.cumsum_(0)
    assert i.tolist() == [1, 3, 6]


def test_inplace_scan_grad(device):
    x = RNG.standard_normal(5)
    def op_g(a):
        return (a * 1).cumsum_(0).cumprod_(0)
    def op_t(a):
        return (a * 1).cumsum_(0).cumprod_(0)
    grads_same(op_g, op_t, [x], device, rtol=1e-10)


# --------------------------------------------------------------------------------------------
# cov, corrcoef

COV_CASES = [
    dict(),
    dict(correction=0),
    dict(correction=2),
    dict(fweights=np.array([1, 2, 0, 3, 1])),
    dict(aweights=np.array([0.5, 1.0, 2.0, 0.1, 1.0])),
    dict(fweights=np.array([1, 2, 1, 3, 1]), aweights=np.array([0.5, 1.0, 2.0, 0.1, 1.0]),
         correction=1),
]


@pytest.mark.parametrize("kw", COV_CASES, ids=str)
@pytest.mark.parametrize("shape", [(3, 5), (5,), (1, 5)])
def test_cov_matches_torch(device, kw, shape):
    x = RNG.standard_normal(shape)
    gk = {k: (g(v, device) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    tk = {k: (t(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    grads_same(lambda a: gpuarr.cov(a, **gk), lambda a: torch.cov(a, **tk), [x], device,
               rtol=1e-10, atol=1e-12)


def test_cov_int_input_and_warning(device):
    x = np.array([[1, 2, 4], [3, 1, 0]])
    same(gpuarr.cov(g(x, device)), torch.cov(t(x)))
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        ours = gpuarr.cov(g(np.array([1.0, 2.0, 4.0]), device), correction=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(ours, torch.cov(t(np.array([1.0, 2.0, 4.0])), correction=3))
        same(gpuarr.cov(gpuarr.zeros(2, 0, device=device)), torch.cov(torch.zeros(2, 0)))


def test_cov_errors(device):
    cases = [
        lambda m: m.cov(m.ones(2, 2, 2)),
        lambda m: m.cov(m.tensor([True, False])),
        lambda m: m.cov(m.tensor([1.0, 2.0]), fweights=m.tensor([1.0, 2.0])),
        lambda m: m.cov(m.tensor([1.0, 2.0]), fweights=m.tensor([-1, 2])),
        lambda m: m.cov(m.tensor([1.0, 2.0]), fweights=m.tensor([1, 2, 3])),
        lambda m: m.cov(m.tensor([1.0, 2.0]), fweights=m.tensor([[1, 2]])),
        lambda m: m.cov(m.tensor([1.0, 2.0]), aweights=m.tensor([1, 2])),
        lambda m: m.cov(m.tensor([1.0, 2.0]), aweights=m.tensor([0.0, 0.0])),
        lambda m: m.cov(m.tensor([1.0, 2.0]), aweights=m.tensor([-1.0, 2.0])),
        lambda m: m.corrcoef(m.ones(2, 2, 2)),
    ]
    for case in cases:
        raises_same(lambda c=case: c(gpuarr), lambda c=case: c(torch))


@pytest.mark.parametrize("shape", [(3, 6), (6,), (1, 4)])
def test_corrcoef_matches_torch(device, shape):
    x = RNG.standard_normal(shape)
    grads_same(gpuarr.corrcoef, torch.corrcoef, [x], device, rtol=1e-10, atol=1e-12)
    same(g(x, device).corrcoef(), t(x).corrcoef(), 1e-12)
    c = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    same(gpuarr.corrcoef(g(c, device)), torch.corrcoef(t(c)))


def test_cov_gradcheck(device):
    x = g(RNG.standard_normal((2, 4)), device, True)
    aw = g(np.array([0.5, 1.0, 2.0, 0.3]), device)
    assert gradcheck(lambda a: gpuarr.cov(a, aweights=aw), (x,))
    assert gradgradcheck(lambda a: gpuarr.cov(a, aweights=aw), (x,))
    assert gradcheck(gpuarr.corrcoef, (x,))


# --------------------------------------------------------------------------------------------
# histogram, histogramdd

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [dict(bins=4), dict(bins=7, range=(-1.0, 1.5)),
                                dict(bins=5, density=True), dict(bins=3, weight=True),
                                dict(bins="edges"), dict(bins="edges", density=True)], ids=str)
def test_histogram_matches_torch(device, dtype, kw):
    x = RNG.standard_normal((6, 5)).astype(dtype)
    x[0, 0] = 1.5  # on a range edge
    kw = dict(kw)
    gk, tk = dict(kw), dict(kw)
    if kw.get("weight"):
        w = RNG.uniform(0, 2, (6, 5)).astype(dtype)
        gk["weight"], tk["weight"] = g(w, device), t(w)
    if kw["bins"] == "edges":
        e = np.array([-3.0, -0.5, 0.0, 0.2, 1.5], dtype=dtype)
        gk["bins"], tk["bins"] = g(e, device), t(e)
    ours = gpuarr.histogram(g(x, device), **gk)
    ref = torch.histogram(t(x), **tk)
    same(ours.hist, ref.hist, 1e-5)
    same(ours.bin_edges, ref.bin_edges, 1e-6, 1e-7)  # torch's vectorised linspace: 1 ulp off
    assert type(ours).__name__ == "histogram"
    m = g(x, device).histogram(**gk)
    same(m.hist, ref.hist, 1e-5)


def test_histogram_degenerate_ranges(device):
    for x in ([1.0, 1.0, 1.0], [], [0.0, 3.0]):
        arr = np.array(x, dtype=np.float32)
        ours, ref = gpuarr.histogram(g(arr, device), 4), torch.histogram(t(arr), 4)
        same(ours.hist, ref.hist)
        same(ours.bin_edges, ref.bin_edges, 1e-6, 1e-7)


def test_histogram_errors(device):
    f = [1.0, 2.0, 1.0]
    cases = [
        lambda m: m.histogram(m.tensor([1, 2, 1]), 4),
        lambda m: m.histogram(m.tensor(f), m.tensor([0.0, 1.5, 3.0], dtype=m.float64)),
        lambda m: m.histogram(m.tensor(f), -1),
        lambda m: m.histogram(m.tensor(f), 3, range=(2.0, 1.0)),
        lambda m: m.histogram(m.tensor([1.0, float("nan"), 1.0]), 3),
        lambda m: m.histogram(m.tensor([1.0, float("inf"), 1.0]), 3),
        lambda m: m.histogram(m.tensor(f), 3, weight=m.tensor([1.0, 2.0])),
    ]
    for case in cases:
        raises_same(lambda c=case: c(gpuarr), lambda c=case: c(torch))


@pytest.mark.parametrize("kw", [dict(bins=[2, 3]), dict(bins=2), dict(bins="edges"),
                                dict(bins=[3, 2], range=[-1.0, 1.0, 0.0, 2.0], density=True),
                                dict(bins=[2, 2], weight=True)], ids=str)
def test_histogramdd_matches_torch(device, kw):
    x = RNG.standard_normal((4, 5, 2))
    gk, tk = dict(kw), dict(kw)
    if kw["bins"] == "edges":
        e = [np.array([-2.0, 0.0, 0.5, 2.0]), np.array([-1.0, 3.0])]
        gk["bins"] = [g(a, device) for a in e]
        tk["bins"] = [t(a) for a in e]
    if kw.get("weight"):
        w = RNG.uniform(0, 1, (4, 5))
        gk["weight"], tk["weight"] = g(w, device), t(w)
    ours = gpuarr.histogramdd(g(x, device), **gk)
    ref = torch.histogramdd(t(x), **tk)
    same(ours.hist, ref.hist, 1e-10)
    assert len(ours.bin_edges) == len(ref.bin_edges)
    for a, b in zip(ours.bin_edges, ref.bin_edges, strict=True):
        same(a, b, 1e-12, 1e-12)


# --------------------------------------------------------------------------------------------
# dist, renorm

@pytest.mark.parametrize("p", [2, 1, 3, 0.5, 0, float("inf"), float("-inf")])
def test_dist_matches_torch(device, p):
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    rtol = 1e-10 if p else 0
    if p == 0:  # the count of nonzeros has no gradient
        same(gpuarr.dist(g(a, device), g(b, device), p), torch.dist(t(a), t(b), p))
    else:
        grads_same(lambda x, y: gpuarr.dist(x, y, p), lambda x, y: torch.dist(x, y, p), [a, b],
                   device, rtol=rtol)
    same(g(a, device).dist(g(b, device)), t(a).dist(t(b)), 1e-12)


def test_dist_dtypes_and_errors(device):
    i = np.ones((2, 3), dtype=np.int64)
    same(gpuarr.dist(g(i, device), gpuarr.zeros(3, device=device)),
         torch.dist(t(i), torch.zeros(3)))
    raises_same(lambda: gpuarr.dist(gpuarr.tensor(i), gpuarr.tensor(i)),
                lambda: torch.dist(torch.tensor(i), torch.tensor(i)))
    x = g(RNG.standard_normal(4), device, True)
    y = g(RNG.standard_normal(4), device, True)
    assert gradcheck(lambda a, b: gpuarr.dist(a, b, 3), (x, y))
    assert gradgradcheck(lambda a, b: gpuarr.dist(a, b), (x, y))


@pytest.mark.parametrize("p,dim,maxnorm", [(2, 0, 1.0), (1, 1, 2.0), (3, -1, 0.5),
                                           (float("inf"), 0, 0.7), (2, 2, 100.0)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_renorm_matches_torch(device, p, dim, maxnorm, dtype):
    x = RNG.standard_normal((3, 4, 2)).astype(dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-10
    grads_same(lambda a: gpuarr.renorm(a, p, dim, maxnorm),
               lambda a: torch.renorm(a, p, dim, maxnorm), [x], device, rtol=rtol, atol=1e-6)
    a, b = g(x, device), t(x)
    assert a.renorm_(p, dim, maxnorm) is a
    b.renorm_(p, dim, maxnorm)
    same(a, b, rtol)


def test_renorm_gradcheck_and_errors(device):
    x = g(RNG.standard_normal((3, 4)), device, True)
    assert gradcheck(lambda a: gpuarr.renorm(a, 2, 0, 1.0), (x,))
    assert gradgradcheck(lambda a: gpuarr.renorm(a, 3, 1, 0.8), (x,))
    cases = [
        lambda m: m.renorm(m.ones(2, 3), -2, 0, 1.0),
        lambda m: m.renorm(m.ones(2, 3), 0, 0, 1.0),
        lambda m: m.renorm(m.ones(2, 3), 2, 0, -1.0),
        lambda m: m.renorm(m.ones(2, 3), 2, 5, 1.0),
        lambda m: m.renorm(m.ones(3), 2, 0, 1.0),
        lambda m: m.renorm(m.tensor(3.0), 2, 0, 1.0),
    ]
    for case in cases:
        raises_same(lambda c=case: c(gpuarr), lambda c=case: c(torch))


# --------------------------------------------------------------------------------------------
# trapezoid, trapz, cumulative_trapezoid

def test_trapezoid_matches_torch(device):
    y = RNG.standard_normal((3, 5))
    x1 = np.sort(RNG.standard_normal(5))
    x2 = np.sort(RNG.standard_normal((3, 5)), axis=1)
    for fg, ft in [(gpuarr.trapezoid, torch.trapezoid),
                   (gpuarr.cumulative_trapezoid, torch.cumulative_trapezoid)]:
        grads_same(lambda a, f=fg: f(a), lambda a, f=ft: f(a), [y], device, 1e-12)
        grads_same(lambda a, f=fg: f(a, dx=0.3, dim=0), lambda a, f=ft: f(a, dx=0.3, dim=0),
                   [y], device, 1e-12)
        grads_same(lambda a, b, f=fg: f(a, b), lambda a, b, f=ft: f(a, b), [y, x1], device,
                   1e-12)
        grads_same(lambda a, b, f=fg: f(a, b), lambda a, b, f=ft: f(a, b), [y, x2], device,
                   1e-12)
    grads_same(lambda a, b: gpuarr.trapz(a, b), lambda a, b: torch.trapz(a, b), [y, x1],
               device, 1e-12)
    grads_same(lambda a: gpuarr.trapz(a, dx=2.0), lambda a: torch.trapz(a, dx=2.0), [y],
               device, 1e-12)


def test_trapezoid_dtypes_and_empty(device):
    i = np.array([1, 2, 4])
    for fg, ft in [(gpuarr.trapezoid, torch.trapezoid),
                   (gpuarr.cumulative_trapezoid, torch.cumulative_trapezoid)]:
        same(fg(g(i, device)), ft(t(i)))
        same(fg(g(i, device), g(np.array([1, 2, 5]), device)), ft(t(i), t(np.array([1, 2, 5]))))
        for shape in [(2, 0), (2, 1)]:
            same(fg(gpuarr.zeros(shape, device=device)), ft(torch.zeros(shape)))
    cases = [
        lambda m: m.trapezoid(m.zeros(2, 3), m.zeros(2)),
        lambda m: m.trapezoid(m.tensor([True])),
        lambda m: m.cumulative_trapezoid(m.tensor([True, False])),
        lambda m: m.trapezoid(m.zeros(2, 3), dim=3),
    ]
    for case in cases:
        raises_same(lambda c=case: c(gpuarr), lambda c=case: c(torch))


def test_trapezoid_gradcheck(device):
    y = g(RNG.standard_normal((2, 4)), device, True)
    x = g(np.sort(RNG.standard_normal(4)), device, True)
    assert gradcheck(lambda a, b: gpuarr.trapezoid(a, b), (y, x))
    assert gradgradcheck(lambda a, b: gpuarr.cumulative_trapezoid(a, b), (y, x))


# --------------------------------------------------------------------------------------------
# gradient

GRAD_CASES = [
    dict(), dict(spacing=2.0), dict(spacing=2.0, edge_order=2), dict(dim=1),
    dict(dim=[1, 0], spacing=[0.5, 3.0]), dict(spacing=[2.0, 3.0]), dict(spacing="coords"),
    dict(spacing="coords", edge_order=2), dict(dim=-1, spacing=[1.5], edge_order=2),
]


@pytest.mark.parametrize("kw", GRAD_CASES, ids=str)
def test_gradient_matches_torch(device, kw):
    f = RNG.standard_normal((4, 5))
    gk, tk = dict(kw), dict(kw)
    if kw.get("spacing") == "coords":
        c = [np.sort(RNG.standard_normal(4)), np.sort(RNG.standard_normal(5))]
        gk["spacing"] = [g(a, device) for a in c]
        tk["spacing"] = [t(a) for a in c]
    ours = gpuarr.gradient(g(f, device), **gk)
    ref = torch.gradient(t(f), **tk)
    assert isinstance(ours, tuple) and len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        same(a, b, 1e-10, 1e-10)
    a = g(f, device, True)
    assert gradcheck(lambda x: gpuarr.gradient(x, **gk)[0], (a,))


def test_gradient_int_and_errors(device):
    same(gpuarr.gradient(g(np.array([1, 2, 4, 8]), device))[0],
         torch.gradient(t(np.array([1, 2, 4, 8])))[0])
    f = [[1.0, 2, 4, 8], [1, 3, 3, 1]]
    cases = [
        lambda m: m.gradient(m.tensor(f), edge_order=3),
        lambda m: m.gradient(m.tensor(f), edge_order=2),
        lambda m: m.gradient(m.tensor([1, 2, 4, 8], dtype=m.uint8)),
        lambda m: m.gradient(m.tensor([1.0, 2, 4, 8]), spacing=[1.0, 2.0]),
        lambda m: m.gradient(m.tensor(f), spacing=[1.0, 2.0], dim=1),
    ]
    for case in cases:
        raises_same(lambda c=case: c(gpuarr), lambda c=case: c(torch))
