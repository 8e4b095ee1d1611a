"""gpuarr.ops.elementwise_extra against torch: values, dtypes and shapes over several dtypes and
broadcast shapes (size-0 and 0-d included), gradients (gradcheck / gradgradcheck in float64 and
torch's values at the special points), in-place spellings, torch's top-level in-place functions,
out=, and torch's errors for bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from ops_helpers import assert_same, on_device, same_error, to_np

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)

SHAPES = [(), (0,), (3, 4), (2, 1, 3)]
BCAST = [((3, 1), (1, 4)), ((), (2, 3)), ((0, 2), (1, 2)), ((2, 3), ())]


def _data(shape, dtype: str, lo: float, hi: float) -> np.ndarray:
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        return RNG.integers(int(lo), int(hi) + 1, size=shape).astype(dtype)
    return RNG.uniform(lo, hi, size=shape).astype(dtype)


def _gpu(arr: np.ndarray, device: str, dtype: str | None = None, rg: bool = False):
    if dtype == "bfloat16" and device != "cpu":
        pytest.skip("gpuarr has no bfloat16 on CUDA (CuPy cannot compute in it)")
    t = gpuarr.tensor(arr, device=device)
    if dtype == "bfloat16":
        t = t.to(gpuarr.bfloat16)
    return t.requires_grad_(rg) if rg else t


def _torch(arr: np.ndarray, dtype: str | None = None, rg: bool = False):
    t = torch.tensor(arr)
    if dtype == "bfloat16":
        t = t.to(torch.bfloat16)
    return t.requires_grad_(rg) if rg else t


def _tol(dtype: str) -> dict:
    return {"float16": {"rtol": 2e-3, "atol": 2e-3}, "bfloat16": {"rtol": 2e-2, "atol": 2e-2},
            "float32": {"rtol": 2e-5, "atol": 1e-6}}.get(dtype, {"rtol": 1e-9, "atol": 1e-12})


def _compare(g, t, dtype: str | None = None) -> None:
    """Same dtype, shape and values; the tolerance is the result dtype's (or ``dtype``'s, the
    inputs', when that is the coarser one)."""
    tols = [_tol(str(t.dtype).removeprefix("torch."))] + ([_tol(dtype)] if dtype else [])
    tol = max(tols, key=lambda d: d["rtol"])
    if t.dtype == torch.bfloat16:
        assert g.dtype == gpuarr.bfloat16
        g, t = g.float(), t.float()
    assert_same(g, t, **tol)


# --------------------------------------------------------------------------------------------
# unary ops: name -> (gpuarr function, torch function, domain)

SPECIAL = gpuarr.special
UNARY = {
    "erfc": (gpuarr.erfc, torch.erfc, (-4, 4)),
    "i0": (gpuarr.i0, torch.i0, (-30, 30)),
    "sinc": (gpuarr.sinc, torch.sinc, (-3, 3)),
    "logit": (gpuarr.logit, torch.logit, (0.01, 0.99)),
    "logit_eps": (lambda x: gpuarr.logit(x, 0.2), lambda x: torch.logit(x, 0.2), (-0.5, 1.5)),
    "deg2rad": (gpuarr.deg2rad, torch.deg2rad, (-400, 400)),
    "rad2deg": (gpuarr.rad2deg, torch.rad2deg, (-7, 7)),
    "mvlgamma": (lambda x: gpuarr.mvlgamma(x, 3), lambda x: torch.mvlgamma(x, 3), (1.5, 6)),
    "sgn": (gpuarr.sgn, torch.sgn, (-2, 2)),
    "fix": (gpuarr.fix, torch.fix, (-5, 5)),
    "arccos": (gpuarr.arccos, torch.arccos, (-1, 1)),
    "arcsin": (gpuarr.arcsin, torch.arcsin, (-1, 1)),
    "arctan": (gpuarr.arctan, torch.arctan, (-5, 5)),
    "arccosh": (gpuarr.arccosh, torch.arccosh, (1, 5)),
    "arcsinh": (gpuarr.arcsinh, torch.arcsinh, (-5, 5)),
    "arctanh": (gpuarr.arctanh, torch.arctanh, (-0.9, 0.9)),
    "erfcx": (SPECIAL.erfcx, torch.special.erfcx, (-3, 40)),
    "ndtr": (SPECIAL.ndtr, torch.special.ndtr, (-8, 8)),
    "ndtri": (SPECIAL.ndtri, torch.special.ndtri, (0.001, 0.999)),
    "log_ndtr": (SPECIAL.log_ndtr, torch.special.log_ndtr, (-40, 6)),
    "i0e": (SPECIAL.i0e, torch.special.i0e, (-40, 40)),
    "i1": (SPECIAL.i1, torch.special.i1, (-30, 30)),
    "i1e": (SPECIAL.i1e, torch.special.i1e, (-40, 40)),
    "entr": (SPECIAL.entr, torch.special.entr, (-0.5, 3)),
    "multigammaln": (lambda x: SPECIAL.multigammaln(x, 2),
                     lambda x: torch.special.multigammaln(x, 2), (1, 6)),
    "special_logit": (SPECIAL.logit, torch.special.logit, (0.01, 0.99)),
    "special_sinc": (SPECIAL.sinc, torch.special.sinc, (-3, 3)),
    "special_erfc": (SPECIAL.erfc, torch.special.erfc, (-4, 4)),
    "special_i0": (SPECIAL.i0, torch.special.i0, (-5, 5)),
}
HALF_IN_FLOAT32 = ("erfcx", "ndtri", "log_ndtr", "zeta")


def _half_gap(name: str, dtype: str) -> bool:
    """torch's CPU kernels of these lack half types (its CUDA ones have them): gpuarr
    computes them in float32 and rounds once on both devices."""
    return name in HALF_IN_FLOAT32 and dtype in ("float16", "bfloat16")


PREDICATES = {
    "signbit": (gpuarr.signbit, torch.signbit),
    "isposinf": (gpuarr.isposinf, torch.isposinf),
    "isneginf": (gpuarr.isneginf, torch.isneginf),
    "isreal": (gpuarr.isreal, torch.isreal),
    "positive": (gpuarr.positive, torch.positive),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_values_match_torch(device, name, dtype, shape):
    g_fn, t_fn, (lo, hi) = UNARY[name]
    arr = _data(shape, dtype, lo, hi)
    _compare(g_fn(_gpu(arr, device)), t_fn(_torch(arr)), dtype)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float16", "bfloat16"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_other_dtypes_promote_as_torch(device, name, dtype):
    g_fn, t_fn, (lo, hi) = UNARY[name]
    arr = _data((5,), "float32" if dtype == "bfloat16" else dtype, max(lo, -3), hi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = t_fn(_torch(arr, dtype))
        except (RuntimeError, NotImplementedError) as e:
            if not (_half_gap(name, dtype) and isinstance(e, NotImplementedError)):
                same_error(lambda: g_fn(_gpu(arr, device, dtype)),
                           lambda: t_fn(_torch(arr, dtype)), device)
                return
            want = t_fn(_torch(arr, dtype).float()).to(_torch(arr, dtype).dtype)
    _compare(g_fn(_gpu(arr, device, dtype)), want, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "uint8", "bool",
                                   "float16", "bfloat16"])
@pytest.mark.parametrize("name", PREDICATES)
def test_predicates_match_torch(device, name, dtype):
    g_fn, t_fn = PREDICATES[name]
    if dtype in ("float32", "float64", "float16", "bfloat16"):
        arr = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, -np.nan], dtype="float32")
        arr = arr.astype(dtype if dtype != "bfloat16" else "float32")
        if dtype == "bfloat16":  # torch's float -> bfloat16 cast turns NaN into -NaN
            arr = arr[~np.isnan(arr)]
    else:
        arr = _data((6,), dtype, 0 if dtype == "uint8" else -5, 5)
    try:
        want = t_fn(_torch(arr, dtype))
    except RuntimeError:
        same_error(lambda: g_fn(_gpu(arr, device, dtype)), lambda: t_fn(_torch(arr, dtype)),
                   device)
        return
    _compare(g_fn(_gpu(arr, device, dtype)), want, dtype)


def test_positive_returns_its_input_and_predicates_have_no_grad(device):
    x = gpuarr.tensor([1.0, -2.0], device=device, requires_grad=True)
    assert gpuarr.positive(x) is x and x.positive() is x
    for f in (gpuarr.signbit, gpuarr.isposinf, gpuarr.isneginf, gpuarr.isreal):
        assert not f(x).requires_grad and f(x).dtype == gpuarr.bool


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "bfloat16"])
def test_frexp_matches_torch(device, dtype):
    arr = np.array([3.0, -5.5, 0.0, -0.0, 1e-3, 1024.0, np.inf, np.nan], dtype="float32")
    arr = arr.astype(dtype if dtype != "bfloat16" else "float32")
    r = gpuarr.frexp(_gpu(arr, device, dtype))
    t = torch.frexp(_torch(arr, dtype))
    assert isinstance(r, gpuarr.return_types.frexp)
    _compare(r.mantissa, t.mantissa, dtype)
    assert_same(r.exponent[:6], t.exponent[:6])  # torch leaves inf/NaN's exponent unspecified
    assert r.exponent.dtype == gpuarr.int32
    m, e = _gpu(arr, device, dtype).frexp()
    _compare(m, t.mantissa, dtype)


# --------------------------------------------------------------------------------------------
# binary ops

BINARY = {
    "logaddexp": (gpuarr.logaddexp, torch.logaddexp, (-5, 5), (-5, 5)),
    "logaddexp2": (gpuarr.logaddexp2, torch.logaddexp2, (-5, 5), (-5, 5)),
    "hypot": (gpuarr.hypot, torch.hypot, (-5, 5), (-5, 5)),
    "fmax": (gpuarr.fmax, torch.fmax, (-5, 5), (-5, 5)),
    "fmin": (gpuarr.fmin, torch.fmin, (-5, 5), (-5, 5)),
    "nextafter": (gpuarr.nextafter, torch.nextafter, (-5, 5), (-5, 5)),
    "heaviside": (gpuarr.heaviside, torch.heaviside, (-1, 1), (-5, 5)),
    "ldexp": (gpuarr.ldexp, torch.ldexp, (-5, 5), (-5, 5)),
    "float_power": (gpuarr.float_power, torch.float_power, (0.1, 5), (-3, 3)),
    "arctan2": (gpuarr.arctan2, torch.arctan2, (-5, 5), (-5, 5)),
    "rsub": (gpuarr.rsub, torch.rsub, (-5, 5), (-5, 5)),
    "xlog1py": (SPECIAL.xlog1py, torch.special.xlog1py, (-2, 2), (-0.9, 5)),
    "zeta": (SPECIAL.zeta, torch.special.zeta, (1.1, 6), (0.2, 5)),
    "igamma": (gpuarr.igamma, torch.igamma, (0.2, 6), (0.1, 9)),
    "igammac": (gpuarr.igammac, torch.igammac, (0.2, 6), (0.1, 9)),
    "gammainc": (SPECIAL.gammainc, torch.special.gammainc, (0.2, 6), (0.1, 9)),
    "gammaincc": (SPECIAL.gammaincc, torch.special.gammaincc, (0.2, 6), (0.1, 9)),
    "gcd": (gpuarr.gcd, torch.gcd, (-30, 30), (-30, 30)),
    "lcm": (gpuarr.lcm, torch.lcm, (-30, 30), (-30, 30)),
    "bitwise_left_shift": (gpuarr.bitwise_left_shift, torch.bitwise_left_shift, (-9, 9),
                           (-2, 66)),
    "bitwise_right_shift": (gpuarr.bitwise_right_shift, torch.bitwise_right_shift, (-99, 99),
                            (-2, 66)),
    "clamp_min": (gpuarr.clamp_min, torch.clamp_min, (-5, 5), (-5, 5)),
    "clamp_max": (gpuarr.clamp_max, torch.clamp_max, (-5, 5), (-5, 5)),
}
INT_ONLY = ("gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift")


@pytest.mark.parametrize("shapes", BCAST, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_broadcasts_like_torch(device, name, shapes):
    g_fn, t_fn, da, db = BINARY[name]
    dtype = "int64" if name in INT_ONLY else "float64"
    a, b = _data(shapes[0], dtype, *da), _data(shapes[1], dtype, *db)
    _compare(g_fn(_gpu(a, device), _gpu(b, device)), t_fn(_torch(a), _torch(b)), dtype)


@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("float32", "float64"),
                                    ("int64", "float32"), ("int32", "int64"), ("int8", "uint8"),
                                    ("bool", "bool"), ("float16", "float16"),
                                    ("bfloat16", "bfloat16"), ("int64", "int64")], ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_dtypes_promote_or_raise_as_torch(device, name, dtypes):
    g_fn, t_fn, da, db = BINARY[name]
    arrs = [_data((2, 3), "float32" if d == "bfloat16" else d,
                  max(r[0], 0) if d == "uint8" else r[0], r[1])
            for d, r in zip(dtypes, (da, db))]
    ta, tb = (_torch(x, d) for x, d in zip(arrs, dtypes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = t_fn(ta, tb)
        except (RuntimeError, NotImplementedError, TypeError) as e:
            if not (_half_gap(name, dtypes[0]) and isinstance(e, NotImplementedError)):
                same_error(lambda: g_fn(*(_gpu(x, device, d) for x, d in zip(arrs, dtypes))),
                           lambda: t_fn(ta, tb), device)
                return
            want = t_fn(ta.float(), tb.float()).to(ta.dtype)
    got = g_fn(*(_gpu(x, device, d) for x, d in zip(arrs, dtypes)))
    _compare(got, want, "float16" if "float16" in dtypes else dtypes[0])


@pytest.mark.parametrize("name", ["logaddexp", "hypot", "fmax", "gcd", "heaviside", "ldexp",
                                  "nextafter"])
def test_binary_ops_refuse_numbers_as_torch(device, name):
    g_fn, t_fn, _, _ = BINARY[name]
    dt = "int64" if name in INT_ONLY else "float32"
    a = _data((3,), dt, 1, 4)
    same_error(lambda: g_fn(_gpu(a, device), 2), lambda: t_fn(_torch(a), 2), device)
    same_error(lambda: g_fn(2, _gpu(a, device)), lambda: t_fn(2, _torch(a)), device)


@pytest.mark.parametrize("name", ["float_power", "rsub", "xlog1py", "zeta",
                                  "bitwise_left_shift", "bitwise_right_shift", "clamp_min"])
def test_binary_ops_with_a_number_match_torch(device, name):
    g_fn, t_fn, da, db = BINARY[name]
    dt = "int64" if name in INT_ONLY else "float32"
    a = _data((2, 3), dt, *da)
    num = 2 if dt == "int64" else 1.5
    _compare(g_fn(_gpu(a, device), num), t_fn(_torch(a), num), dt)
    if name not in ("rsub", "clamp_min"):
        b = _data((2, 3), dt, *db)
        _compare(g_fn(num, _gpu(b, device)), t_fn(num, _torch(b)), dt)


def test_special_points_match_torch(device):
    inf, nan = np.inf, np.nan
    x = np.array([0.0, -0.0, inf, -inf, nan, 1e-30, -50.0, 50.0, 700.0])
    for name in ("erfc", "i0", "sinc", "erfcx", "ndtr", "log_ndtr", "i0e", "i1", "i1e", "entr"):
        g_fn = getattr(gpuarr.special, name)
        _compare(g_fn(gpuarr.tensor(x, device=device)), getattr(torch.special, name)(
            torch.tensor(x)), "float64")
    p = np.array([0.0, 1.0, -0.5, 1.5, nan, 1e-300, 0.5, 1 - 1e-12])
    _compare(gpuarr.special.ndtri(gpuarr.tensor(p, device=device)),
             torch.special.ndtri(torch.tensor(p)), "float64")
    a = np.array([0.0, 0.0, 1.0, -1.0, 1.0, 2.0, inf, 1.0, nan, 0.5, 1e-3, 2.0, 30.0])
    x = np.array([0.0, 1.0, 0.0, 1.0, -1.0, inf, 1.0, nan, 1.0, 0.5, 1e-3, 1e6, 29.0])
    for f in ("igamma", "igammac"):
        _compare(getattr(gpuarr, f)(gpuarr.tensor(a, device=device), gpuarr.tensor(
            x, device=device)), getattr(torch, f)(torch.tensor(a), torch.tensor(x)), "float32")
    pairs = [(2.0, 1.0), (1.0, 1.0), (0.5, 1.0), (2.0, -2.0), (3.0, -2.5), (2.5, -2.5),
             (2.0, inf), (inf, 2.0), (nan, 1.0), (2.0, 0.0)]
    xs, qs = (np.array(v) for v in zip(*pairs))
    _compare(gpuarr.special.zeta(gpuarr.tensor(xs, device=device), gpuarr.tensor(qs,
             device=device)), torch.special.zeta(torch.tensor(xs), torch.tensor(qs)), "float64")
    a = np.array([0.0, 0.0, 1.0, 0.0, 2.0])
    b = np.array([-1.0, nan, -2.0, 3.0, -1.0])
    _compare(gpuarr.special.xlog1py(gpuarr.tensor(a, device=device), gpuarr.tensor(
        b, device=device)), torch.special.xlog1py(torch.tensor(a), torch.tensor(b)), "float64")
    u = np.array([nan, 1.0, nan, -inf, 0.0, -0.0])
    v = np.array([1.0, nan, nan, 3.0, -0.0, 0.0])
    for f in ("fmax", "fmin", "logaddexp", "logaddexp2", "hypot", "nextafter"):
        _compare(getattr(gpuarr, f)(gpuarr.tensor(u, device=device), gpuarr.tensor(
            v, device=device)), getattr(torch, f)(torch.tensor(u), torch.tensor(v)), "float64")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_nextafter_steps_one_unit_of_the_dtype(device, dtype):
    a = np.array([1.0, -1.0, 0.0, 0.0, 2.0, 65504.0 if dtype == "float16" else 3.0],
                 dtype="float32")
    b = np.array([2.0, -2.0, 1.0, -1.0, 2.0, np.inf], dtype="float32")
    got = gpuarr.nextafter(_gpu(a.astype(dtype) if dtype == "float16" else a, device, dtype),
                           _gpu(b.astype(dtype) if dtype == "float16" else b, device, dtype))
    want = torch.nextafter(_torch(a.astype(dtype) if dtype == "float16" else a, dtype),
                           _torch(b.astype(dtype) if dtype == "float16" else b, dtype))
    np.testing.assert_array_equal(to_np(got.float()), want.float().numpy())


def test_shifts_by_out_of_range_counts_match_torch(device):
    for dt in ("int8", "uint8", "int16", "int32", "int64"):
        a = np.array([1, 3, 5, 7, 100, 1], dtype=dt)
        if dt != "uint8":
            a[1] = -3
        s = np.array([0, 1, -1 if dt != "uint8" else 255, 8, 70, 63]).astype(dt)
        for gf, tf in ((gpuarr.bitwise_left_shift, torch.bitwise_left_shift),
                       (gpuarr.bitwise_right_shift, torch.bitwise_right_shift)):
            assert_same(gf(gpuarr.tensor(a, device=device), gpuarr.tensor(s, device=device)),
                        tf(torch.tensor(a), torch.tensor(s)))


def test_shift_operators(device):
    a = gpuarr.tensor([1, -8, 5], device=device)
    ta = torch.tensor([1, -8, 5])
    assert_same(a << 2, ta << 2)
    assert_same(a >> 1, ta >> 1)
    assert_same(2 << a.abs(), 2 << ta.abs())
    assert_same(64 >> a.abs(), 64 >> ta.abs())
    b = a.clone()
    b <<= 1
    assert_same(b, ta << 1)
    b >>= 2
    assert_same(b, (ta << 1) >> 2)


# --------------------------------------------------------------------------------------------
# gradients

DIFF_UNARY = {  # name -> (function, domain away from kinks and poles)
    "erfc": (gpuarr.erfc, (-2, 2)), "i0": (gpuarr.i0, (-4, 4)), "sinc": (gpuarr.sinc, (0.1, 2)),
    "logit": (gpuarr.logit, (0.1, 0.9)),
    "logit_eps": (lambda x: gpuarr.logit(x, 0.05), (0.1, 0.9)),
    "deg2rad": (gpuarr.deg2rad, (-5, 5)), "rad2deg": (gpuarr.rad2deg, (-5, 5)),
    "mvlgamma": (lambda x: gpuarr.mvlgamma(x, 3), (1.5, 4)),
    "erfcx": (SPECIAL.erfcx, (-2, 3)), "ndtr": (SPECIAL.ndtr, (-3, 3)),
    "ndtri": (SPECIAL.ndtri, (0.05, 0.95)), "log_ndtr": (SPECIAL.log_ndtr, (-5, 3)),
    "i0e": (SPECIAL.i0e, (0.2, 4)), "i1": (SPECIAL.i1, (-4, 4)), "i1e": (SPECIAL.i1e, (0.2, 4)),
    "entr": (SPECIAL.entr, (0.2, 3)),
    "frexp": (lambda x: gpuarr.frexp(x).mantissa, (0.6, 0.9)),
}


@pytest.mark.parametrize("name", DIFF_UNARY)
def test_unary_gradcheck_and_gradgradcheck(device, name):
    fn, (lo, hi) = DIFF_UNARY[name]
    x = gpuarr.tensor(RNG.uniform(lo, hi, (2, 3)), device=device, requires_grad=True)
    assert gradcheck(fn, (x,))
    if name != "frexp":  # its gradient is piecewise constant
        assert gradgradcheck(fn, (x,))


DIFF_BINARY = {
    "logaddexp": (gpuarr.logaddexp, (-3, 3), (-3, 3)),
    "logaddexp2": (gpuarr.logaddexp2, (-3, 3), (-3, 3)),
    "hypot": (gpuarr.hypot, (0.5, 3), (-3, -0.5)),
    "fmax": (gpuarr.fmax, (-3, 3), (-3, 3)), "fmin": (gpuarr.fmin, (-3, 3), (-3, 3)),
    "ldexp": (gpuarr.ldexp, (-3, 3), (-2, 2)),
    "float_power": (gpuarr.float_power, (0.5, 3), (-2, 2)),
    "xlog1py": (SPECIAL.xlog1py, (-2, 2), (-0.5, 3)),
    "zeta_q": (lambda q: SPECIAL.zeta(3.0, q), (0.5, 3), None),
    "igamma_x": (lambda x: gpuarr.igamma(x.detach() * 0 + 2.5, x), (0.5, 4), None),
    "igammac_x": (lambda x: gpuarr.igammac(x.detach() * 0 + 0.7, x), (0.5, 4), None),
    "rsub": (lambda a, b: gpuarr.rsub(a, b, alpha=2), (-3, 3), (-3, 3)),
}


@pytest.mark.parametrize("name", DIFF_BINARY)
def test_binary_gradcheck_and_gradgradcheck(device, name):
    fn, da, db = DIFF_BINARY[name]
    args = [gpuarr.tensor(RNG.uniform(*da, (3, 1)), device=device, requires_grad=True)]
    if db is not None:
        args.append(gpuarr.tensor(RNG.uniform(*db, (1, 4)), device=device, requires_grad=True))
    assert gradcheck(fn, tuple(args))
    if not name.startswith("fm"):  # piecewise linear: no second derivative to check
        assert gradgradcheck(fn, tuple(args))


def _grads(g_fn, t_fn, arrays, device):
    gs = [gpuarr.tensor(a, device=device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    g_fn(*gs).sum().backward()
    t_fn(*ts).sum().backward()
    for g, t in zip(gs, ts):
        np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gradients_at_special_points_match_torch(device):
    nan, inf = np.nan, np.inf
    # fmax/fmin: ties go to input, a NaN side to the other
    a = np.array([0.0, 1.0, 2.0, nan, nan, 3.0])
    b = np.array([0.0, nan, 3.0, 1.0, nan, -1.0])
    _grads(gpuarr.fmax, torch.fmax, [a, b], device)
    _grads(gpuarr.fmin, torch.fmin, [a, b], device)
    # logit: NaN gradient outside [0, 1] without eps, zero outside [eps, 1 - eps] with it
    x = np.array([-0.5, 0.05, 0.1, 0.5, 0.9, 0.95, 1.5])
    _grads(gpuarr.logit, torch.logit, [x], device)
    _grads(lambda t: gpuarr.logit(t, 0.1), lambda t: torch.logit(t, 0.1), [x], device)
    # sinc and the Bessel functions at 0, entr at 0, erfcx far right
    z = np.array([0.0, -0.0, 1.0, -2.5, 30.0])
    for n in ("sinc", "i0", "i0e", "i1", "i1e", "erfcx", "ndtr", "log_ndtr", "erfc"):
        _grads(getattr(gpuarr.special, n), getattr(torch.special, n), [z], device)
    _grads(gpuarr.special.entr, torch.special.entr, [np.array([0.0, 0.5, 2.0])], device)
    # xlog1py at input == 0 (torch keeps log1p(other) there, except where other <= -1)
    _grads(gpuarr.special.xlog1py, torch.special.xlog1py,
           [np.array([0.0, 0.0, 0.0, 2.0]), np.array([2.0, -1.0, -3.0, 1.0])], device)
    # hypot, logaddexp with infinities; nextafter; ldexp; frexp's mantissa
    _grads(gpuarr.hypot, torch.hypot, [np.array([3.0, 0.5]), np.array([4.0, -2.0])], device)
    _grads(gpuarr.logaddexp, torch.logaddexp,
           [np.array([-inf, 1.0, 0.0]), np.array([0.0, -inf, 0.0])], device)
    _grads(gpuarr.nextafter, torch.nextafter, [np.array([1.0, 2.0]), np.array([3.0, 0.0])],
           device)
    _grads(gpuarr.ldexp, torch.ldexp, [np.array([1.5, -2.0]), np.array([3.0, -1.0])], device)
    _grads(lambda t: gpuarr.frexp(t).mantissa, lambda t: torch.frexp(t).mantissa,
           [np.array([3.0, -0.1, 1e5])], device)
    _grads(lambda q: gpuarr.special.zeta(2.5, q), lambda q: torch.special.zeta(2.5, q),
           [np.array([0.5, 1.0, 4.0])], device)
    a = np.array([0.5, 2.0, 3.0, 1.0])
    for gf, tf in ((gpuarr.igamma, torch.igamma), (gpuarr.igammac, torch.igammac)):
        _grads(lambda x, f=gf: f(gpuarr.tensor(a, device=device), x),
               lambda x, f=tf: f(torch.tensor(a), x), [np.array([0.0, 0.5, 3.0, 40.0])], device)


def test_non_differentiable_ops_raise_like_torch(device):
    x = gpuarr.tensor([1.0, 0.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        gpuarr.heaviside(x, x).sum().backward()
    with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not impl"):
        gpuarr.special.zeta(x + 2, gpuarr.tensor([1.0, 2.0], device=device)).sum().backward()
    m, e = gpuarr.frexp(x)
    assert m.requires_grad and not e.requires_grad
    for name in ("igamma", "igammac"):
        with pytest.raises(NotImplementedError, match=f"the derivative for '{name}: input'"):
            getattr(gpuarr, name)(x + 1, x + 1).sum().backward()


# --------------------------------------------------------------------------------------------
# in-place spellings, top-level in-place functions, out=


INPLACE = [  # (method, args, input domain, input dtype)
    ("hypot_", ("t",), (-3, 3), "float64"), ("nextafter_", ("t",), (-3, 3), "float64"),
    ("heaviside_", ("t",), (-1, 1), "float64"), ("gcd_", ("t",), (-9, 9), "int64"),
    ("lcm_", ("t",), (-9, 9), "int64"), ("bitwise_left_shift_", ("t",), (0, 5), "int64"),
    ("bitwise_right_shift_", ("t",), (-50, 50), "int64"), ("ldexp_", ("t",), (-3, 3), "float64"),
    ("float_power_", (2.5,), (0.5, 3), "float64"), ("erfc_", (), (-2, 2), "float64"),
    ("i0_", (), (-2, 2), "float64"), ("sinc_", (), (-2, 2), "float64"),
    ("logit_", (0.1,), (0, 1), "float64"), ("deg2rad_", (), (-90, 90), "float64"),
    ("rad2deg_", (), (-3, 3), "float64"), ("mvlgamma_", (2,), (1, 4), "float64"),
    ("sgn_", (), (-2, 2), "float64"), ("fix_", (), (-4, 4), "float64"),
    ("clamp_min_", (0.5,), (-2, 2), "float64"), ("clamp_max_", (0.5,), (-2, 2), "float64"),
    ("arctan2_", ("t",), (-2, 2), "float64"), ("arccos_", (), (-1, 1), "float64"),
    ("absolute_", (), (-2, 2), "float64"), ("negative_", (), (-2, 2), "float64"),
    ("divide_", ("t",), (1, 2), "float64"), ("greater_", ("t",), (-2, 2), "float64"),
    ("greater_equal_", ("t",), (-2, 2), "float64"), ("less_", ("t",), (-2, 2), "float64"),
    ("less_equal_", ("t",), (-2, 2), "float64"), ("not_equal_", ("t",), (-2, 2), "float64"),
    ("digamma_", (), (0.5, 3), "float64"), ("erfinv_", (), (-0.9, 0.9), "float64"),
    ("lgamma_", (), (0.5, 3), "float64"), ("polygamma_", (2,), (0.5, 3), "float64"),
    ("xlogy_", ("t",), (0.5, 3), "float64"), ("igamma_", ("t",), (0.5, 3), "float64"),
    ("igammac_", ("t",), (0.5, 3), "float64"),
]


@pytest.mark.parametrize("method,args,dom,dtype", INPLACE, ids=[m[0] for m in INPLACE])
def test_inplace_methods_match_torch(device, method, args, dom, dtype):
    arr = _data((2, 3), dtype, *dom)
    other = _data((2, 3), dtype, *dom)
    x, tx = gpuarr.tensor(arr, device=device), torch.tensor(arr)
    gargs = [gpuarr.tensor(other, device=device) if a == "t" else a for a in args]
    targs = [torch.tensor(other) if a == "t" else a for a in args]
    assert getattr(x, method)(*gargs) is x
    getattr(tx, method)(*targs)
    assert_same(x, tx, rtol=1e-10, atol=1e-12)


def test_inplace_gradient_is_the_out_of_place_ops(device):
    a = gpuarr.tensor([0.3, 0.6], device=device, requires_grad=True)
    ta = torch.tensor([0.3, 0.6], requires_grad=True)
    y = a * 1.0
    y.logit_(0.4)
    ty = ta * 1.0
    ty.logit_(0.4)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(to_np(a.grad), ta.grad.numpy(), rtol=1e-6)


def test_inplace_errors_match_torch(device):
    g, t = on_device(gpuarr, device), torch
    same_error(lambda: g.tensor([1.0, 2.0]).float_power_(2),
               lambda: t.tensor([1.0, 2.0]).float_power_(2), device)
    same_error(lambda: g.tensor([1, 2]).ldexp_(g.tensor([1, 2])),
               lambda: t.tensor([1, 2]).ldexp_(t.tensor([1, 2])), device)
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        g.tensor([1, 2]).clamp_min_(1.5)


TOP_INPLACE = [n for n in dir(gpuarr.ops.elementwise_extra) if n.endswith("_")
               and n in gpuarr.ops.elementwise_extra.__all__]


def test_top_level_inplace_functions_are_torchs():
    assert len(TOP_INPLACE) == 47
    for n in TOP_INPLACE:
        assert hasattr(torch, n), n


@pytest.mark.parametrize("name", TOP_INPLACE)
def test_top_level_inplace_functions_match_torch(device, name):
    extra = {"clamp_": (0.2, 0.8), "clip_": (0.2, 0.8), "logit_": (0.1,), "xlogy_": ("t",),
             "gcd_": ("t",), "lcm_": ("t",), "ldexp_": ("t",)}.get(name, ())
    integer = name in ("gcd_", "lcm_")
    arr = RNG.integers(1, 20, (2, 3)) if integer else RNG.uniform(1.05, 1.5, (2, 3)) * \
        np.where(name in ("acosh_", "log_", "log2_", "log10_", "sqrt_", "rsqrt_", "xlogy_"), 1,
                 0.6)
    other = RNG.integers(1, 20, (2, 3)) if integer else RNG.uniform(0.5, 2, (2, 3))
    x, tx = gpuarr.tensor(arr, device=device), torch.tensor(arr)
    gargs = [gpuarr.tensor(other, device=device) if a == "t" else a for a in extra]
    targs = [torch.tensor(other) if a == "t" else a for a in extra]
    assert getattr(gpuarr, name)(x, *gargs) is x
    getattr(torch, name)(tx, *targs)
    assert_same(x, tx, rtol=1e-10, atol=1e-12)


def test_top_level_inplace_refuses_numbers():
    same_error(lambda: gpuarr.abs_(3), lambda: torch.abs_(3))


@pytest.mark.parametrize("name,args", [
    ("logaddexp", ("t",)), ("hypot", ("t",)), ("fmax", ("t",)), ("erfc", ()), ("i0", ()),
    ("logit", ()), ("sinc", ()), ("deg2rad", ()), ("signbit", ()), ("sgn", ()),
    ("isposinf", ()), ("ldexp", ("t",)), ("float_power", (2,)), ("mvlgamma", (2,)),
    ("clamp_min", (1.0,)), ("fix", ()), ("arccos", ()), ("arctan2", ("t",)),
])
def test_out_param(device, name, args):
    arr = RNG.uniform(0.6, 0.9, (2, 3)) * (3 if name == "mvlgamma" else 1)
    x, tx = gpuarr.tensor(arr, device=device), torch.tensor(arr)
    gargs = [x if a == "t" else a for a in args]
    targs = [tx if a == "t" else a for a in args]
    want = getattr(torch, name)(tx, *targs)
    out = gpuarr.empty(2, 3, dtype=gpuarr.float64 if want.dtype == torch.float64
                       else gpuarr.bool, device=device)
    assert getattr(gpuarr, name)(x, *gargs, out=out) is out
    assert_same(out, want, rtol=1e-10)


def test_special_out_param_and_frexp_out(device):
    x = gpuarr.tensor([0.5, 2.0], dtype=gpuarr.float64, device=device)
    out = gpuarr.empty(2, dtype=gpuarr.float64, device=device)
    assert gpuarr.special.i1e(x, out=out) is out
    assert_same(out, torch.special.i1e(torch.tensor([0.5, 2.0], dtype=torch.float64)))
    m = gpuarr.empty(2, dtype=gpuarr.float64, device=device)
    e = gpuarr.empty(2, dtype=gpuarr.int32, device=device)
    r = gpuarr.frexp(x, out=(m, e))
    assert r.mantissa is m and r.exponent is e and e.tolist() == [0, 2]


# --------------------------------------------------------------------------------------------
# errors and the names torch has


def test_errors_match_torch(device):
    g, t = on_device(gpuarr, device), torch
    cases = [
        lambda m: m.logaddexp(m.tensor([1, 2]), m.tensor([1, 2])),
        lambda m: m.hypot(m.tensor([True]), m.tensor([True])),
        lambda m: m.gcd(m.tensor([1.0]), m.tensor([2.0])),
        lambda m: m.lcm(m.tensor([True]), m.tensor([True])),
        lambda m: m.bitwise_left_shift(m.tensor([1.0]), 1),
        lambda m: m.bitwise_right_shift(m.tensor([True]), m.tensor([True])),
        lambda m: m.heaviside(m.tensor([1.0]), m.tensor([1.0], dtype=m.float64)),
        lambda m: m.heaviside(m.tensor([1.0]), 0.5),
        lambda m: m.frexp(m.tensor([1, 2])),
        lambda m: m.mvlgamma(m.tensor([2.0]), 0),
        lambda m: m.positive(m.tensor([True])),
        lambda m: m.rsub(3, m.tensor([1.0])),
        lambda m: m.logaddexp(m.ones(2), m.ones(3)),
        lambda m: m.float_power(2, 3),
        lambda m: m.erfc(1.0),
    ]
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception) as te:
                case(t)
        with pytest.raises(te.type):
            case(g)
    for case in cases[:11]:
        same_error(lambda c=case: c(g), lambda c=case: c(t), device)


NAMES = ["logaddexp", "logaddexp2", "hypot", "fmax", "fmin", "erfc", "logit", "sinc",
         "deg2rad", "rad2deg", "float_power", "heaviside", "signbit", "sgn", "clamp_min",
         "clamp_max", "i0", "isposinf", "isneginf", "isreal", "gcd", "lcm", "ldexp", "frexp",
         "nextafter", "positive", "fix", "rsub", "bitwise_left_shift", "bitwise_right_shift",
         "mvlgamma", "arccos", "arcsin", "arctan", "arccosh", "arcsinh", "arctanh", "arctan2",
         "absolute", "negative", "divide", "greater", "greater_equal", "less", "less_equal",
         "not_equal", "digamma", "erfinv", "lgamma", "polygamma", "xlogy", "igamma", "igammac"]


@pytest.mark.parametrize("name", NAMES)
def test_function_method_and_inplace_exist_where_torch_has_them(name):
    assert hasattr(gpuarr, name) == hasattr(torch, name)
    assert hasattr(gpuarr.Tensor, name) == hasattr(torch.Tensor, name)
    assert hasattr(gpuarr.Tensor, name + "_") == hasattr(torch.Tensor, name + "_")


def test_special_namespace_has_torchs_new_functions():
    for n in ("erfc", "erfcx", "logit", "expit", "ndtr", "ndtri", "log_ndtr", "i0", "i0e",
              "i1", "i1e", "sinc", "entr", "xlog1py", "multigammaln", "zeta", "gammainc",
              "gammaincc", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
              "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
              "spherical_bessel_j0"):
        assert hasattr(gpuarr.special, n), n
    assert gpuarr.special.multigammaln is gpuarr.mvlgamma
    assert gpuarr.special.i0 is gpuarr.i0 and gpuarr.special.erfc is gpuarr.erfc


# --------------------------------------------------------------------------------------------
# the NumPy implementations used without SciPy


@pytest.fixture
def no_scipy(monkeypatch):
    from gpuarr.backends import NUMPY

    monkeypatch.setattr(NUMPY, "use_scipy", False)


@pytest.mark.parametrize("name,lo,hi", [
    ("erfc", -6, 27), ("erfcx", -20, 60), ("log_ndtr", -60, 9), ("i0", -50, 50),
    ("i0e", -800, 800), ("i1", -50, 50), ("i1e", -800, 800), ("ndtri", 0, 1)])
def test_numpy_fallbacks_match_torch(no_scipy, name, lo, hi):
    x = np.concatenate([RNG.uniform(lo, hi, 400), [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-20,
                                                    19.99, 20.01, 9.99, 10.01, -1.0]])
    if name == "ndtri":
        x = np.concatenate([RNG.uniform(0, 1, 300), 10.0 ** -RNG.uniform(1, 300, 50),
                            [0.0, 1.0, -1.0, 2.0, 0.5, np.nan]])
    got = getattr(gpuarr.special, name)(gpuarr.tensor(x))
    want = getattr(torch.special, name)(torch.tensor(x))
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-11, atol=1e-300)


@pytest.mark.parametrize("name", ["modified_bessel_k0", "modified_bessel_k1",
                                  "scaled_modified_bessel_k0", "scaled_modified_bessel_k1"])
def test_numpy_bessel_k_fallback_matches_torch(no_scipy, name):
    x = np.concatenate([RNG.uniform(0, 60, 300), 10.0 ** RNG.uniform(-300, 3, 100),
                        [0.0, -1.0, np.inf, np.nan, 2.0, 2.0 + 1e-12, 50.0, 50.0 + 1e-12, 1e20]])
    got = getattr(gpuarr.special, name)(gpuarr.tensor(x))
    want = getattr(torch.special, name)(torch.tensor(x))
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_numpy_incomplete_gamma_fallback_matches_torch(no_scipy, name):
    a = np.concatenate([RNG.uniform(0, 20, 300), 10 ** RNG.uniform(-3, 2.5, 200),
                        [0.0, 0.0, 1.0, -1.0, np.inf, np.nan, 2.0]])
    x = np.concatenate([RNG.uniform(0, 30, 300), 10 ** RNG.uniform(-3, 2.5, 200),
                        [0.0, 1.0, 0.0, 1.0, 1.0, 1.0, np.inf]])
    got = getattr(gpuarr, name)(gpuarr.tensor(a), gpuarr.tensor(x))
    want = getattr(torch, name)(torch.tensor(a), torch.tensor(x))
    # torch's own series for large a is good to ~1e-9
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-8, atol=1e-300)


def test_numpy_zeta_fallback_matches_torch(no_scipy):
    x = np.concatenate([RNG.uniform(1, 12, 200), [1.0, 0.5, 2.0, 3.0, 2.5, 4.0, np.nan]])
    q = np.concatenate([RNG.uniform(-6, 30, 200), [1.0, 1.0, -2.0, -2.5, -2.5, 1e-3, 1.0]])
    got = gpuarr.special.zeta(gpuarr.tensor(x), gpuarr.tensor(q))
    want = torch.special.zeta(torch.tensor(x), torch.tensor(q))
    np.testing.assert_allclose(to_np(got), want.numpy(), rtol=1e-11)


def test_tensor_methods_take_no_out_as_torch(device):
    x = gpuarr.tensor([0.5, 0.25], device=device)
    for name in ("erfc", "logit", "hypot", "signbit", "frexp", "clamp_min"):
        args = (x,) if name in ("hypot", "clamp_min") else ()
        with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
            getattr(x, name)(*args, out=gpuarr.empty(2, device=device))
        with pytest.raises(TypeError):
            getattr(torch.tensor([0.5, 0.25]), name)(*args[:1] and (torch.ones(2),),
                                                     out=torch.empty(2))


@pytest.mark.parametrize("name", ["modified_bessel_i0", "modified_bessel_i1",
                                  "modified_bessel_k0", "modified_bessel_k1",
                                  "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
                                  "spherical_bessel_j0"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool"])
def test_special_functions_without_gradient_match_torch(device, name, dtype):
    if dtype.startswith("float"):
        arr = np.array([0.0, -0.0, 1e-8, 1e-3, 0.3, 0.49, 0.51, np.inf, -np.inf, np.nan, 700.0,
                        -800.0, 1e20, 3.0, -12.5], dtype=dtype)
    else:
        arr = _data((2, 3), dtype, -9, 9)
    x = gpuarr.tensor(arr, device=device)
    if dtype.startswith("float"):
        x.requires_grad_(True)
    got = getattr(gpuarr.special, name)(x)
    _compare(got, getattr(torch.special, name)(torch.tensor(arr)), dtype)
    assert not got.requires_grad  # torch gives these no gradient
    same_error(lambda: getattr(gpuarr.special, name)(1.0),
               lambda: getattr(torch.special, name)(1.0), device)


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "trunc", "round"])
def test_piecewise_constant_grads_are_zero_for_inf_and_nan(device, name):
    """torch's zeros_like gradient: an inf or NaN upstream gradient still gives 0."""
    x = gpuarr.tensor([1.5, -2.5, 0.0], device=device, requires_grad=True)
    tx = torch.tensor([1.5, -2.5, 0.0], requires_grad=True)
    up = [float("inf"), float("nan"), 1.0]
    getattr(x, name)().backward(gpuarr.tensor(up, device=device))
    getattr(tx, name)().backward(torch.tensor(up))
    np.testing.assert_array_equal(x.grad.cpu().numpy(), tx.grad.numpy())
