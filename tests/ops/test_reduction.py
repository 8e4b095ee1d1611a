"""Reductions, scans and sorting against PyTorch 2.13: values, dtypes, errors and gradients."""

from __future__ import annotations

import math
import pickle
import warnings
from functools import partial

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_helpers import both, to_np, torch_error_text

import gpuarr
from gpuarr.autograd import gradcheck, gradgradcheck

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
INF = math.inf
NAN = math.nan


# --------------------------------------------------------------------------------------------
# helpers


def ga(arr: np.ndarray, device: str, requires_grad: bool = False) -> gpuarr.Tensor:
    return gpuarr.tensor(arr, device=device, requires_grad=requires_grad)


def tt(arr: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(arr, requires_grad=requires_grad)


def assert_same(g, t, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Same shape, dtype and values (NaN == NaN) as the torch result."""
    assert isinstance(g, gpuarr.Tensor), type(g)
    assert g.dtype.name == str(t.dtype).removeprefix("torch."), (g.dtype, t.dtype)
    assert tuple(g.shape) == tuple(t.shape), (g.shape, t.shape)
    want = t.detach().numpy()
    got = to_np(g)
    if want.dtype.kind == "f":
        tol = 2e-3 if want.dtype == np.float16 else rtol
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol,
                                   atol=atol if want.dtype != np.float16 else 2e-3,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


@st.composite
def arrays(draw, dtypes=("float32", "float64", "int64", "int32", "bool"), min_dims=0,
           max_dims=3, min_side=0, max_side=4):
    """Small arrays; integer-valued data half of the time so that ties are common."""
    shape = tuple(draw(st.lists(st.integers(min_side, max_side), min_size=min_dims,
                                max_size=max_dims)))
    dt = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dt == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.startswith("int") or draw(st.booleans()):
        return rng.integers(-3, 4, shape).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def draw_dim(data, nd: int, none: bool = True, tuples: bool = True, empty: bool = False):
    """None, an int (possibly negative) or a tuple of distinct dims (possibly negative)."""
    choices = []
    if none:
        choices.append(st.none())
    n = max(nd, 1)
    choices.append(st.integers(-n, n - 1))
    if tuples and nd:
        choices.append(st.lists(st.integers(0, nd - 1), unique=True, min_size=0 if empty else 1,
                                max_size=nd).map(lambda ds: tuple(d - nd if d % 2 else d
                                                                  for d in ds)))
    return data.draw(st.one_of(*choices))


def kw(dim, **extra) -> dict:
    out = dict(extra)
    if dim is not None:
        out["dim"] = dim
    return out


# --------------------------------------------------------------------------------------------
# reductions vs torch


@SETTINGS
@given(data=st.data())
def test_sum_mean_prod_match_torch(device, data):
    a = data.draw(arrays())
    nd = a.ndim
    x, y = ga(a, device), tt(a)
    keep = data.draw(st.booleans())
    for op in ("sum", "mean", "nansum", "nanmean", "prod"):
        dim = draw_dim(data, nd, tuples=op != "prod", empty=op != "prod")
        kwargs = kw(dim, keepdim=keep) if dim is not None else {}
        g, t = both(partial(getattr(x, op), **kwargs), partial(getattr(y, op), **kwargs))
        if t is not None:
            assert_same(g, t, rtol=1e-4, atol=1e-4)


@SETTINGS
@given(data=st.data())
def test_dtype_argument_matches_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "int64", "int32", "bool")))
    x, y = ga(a, device), tt(a)
    dt = data.draw(st.sampled_from(["float64", "int64", "int32", "float32"]))
    for op in ("sum", "prod", "mean", "nansum"):
        g, t = both(partial(getattr(x, op), dtype=getattr(gpuarr, dt)),
                    partial(getattr(y, op), dtype=getattr(torch, dt)))
        if t is not None:
            assert_same(g, t, rtol=1e-4, atol=1e-4)


@SETTINGS
@given(data=st.data())
def test_var_std_match_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "float64", "int64")))
    x, y = ga(a, device), tt(a)
    dim = draw_dim(data, a.ndim, empty=True)
    keep = data.draw(st.booleans())
    form = data.draw(st.sampled_from(["default", "correction", "unbiased", "positional"]))
    for op in ("var", "std", "var_mean", "std_mean"):
        if form == "correction":
            c = data.draw(st.sampled_from([0, 1, 2, 0.5]))
            args, kwargs = (), dict(kw(dim, keepdim=keep), correction=c)
        elif form == "unbiased":
            # torch's parser only takes keepdim with unbiased when dim is given
            kwargs = kw(dim, keepdim=keep) if dim is not None else {}
            args, kwargs = (), dict(kwargs, unbiased=data.draw(st.booleans()))
        elif form == "positional" and dim is not None:
            args, kwargs = (dim, data.draw(st.booleans()), keep), {}
        else:
            args, kwargs = (), kw(dim, keepdim=keep)
        g, t = both(partial(getattr(gpuarr, op), x, *args, **kwargs),
                    partial(getattr(torch, op), y, *args, **kwargs))
        if t is None:
            continue
        if isinstance(t, tuple):
            for gi, ti in zip(g, t):
                assert_same(gi, ti, rtol=1e-4, atol=1e-5)
        else:
            assert_same(g, t, rtol=1e-4, atol=1e-5)


@SETTINGS
@given(data=st.data())
def test_amax_amin_logical_count_match_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "float64", "int64", "int32", "bool", "uint8")))
    x, y = ga(a, device), tt(a)
    keep = data.draw(st.booleans())
    for op in ("amax", "amin", "all", "any"):
        dim = draw_dim(data, a.ndim, none=op in ("all", "any"), empty=op in ("amax", "amin"))
        kwargs = kw(dim, keepdim=keep)
        g, t = both(partial(getattr(x, op), **kwargs), partial(getattr(y, op), **kwargs))
        if t is not None:
            assert_same(g, t)
    dim = draw_dim(data, a.ndim, empty=True)
    g, t = both(lambda: x.count_nonzero(**kw(dim)), lambda: y.count_nonzero(**kw(dim)))
    if t is not None:
        assert_same(g, t)


@SETTINGS
@given(data=st.data())
def test_logsumexp_norm_match_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "float64", "int64")))
    x, y = ga(a, device), tt(a)
    keep = data.draw(st.booleans())
    dim = draw_dim(data, a.ndim, none=False)
    g, t = both(lambda: x.logsumexp(dim, keep), lambda: y.logsumexp(dim, keep))
    if t is not None:
        assert_same(g, t, rtol=1e-5, atol=1e-5)
    p = data.draw(st.sampled_from(["fro", 1, 2, INF, -INF, 0, 3, 0.5, -1]))
    dim = draw_dim(data, a.ndim)
    g, t = both(lambda: x.norm(p, dim, keep), lambda: y.norm(p, dim, keep))
    if t is not None:
        assert_same(g, t, rtol=1e-4, atol=1e-5)


def test_logsumexp_is_stable_and_handles_infinities(device):
    a = np.array([[1000.0, 1000.0, -INF], [-INF, -INF, -INF], [INF, 1.0, 2.0]])
    assert_same(ga(a, device).logsumexp(1), tt(a).logsumexp(1))
    assert_same(ga(a, device).logsumexp((0, 1)), tt(a).logsumexp((0, 1)))
    e = np.zeros((0, 3), np.float32)
    assert_same(ga(e, device).logsumexp(0), tt(e).logsumexp(0))


def test_float16_accumulates_like_torch(device):
    a = (np.arange(2048) % 7).astype(np.float16) / 7
    x, y = ga(a, device), tt(a)
    for op in ("sum", "mean", "var", "std", "norm", "amax"):
        assert_same(getattr(x, op)(), getattr(y, op)())
    assert_same(x.logsumexp(0), y.logsumexp(0))
    assert_same(x.cumsum(0), y.cumsum(0))


# --------------------------------------------------------------------------------------------
# selections vs torch


def check_indices(x: gpuarr.Tensor, dim: int, values, indices, keepdim: bool) -> None:
    """``indices`` point at ``values`` in ``x`` (used where torch's choice among ties is
    unspecified)."""
    assert indices.dtype == gpuarr.int64
    xa = to_np(x)
    if xa.ndim == 0:
        assert to_np(indices).item() == 0
        return
    idx = to_np(indices)
    if not keepdim:
        idx = np.expand_dims(idx, dim)
    picked = np.take_along_axis(xa, idx, dim)
    v = to_np(values)
    np.testing.assert_array_equal(picked, v if keepdim else np.expand_dims(v, dim))


@SETTINGS
@given(data=st.data())
def test_max_min_argmax_match_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "float64", "int64", "int32", "bool")))
    x, y = ga(a, device), tt(a)
    keep = data.draw(st.booleans())
    for op in ("max", "min"):
        g, t = both(getattr(x, op), getattr(y, op))
        if t is not None:
            assert_same(g, t)
        dim = draw_dim(data, a.ndim, none=False, tuples=False)
        g, t = both(partial(getattr(x, op), dim, keep), partial(getattr(y, op), dim, keep))
        if t is not None:
            assert type(g).__name__ == op and g._fields == ("values", "indices")
            assert_same(g.values, t.values)
            assert_same(g.indices, t.indices)  # the first extreme, as torch on CPU
    for op in ("argmax", "argmin"):
        dim = draw_dim(data, a.ndim, tuples=False)
        g, t = both(partial(getattr(x, op), dim, keep), partial(getattr(y, op), dim, keep))
        if t is not None:
            assert_same(g, t)


@SETTINGS
@given(data=st.data())
def test_sort_argsort_topk_match_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "float64", "int64", "int32", "bool")))
    x, y = ga(a, device), tt(a)
    dim = draw_dim(data, a.ndim, none=False, tuples=False)
    desc = data.draw(st.booleans())
    g, t = both(lambda: x.sort(dim, desc), lambda: y.sort(dim=dim, descending=desc, stable=True))
    if t is not None:
        assert_same(g.values, t.values)
        assert_same(g.indices, t.indices)  # stable: ties keep their order
    g, t = both(lambda: x.argsort(dim, desc, stable=True),
                lambda: y.argsort(dim=dim, descending=desc, stable=True))
    if t is not None:
        assert_same(g, t)
    n = a.shape[dim] if a.ndim else 1
    k = data.draw(st.integers(-1, n + 1))
    largest = data.draw(st.booleans())
    g, t = both(lambda: x.topk(k, dim, largest), lambda: y.topk(k, dim, largest))
    if t is not None:
        assert_same(g.values, t.values)
        check_indices(x, dim % max(a.ndim, 1), g.values, g.indices, True)


def test_topk_on_long_rows_matches_torch(device):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 50, (3, 300)).astype(np.float32)
    a[1, 7] = NAN
    x, y = ga(a, device), tt(a)
    for k, largest in ((3, True), (5, False), (300, True), (0, True)):
        g, t = x.topk(k, largest=largest), y.topk(k, largest=largest)
        assert_same(g.values, t.values)
        check_indices(x, 1, g.values, g.indices, True)


@SETTINGS
@given(data=st.data())
def test_median_kthvalue_match_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "float64", "int64")))
    x, y = ga(a, device), tt(a)
    keep = data.draw(st.booleans())
    dim = draw_dim(data, a.ndim, none=False, tuples=False)
    for op in ("median", "nanmedian"):
        g, t = both(getattr(x, op), getattr(y, op))
        if t is not None:
            assert_same(g, t)
        g, t = both(partial(getattr(x, op), dim, keep), partial(getattr(y, op), dim, keep))
        if t is not None:
            assert_same(g.values, t.values)
            check_indices(x, dim % max(a.ndim, 1), g.values, g.indices, keep)
    n = a.shape[dim] if a.ndim else 1
    k = data.draw(st.integers(0, n + 1))
    g, t = both(lambda: x.kthvalue(k, dim, keep), lambda: y.kthvalue(k, dim, keep))
    if t is not None:
        assert_same(g.values, t.values)
        check_indices(x, dim % max(a.ndim, 1), g.values, g.indices, keep)


def test_nan_handling_matches_torch(device):
    a = np.array([[3.0, 1.0, NAN, 2.0, 1.0], [4.0, NAN, NAN, 0.0, 5.0]], np.float32)
    x, y = ga(a, device), tt(a)
    for op in ("max", "min", "amax", "amin", "argmax", "argmin", "median", "nanmedian",
               "nansum", "nanmean", "sum"):
        assert_same(getattr(x, op)(), getattr(y, op)())
    for op in ("max", "min"):
        assert_same(getattr(x, op)(1).values, getattr(y, op)(1).values)
        assert_same(getattr(x, op)(1).indices, getattr(y, op)(1).indices)
    assert_same(x.median(1).values, y.median(1).values)
    assert_same(x.nanmedian(1).values, y.nanmedian(1).values)
    for desc in (False, True):
        assert_same(x.sort(1, desc).values, y.sort(1, desc).values)
        assert_same(x.sort(1, desc).indices, y.sort(dim=1, descending=desc, stable=True).indices)
    assert_same(x.topk(2).values, y.topk(2).values)
    assert_same(x.unique(), y.unique())
    assert_same(x.nansum(1), y.nansum(1))
    assert_same(x.nanmean(1), y.nanmean(1))


# --------------------------------------------------------------------------------------------
# scans and unique vs torch


@SETTINGS
@given(data=st.data())
def test_cumsum_cumprod_match_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "float64", "int64", "int32", "bool", "uint8")))
    x, y = ga(a, device), tt(a)
    dim = draw_dim(data, a.ndim, none=False, tuples=False)
    for op in ("cumsum", "cumprod"):
        g, t = both(partial(getattr(x, op), dim), partial(getattr(y, op), dim))
        if t is not None:
            assert_same(g, t, rtol=1e-4, atol=1e-4)
        g, t = both(partial(getattr(x, op), dim, dtype=gpuarr.float64),
                    partial(getattr(y, op), dim, dtype=torch.float64))
        if t is not None:
            assert_same(g, t, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(data=st.data())
def test_unique_matches_torch(device, data):
    a = data.draw(arrays(dtypes=("float32", "int64", "bool"), max_side=3))
    x, y = ga(a, device), tt(a)
    inv, cnt = data.draw(st.booleans()), data.draw(st.booleans())
    dim = data.draw(st.one_of(st.none(), st.integers(-max(a.ndim, 1), max(a.ndim, 1) - 1)))
    g, t = both(lambda: x.unique(True, inv, cnt, dim), lambda: y.unique(True, inv, cnt, dim))
    if t is None:
        return
    if isinstance(t, tuple):
        assert isinstance(g, tuple) and len(g) == len(t)
        for gi, ti in zip(g, t):
            assert_same(gi, ti)
    else:
        assert_same(g, t)


# --------------------------------------------------------------------------------------------
# gradients


def _w(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


GRAD_OPS = {
    "sum": lambda m, x, d, k: m.sum(x, d, k),
    "mean": lambda m, x, d, k: m.mean(x, d, k),
    "prod": lambda m, x, d, k: m.prod(x, d, k) if d is not None else m.prod(x),
    "var": lambda m, x, d, k: m.var(x, d, keepdim=k, correction=0),
    "std": lambda m, x, d, k: m.std(x, d, keepdim=k),
    "amax": lambda m, x, d, k: m.amax(x, () if d is None else d, k),
    "amin": lambda m, x, d, k: m.amin(x, () if d is None else d, k),
    "max": lambda m, x, d, k: m.max(x) if d is None else m.max(x, d, k).values,
    "min": lambda m, x, d, k: m.min(x) if d is None else m.min(x, d, k).values,
    "logsumexp": lambda m, x, d, k: m.logsumexp(x, 0 if d is None else d, k),
    "norm": lambda m, x, d, k: m.norm(x, 2, d, k),
    "norm1": lambda m, x, d, k: m.norm(x, 1, d, k),
    "norm_inf": lambda m, x, d, k: m.norm(x, INF, d, k),
    "norm3": lambda m, x, d, k: m.norm(x, 3, d, k),
    "median": lambda m, x, d, k: m.median(x) if d is None else m.median(x, d, k).values,
    "cumsum": lambda m, x, d, k: m.cumsum(x, 0 if d is None else d),
    "cumprod": lambda m, x, d, k: m.cumprod(x, 0 if d is None else d),
    "sort": lambda m, x, d, k: m.sort(x, 0 if d is None else d, k).values,
    "topk": lambda m, x, d, k: m.topk(x, 1, 0 if d is None else d, k).values,
    "kthvalue": lambda m, x, d, k: m.kthvalue(x, 1, 0 if d is None else d, k).values,
    "nansum": lambda m, x, d, k: m.nansum(x, d, k),
    "nanmean": lambda m, x, d, k: m.nanmean(x, d, k),
}


@pytest.mark.parametrize("op", sorted(GRAD_OPS))
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_gradients_match_torch(device, op, data):
    """Including ties (integer-valued data): split evenly for amax/amin/max()/median(),
    given to one element for max(dim)/sort/topk, exactly as torch."""
    a = data.draw(arrays(dtypes=("float64",), min_dims=1, min_side=1, max_side=3))
    if op in ("prod", "cumprod"):
        a = np.where(np.abs(a) > 2, 0.0, a)  # zeros, some slices with two
    if op == "median" or op == "kthvalue":
        # torch's choice among ties is unspecified: an irrational step makes all values distinct
        a = a + math.sqrt(2) / 10 * np.arange(a.size).reshape(a.shape)
    multi = op in ("sum", "mean", "var", "std", "amax", "amin", "logsumexp", "norm", "norm1",
                   "norm_inf", "norm3", "nansum", "nanmean")
    dim = draw_dim(data, a.ndim, none=op not in ("cumsum", "cumprod", "sort", "topk"),
                   tuples=multi)
    keep = data.draw(st.booleans())
    x, y = ga(a, device, True), tt(a, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = GRAD_OPS[op](torch, y, dim, keep)
        g_out = GRAD_OPS[op](gpuarr, x, dim, keep)
        w = _w(tuple(t_out.shape))
        (t_out * tt(w)).sum().backward()
        (g_out * ga(w, device)).sum().backward()
    assert x.grad is not None
    assert_same(x.grad, y.grad, rtol=1e-6, atol=1e-8)


def f64(vals, device: str) -> gpuarr.Tensor:
    return ga(np.asarray(vals, dtype=np.float64), device, True)


GRADCHECK_CASES = [
    # (name, fn, input values)
    ("sum", lambda x: x.sum((0, 2), keepdim=True), np.arange(12.0).reshape(2, 3, 2) / 7),
    ("mean", lambda x: x.mean(-1), np.arange(6.0).reshape(2, 3) / 5),
    ("prod", lambda x: x.prod(1), [[1.5, -2.0, 0.5], [2.0, 3.0, -1.0]]),
    ("prod_one_zero", lambda x: x.prod(1), [[1.5, 0.0, 0.5], [2.0, 3.0, -1.0]]),
    ("prod_two_zeros", lambda x: x.prod(1), [[0.0, 0.0, 0.5], [0.0, 3.0, -1.0]]),
    ("prod_all", lambda x: x.prod(), [[1.5, 0.0, 0.5], [2.0, 3.0, -1.0]]),
    ("var", lambda x: x.var(0), [[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]]),
    ("var_correction", lambda x: x.var((0, 1), correction=2), [[1.0, 2.0], [0.5, -1.0]]),
    ("std", lambda x: x.std(1, keepdim=True), [[1.0, 2.0, 4.0], [0.5, -1.0, 0.0]]),
    ("logsumexp", lambda x: x.logsumexp(1), [[1.0, 2.0, 4.0], [0.5, -1.0, 0.0]]),
    ("amax_ties", lambda x: x.amax(1), [[3.0, 1.0, 3.0], [0.5, 2.0, -1.0]]),
    ("amin_ties", lambda x: x.amin(0), [[3.0, 1.0], [3.0, 1.0], [4.0, 2.0]]),
    ("max_all_ties", lambda x: x.max(), [[3.0, 1.0, 3.0], [0.5, 2.0, -1.0]]),
    ("min_all", lambda x: x.min(), [[3.0, 1.0, 3.0], [0.5, 2.0, -1.0]]),
    ("max_dim", lambda x: x.max(1)[0], [[3.0, 1.0, 2.0], [0.5, 2.0, -1.0]]),
    ("min_dim_keep", lambda x: x.min(0, keepdim=True).values, [[3.0, 1.0], [0.5, 2.0]]),
    ("median", lambda x: x.median(), [4.0, 1.0, 3.0, 2.0]),
    ("median_dim", lambda x: x.median(1).values, [[4.0, 1.0, 3.0], [0.5, 2.0, -1.0]]),
    ("kthvalue", lambda x: x.kthvalue(2, 0).values, [[4.0, 1.0], [0.5, 2.0], [3.0, 0.0]]),
    ("cumsum", lambda x: x.cumsum(1), [[1.0, 2.0, 4.0], [0.5, -1.0, 0.0]]),
    ("cumprod", lambda x: x.cumprod(1), [[1.5, 2.0, -0.5], [0.5, -1.0, 2.0]]),
    ("cumprod_zeros", lambda x: x.cumprod(1),
     [[1.5, 0.0, -0.5, 2.0], [0.0, 0.0, 2.0, 1.0], [2.0, 1.0, 3.0, 0.0]]),
    ("norm2", lambda x: x.norm(), [[1.0, 2.0], [-3.0, 0.5]]),
    ("norm_dim", lambda x: x.norm(dim=1), [[1.0, 2.0], [-3.0, 0.5]]),
    ("norm1", lambda x: x.norm(1), [[1.0, 2.0], [-3.0, 0.5]]),
    ("norm_inf", lambda x: x.norm(INF, 1), [[1.0, -2.0], [-3.0, 0.5]]),
    ("norm_3", lambda x: x.norm(3, 0), [[1.0, -2.0], [-3.0, 0.5]]),
    ("norm_1_5", lambda x: x.norm(1.5), [[1.0, -2.0], [-3.0, 0.5]]),
    ("norm_0_5", lambda x: x.norm(0.5), [[1.0, -2.0], [-3.0, 0.5]]),
    ("sort", lambda x: x.sort(1, descending=True).values, [[3.0, 1.0, 2.0], [0.5, 2.0, -1]]),
    ("topk", lambda x: x.topk(2, 0).values, [[3.0, 1.0], [0.5, 2.0], [1.0, -1.0]]),
    ("nanmean", lambda x: x.nanmean(0), [[3.0, 1.0], [0.5, 2.0]]),
    ("aminmax", lambda x: x.aminmax(dim=0), [[3.0, 1.0], [0.5, 2.0]]),
    ("zero_d", lambda x: x.max(0).values + x.cumsum(0) + x.sort().values, 1.5),
]


@pytest.mark.parametrize("name,fn,vals", GRADCHECK_CASES, ids=[c[0] for c in GRADCHECK_CASES])
def test_gradcheck(device, name, fn, vals):
    assert gradcheck(fn, (f64(vals, device),))


GRADGRAD_CASES = [
    ("sum", lambda x: x.sum(0), [[1.0, 2.0], [0.5, -1.0]]),
    ("mean", lambda x: x.mean(), [[1.0, 2.0], [0.5, -1.0]]),
    ("var", lambda x: x.var(1), [[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]]),
    ("std", lambda x: x.std(), [[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]]),
    ("logsumexp", lambda x: x.logsumexp(1), [[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]]),
    ("prod", lambda x: x.prod(1), [[1.5, -2.0, 0.5], [2.0, 3.0, -1.0]]),
    ("prod_zero", lambda x: x.prod(1), [[1.5, 0.0, 0.5], [2.0, 3.0, -1.0]]),
    ("prod_all_zero", lambda x: x.prod(), [[1.5, 0.0, 0.5], [2.0, 3.0, -1.0]]),
    ("cumsum", lambda x: x.cumsum(0), [[1.0, 2.0], [0.5, -1.0]]),
    ("cumprod", lambda x: x.cumprod(1), [[1.5, 2.0, -0.5], [0.5, -1.0, 2.0]]),
    ("cumprod_zero", lambda x: x.cumprod(1), [[1.5, 0.0, -0.5], [0.5, -1.0, 2.0]]),
    ("norm", lambda x: x.norm(dim=0), [[1.0, 2.0], [0.5, -1.0]]),
    ("max_dim", lambda x: x.max(1).values, [[1.0, 2.0], [0.5, -1.0]]),
    ("sort", lambda x: x.sort(0).values * x.sort(0).values, [[1.0, 2.0], [0.5, -1.0]]),
]


@pytest.mark.parametrize("name,fn,vals", GRADGRAD_CASES, ids=[c[0] for c in GRADGRAD_CASES])
def test_gradgradcheck(device, name, fn, vals):
    assert gradgradcheck(fn, (f64(vals, device),))


def test_nuclear_norm_matches_torch(device):
    a = np.random.default_rng(3).standard_normal((2, 3, 4))
    assert_same(ga(a, device).norm("nuc", (0, 2)), tt(a).norm("nuc", (0, 2)), rtol=1e-10)
    assert_same(ga(a[0], device).norm("nuc"), tt(a[0]).norm("nuc"), rtol=1e-10)


def test_std_and_norm_gradient_is_zero_at_zero(device):
    for fn in (lambda x: x.std(), lambda x: x.norm(), lambda x: x.norm(dim=0)):
        x, y = f64(np.zeros(3), device), tt(np.zeros(3), True)
        fn(x).backward()
        fn(y).backward()
        assert_same(x.grad, y.grad)


def test_no_grad_fast_path_and_non_differentiable_outputs(device):
    a = np.array([[3.0, 1.0, 2.0], [0.5, 2.0, -1.0]])
    x = f64(a, device)
    with gpuarr.no_grad():
        for out in (x.sum(), x.var(0), x.max(1).values, x.sort().values, x.logsumexp(1),
                    x.cumprod(0), x.norm(), x.median(), x.amax(0)):
            assert out.grad_fn is None and not out.requires_grad
    res = x.max(1)
    assert res.values.requires_grad and not res.indices.requires_grad
    assert not x.argmax().requires_grad and not x.unique().requires_grad
    assert not x.all().requires_grad and not x.count_nonzero().requires_grad
    assert x.sort().values.grad_fn.name() == "SortBackward0"
    assert x.amax().grad_fn.name() == "AmaxBackward0"
    assert x.std().grad_fn.name() == "StdBackward0"


# --------------------------------------------------------------------------------------------
# API shape: named results, methods, max(a, b), dtypes


def test_named_results_behave_like_torch_return_types(device):
    x = ga(np.array([[1.0, 5.0], [7.0, 2.0]], np.float32), device)
    r = x.max(1)
    values, indices = r
    assert r[0] is values and r.values is values and r.indices is indices
    assert isinstance(r, tuple) and len(r) == 2
    assert isinstance(r, gpuarr.return_types.max)
    assert repr(r).startswith("gpuarr.return_types.max(\nvalues=tensor(")
    assert to_np(indices).tolist() == [1, 0]
    assert type(x.sort()).__name__ == "sort" and type(x.topk(1)).__name__ == "topk"
    assert x.aminmax()._fields == ("min", "max")
    if device == "cpu":
        back = pickle.loads(pickle.dumps(r))
        assert type(back) is type(r) and to_np(back.values).tolist() == [5.0, 7.0]


def test_max_min_with_tensor_other_is_elementwise(device):
    a = np.array([1.0, 5.0, 3.0], np.float32)
    b = np.array([4.0, 2.0, 3.0], np.float32)
    assert_same(gpuarr.max(ga(a, device), ga(b, device)), torch.max(tt(a), tt(b)))
    assert_same(ga(a, device).min(ga(b, device)), tt(a).min(tt(b)))
    assert_same(gpuarr.max(ga(a, device), other=ga(b, device)), torch.max(tt(a), other=tt(b)))


def test_tensor_methods_are_attached():
    for name in ("sum", "mean", "prod", "var", "std", "max", "min", "amax", "amin", "argmax",
                 "argmin", "logsumexp", "cumsum", "cumprod", "all", "any", "norm",
                 "count_nonzero", "median", "nanmedian", "kthvalue", "sort", "argsort", "msort",
                 "topk", "unique", "nansum", "nanmean", "aminmax"):
        assert callable(getattr(gpuarr.Tensor, name)), name
        assert name in (gpuarr.ops.reduction.__all__ + gpuarr.ops.sorting.__all__
                        + gpuarr.ops.matrix_functions.__all__)  # norm: with the matrix norms


@pytest.mark.parametrize("src", ["int32", "int64", "bool", "uint8", "int8"])
def test_integer_dtype_rules(device, src):
    a = np.array([[1, 0, 1], [1, 1, 0]]).astype(src)
    x, y = ga(a, device), tt(a)
    for op, args in (("sum", ()), ("prod", ()), ("cumsum", (1,)), ("cumprod", (0,)),
                     ("all", ()), ("any", (1,)), ("count_nonzero", ()), ("amax", ()),
                     ("logsumexp", (1,)), ("msort", ()), ("unique", ())):
        g, t = both(partial(getattr(x, op), *args), partial(getattr(y, op), *args))
        if t is not None:
            assert_same(g, t)
    if src != "bool":
        assert_same(x.argmax(), y.argmax())
        assert_same(x.max(1).indices, y.max(1).indices)


def test_zero_dim_inputs_match_torch(device):
    a = np.array(2.5, np.float32)
    x, y = ga(a, device), tt(a)
    for call in (lambda m: m.max(0, keepdim=True).values, lambda m: m.max(-1).indices,
                 lambda m: m.sort().values, lambda m: m.sort(0).indices,
                 lambda m: m.topk(1).values, lambda m: m.cumsum(0), lambda m: m.cumprod(-1),
                 lambda m: m.argmax(0), lambda m: m.sum(0), lambda m: m.mean(-1, True),
                 lambda m: m.amax(0), lambda m: m.median(0).values, lambda m: m.kthvalue(1).values,
                 lambda m: m.logsumexp(0), lambda m: m.norm(dim=0), lambda m: m.prod(0),
                 lambda m: m.var(0, correction=0), lambda m: m.all(0), lambda m: m.argsort()):
        assert_same(call(x), call(y))


# --------------------------------------------------------------------------------------------
# errors


def _err(device, exc, match, fn, arr=None):
    x = ga(np.zeros((0, 3), np.float32) if arr is None else arr, device)
    with pytest.raises(exc, match=match):
        fn(x)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_full_reduction_of_empty_tensor_raises(device, op):
    msg = (f"{op}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
           "the reduction dim with the 'dim' argument.")
    _err(device, RuntimeError, _re(msg), lambda x: getattr(x, op)())


def _re(s: str) -> str:
    import re

    return "^" + re.escape(s) + "$"


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin", "argmax", "argmin", "median",
                                "kthvalue"])
def test_reduction_over_empty_dim_raises_index_error(device, op):
    call = (lambda x: x.kthvalue(1, 0)) if op == "kthvalue" else (lambda x: getattr(x, op)(0))
    _err(device, IndexError, _re(f"{op}(): Expected reduction dim 0 to have non-zero size."),
         call)


def test_empty_errors_and_identities(device):
    _err(device, IndexError, _re("argmax(): Expected reduction dim to be specified for "
                                 "input.numel() == 0."), lambda x: x.argmax())
    _err(device, RuntimeError, "cannot compute the inf norm on an empty tensor",
         lambda x: x.norm(INF))
    _err(device, RuntimeError, "cannot compute the -inf norm on the dimension 0",
         lambda x: x.norm(-INF, 0))
    _err(device, RuntimeError, "aminmax.*empty", lambda x: x.aminmax())
    e = np.zeros((0, 3), np.float32)
    x, y = ga(e, device), tt(e)
    for call in (lambda m: m.max(1).values, lambda m: m.amax(1), lambda m: m.sum(0),
                 lambda m: m.prod(0), lambda m: m.logsumexp(0), lambda m: m.norm(),
                 lambda m: m.all(), lambda m: m.any(0), lambda m: m.median(),
                 lambda m: m.sort(0).values, lambda m: m.topk(0, 0).values,
                 lambda m: m.cumsum(0), lambda m: m.count_nonzero(0), lambda m: m.mean(0)):
        assert_same(call(x), call(y))


@pytest.mark.parametrize("call", [
    lambda x: x.sum(2), lambda x: x.max(2), lambda x: x.argmax(-3), lambda x: x.sort(2),
    lambda x: x.topk(1, 2), lambda x: x.var(2), lambda x: x.cumsum(-3), lambda x: x.median(2),
    lambda x: x.norm(dim=2), lambda x: x.amax((0, 5)), lambda x: x.all(2),
    lambda x: x.count_nonzero(2), lambda x: x.logsumexp(2), lambda x: x.prod(2),
    lambda x: x.unique(dim=2), lambda x: x.kthvalue(1, 2),
])
def test_dim_out_of_range(device, call):
    a = np.ones((2, 3), np.float32)
    with pytest.raises(IndexError) as gi:
        call(ga(a, device))
    with pytest.raises(IndexError) as ti:
        call(tt(a))
    assert str(gi.value) == str(ti.value)


def test_argument_errors_match_torch(device):
    a = np.ones((2, 3), np.float32)
    i = np.ones((2, 3), np.int64)
    cases = [
        (a, lambda x: x.topk(4)),
        (a, lambda x: x.topk(-1)),
        (a, lambda x: x.kthvalue(4)),
        (a, lambda x: x.kthvalue(0, 0)),
        (i, lambda x: x.mean()),
        (i, lambda x: x.var()),
        (i, lambda x: x.std(0)),
        (i, lambda x: x.norm()),
        (i, lambda x: x.nanmean()),
        (a, lambda x: x.sum((0, 0))),
        (a, lambda x: x.norm("abc")),
        (np.ones((2, 3, 2), np.float32), lambda x: x.norm("fro", (0, 1, 2))),
        (np.ones((2, 3, 2), np.float32), lambda x: x.norm("nuc")),
        (np.ones((2, 3, 2), np.float32), lambda x: x.norm("nuc", 0)),
        (np.ones(3, np.float32), lambda x: x.norm("nuc")),
        (np.zeros((0, 3), np.float32), lambda x: x.norm(-0.5, 0)),
        (np.zeros((0, 3), np.float32), lambda x: x.norm(-1)),
        (np.array([True, False]), lambda x: x.argmax()),
        (np.array([True, False]), lambda x: x.argmin(0)),
        (np.array([True, False]), lambda x: x.median()),
        (np.array([True, False]), lambda x: x.topk(1)),
        (np.ones((2, 0), np.float32), lambda x: x.unique(dim=0)),
        (np.array(1.0), lambda x: x.unique(dim=0)),
    ]
    for arr, call in cases:
        with pytest.raises(Exception) as ti:
            call(tt(arr))
        with pytest.raises(type(ti.value)) as gi:
            call(ga(arr, device))
        assert str(gi.value) == torch_error_text(str(ti.value), device)


def test_type_errors_for_non_int_dims(device):
    x = ga(np.ones((2, 3), np.float32), device)
    for call in (lambda: x.argmax(1.0), lambda: x.cumsum(1.0), lambda: x.topk(1.0),
                 lambda: x.max(1.0), lambda: x.prod((0, 1)), lambda: x.cumsum(None)):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(TypeError):
        gpuarr.cumsum(x)  # dim is required, as in torch
    with pytest.raises(TypeError):
        x.var(0, unbiased=True, correction=1)


def test_degrees_of_freedom_warning(device):
    x = ga(np.ones(2, np.float32), device)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        v = x.var(correction=2)
    assert math.isnan(v.item())
