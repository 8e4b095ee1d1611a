"""3-d pooling against PyTorch: max (with indices, ties, NaN, ceil mode, dilation), average
(ceil mode, count_include_pad, divisor_override), adaptive average and adaptive max pooling
(with indices); outputs and
input gradients on batched and unbatched inputs, gradcheck and gradgradcheck in float64, the
modules' reprs and torch's error types and texts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import raises_like, rnd, spread, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck


def compare(tfn, gfn, arr, device, dtype=np.float64, tol=1e-12):
    """Outputs (and indices, where the functions return a pair) and input gradients."""
    arr = np.asarray(arr, dtype=dtype)
    t = torch.tensor(arr, requires_grad=True)
    g = gpuarr.tensor(arr, device=device, requires_grad=True)
    to, go = tfn(t), gfn(g)
    if isinstance(to, tuple):
        (to, ti), (go, gi) = to, go
        assert gi.dtype == gpuarr.int64
        np.testing.assert_array_equal(to_np(gi), ti.numpy())
    assert tuple(go.shape) == tuple(to.shape) and go.dtype == g.dtype
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=tol, atol=tol)
    if to.numel():
        w = rnd(*to.shape, seed=5).astype(dtype)
        to.backward(torch.tensor(w))
        go.backward(gpuarr.tensor(w, device=device))
        np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=tol, atol=tol)


MAX_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 1, 0), dilation=(2, 1, 1)),
    dict(kernel_size=(3, 2, 3), stride=2, padding=(1, 0, 1), ceil_mode=True),
    dict(kernel_size=2, stride=(2, 3, 1), dilation=(1, 2, 2), ceil_mode=True),
]


@pytest.mark.parametrize("kw", MAX_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 6, 7), (3, 5, 4, 6)])
def test_max_pool3d(device, kw, shape):
    compare(lambda t: TF.max_pool3d(t, return_indices=True, **kw),
            lambda g: F.max_pool3d(g, return_indices=True, **kw), spread(*shape), device)


def test_max_pool3d_ties_nan_inf_float32(device):
    a = np.zeros((1, 2, 4, 4, 4), dtype=np.float32)
    a[0, 0, 1, 1, 1] = np.nan
    a[0, 1, :2, :2, :2] = -np.inf
    a[0, 1, 2:, 2:, 2:] = 3.0  # ties: the first maximum in scan order wins
    compare(lambda t: TF.max_pool3d(t, 2, return_indices=True),
            lambda g: F.max_pool3d(g, 2, return_indices=True), a, device, np.float32)
    compare(lambda t: TF.max_pool3d(t, 3, 1, 1, return_indices=True),
            lambda g: F.max_pool3d(g, 3, 1, 1, return_indices=True), a, device, np.float32)


def test_max_pool3d_module_and_int(device):
    a = spread(2, 2, 4, 5, 6)
    m, tm = nn.MaxPool3d(2, stride=1, padding=1, return_indices=True), torch.nn.MaxPool3d(
        2, stride=1, padding=1, return_indices=True)
    compare(tm, m, a, device)
    ints = np.random.default_rng(0).integers(-9, 9, (1, 2, 4, 4, 4))
    out = F.max_pool3d(gpuarr.tensor(ints, device=device), 2, padding=1)
    np.testing.assert_array_equal(to_np(out), TF.max_pool3d(torch.tensor(ints), 2, padding=1))
    assert F.max_pool3d_with_indices(gpuarr.tensor(ints, device=device), 2)[1].shape == (
        1, 2, 2, 2, 2)


AVG_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=1, padding=1, count_include_pad=False),
    dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 1, 0), ceil_mode=True,
         count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(3, 2, 2), padding=(1, 1, 0), divisor_override=5),
]


@pytest.mark.parametrize("kw", AVG_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 6, 7), (3, 5, 4, 6)])
def test_avg_pool3d(device, kw, shape):
    compare(lambda t: TF.avg_pool3d(t, **kw), lambda g: F.avg_pool3d(g, **kw), rnd(*shape),
            device)


def test_avg_pool3d_module_float32(device):
    tm = torch.nn.AvgPool3d((2, 3, 3), stride=(1, 2, 2), padding=1, ceil_mode=True,
                            count_include_pad=False)
    m = nn.AvgPool3d((2, 3, 3), stride=(1, 2, 2), padding=1, ceil_mode=True,
                     count_include_pad=False)
    compare(tm, m, rnd(2, 3, 4, 5, 6), device, np.float32, tol=1e-5)


@pytest.mark.parametrize("size", [2, (3, None, 4), (1, 1, 1), (5, 6, 7), (4, 2, 5), (0, 1, 2)])
@pytest.mark.parametrize("shape", [(2, 3, 5, 6, 7), (3, 5, 6, 7)])
def test_adaptive_avg_pool3d(device, size, shape):
    compare(lambda t: TF.adaptive_avg_pool3d(t, size), lambda g: F.adaptive_avg_pool3d(g, size),
            rnd(*shape), device)


def test_adaptive_avg_pool3d_module_float32(device):
    compare(torch.nn.AdaptiveAvgPool3d((2, 3, None)), nn.AdaptiveAvgPool3d((2, 3, None)),
            rnd(2, 3, 5, 7, 4), device, np.float32, tol=1e-5)


def nan_ties(*shape):
    a = spread(*shape)
    a.reshape(-1)[[3, 7, 20]] = np.nan  # torch's adaptive scan keeps a window's last NaN
    a.reshape(-1)[-30:] = -np.inf
    a.reshape(-1)[-60:-45] = 1.0  # ties: the first maximum wins
    return a


@pytest.mark.parametrize("size", [2, (3, None, 4), (1, 1, 1), (5, 6, 7), (4, 4, 5), (0, 1, 2)])
@pytest.mark.parametrize("shape", [(2, 3, 5, 6, 7), (3, 5, 6, 7)])
def test_adaptive_max_pool3d(device, size, shape):
    compare(lambda t: TF.adaptive_max_pool3d(t, size, True),
            lambda g: F.adaptive_max_pool3d(g, size, True), nan_ties(*shape), device)


def test_adaptive_max_pool3d_module_float32(device):
    compare(torch.nn.AdaptiveMaxPool3d((2, None, 3), return_indices=True),
            nn.AdaptiveMaxPool3d((2, None, 3), return_indices=True), spread(2, 2, 5, 4, 7),
            device, np.float32, tol=0)
    g = gpuarr.tensor(spread(1, 4, 3, 3), device=device)
    out, idx = F.adaptive_max_pool3d_with_indices(g, 1)
    assert out.shape == (1, 1, 1, 1) and to_np(idx).ravel().tolist() == [
        int(np.argmax(spread(1, 4, 3, 3)))]


GRAD_CASES = [
    (lambda x: F.adaptive_max_pool3d(x, (2, 3, 2)), True),
    (lambda x: F.max_pool3d(x, 2, stride=1, padding=1), True),
    (lambda x: F.max_pool3d(x, (2, 1, 2), dilation=(1, 1, 2), ceil_mode=True), True),
    (lambda x: F.avg_pool3d(x, 2, stride=1, padding=1, count_include_pad=False), True),
    (lambda x: F.avg_pool3d(x, 3, 2, 1, ceil_mode=True, divisor_override=3), True),
    (lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)), True),
]


@pytest.mark.parametrize("fn,twice", GRAD_CASES)
def test_pool3d_gradcheck(device, fn, twice):
    x = gpuarr.tensor(spread(1, 2, 3, 4, 3), device=device, requires_grad=True)
    assert gradcheck(fn, (x,))
    if twice:
        assert gradgradcheck(fn, (x,))


def test_pool3d_reprs():
    pairs = [
        (nn.MaxPool3d(2), torch.nn.MaxPool3d(2)),
        (nn.MaxPool3d((1, 2, 3), stride=1, padding=(0, 1, 1), dilation=2, ceil_mode=True),
         torch.nn.MaxPool3d((1, 2, 3), stride=1, padding=(0, 1, 1), dilation=2, ceil_mode=True)),
        (nn.AvgPool3d(3, 2, 1, divisor_override=2), torch.nn.AvgPool3d(3, 2, 1,
                                                                       divisor_override=2)),
        (nn.AdaptiveAvgPool3d((1, None, 2)), torch.nn.AdaptiveAvgPool3d((1, None, 2))),
        (nn.AdaptiveAvgPool3d(3), torch.nn.AdaptiveAvgPool3d(3)),
        (nn.AdaptiveMaxPool3d((2, None, 1), True), torch.nn.AdaptiveMaxPool3d((2, None, 1), True)),
    ]
    for g, t in pairs:
        assert repr(g) == repr(t)


ERRORS = [
    (TF.max_pool3d, F.max_pool3d, (2, 3, 3), (2,)),
    (TF.max_pool3d, F.max_pool3d, (1, 2, 4, 4, 4), (0,)),
    (TF.max_pool3d, F.max_pool3d, (1, 2, 4, 4, 4), (2, 0)),
    (TF.max_pool3d, F.max_pool3d, (1, 2, 4, 4, 4), (2, 2, 0, 0)),
    (TF.max_pool3d, F.max_pool3d, (1, 2, 4, 4, 4), (2, 2, 2)),
    (TF.max_pool3d, F.max_pool3d, (1, 2, 4, 4, 4), ((2, 5, 2),)),
    (TF.avg_pool3d, F.avg_pool3d, (2, 3, 3), (2,)),
    (TF.avg_pool3d, F.avg_pool3d, (1, 2, 4, 4, 4), (2, 0)),
    (TF.avg_pool3d, F.avg_pool3d, (1, 2, 4, 4, 4), (2, 2, 2)),
    (TF.avg_pool3d, F.avg_pool3d, (1, 2, 4, 4, 4), ((2, 5, 2),)),
    (TF.avg_pool3d, F.avg_pool3d, (1, 2, 4, 4, 4), (2, None, 0, False, True, 0)),
    (TF.adaptive_avg_pool3d, F.adaptive_avg_pool3d, (2, 3, 3), (2,)),
    (TF.adaptive_avg_pool3d, F.adaptive_avg_pool3d, (1, 2, 4, 4, 4), (-1,)),
    (TF.adaptive_avg_pool3d, F.adaptive_avg_pool3d, (1, 2, 4, 4, 4), ((2, 2),)),
    (TF.adaptive_max_pool3d, F.adaptive_max_pool3d, (2, 3, 3), (2,)),
    (TF.adaptive_max_pool3d, F.adaptive_max_pool3d, (3, 3, 3), ((2, 2, 2),)),
    (TF.adaptive_max_pool3d, F.adaptive_max_pool3d, (1, 2, 4, 4, 4), (-1,)),
    (TF.adaptive_max_pool3d, F.adaptive_max_pool3d, (1, 2, 4, 4, 4), ((2, 2),)),
    (TF.adaptive_max_pool3d, F.adaptive_max_pool3d, (1, 0, 4, 4, 4), (2,)),
]


@pytest.mark.parametrize("tfn,gfn,shape,args", ERRORS)
def test_pool3d_errors(device, tfn, gfn, shape, args):
    a = rnd(*shape)
    raises_like(lambda: tfn(torch.tensor(a), *args),
                lambda: gfn(gpuarr.tensor(a, device=device), *args))


@pytest.mark.parametrize("name", ["adaptive_avg_pool3d", "adaptive_max_pool3d"])
def test_adaptive_pool3d_int_error(name):
    a = np.ones((1, 2, 3, 3, 3), dtype=np.int64)
    raises_like(lambda: getattr(TF, name)(torch.tensor(a), 2),
                lambda: getattr(F, name)(gpuarr.tensor(a), 2))
