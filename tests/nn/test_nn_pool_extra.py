"""Unpooling, LP pooling, fractional max pooling, max_pool1d_with_indices and the deprecated
upsample_* aliases against PyTorch: outputs, indices and input gradients (batched and
unbatched, float32 and float64), gradcheck and gradgradcheck in float64, the modules' reprs,
torch's error types and texts; fractional pooling with explicit samples against torch, and
without them its properties (shape, window maxima, reproducible with gpuarr.manual_seed)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import raises_like, rnd, spread, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck


def compare(tfn, gfn, arrs, device, dtype=np.float64, tol=1e-12, grad=True):
    """Outputs (and indices, where the functions return a pair) and the gradients of the
    float inputs; ``arrs``: one array or a list (integer arrays are passed as they are)."""
    arrs = arrs if isinstance(arrs, list) else [arrs]
    ts, gs = [], []
    for a in arrs:
        a = np.asarray(a)
        fl = a.dtype.kind == "f"
        if fl:
            a = a.astype(dtype)
        ts.append(torch.tensor(a, requires_grad=fl and grad))
        gs.append(gpuarr.tensor(a, device=device, requires_grad=fl and grad))
    to, go = tfn(*ts), gfn(*gs)
    if isinstance(to, tuple):
        (to, ti), (go, gi) = to, go
        assert gi.dtype == gpuarr.int64
        np.testing.assert_array_equal(to_np(gi), ti.numpy())
    assert tuple(go.shape) == tuple(to.shape) and go.dtype == gs[0].dtype
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=tol, atol=tol)
    if grad and to.requires_grad and to.numel():
        w = rnd(*to.shape, seed=5).astype(dtype)
        to.backward(torch.tensor(w))
        go.backward(gpuarr.tensor(w, device=device))
        for t, g in zip(ts, gs):
            if t.grad is not None:
                np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=tol, atol=tol)
    return go, to


def _pooled(nd, shape, kw, dtype=np.float64):
    """torch max pooling's (values, indices) of distinct values, as NumPy arrays."""
    pool = {1: TF.max_pool1d, 2: TF.max_pool2d, 3: TF.max_pool3d}[nd]
    o, i = pool(torch.tensor(spread(*shape)), return_indices=True, **kw)
    return o.numpy().astype(dtype), i.numpy()


# --------------------------------------------------------------------------------------------
# max unpooling

UNPOOL = [
    (1, (2, 3, 9), dict(kernel_size=2), {}),
    (1, (3, 10), dict(kernel_size=3, stride=2, padding=1), dict(output_size=[10])),
    (1, (2, 3, 9), dict(kernel_size=2), dict(output_size=(2, 3, 9))),
    (2, (2, 3, 6, 7), dict(kernel_size=2), dict(output_size=(6, 7))),
    (2, (3, 7, 5), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)), {}),
    (2, (2, 3, 5, 5), dict(kernel_size=3, stride=2, padding=1), dict(output_size=(2, 3, 5, 6))),
    (3, (2, 2, 4, 5, 6), dict(kernel_size=2), dict(output_size=(5, 5, 6))),
    (3, (2, 5, 4, 6), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0)),
     dict(output_size=(5, 4, 6))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,shape,kw,extra", UNPOOL)
def test_max_unpool(device, dtype, nd, shape, kw, extra):
    o, i = _pooled(nd, shape, kw, dtype)
    name = f"max_unpool{nd}d"
    go, _ = compare(lambda t, ti: getattr(TF, name)(t, ti, **kw, **extra),
                    lambda g, gi: getattr(F, name)(g, gi, **kw, **extra), [o, i], device, dtype)
    node = {1: "SqueezeBackward1", 2: "MaxUnpool2DBackward0", 3: "MaxUnpool3DBackward0"}[nd]
    assert go.grad_fn.name() == node


@pytest.mark.parametrize("nd,shape,kw,extra", [UNPOOL[1], UNPOOL[4], UNPOOL[7]])
def test_max_unpool_modules(device, nd, shape, kw, extra):
    o, i = _pooled(nd, shape, kw)
    cls = f"MaxUnpool{nd}d"
    tm, gm = getattr(torch.nn, cls)(**kw), getattr(nn, cls)(**kw)
    assert repr(gm) == repr(tm)
    compare(lambda t, ti: tm(t, ti, **extra), lambda g, gi: gm(g, gi, **extra), [o, i], device)


def test_max_unpool_gradcheck(device):
    # (overlapping windows may pick one maximum twice: unpooling keeps one copy, so only
    # non-overlapping ones make it differentiable)
    for nd, shape, kw, extra in (UNPOOL[0], UNPOOL[3], UNPOOL[6]):
        o, i = _pooled(nd, shape, kw)
        fn = getattr(F, f"max_unpool{nd}d")
        x = gpuarr.tensor(o, device=device, requires_grad=True)
        idx = gpuarr.tensor(i, device=device)

        def f(x, fn=fn, idx=idx, kw=kw, extra=extra):
            return fn(x, idx, **kw, **extra)

        assert gradcheck(f, (x,))
        assert gradgradcheck(f, (x,))


def test_max_unpool_roundtrip_with_pool(device):
    """unpool(pool(x)) keeps each window's maximum in place, zeros elsewhere."""
    x = gpuarr.tensor(spread(2, 3, 6, 8), device=device)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    back = to_np(F.max_unpool2d(out, idx, 2))
    xs = to_np(x)
    np.testing.assert_array_equal(back[back != 0], xs[back != 0])
    np.testing.assert_array_equal(np.sort(back[back != 0]), np.sort(to_np(out).ravel()))


def test_max_unpool_empty_batch_and_float16(device):
    o = np.zeros((0, 3, 2, 2))
    i = np.zeros((0, 3, 2, 2), dtype=np.int64)
    compare(lambda t, ti: TF.max_unpool2d(t, ti, 2), lambda g, gi: F.max_unpool2d(g, gi, 2),
            [o, i], device)
    o, i = _pooled(2, (1, 2, 4, 4), dict(kernel_size=2))
    go = F.max_unpool2d(gpuarr.tensor(o, device=device).half(), gpuarr.tensor(i, device=device),
                        2)
    to = TF.max_unpool2d(torch.tensor(o).half(), torch.tensor(i), 2)
    assert go.dtype == gpuarr.float16
    np.testing.assert_array_equal(to_np(go), to.numpy())


def _unpool_err(nd, o, i, **kw):
    name = f"max_unpool{nd}d"
    return (lambda: getattr(TF, name)(torch.tensor(o), torch.tensor(i), **kw),
            lambda dev: getattr(F, name)(gpuarr.tensor(o, device=dev),
                                         gpuarr.tensor(i, device=dev), **kw))


O2, I2 = _pooled(2, (2, 3, 4, 4), dict(kernel_size=2))
O3, I3 = _pooled(3, (2, 3, 4, 4, 4), dict(kernel_size=2))
O1, I1 = _pooled(1, (2, 3, 8), dict(kernel_size=2))

UNPOOL_ERRORS = [
    _unpool_err(2, O2, I2, kernel_size=2, output_size=(6, 5)),
    _unpool_err(2, O2, I2, kernel_size=2, output_size=(5,)),
    _unpool_err(2, O2, I2.astype(np.int32), kernel_size=2),
    _unpool_err(2, O2, I2.astype(np.float32), kernel_size=2),
    _unpool_err(2, O2, I2[:1], kernel_size=2),
    _unpool_err(2, O2[0, 0], I2[0, 0], kernel_size=2),
    _unpool_err(2, O2.astype(np.int64), I2, kernel_size=2),
    _unpool_err(2, O2[:, :0], I2[:, :0], kernel_size=2),
    _unpool_err(2, O2, I2, kernel_size=2, padding=3),
    _unpool_err(3, O3, I3.astype(np.int32), kernel_size=2),
    _unpool_err(3, O3, I3[:1], kernel_size=2),
    _unpool_err(3, O3[0, 0], I3[0, 0], kernel_size=2),
    _unpool_err(3, O3, I3, kernel_size=2, stride=0),
    _unpool_err(3, O3.astype(np.int64), I3, kernel_size=2),
    _unpool_err(3, O3, I3, kernel_size=2, output_size=(2, 2, 2)),
    _unpool_err(1, O1, I1, kernel_size=2, output_size=[20]),
    _unpool_err(1, O1[0, 0], I1[0, 0], kernel_size=2),
]


@pytest.mark.parametrize("case", range(len(UNPOOL_ERRORS)))
def test_max_unpool_errors(device, case):
    tfn, gfn = UNPOOL_ERRORS[case]
    raises_like(tfn, lambda: gfn(device))


@pytest.mark.parametrize("nd,o,i,pad", [(2, O2, I2 + 100, 0), (2, O2, I2 - 100, 0),
                                        (3, O3, I3 + 100, 0), (1, O1, I1 + 100, 0),
                                        (2, O2, I2, 1)])
def test_max_unpool_invalid_index(nd, o, i, pad):
    """torch's CPU kernel checks the indices (with padding=1 the output is too small for
    the last case); it reports the last bad one."""
    tfn, gfn = _unpool_err(nd, o, i, kernel_size=2, padding=pad)
    # which bad index torch names depends on its threads: compare the rest of the text
    pat = r"^Found an invalid max index: (-?\d+) \(output volumes are of size ([\dx]+)\)$"
    with pytest.raises(RuntimeError) as te:
        tfn()
    with pytest.raises(RuntimeError) as ge:
        gfn("cpu")
    tm, gm = re.match(pat, str(te.value)), re.match(pat, str(ge.value))
    assert tm and gm and tm.group(2) == gm.group(2)
    size = [int(v) for v in gm.group(2).split("x")]
    assert not 0 <= int(gm.group(1)) < np.prod(size) and int(gm.group(1)) in i


def test_max_unpool_invalid_index_per_device(device):
    """The CPU checks the indices on the host (as torch's CPU kernel); where they are not
    checked (CUDA: torch only asserts on the device), out-of-range ones are dropped."""
    x = gpuarr.tensor([[[1.0, 2.0]]], device=device)
    i = gpuarr.tensor([[[1, 7]]], device=device)
    if device == "cpu":
        with pytest.raises(RuntimeError, match="invalid max index: 7"):
            F.max_unpool1d(x, i, 2)
    else:
        np.testing.assert_array_equal(to_np(F.max_unpool1d(x, i, 2)), [[[0.0, 1.0, 0.0, 0.0]]])


def test_max_unpool_empty_output(device):
    """An output with an empty dim is returned without looking at the indices (as torch)."""
    kw = dict(kernel_size=(2, 2, 1), stride=2)
    o, i = _pooled(3, (1, 2, 4, 4, 1), kw)
    compare(lambda t, ti: TF.max_unpool3d(t, ti, **kw, output_size=(3, 3, 0)),
            lambda g, gi: F.max_unpool3d(g, gi, **kw, output_size=(3, 3, 0)), [o, i], device)


def test_max_unpool1d_int_output_size(device):
    """(a bare int output_size, which torch fails on, means that length)"""
    o, i = _pooled(1, (2, 3, 9), dict(kernel_size=2))
    g = F.max_unpool1d(gpuarr.tensor(o, device=device), gpuarr.tensor(i, device=device), 2,
                       output_size=9)
    t = TF.max_unpool1d(torch.tensor(o), torch.tensor(i), 2, output_size=[9])
    np.testing.assert_array_equal(to_np(g), t.numpy())


# --------------------------------------------------------------------------------------------
# LP pooling

LP = [
    (1, (2, 3, 9), 2, dict(kernel_size=3)),
    (1, (3, 10), 1, dict(kernel_size=3, stride=2, ceil_mode=True)),
    (1, (2, 3, 8), 3.5, dict(kernel_size=2, stride=1)),
    (1, (2, 3, 7), float("inf"), dict(kernel_size=2, ceil_mode=True)),
    (2, (2, 3, 6, 7), 2, dict(kernel_size=2)),
    (2, (3, 7, 5), 1.5, dict(kernel_size=(3, 2), stride=(2, 1), ceil_mode=True)),
    (2, (2, 3, 5, 5), float("inf"), dict(kernel_size=3, stride=2)),
    (2, (2, 3, 5, 5), -float("inf"), dict(kernel_size=2, stride=1)),
    (2, (2, 3, 5, 5), 3, dict(kernel_size=2, stride=(1, 2))),
    (3, (2, 2, 4, 5, 6), 2, dict(kernel_size=2)),
    (3, (2, 5, 4, 6), 1, dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), ceil_mode=True)),
    (3, (1, 2, 4, 4, 5), float("inf"), dict(kernel_size=2, stride=(1, 2, 1))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,shape,p,kw", LP)
def test_lp_pool(device, dtype, nd, shape, p, kw):
    # positive inputs: the p-th power of a negative sum is NaN for non-integer p
    x = np.abs(rnd(*shape)) + 0.1
    name = f"lp_pool{nd}d"
    tol = 1e-12 if dtype == np.float64 else 2e-5
    compare(lambda t: getattr(TF, name)(t, p, **kw), lambda g: getattr(F, name)(g, p, **kw), x,
            device, dtype, tol=tol)


@pytest.mark.parametrize("nd,shape,p,kw", [LP[0], LP[2], LP[5], LP[8], LP[10]])
def test_lp_pool_signed_and_zero_windows(device, nd, shape, p, kw):
    """Signed values (NaN where torch's power of a negative sum is NaN) and all-zero
    windows, whose gradient torch sets to zero."""
    x = rnd(*shape)
    x[..., :2] = 0.0
    name = f"lp_pool{nd}d"
    compare(lambda t: getattr(TF, name)(t, p, **kw), lambda g: getattr(F, name)(g, p, **kw), x,
            device)


@pytest.mark.parametrize("nd,shape,p,kw", [LP[1], LP[5], LP[10]])
def test_lp_pool_modules(device, nd, shape, p, kw):
    cls = f"LPPool{nd}d"
    tm, gm = getattr(torch.nn, cls)(p, **kw), getattr(nn, cls)(p, **kw)
    assert repr(gm) == repr(tm)
    compare(tm, gm, np.abs(rnd(*shape)) + 0.1, device)


def test_lp_pool_gradcheck(device):
    for nd, shape, p, kw in ((1, (2, 7), 1, dict(kernel_size=3, stride=2, ceil_mode=True)),
                             (2, (1, 2, 4, 5), 1.5, dict(kernel_size=(3, 2), stride=(2, 1))),
                             (3, (1, 3, 3, 4), 2, dict(kernel_size=2)),
                             (2, (2, 4, 5), float("inf"), dict(kernel_size=2, stride=1))):
        x = gpuarr.tensor(np.abs(spread(*shape)) + 0.5, device=device, requires_grad=True)
        fn = getattr(F, f"lp_pool{nd}d")

        def f(x, fn=fn, p=p, kw=kw):
            return fn(x, p, **kw)

        assert gradcheck(f, (x,))
        assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("nd,p", [(1, 2), (2, 3), (3, 2), (2, 1.5), (2, float("inf"))])
def test_lp_pool_integer_input(device, nd, p):
    """int64 input: torch's integer power, truncating average, then a float32 root."""
    x = np.arange(2 * 3 * 4 * 5 * 5).reshape(2, 3, 4, 5, 5) % 7 - 2
    x = x[0, 0] if nd == 1 else (x[0] if nd == 2 else x)
    name = f"lp_pool{nd}d"
    t = getattr(TF, name)(torch.tensor(x), p, 2)
    g = getattr(F, name)(gpuarr.tensor(x, device=device), p, 2)
    assert str(g.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(to_np(g), t.numpy(), rtol=1e-6)


def test_lp_pool_errors(device):
    x = rnd(2, 3, 7)
    for tfn, gfn in [(lambda t: TF.lp_pool1d(t[0, 0], 2, 3), lambda g: F.lp_pool1d(g[0, 0], 2, 3)),
                     (lambda t: TF.lp_pool1d(t, 0, 3), lambda g: F.lp_pool1d(g, 0, 3)),
                     (lambda t: TF.lp_pool2d(t, 2, 4), lambda g: F.lp_pool2d(g, 2, 4))]:
        raises_like(lambda tfn=tfn: tfn(torch.tensor(x)),
                    lambda gfn=gfn: gfn(gpuarr.tensor(x, device=device)))


def test_lp_pool1d_tuple_kernel(device):
    """(torch's own lp_pool1d fails on a 1-tuple kernel; it means that size)"""
    x = np.abs(rnd(2, 3, 7))
    g = F.lp_pool1d(gpuarr.tensor(x, device=device), 2, (3,))
    np.testing.assert_allclose(to_np(g), TF.lp_pool1d(torch.tensor(x), 2, 3).numpy(), 1e-12)


# --------------------------------------------------------------------------------------------
# max_pool1d_with_indices, upsample_nearest, upsample_bilinear


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, dilation=2, ceil_mode=True)])
@pytest.mark.parametrize("shape", [(2, 3, 9), (3, 8)])
def test_max_pool1d_with_indices(device, kw, shape):
    compare(lambda t: TF.max_pool1d_with_indices(t, **kw),
            lambda g: F.max_pool1d_with_indices(g, **kw), spread(*shape), device)


@pytest.mark.parametrize("fn,kw,shape", [
    ("upsample_nearest", dict(scale_factor=2), (1, 2, 3, 4)),
    ("upsample_nearest", dict(size=(5, 7)), (1, 2, 3, 4)),
    ("upsample_nearest", dict(size=5), (2, 3, 4)),
    ("upsample_nearest", dict(scale_factor=(2, 1, 3)), (1, 1, 2, 3, 2)),
    ("upsample_bilinear", dict(scale_factor=2), (1, 2, 3, 4)),
    ("upsample_bilinear", dict(size=(5, 2)), (2, 1, 3, 4)),
])
def test_upsample_deprecated(device, fn, kw, shape):
    with pytest.warns(UserWarning) as tw:
        getattr(TF, fn)(torch.tensor(rnd(*shape)), **kw)
    with pytest.warns(UserWarning, match="^" + re.escape(str(tw[0].message)) + "$"):
        getattr(F, fn)(gpuarr.tensor(rnd(*shape), device=device), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda t: getattr(TF, fn)(t, **kw), lambda g: getattr(F, fn)(g, **kw),
                rnd(*shape), device)


def test_upsample_warning_points_at_caller():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        F.upsample_nearest(gpuarr.ones(1, 1, 2, 2), scale_factor=2)
    assert w[0].filename == __file__


# --------------------------------------------------------------------------------------------
# fractional max pooling

FRAC2 = [((2, 3, 13, 11), 2, dict(output_size=(5, 4))),
         ((3, 9, 8), (3, 2), dict(output_size=(7, 7))),
         ((2, 2, 10, 9), 2, dict(output_ratio=(0.5, 0.7))),
         ((1, 2, 5, 6), 1, dict(output_size=(5, 6))),
         ((2, 2, 7, 7), 3, dict(output_size=1))]
FRAC3 = [((2, 3, 9, 11, 8), 2, dict(output_size=(5, 4, 3))),
         ((2, 6, 9, 8), (3, 2, 1), dict(output_size=(3, 7, 7))),
         ((1, 2, 6, 7, 8), 2, dict(output_ratio=0.5))]


def _samples(shape, nd, seed=1):
    n = shape[0] if len(shape) == nd + 2 else 1
    return np.random.default_rng(seed).random((n, shape[-nd - 1], nd))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,case", [(2, c) for c in FRAC2] + [(3, c) for c in FRAC3])
def test_fractional_max_pool_with_samples(device, dtype, nd, case):
    shape, k, kw = case
    s = _samples(shape, nd).astype(dtype)
    name = f"fractional_max_pool{nd}d"

    def t(x):
        return getattr(TF, name)(x, k, return_indices=True, _random_samples=torch.tensor(s),
                                 **kw)

    def g(x):
        return getattr(F, name)(x, k, return_indices=True,
                                _random_samples=gpuarr.tensor(s, device=device), **kw)

    tol = 1e-12 if dtype == np.float64 else 1e-6
    compare(t, g, spread(*shape), device, dtype, tol=tol)


def test_fractional_max_pool_nan_and_ties(device):
    x = np.zeros((1, 2, 8, 8))
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = np.nan
    x[0, 1, :4] = 1.0
    s = _samples(x.shape, 2)
    for k in (2, 3):
        compare(lambda t, k=k: TF.fractional_max_pool2d(
                    t, k, output_size=4, return_indices=True, _random_samples=torch.tensor(s)),
                lambda g, k=k: F.fractional_max_pool2d(
                    g, k, output_size=4, return_indices=True,
                    _random_samples=gpuarr.tensor(s, device=device)), x, device, grad=False)


def test_fractional_max_pool_modules(device):
    s2, s3 = _samples((2, 3, 9, 9), 2), _samples((2, 3, 6, 7, 8), 3)
    tm = torch.nn.FractionalMaxPool2d(2, output_ratio=0.5, _random_samples=torch.tensor(s2))
    gm = nn.FractionalMaxPool2d(2, output_ratio=0.5, _random_samples=gpuarr.tensor(s2)).to(device)
    assert repr(gm) == repr(tm) and gm.output_ratio == tm.output_ratio
    compare(tm, gm, spread(2, 3, 9, 9), device)
    kw = dict(output_size=(3, 4, 4), return_indices=True)
    tm = torch.nn.FractionalMaxPool3d((2, 1, 2), _random_samples=torch.tensor(s3), **kw)
    gm = nn.FractionalMaxPool3d((2, 1, 2), _random_samples=gpuarr.tensor(s3), **kw).to(device)
    assert repr(gm) == repr(tm) and gm.kernel_size == tm.kernel_size
    compare(tm, gm, spread(2, 3, 6, 7, 8), device)


def test_fractional_max_pool_gradcheck(device):
    for nd, shape, k, size in ((2, (1, 2, 7, 6), 2, 3), (3, (2, 5, 5, 6), 2, (2, 3, 3))):
        x = gpuarr.tensor(spread(*shape), device=device, requires_grad=True)
        s = gpuarr.tensor(_samples(shape, nd), device=device)
        fn = getattr(F, f"fractional_max_pool{nd}d")

        def f(x, fn=fn, k=k, size=size, s=s):
            return fn(x, k, output_size=size, _random_samples=s)

        assert gradcheck(f, (x,))
        assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("nd,shape,k,size", [(2, (2, 3, 11, 9), 3, (4, 5)),
                                             (2, (3, 11, 10), 2, (5, 5)),
                                             (3, (2, 2, 7, 8, 9), (2, 3, 2), (3, 4, 5))])
def test_fractional_max_pool_random_properties(device, nd, shape, k, size):
    """Without samples: torch's shape; every output is the input at its index, the first
    window starting at 0 and the last ending at the input's end; the same draws after
    gpuarr.manual_seed, other draws otherwise."""
    x = spread(*shape)
    fn = getattr(F, f"fractional_max_pool{nd}d")
    g = gpuarr.tensor(x, device=device)
    gpuarr.manual_seed(3)
    out, idx = fn(g, k, output_size=size, return_indices=True)
    tout = getattr(TF, f"fractional_max_pool{nd}d")(torch.tensor(x), k, output_size=size)
    assert tuple(out.shape) == tuple(tout.shape)
    planes = x.reshape(-1, int(np.prod(shape[-nd:])))
    o, i = to_np(out).reshape(len(planes), -1), to_np(idx).reshape(len(planes), -1)
    np.testing.assert_array_equal(np.take_along_axis(planes, i, 1), o)
    # the first window starts at 0 and the last one ends at the input's end, per dim
    kk = (k,) * nd if isinstance(k, int) else k
    coords = np.unravel_index(to_np(idx).reshape(len(planes), *size), shape[-nd:])
    for d in range(nd):
        c = np.moveaxis(coords[d], 1 + d, -1)
        assert c.min() >= 0 and c.max() <= shape[-nd + d] - 1
        assert (c[..., 0] < kk[d]).all() and (c[..., -1] >= shape[-nd + d] - kk[d]).all()
    gpuarr.manual_seed(3)
    again, idx2 = fn(g, k, output_size=size, return_indices=True)
    np.testing.assert_array_equal(to_np(again), to_np(out))
    np.testing.assert_array_equal(to_np(idx2), to_np(idx))
    different = [to_np(fn(g, k, output_size=size, return_indices=True)[1]) for _ in range(3)]
    assert any((d != to_np(idx)).any() for d in different)


def test_fractional_max_pool_random_is_the_seeded_samples(device):
    """Drawn samples are gpuarr.rand's (N, C, nd) draws in the input's dtype."""
    x = gpuarr.tensor(spread(2, 3, 9, 9), device=device)
    gpuarr.manual_seed(5)
    out = F.fractional_max_pool2d(x, 2, output_size=4)
    gpuarr.manual_seed(5)
    s = gpuarr.rand(2, 3, 2, dtype=gpuarr.float64, device=device)
    ref = TF.fractional_max_pool2d(torch.tensor(to_np(x)), 2, output_size=4,
                                   _random_samples=torch.tensor(to_np(s)))
    np.testing.assert_array_equal(to_np(out), ref.numpy())


def _frac_err(nd, shape, k, s_shape=None, x_dtype=np.float32, s_dtype=np.float32, **kw):
    x = rnd(*shape).astype(x_dtype)
    s = None if s_shape is None else np.random.default_rng(0).random(s_shape).astype(s_dtype)
    name = f"fractional_max_pool{nd}d"
    return (lambda: getattr(TF, name)(torch.tensor(x), k, _random_samples=None if s is None
                                      else torch.tensor(s), **kw),
            lambda dev: getattr(F, name)(gpuarr.tensor(x, device=dev), k,
                                         _random_samples=None if s is None
                                         else gpuarr.tensor(s, device=dev), **kw))


FRAC_ERRORS = [
    _frac_err(2, (2, 3, 9, 8), 2, output_size=(9, 8)),
    _frac_err(2, (2, 3, 9, 8), 2, output_size=(8, 8)),
    _frac_err(2, (2, 3, 9, 8), 2, output_ratio=(0.5, 0.5, 0.5)),
    _frac_err(2, (2, 3, 9, 8), 2),
    _frac_err(2, (2, 3, 9, 8), 2, (2, 3, 3), output_size=4),
    _frac_err(2, (2, 3, 9, 8), 2, (1, 3, 2), output_size=4),
    _frac_err(2, (2, 3, 9, 8), 2, (2, 2, 2), output_size=4),
    _frac_err(2, (2, 3, 9, 8), 2, (2, 3), output_size=4),
    _frac_err(2, (2, 3, 9, 8), 2, (2, 3, 2), s_dtype=np.float64, output_size=4),
    _frac_err(2, (2, 3, 9, 8), 2, (2, 3, 2), x_dtype=np.int64, s_dtype=np.int64, output_size=4),
    _frac_err(2, (2, 0, 9, 8), 2, output_size=4),
    _frac_err(2, (2, 3, 9, 8), (2, 2, 2), output_size=4),
    _frac_err(2, (2, 3, 9, 8), 2, output_size=(4, 4, 4)),
    _frac_err(2, (2, 3, 9, 8), 2, (2, 3, 2), output_size=(-1, 4)),
    _frac_err(2, (9, 8), 2, (1, 9, 2), output_size=4),
    _frac_err(3, (2, 3, 9, 8, 7), 2, output_size=(10, 4, 4)),
    _frac_err(3, (2, 3, 9, 8, 7), 1, output_size=(4, 4, 7)),
    _frac_err(3, (1, 3, 9, 2, 5), (2, 3, 3), output_size=(4, 1, 4)),
    _frac_err(3, (2, 3, 9, 8, 7), 2, (2, 3, 2), output_size=4),
    _frac_err(3, (2, 0, 9, 8, 7), 2, output_size=4),
    _frac_err(3, (1, 1, 2, 3, 9, 8), 2, (1, 1, 3), output_size=(1, 4, 4)),
    _frac_err(3, (2, 3, 9, 8, 7), 2, output_size=(4, 4)),
    _frac_err(3, (2, 3, 9, 8, 7), 2, (2, 3, 3), x_dtype=np.int64, s_dtype=np.int64,
              output_size=4),
]


@pytest.mark.parametrize("case", range(len(FRAC_ERRORS)))
def test_fractional_max_pool_errors(device, case):
    tfn, gfn = FRAC_ERRORS[case]
    raises_like(tfn, lambda: gfn(device))


def test_mixed_devices(device):
    if device == "cpu":
        return  # one device: nothing to mix
    x = gpuarr.tensor(spread(1, 2, 6, 6), device=device)
    s = gpuarr.tensor(_samples((1, 2, 6, 6), 2))
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=s)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        F.max_unpool2d(out, idx.cpu(), 2)


def test_fractional_max_pool_sensible_where_torch_is_not(device):
    """torch accepts a zero kernel (returning -inf) and fails on a scalar 2-d ratio."""
    x = gpuarr.tensor(rnd(1, 2, 6, 6), device=device)
    with pytest.raises(RuntimeError, match="kernel_size must be greater than zero"):
        F.fractional_max_pool2d(x, 0, output_size=3)
    assert tuple(F.fractional_max_pool2d(x, 2, output_ratio=0.5).shape) == (1, 2, 3, 3)


@pytest.mark.parametrize("cls,kw", [
    ("FractionalMaxPool2d", dict(kernel_size=2)),
    ("FractionalMaxPool2d", dict(kernel_size=2, output_ratio=1.5)),
    ("FractionalMaxPool2d", dict(kernel_size=2, output_ratio=0.5, output_size=3)),
    ("FractionalMaxPool3d", dict(kernel_size=0, output_size=3)),
    ("FractionalMaxPool3d", dict(kernel_size=2, output_ratio=(0.5, 0.5, 1.0))),
])
def test_fractional_max_pool_module_errors(cls, kw):
    raises_like(lambda: getattr(torch.nn, cls)(**kw), lambda: getattr(nn, cls)(**kw))
