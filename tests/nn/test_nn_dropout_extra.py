"""Dropout3d / F.dropout3d and FeatureAlphaDropout / F.feature_alpha_dropout: the masks are
gpuarr's own draws (torch's random numbers differ), so the tests check torch's structure (one
draw per sample and channel, the ranks torch treats as unbatched, the kept and dropped values
and their dtypes), the statistics, reproducibility with gpuarr.manual_seed, the gradients
(gradcheck and gradgradcheck with a fixed seed), in-place and eval behaviour, the modules'
reprs, torch's warnings and torch's error types and texts."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import raises_like, rnd, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck

ALPHA = 1.7580993408473766


def _alpha_consts(p):
    a = 1.0 / np.sqrt((ALPHA * ALPHA * p + 1) * (1 - p))
    return a, ALPHA * a * p, -ALPHA * a * (1 - p)  # scale, shift if kept, value if dropped


def _channel_values(out, n_lead):
    """Per (leading dims) channel, the distinct values of the rest."""
    return out.reshape(int(np.prod(out.shape[:n_lead])), -1)


# --------------------------------------------------------------------------------------------
# dropout3d


@pytest.mark.parametrize("dtype", [gpuarr.float32, gpuarr.float64])
@pytest.mark.parametrize("shape,lead", [((4, 50, 2, 3, 2), 2), ((60, 2, 3, 2), 1)])
def test_dropout3d_channels(device, dtype, shape, lead):
    """Batched (N, C, D, H, W) and unbatched (C, D, H, W): whole channels are 0 or x/(1-p)."""
    x = gpuarr.tensor(np.abs(rnd(*shape)) + 1, dtype=dtype, device=device)
    out = F.dropout3d(x, 0.3)
    assert out.dtype == dtype and tuple(out.shape) == shape
    ratio = _channel_values(to_np(out) / to_np(x), lead)
    for row in ratio:
        assert np.allclose(row, 0) or np.allclose(row, 1 / 0.7, rtol=1e-6)
    dropped = np.mean([np.allclose(r, 0) for r in ratio])
    assert 0.15 < dropped < 0.45


def test_dropout3d_seed_and_draws(device):
    x = gpuarr.ones(3, 8, 2, 2, 2, device=device)
    gpuarr.manual_seed(7)
    a = to_np(F.dropout3d(x, 0.5))
    gpuarr.manual_seed(7)
    b = to_np(F.dropout3d(x, 0.5))
    np.testing.assert_array_equal(a, b)
    assert any((to_np(F.dropout3d(x, 0.5)) != a).any() for _ in range(4))


def test_dropout3d_gradients(device):
    x = gpuarr.tensor(rnd(2, 6, 2, 2, 3), device=device, requires_grad=True)
    out = F.dropout3d(x, 0.4)
    assert out.grad_fn.name() == "MulBackward0"
    w = rnd(2, 6, 2, 2, 3, seed=1)
    out.backward(gpuarr.tensor(w, device=device))
    mask = to_np(out) / to_np(x)
    np.testing.assert_allclose(to_np(x.grad), w * mask, rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 2, 2, 2), (3, 2, 1, 2)])
def test_dropout3d_gradcheck(device, shape):
    x = gpuarr.tensor(rnd(*shape), device=device, requires_grad=True)

    def f(x):
        gpuarr.manual_seed(3)  # the same mask on every call
        return F.dropout3d(x, 0.5)

    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_dropout3d_identity_cases(device):
    x = gpuarr.tensor(rnd(2, 3, 2, 2, 2), device=device)
    assert F.dropout3d(x, 0.5, training=False) is x
    assert F.dropout3d(x, 0.0) is x
    empty = gpuarr.ones(0, 3, 2, 2, 2, device=device)
    assert F.dropout3d(empty, 0.5) is empty
    m = nn.Dropout3d(0.5).eval()
    assert m(x) is x


def test_dropout3d_p_one(device):
    x = gpuarr.tensor([[[[[1.0, np.nan]]]]], device=device, requires_grad=True)
    out = F.dropout3d(x, 1.0)
    t = TF.dropout3d(torch.tensor([[[[[1.0, np.nan]]]]]), 1.0)
    np.testing.assert_array_equal(to_np(out), t.numpy())  # 0 * NaN stays NaN, as in torch
    out.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [[[[[0.0, 0.0]]]]])
    ints = gpuarr.tensor(np.arange(8).reshape(1, 1, 2, 2, 2), device=device)
    res = F.dropout3d(ints, 1.0)
    assert res.dtype == gpuarr.int64 and not to_np(res).any()
    assert F.dropout3d(ints, 0.0) is ints


def test_dropout3d_inplace(device):
    x = gpuarr.ones(3, 4, 2, 2, device=device)
    gpuarr.manual_seed(1)
    y = F.dropout3d(x, 0.5, inplace=True)
    assert y is x and tuple(x.shape) == (3, 4, 2, 2)
    gpuarr.manual_seed(1)
    ref = F.dropout3d(gpuarr.ones(3, 4, 2, 2, device=device), 0.5)
    np.testing.assert_array_equal(to_np(x), to_np(ref))
    # with a graph: the in-place result's gradient is the mask
    a = gpuarr.ones(2, 3, 2, 2, 2, device=device, requires_grad=True)
    b = a * 1
    F.dropout3d(b, 0.5, inplace=True).sum().backward()
    np.testing.assert_array_equal(to_np(a.grad), to_np(b.detach()))


def _warning_text(fn, *args):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = fn(*args)
    assert len(w) == 1 and w[0].category is UserWarning
    return str(w[0].message), w[0].filename, out


@pytest.mark.parametrize("shape", [(2, 3, 4), (5,), (2, 3), (2, 3, 4, 5, 6, 7)])
def test_dropout3d_other_ranks_warn(device, shape):
    """Other ranks warn (torch's text) and are treated as unbatched: a batch dim of 1 is
    assumed, so dim 0 is dropped as a whole (a 1-d input: element by element)."""
    tmsg, _, _ = _warning_text(TF.dropout3d, torch.ones(shape), 0.5)
    gmsg, fname, out = _warning_text(F.dropout3d, gpuarr.ones(*shape, device=device), 0.5)
    assert gmsg == tmsg and fname == __file__
    vals = to_np(out).reshape(shape[0], -1)
    for row in vals:
        assert (row == row[0]).all() and row[0] in (0.0, 2.0)


def test_dropout3d_errors(device):
    for shape, p, kw in [((), 0.5, {}), ((2, 3, 2, 2, 2), 1.5, {}), ((2, 3, 2, 2, 2), -0.1, {}),
                         ((1, 2, 2, 2), 0.5, dict(dtype="long"))]:
        a = np.ones(shape)
        tt, gt = torch.tensor(a), gpuarr.tensor(a, device=device)
        if kw:
            tt, gt = tt.long(), gt.long()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raises_like(lambda tt=tt, p=p: TF.dropout3d(tt, p),
                        lambda gt=gt, p=p: F.dropout3d(gt, p))
    with pytest.warns(UserWarning):
        assert F.dropout3d(gpuarr.tensor(1.0, device=device), 0.0).item() == 1.0


def test_dropout3d_module():
    assert repr(nn.Dropout3d(0.3)) == repr(torch.nn.Dropout3d(0.3))
    assert repr(nn.Dropout3d(inplace=True)) == repr(torch.nn.Dropout3d(inplace=True))
    raises_like(lambda: torch.nn.Dropout3d(2), lambda: nn.Dropout3d(2))


def test_dropout3d_module_forward(device):
    m = nn.Dropout3d(0.5)
    x = gpuarr.ones(2, 4, 2, 2, 2, device=device)
    gpuarr.manual_seed(2)
    a = m(x)
    gpuarr.manual_seed(2)
    np.testing.assert_array_equal(to_np(a), to_np(F.dropout3d(x, 0.5)))


# --------------------------------------------------------------------------------------------
# feature_alpha_dropout


@pytest.mark.parametrize("dtype", [gpuarr.float32, gpuarr.float64])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_feature_alpha_dropout_values(device, dtype, p):
    """Every (sample, channel) is a*x + b_kept or the dropped constant: torch's numbers."""
    shape = (4, 40, 3, 2)
    tdt = torch.float32 if dtype == gpuarr.float32 else torch.float64
    # torch's own constants, read off its output on zeros (kept: b, dropped: the other)
    tz = TF.feature_alpha_dropout(torch.zeros(shape, dtype=tdt), p, True)
    consts = sorted(set(tz.numpy().ravel().tolist()))
    a, kept, dropped = _alpha_consts(p)
    np.testing.assert_allclose(consts, sorted([kept, dropped]), rtol=1e-6)
    x = rnd(*shape)
    out = to_np(F.feature_alpha_dropout(gpuarr.tensor(x, dtype=dtype, device=device), p, True))
    assert out.dtype == (np.float32 if dtype == gpuarr.float32 else np.float64)
    tol = 1e-6 if dtype == gpuarr.float32 else 1e-12
    flags = []
    for o, xi in zip(_channel_values(out, 2), _channel_values(x, 2)):
        if np.allclose(o, dropped, rtol=tol, atol=tol):
            flags.append(True)
        else:
            np.testing.assert_allclose(o, a * xi + kept, rtol=tol, atol=tol)
            flags.append(False)
    assert abs(np.mean(flags) - p) < 0.15


def test_feature_alpha_dropout_gradients(device):
    x = gpuarr.tensor(rnd(3, 5, 4), device=device, requires_grad=True)
    out = F.feature_alpha_dropout(x, 0.5, True)
    assert out.grad_fn.name() == "AddBackward0"
    out.sum().backward()
    a, _, dropped = _alpha_consts(0.5)
    keep = ~np.isclose(to_np(out), dropped, rtol=1e-12)
    np.testing.assert_allclose(to_np(x.grad), np.where(keep, a, 0.0), rtol=1e-12)

    def f(x):
        gpuarr.manual_seed(4)
        return F.feature_alpha_dropout(x, 0.3, True)

    x = gpuarr.tensor(rnd(2, 3, 2), device=device, requires_grad=True)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_feature_alpha_dropout_identity_and_p_one(device):
    x = gpuarr.tensor(rnd(2, 3, 4), device=device)
    assert F.feature_alpha_dropout(x, 0.5) is x  # training defaults to False
    assert F.feature_alpha_dropout(x, 0.0, True) is x
    one_d = gpuarr.ones(3, device=device)
    assert F.feature_alpha_dropout(one_d, 0.5) is one_d  # no rank check when not training
    t = TF.feature_alpha_dropout(torch.tensor(rnd(2, 3, 4)), 1.0, True)
    np.testing.assert_array_equal(to_np(F.feature_alpha_dropout(x, 1.0, True)), t.numpy())
    ints = gpuarr.ones(2, 3, dtype=gpuarr.int64, device=device)
    assert F.feature_alpha_dropout(ints, 1.0, True).dtype == gpuarr.int64


def test_feature_alpha_dropout_inplace_and_seed(device):
    x = gpuarr.tensor(rnd(2, 6, 3), device=device)
    gpuarr.manual_seed(9)
    ref = F.feature_alpha_dropout(x, 0.5, True)
    y = x.clone()
    gpuarr.manual_seed(9)
    assert F.feature_alpha_dropout(y, 0.5, True, inplace=True) is y
    np.testing.assert_array_equal(to_np(y), to_np(ref))


def test_feature_alpha_dropout_errors(device):
    for a, p, long in [(np.ones(3), 0.5, False), (np.ones((2, 3)), 1.5, False),
                       (np.ones((3, 2)), 0.5, True)]:
        tt, gt = torch.tensor(a), gpuarr.tensor(a, device=device)
        if long:
            tt, gt = tt.long(), gt.long()
        raises_like(lambda tt=tt, p=p: TF.feature_alpha_dropout(tt, p, True),
                    lambda gt=gt, p=p: F.feature_alpha_dropout(gt, p, True))


def test_feature_alpha_dropout_module(device):
    tm, gm = torch.nn.FeatureAlphaDropout(0.2), nn.FeatureAlphaDropout(0.2)
    assert repr(gm) == repr(tm) and gm.training
    x = gpuarr.tensor(rnd(2, 8, 3), device=device)
    gpuarr.manual_seed(5)
    a = gm(x)
    gpuarr.manual_seed(5)
    np.testing.assert_array_equal(to_np(a), to_np(F.feature_alpha_dropout(x, 0.2, True)))
    assert gm.eval()(x) is x
    with pytest.raises(ValueError, match=re.escape("between 0 and 1, but got -1")):
        nn.FeatureAlphaDropout(-1)
