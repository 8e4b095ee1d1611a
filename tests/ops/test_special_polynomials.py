"""torch.special's Bessel, Airy and orthogonal-polynomial functions
(``gpuarr.ops.special_polynomials``) against torch 2.13 on the CPU.

- values on grids that cover every branch of torch's algorithms (0, -0, negative, the branch
  points, large arguments, NaN, +-inf; degrees 0, 1, negative, fractional, NaN, inf, large)
  in float32 and float64, on every device (on CUDA the polynomials run as RawKernels: on the
  stand-in their source is compiled for the CPU and run thread by thread);
- dtype promotion (integer and bool inputs, numbers for ``x`` or ``n``, 0-d tensors),
  broadcasting, size-0 and 0-d shapes, ``out=``;
- no gradient, as torch: results never require grad and backward raises torch's error;
- bad input: torch's exception types and texts;
- on CUDA no host round trip (the calls run inside a stream capture, which refuses any);
- every kernel compiles with NVRTC for sm_90 and sm_80 (skipped without the real CuPy).
"""

from __future__ import annotations

import warnings

import cuda_compile as cc
import numpy as np
import pytest
import torch
from ops_helpers import same_error, to_np
from real_cupy_scripts import compile_sets

import gpuarr
from gpuarr.ops import special_polynomials as SP

UNARY = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "airy_ai"]
POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
         "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
         "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
         "laguerre_polynomial_l", "legendre_polynomial_p"]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
POLY_TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-12)}

# every branch of torch's Cephes code: |x| <= 5 / > 5, x < 1e-5, airy's -2.09 / 2.09 / 8.32 /
# 103.892 cut points, signed zeros, large arguments, NaN and +-inf
X_UNARY = np.concatenate([
    np.linspace(-12.0, 12.0, 241),
    [0.0, -0.0, 1e-6, -1e-6, 9e-6, 1.1e-5, 5.0, -5.0, np.nextafter(5.0, 6.0), 2.09, -2.09,
     2.0899, -2.0901, 8.3203353, 8.33, 103.0, 103.892, 104.0, -30.0, -1e3, 1e3, 1e5, -1e5,
     1e30, np.inf, -np.inf, np.nan]])

# points: inside and outside [-1, 1] (and [0, 1] for the shifted ones), its ends, +-inf
X_POLY = np.concatenate([np.linspace(-3.0, 3.0, 61),
                         [0.0, 1.0, -1.0, 0.5, 1 + 1e-3, -1 - 1e-3, 1e10, np.inf, -np.inf]])
# degrees: negative, 0, 1, below and above torch's closed-form thresholds (4, 6, 8),
# fractional (truncated), large, NaN / inf / |n| >= 2**63 (0, as torch's CPU kernel)
N_POLY = np.array([-3.0, -1.0, -0.5, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0,
                   20.0, 50.0, 100.0, 129.0, 200.0, 513.0, 1000.0, 2.7, -2.7, np.nan, np.inf,
                   -np.inf, 1e19])


def fn(name):
    return getattr(SP, name)


def tfn(name):
    return getattr(torch.special, name)


# ---- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", UNARY)
def test_bessel_and_airy_match_torch(device, name, dt):
    x = X_UNARY.astype(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = tfn(name)(torch.tensor(x)).numpy()
    got = fn(name)(gpuarr.tensor(x, device=device))
    assert got.dtype == (gpuarr.float32 if dt == np.float32 else gpuarr.float64)
    assert got.device.type == gpuarr.device(device).type
    np.testing.assert_allclose(to_np(got), want, equal_nan=True, **TOL[dt])


@pytest.mark.parametrize("dt", DTYPES)
def test_airy_series_runs_enough_terms(dt):
    """The power series on [-2.09, 2.09) runs a fixed number of terms: a dense grid gives
    torch's sums (too few terms would be off far beyond these tolerances)."""
    x = np.linspace(-2.09, 2.09, 4001).astype(dt)
    want = torch.special.airy_ai(torch.tensor(x)).numpy()
    np.testing.assert_allclose(to_np(SP.airy_ai(gpuarr.tensor(x))), want, **TOL[dt])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", POLYS)
def test_polynomials_match_torch(device, name, dt):
    x, n = np.meshgrid(X_POLY.astype(dt), N_POLY.astype(dt))
    want = tfn(name)(torch.tensor(x), torch.tensor(n)).numpy()
    got = to_np(fn(name)(gpuarr.tensor(x, device=device), gpuarr.tensor(n, device=device)))
    assert got.dtype == dt and got.shape == want.shape
    # near dt's overflow threshold torch's build contracts a * b - c into one rounding (FMA),
    # which decides between +-inf and NaN there; the float64 values say where that is
    exact = tfn(name)(torch.tensor(x, dtype=torch.float64),
                      torch.tensor(n, dtype=torch.float64)).numpy()
    big = float(np.finfo(dt).max)
    edge = (np.abs(exact) > big / 1e3) & (np.abs(exact) < big * 1e3) & np.isfinite(x)
    keep = ~edge
    assert keep.mean() > 0.95
    np.testing.assert_allclose(got[keep], want[keep], equal_nan=True, **POLY_TOL[dt])


@pytest.mark.parametrize("name", POLYS)
def test_polynomials_at_nan(device, name):
    """NaN points give 0 for n < 0, 1 for n == 0 and NaN otherwise (torch too, except that
    where its recurrence never runs it returns an uninitialised variable: garbage, often the
    previous element's result)."""
    n = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 7.0, 9.0, 50.0])
    got = to_np(fn(name)(gpuarr.tensor(np.full(9, np.nan), device=device),
                         gpuarr.tensor(n, device=device)))
    np.testing.assert_array_equal(got, np.where(n < 0, 0.0, np.where(n == 0, 1.0, np.nan)))


@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "shifted_chebyshev_polynomial_v",
                                  "legendre_polynomial_p", "laguerre_polynomial_l"])
def test_high_degrees_match_torch(device, name):
    """Degrees in the thousands: the trigonometric forms, the long recurrences, and growth to
    inf then NaN outside [-1, 1]."""
    x = np.array([0.3, -0.7, 0.999, 0.05, 1.0005, -1.0005, 2.0])
    for deg in (1500, 2001):
        want = tfn(name)(torch.tensor(x), deg).numpy()
        got = to_np(fn(name)(gpuarr.tensor(x, device=device), deg))
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-11, equal_nan=True)


@pytest.mark.parametrize("dt, limit", [(np.float32, 128), (np.float64, 512)])
@pytest.mark.parametrize("name", ["hermite_polynomial_h", "hermite_polynomial_he"])
def test_hermite_degree_limit(device, name, dt, limit):
    x = gpuarr.tensor(np.array([0.0, 0.25, -1.0], dtype=dt), device=device)
    assert np.isnan(to_np(fn(name)(x, limit + 1))).all()
    for deg in (limit - 1, limit):
        want = tfn(name)(torch.tensor(to_np(x)), deg).numpy()
        np.testing.assert_array_equal(to_np(fn(name)(x, deg)), want)
    want = tfn(name)(torch.tensor(to_np(x)), 20).numpy()
    np.testing.assert_allclose(to_np(fn(name)(x, 20)), want, **POLY_TOL[dt])


@pytest.mark.parametrize("name", POLYS)
def test_degree_as_a_number(device, name):
    x = np.array([-1.5, -1.0, -0.4, 0.0, 0.3, 0.5, 1.0, 2.0])
    for deg in (0, 1, 3, 9, -2, 2.7, -0.5, True, float("nan"), float("inf")):
        want = tfn(name)(torch.tensor(x), deg)
        got = fn(name)(gpuarr.tensor(x, device=device), deg)
        assert got.dtype == gpuarr.float64
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-12, atol=1e-12,
                                   equal_nan=True)


@pytest.mark.parametrize("name", POLYS)
def test_point_as_a_number(device, name):
    n = np.array([0, 1, 2, 5, 10])
    for x in (0.5, -2, 1, 0.0):
        want = tfn(name)(x, torch.tensor(n))
        got = fn(name)(x, gpuarr.tensor(n, device=device))
        assert got.dtype == gpuarr.float32 and got.shape == (5,)
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-5, atol=1e-6)


# ---- dtypes and shapes ---------------------------------------------------------------------


def _both(v, dev):
    if isinstance(v, np.ndarray):
        return gpuarr.tensor(v, device=dev), torch.tensor(v)
    return v, v


PROMOTIONS = [
    (np.array([1, 2, 3], np.int32), np.array([2, 3, 4])),                 # int, int
    (np.array([True, False]), np.array([3, 2])),                           # bool, int
    (np.array([1, 2, 3]), 2.5),                                            # int, float number
    (np.array([0.5, 1.5], np.float32), np.array([3, 4], np.float64)),      # float32, float64
    (np.array([0.5, 1.5], np.float32), np.array(3.0)),                    # float32, 0-d float64
    (np.array(0.25), np.array([3.0, 5.0], np.float32)),                   # 0-d float64, float32
    (np.array([0.5, 1.5]), 4),                                             # float64, int number
    (2.0, np.array([1, 2, 3])),                                            # float number, int
    (2, np.array([1.0, 3.0])),                                             # int number, float64
]


@pytest.mark.parametrize("name", ["chebyshev_polynomial_u", "hermite_polynomial_he",
                                  "laguerre_polynomial_l"])
@pytest.mark.parametrize("case", range(len(PROMOTIONS)))
def test_promotion_matches_torch(device, name, case):
    (gx, tx), (gn, tn) = (_both(v, device) for v in PROMOTIONS[case])
    want = tfn(name)(tx, tn)
    got = fn(name)(gx, gn)
    assert got.dtype.name == str(want.dtype).removeprefix("torch.")
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", UNARY)
def test_unary_integer_inputs_and_shapes(device, name):
    for arr in (np.array([1, 2, 7]), np.array([True, False]), np.array(3.0),
                np.zeros((0, 3)), np.arange(6.0).reshape(2, 3)):
        want = tfn(name)(torch.tensor(arr))
        got = fn(name)(gpuarr.tensor(arr, device=device))
        assert got.dtype.name == str(want.dtype).removeprefix("torch.")
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-6, atol=1e-7)


SHAPES = [((), ()), ((3,), ()), ((), (4,)), ((3, 1), (1, 4)), ((2, 1, 3), (4, 1)),
          ((0,), (1,)), ((2, 0, 3), (3,)), ((2, 3), (0, 1, 3))]


@pytest.mark.parametrize("sx, sn", SHAPES)
@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "legendre_polynomial_p"])
def test_broadcasting_matches_torch(device, name, sx, sn):
    rng = np.random.default_rng(len(sx) * 10 + len(sn))
    x = rng.uniform(-1.5, 1.5, sx)
    n = rng.integers(0, 12, sn).astype(np.float64)
    want = tfn(name)(torch.tensor(x), torch.tensor(n))
    got = fn(name)(gpuarr.tensor(x, device=device), gpuarr.tensor(n, device=device))
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-10, atol=1e-12)


def test_non_contiguous_inputs(device):
    x = np.linspace(-2, 2, 24).reshape(4, 6)
    n = np.arange(12.0).reshape(2, 6)
    gx = gpuarr.tensor(x, device=device)[:, ::2].t()
    gn = gpuarr.tensor(n, device=device)[1:, ::2].t()
    want = torch.special.legendre_polynomial_p(torch.tensor(x)[:, ::2].t(),
                                               torch.tensor(n)[1:, ::2].t())
    np.testing.assert_allclose(to_np(SP.legendre_polynomial_p(gx, gn)), want.numpy(),
                               rtol=1e-12)


def test_out_argument(device):
    x = gpuarr.tensor([0.5, 2.0], device=device)
    out = gpuarr.empty(2, device=device)
    assert SP.bessel_j1(x, out=out) is out
    np.testing.assert_allclose(to_np(out), [0.24226846, 0.57672481], rtol=1e-6)
    out64 = gpuarr.empty(2, dtype=gpuarr.float64, device=device)
    assert SP.chebyshev_polynomial_t(x, 3, out=out64) is out64
    np.testing.assert_allclose(to_np(out64), [-1.0, 26.0])


# ---- gradients: none, as torch ----------------------------------------------------------------


@pytest.mark.parametrize("name", UNARY)
def test_unary_has_no_gradient(device, name):
    x = gpuarr.tensor([0.5, 1.5], device=device, requires_grad=True)
    tx = torch.tensor([0.5, 1.5], requires_grad=True)
    y, ty = fn(name)(x), tfn(name)(tx)
    assert not y.requires_grad and y.grad_fn is None and not ty.requires_grad
    same_error(lambda: y.sum().backward(), lambda: ty.sum().backward(), device)


@pytest.mark.parametrize("name", POLYS)
def test_polynomials_have_no_gradient(device, name):
    x = gpuarr.tensor([0.5, 1.5], device=device, requires_grad=True)
    n = gpuarr.tensor([2.0, 3.0], device=device, requires_grad=True)
    tx = torch.tensor([0.5, 1.5], requires_grad=True)
    tn = torch.tensor([2.0, 3.0], requires_grad=True)
    y, ty = fn(name)(x, n), tfn(name)(tx, tn)
    assert not y.requires_grad and y.grad_fn is None and not ty.requires_grad
    same_error(lambda: y.sum().backward(), lambda: ty.sum().backward(), device)
    y2 = fn(name)(x, 3)
    assert not y2.requires_grad


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", UNARY)
def test_unary_bad_input_as_torch(device, name):
    same_error(lambda: fn(name)(2.0), lambda: tfn(name)(2.0), device)
    same_error(lambda: fn(name)([1.0]), lambda: tfn(name)([1.0]), device)
    bad = [gpuarr.float16] + ([gpuarr.bfloat16] if device == "cpu" else [])
    for dt in bad:
        same_error(lambda dt=dt: fn(name)(gpuarr.ones(2, dtype=dt, device=device)),
                   lambda dt=dt: tfn(name)(torch.ones(2, dtype=getattr(torch, dt.name))),
                   device)


@pytest.mark.parametrize("name", POLYS)
def test_polynomials_bad_input_as_torch(device, name):
    t = gpuarr.tensor([0.5], device=device)
    tt = torch.tensor([0.5])
    for a, b, ta, tb in ((2.0, 3, 2.0, 3), ([1.0], 2, [1.0], 2), (t, "a", tt, "a"),
                         (t, None, tt, None)):
        same_error(lambda a=a, b=b: fn(name)(a, b), lambda a=ta, b=tb: tfn(name)(a, b),
                   device)
    same_error(lambda: fn(name)(gpuarr.ones(2, dtype=gpuarr.float16, device=device), 2),
               lambda: tfn(name)(torch.ones(2, dtype=torch.float16), 2), device)
    same_error(lambda: fn(name)(t, 1j), lambda: tfn(name)(tt, 1j), device)
    same_error(lambda: fn(name)(2j, t.double()), lambda: tfn(name)(2j, tt.double()), device)
    same_error(lambda: fn(name)(gpuarr.ones(2, device=device), gpuarr.ones(3, device=device)),
               lambda: tfn(name)(torch.ones(2), torch.ones(3)), device)


def test_cuda_and_cpu_operands(cp):
    x = gpuarr.tensor([0.5, 2.0], device="cuda")
    # a CPU 0-d tensor acts as a number next to CUDA tensors, as in torch
    got = SP.chebyshev_polynomial_t(x, gpuarr.tensor(3.0))
    assert got.device.type == "cuda"
    np.testing.assert_allclose(to_np(got), [-1.0, 26.0])
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        SP.chebyshev_polynomial_t(x, gpuarr.tensor([3.0, 2.0]))


# ---- CUDA: no host round trip; the kernels compile ---------------------------------------------


def test_cuda_calls_need_no_host_round_trip(cp):
    """Every function runs inside a CUDA stream capture, which refuses device-to-host copies
    (the CuPy stand-in refuses them as CuPy does); the graph's launch gives the eager values."""
    x = gpuarr.tensor(np.linspace(-3, 3, 13), device="cuda")
    n = gpuarr.tensor(np.arange(13.0) - 2, device="cuda")
    calls = [(fn(name), (x,)) for name in UNARY]
    calls += [(fn(name), (x, n)) for name in POLYS] + [(fn(name), (x, 7)) for name in POLYS]
    eager = [to_np(f(*args)) for f, args in calls]
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        try:
            lazy = [f(*args) for f, args in calls]
        finally:
            graph = stream.end_capture()
    graph.launch(stream)
    stream.synchronize()
    for got, want in zip(lazy, eager):
        np.testing.assert_array_equal(to_np(got), want)


def test_kernels_compile_with_nvrtc_for_sm90_and_sm80():
    (results,) = compile_sets("--raw", "gpuarr.ops.special_polynomials:RAW_KERNELS",
                              timeout=600).values()
    got = {(r["kernel"], r["arch"]) for r in results}
    assert got == {(k, a) for k, _ in SP.RAW_KERNELS for a in cc.ARCHS}
    assert {k for k, _ in SP.RAW_KERNELS} == {
        f"gpuarr_{p}_{s}" for p in POLYS for s in ("f32", "f64")}
    bad = [f"{r['kernel']} {r['arch']}:\n{r['error']}" for r in results if not r["ok"]]
    assert not bad, "NVRTC rejected a polynomial kernel:\n" + "\n".join(bad)


def test_not_top_level_names():
    assert SP.__all__ == []
    assert not hasattr(torch, "bessel_j0") and not hasattr(gpuarr, "bessel_j0")
    for name in UNARY + POLYS:
        assert callable(fn(name)) and fn(name).__doc__
