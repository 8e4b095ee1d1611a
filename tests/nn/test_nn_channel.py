"""local_response_norm / LocalResponseNorm and channel_shuffle / native_channel_shuffle /
ChannelShuffle against PyTorch: values, input gradients, reprs and errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from device_helpers import resolved
from nn_helpers import NP_DT, TOL, rnd, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck

TF = torch.nn.functional
DTYPES = [gpuarr.float32, gpuarr.float64]


def compare(fg, ft, x: np.ndarray, device, dtype, scale=1.0):
    """Run ``fg`` (gpuarr) and ``ft`` (torch) on ``x``; compare outputs and input gradients."""
    npdt = NP_DT[dtype]
    tol = {k: v * scale for k, v in TOL[dtype].items()}
    gx = gpuarr.tensor(x.astype(npdt), device=device, requires_grad=True)
    tx = torch.tensor(x.astype(npdt), requires_grad=True)
    gy, ty = fg(gx), ft(tx)
    assert tuple(gy.shape) == tuple(ty.shape)
    assert gy.dtype == dtype and gy.device == resolved(device)
    np.testing.assert_allclose(to_np(gy), ty.detach().numpy(), **tol, err_msg="output")
    w = rnd(*ty.shape, seed=3).astype(npdt)
    (gy * gpuarr.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), **tol, err_msg="grad")
    return gy


def same_error(fg, ft) -> None:
    """``ft()`` (torch) raises; ``fg()`` (gpuarr) raises the same exception type and text."""
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(type(te.value), match="^" + re.escape(str(te.value)) + "$"):
        fg()


# --------------------------------------------------------------------------------------------
# local response norm

LRN_SHAPES = [(2, 5, 4), (2, 5, 3, 3), (1, 4, 2, 3, 2), (1, 3, 2, 1, 2, 2)]
LRN_ARGS = [dict(size=2), dict(size=3, alpha=0.5, beta=0.9, k=2.0), dict(size=1, alpha=1.0),
            dict(size=7, alpha=0.3, beta=0.5, k=0.5)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("kw", LRN_ARGS, ids=[str(a["size"]) for a in LRN_ARGS])
@pytest.mark.parametrize("shape", LRN_SHAPES, ids=[f"{len(s)}d" for s in LRN_SHAPES])
def test_local_response_norm_matches_torch(shape, kw, dtype, device):
    x = rnd(*shape) * 2  # large enough that the normalisation matters
    compare(lambda t: F.local_response_norm(t, **kw),
            lambda t: TF.local_response_norm(t, **kw), x, device, dtype)
    compare(nn.LocalResponseNorm(**kw), torch.nn.LocalResponseNorm(**kw), x, device, dtype)


@pytest.mark.parametrize("shape", [(2, 4, 3), (1, 3, 2, 2), (1, 3, 2, 1, 2)])
def test_local_response_norm_gradcheck(shape, device):
    x = gpuarr.tensor(rnd(*shape), device=device, requires_grad=True)
    fn = lambda t: F.local_response_norm(t, 3, alpha=0.5, beta=0.6, k=1.5)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_local_response_norm_empty_returns_input(device):
    for shape in [(0, 3, 4), (2, 0, 4), (2, 3, 0, 2)]:
        x = gpuarr.ones(*shape, device=device)
        assert F.local_response_norm(x, 2) is x
        assert TF.local_response_norm(torch.ones(*shape), 2).shape == tuple(x.shape)


@pytest.mark.parametrize("shape,size", [((4,), 2), ((2, 4), 2), ((2, 3, 4), 0),
                                        ((2, 3, 4), -1), ((2, 3, 4, 4), 0), ((2, 3, 4, 4), -1)])
def test_local_response_norm_errors(shape, size, device):
    same_error(lambda: F.local_response_norm(gpuarr.ones(*shape, device=device), size),
               lambda: TF.local_response_norm(torch.ones(*shape), size))


def test_local_response_norm_error_message(device):
    with pytest.raises(ValueError, match=r"Expected 3D or higher dimensionality +input "
                                         r"\(got 2 dimensions\)"):
        nn.LocalResponseNorm(2)(gpuarr.ones(2, 4, device=device))


def test_local_response_norm_repr_and_attributes():
    for args in [(2,), (3, 1e-3, 0.5, 2), (5, 0.1, 1.0, 1.0)]:
        g, t = nn.LocalResponseNorm(*args), torch.nn.LocalResponseNorm(*args)
        assert repr(g) == repr(t)
        assert (g.size, g.alpha, g.beta, g.k) == (t.size, t.alpha, t.beta, t.k)


# --------------------------------------------------------------------------------------------
# channel shuffle

SHUFFLE_CASES = [((2, 6, 3), 2), ((2, 6, 3), 3), ((2, 6, 3), 6), ((2, 6, 3), 1),
                 ((1, 4, 2, 2), 2), ((1, 6, 1, 2, 2), 3), ((1, 4, 1, 1, 1, 2), 2)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape,groups", SHUFFLE_CASES,
                         ids=[f"{len(c[0])}d-g{c[1]}" for c in SHUFFLE_CASES])
def test_channel_shuffle_matches_torch(shape, groups, dtype, device):
    x = rnd(*shape)
    y = compare(lambda t: F.channel_shuffle(t, groups),
                lambda t: TF.channel_shuffle(t, groups), x, device, dtype)
    assert type(y.grad_fn).__name__ == "ChannelShuffleBackward0"
    compare(nn.ChannelShuffle(groups), torch.nn.ChannelShuffle(groups), x, device, dtype)
    g = F.native_channel_shuffle(gpuarr.tensor(x.astype(NP_DT[dtype]), device=device), groups)
    t = TF.native_channel_shuffle(torch.tensor(x.astype(NP_DT[dtype])), groups)
    np.testing.assert_array_equal(to_np(g), t.numpy())


@pytest.mark.parametrize("groups", [2, 3])
def test_channel_shuffle_gradcheck(groups, device):
    x = gpuarr.tensor(rnd(2, 6, 2), device=device, requires_grad=True)
    fn = lambda t: F.channel_shuffle(t, groups)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))
    # the square keeps the second derivative from vanishing identically
    assert gradgradcheck(lambda t: F.channel_shuffle(t * t, groups), (x,))


def test_channel_shuffle_is_a_copy_and_keeps_dtype(device):
    x = gpuarr.arange(8, device=device).view(1, 4, 2)
    y = F.channel_shuffle(x, 1)
    assert y.dtype == gpuarr.int64
    y[0, 0, 0] = 100
    assert int(x[0, 0, 0]) == 0
    b = np.array([True, False, False, True]).reshape(1, 4, 1)
    np.testing.assert_array_equal(
        to_np(F.channel_shuffle(gpuarr.tensor(b, device=device), 2)),
        TF.channel_shuffle(torch.tensor(b), 2).numpy())


@pytest.mark.parametrize("shape", [(0, 4, 2), (1, 4, 0)])
def test_channel_shuffle_empty(shape, device):
    compare(lambda t: F.channel_shuffle(t, 2), lambda t: TF.channel_shuffle(t, 2),
            np.zeros(shape), device, gpuarr.float32)


def test_channel_shuffle_no_channels(device):
    # torch's backward fails here (it shuffles back with 0 groups); gpuarr's gives zeros
    x = gpuarr.zeros(1, 0, 2, device=device, requires_grad=True)
    y = F.channel_shuffle(x, 2)
    assert tuple(y.shape) == tuple(TF.channel_shuffle(torch.zeros(1, 0, 2), 2).shape)
    y.sum().backward()
    assert tuple(x.grad.shape) == (1, 0, 2)


SHUFFLE_ERRORS = [((4,), 2), ((2, 4), 2), ((1, 4, 2), 3), ((1, 4, 2), 8), ((1, 4, 2), 0),
                  ((1, 4, 2), -2), ((1, 0, 2), 0), ((1, 4, 2), 2.0), ((1, 4, 2), True)]


@pytest.mark.parametrize("shape,groups", SHUFFLE_ERRORS)
@pytest.mark.parametrize("name", ["channel_shuffle", "native_channel_shuffle"])
def test_channel_shuffle_errors(name, shape, groups, device):
    fg, ft = getattr(F, name), getattr(TF, name)
    same_error(lambda: fg(gpuarr.ones(*shape, device=device), groups),
               lambda: ft(torch.ones(*shape), groups))


def test_channel_shuffle_error_messages(device):
    with pytest.raises(RuntimeError, match=r"^Number of channels must be divisible by groups\. "
                                           r"Got 4 channels and 3 groups\.$"):
        nn.ChannelShuffle(3)(gpuarr.ones(1, 4, 2, device=device))
    with pytest.raises(TypeError, match="must be Tensor"):
        F.channel_shuffle(np.ones((1, 4, 2)), 2)


def test_channel_shuffle_repr():
    assert repr(nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    assert nn.ChannelShuffle(4).groups == 4
