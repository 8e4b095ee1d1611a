"""Adaptive max pooling (1-D and 2-D) against PyTorch: outputs, indices and input gradients on
batched and unbatched inputs with non-divisible sizes, ties, NaN and -inf, gradcheck and
gradgradcheck in float64, the modules' reprs and torch's error texts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import raises_like, spread, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck


def compare(tfn, gfn, arr, device, dtype=np.float64):
    """Run both with indices; compare outputs, indices and the input gradient bit for bit."""
    arr = np.asarray(arr, dtype=dtype)
    t = torch.tensor(arr, requires_grad=True)
    g = gpuarr.tensor(arr, device=device, requires_grad=True)
    to, ti = tfn(t)
    go, gi = gfn(g)
    assert tuple(go.shape) == tuple(to.shape) and gi.dtype == gpuarr.int64
    np.testing.assert_array_equal(to_np(go), to.detach().numpy())
    np.testing.assert_array_equal(to_np(gi), ti.numpy())
    if to.numel():
        w = np.random.default_rng(5).standard_normal(tuple(to.shape)).astype(dtype)
        to.backward(torch.tensor(w))
        go.backward(gpuarr.tensor(w, device=device))
        np.testing.assert_array_equal(to_np(g.grad), t.grad.numpy())


CASES_2D = [
    ((2, 3, 5, 7), 3),
    ((2, 3, 5, 7), (2, 4)),
    ((2, 3, 5, 7), (None, 3)),
    ((2, 3, 5, 7), (4, None)),
    ((2, 3, 5, 7), (5, 7)),
    ((2, 3, 5, 7), (7, 10)),  # more outputs than inputs: windows repeat elements
    ((3, 6, 9), 4),  # unbatched
    ((3, 6, 9), (1, 1)),
    ((1, 2, 10, 3), (4, 1)),
    ((2, 1, 8, 8), 2),  # divisible
    ((0, 2, 3, 4), 2),  # empty batch
    ((2, 3, 5, 7), (0, 3)),
]


@pytest.mark.parametrize("shape,size", CASES_2D, ids=[f"{s}-{o}" for s, o in CASES_2D])
def test_adaptive_max_pool2d_matches_torch(shape, size, device):
    compare(lambda x: TF.adaptive_max_pool2d(x, size, return_indices=True),
            lambda x: F.adaptive_max_pool2d(x, size, return_indices=True),
            np.random.default_rng(0).standard_normal(shape), device)


CASES_1D = [((2, 3, 7), 3), ((2, 3, 7), (4,)), ((3, 10), 4), ((2, 3, 7), 7), ((2, 3, 5), 9),
            ((1, 2, 12), 1), ((0, 2, 5), 2), ((2, 5), 0)]


@pytest.mark.parametrize("shape,size", CASES_1D, ids=[f"{s}-{o}" for s, o in CASES_1D])
def test_adaptive_max_pool1d_matches_torch(shape, size, device):
    compare(lambda x: TF.adaptive_max_pool1d(x, size, return_indices=True),
            lambda x: F.adaptive_max_pool1d(x, size, return_indices=True),
            np.random.default_rng(0).standard_normal(shape), device)


def test_float32_and_without_indices(device):
    a = np.random.default_rng(1).standard_normal((2, 3, 6, 5)).astype(np.float32)
    compare(lambda x: TF.adaptive_max_pool2d_with_indices(x, (4, 3)),
            lambda x: F.adaptive_max_pool2d_with_indices(x, (4, 3)), a, device, np.float32)
    compare(lambda x: TF.adaptive_max_pool1d_with_indices(x[0], 4),
            lambda x: F.adaptive_max_pool1d_with_indices(x[0], 4), a[0], device, np.float32)
    g = F.adaptive_max_pool2d(gpuarr.tensor(a, device=device), (4, 3))
    assert isinstance(g, gpuarr.Tensor) and g.dtype == gpuarr.float32
    np.testing.assert_array_equal(to_np(g), TF.adaptive_max_pool2d(torch.tensor(a), (4, 3)))
    g1 = F.adaptive_max_pool1d(gpuarr.tensor(a[0], device=device), 2)
    np.testing.assert_array_equal(to_np(g1), TF.adaptive_max_pool1d(torch.tensor(a[0]), 2))


@pytest.mark.parametrize("arr", [
    [[[2.0, 2.0, 1.0, 2.0, 2.0]]],  # ties: the first maximum wins
    [[[1.0, np.nan, 3.0, np.nan, 2.0, np.nan]]],  # NaN wins; the last NaN of a window
    [[[-np.inf, -np.inf, -np.inf, -np.inf]]],  # all -inf: the window's first index
    [[[np.inf, 1.0, np.inf, -0.0, 0.0, -np.inf, 5.0]]],
], ids=["ties", "nan", "neg_inf", "mixed"])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_special_values_1d(arr, size, device):
    compare(lambda x: TF.adaptive_max_pool1d(x, size, True),
            lambda x: F.adaptive_max_pool1d(x, size, True), arr, device)


def test_special_values_2d(device):
    a = np.random.default_rng(2).integers(0, 3, (2, 3, 5, 6)).astype(np.float64)  # many ties
    a[0, 0, 1, 1] = a[0, 0, 2, 3] = a[1, 2, 0, 0] = np.nan
    a[1, 1] = -np.inf
    for size in [(2, 2), (3, 4), (1, 1), (5, 6)]:
        compare(lambda x, s=size: TF.adaptive_max_pool2d(x, s, True),
                lambda x, s=size: F.adaptive_max_pool2d(x, s, True), a, device)


def test_overlapping_windows_accumulate_gradient(device):
    # 3 -> 2: the middle element is in both windows and the maximum of both
    x = gpuarr.tensor([[[0.0, 5.0, 1.0]]], device=device, requires_grad=True)
    out, idx = F.adaptive_max_pool1d(x, 2, True)
    out.sum().backward()
    np.testing.assert_array_equal(to_np(idx), [[[1, 1]]])
    np.testing.assert_array_equal(to_np(x.grad), [[[0.0, 2.0, 0.0]]])


@pytest.mark.parametrize("fn,shape", [
    (lambda x: F.adaptive_max_pool2d(x, (3, 2)), (2, 2, 5, 5)),
    (lambda x: F.adaptive_max_pool2d(x, 4), (2, 3, 3)),
    (lambda x: F.adaptive_max_pool2d(x, (None, 2)), (1, 2, 3, 5)),
    (lambda x: F.adaptive_max_pool1d(x, 3), (2, 2, 7)),
    (lambda x: F.adaptive_max_pool1d(x, 6), (2, 4)),
], ids=["2d", "2d_up_unbatched", "2d_none", "1d", "1d_up_unbatched"])
def test_gradcheck_and_gradgradcheck(fn, shape, device):
    x = gpuarr.tensor(spread(*shape), device=device, requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_grad_fn_name(device):
    x = gpuarr.tensor(spread(1, 2, 4, 4), device=device, requires_grad=True)
    t = torch.tensor(spread(1, 2, 4, 4), requires_grad=True)
    assert (type(F.adaptive_max_pool2d(x, 3).grad_fn).__name__
            == type(TF.adaptive_max_pool2d(t, 3).grad_fn).__name__)


# --------------------------------------------------------------------------------------------
# modules


def test_module_reprs_match_torch():
    for args, kw in [((3,), {}), (((None, 3),), {}), ((2,), {"return_indices": True}),
                     (((2, 4),), {})]:
        assert repr(nn.AdaptiveMaxPool2d(*args, **kw)) == repr(
            torch.nn.AdaptiveMaxPool2d(*args, **kw))
    assert repr(nn.AdaptiveMaxPool1d(3, True)) == repr(torch.nn.AdaptiveMaxPool1d(3, True))


def test_modules_match_torch(device):
    a = np.random.default_rng(3).standard_normal((2, 3, 7, 6))
    for gm, tm, arr in [(nn.AdaptiveMaxPool2d((3, None)), torch.nn.AdaptiveMaxPool2d((3, None)),
                         a),
                        (nn.AdaptiveMaxPool2d(4, True), torch.nn.AdaptiveMaxPool2d(4, True), a),
                        (nn.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4), a[0]),
                        (nn.AdaptiveMaxPool1d(2, True), torch.nn.AdaptiveMaxPool1d(2, True),
                         a[0, 0])]:
        g, t = gm(gpuarr.tensor(arr, device=device)), tm(torch.tensor(arr))
        if isinstance(t, tuple):
            assert isinstance(g, tuple)
            np.testing.assert_array_equal(to_np(g[1]), t[1].numpy())
            g, t = g[0], t[0]
        np.testing.assert_array_equal(to_np(g), t.numpy())


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("call", [
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x, (2, 3, 4)),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x, (2,)),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x, [None]),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x, -1),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x, (2, -3)),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x[0], (-1, 2)),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x[0, 0], 2),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x[0, 0, 0], (2, None)),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x[None], 2),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x.long(), 2),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x.bool(), 2),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x[:, :0], 2),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x[:, :, :0], 2),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x[0, :, :0], 2),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x, 2.5),
    lambda M, x: M.nn.functional.adaptive_max_pool2d(x, None),
    lambda M, x: M.nn.functional.adaptive_max_pool2d("x", 2),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0], (3, 2)),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0], None),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0], 2.5),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0], [None]),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0], -1),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0, 0, 0], 2),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x, 2),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0].long(), 2),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0, :, :0], 2),
    lambda M, x: M.nn.functional.adaptive_max_pool1d(x[0, :, 0, :0], 2),
    lambda M, x: M.nn.functional.adaptive_max_pool1d("x", 2),
    lambda M, x: M.nn.AdaptiveMaxPool2d(-2)(x),
])
def test_errors_match_torch(call):
    a = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    raises_like(lambda: call(torch, torch.tensor(a)), lambda: call(gpuarr, gpuarr.tensor(a)))
