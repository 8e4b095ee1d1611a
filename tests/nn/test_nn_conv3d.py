"""Conv3d and F.conv3d against PyTorch: outputs and input / weight / bias gradients over
strides, paddings, dilations, groups and padding modes, batched and unbatched, gradcheck and
gradgradcheck in float64, the module's repr and init, and torch's error types and texts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import compare_module, raises_like, rnd, to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr import nn
from gpuarr.autograd import gradcheck, gradgradcheck

DTYPES = [gpuarr.float32, gpuarr.float64]


CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(1, 2, 3), padding=(1, 0, 2), dilation=(2, 1, 1)),
    dict(padding="same", dilation=(1, 2, 1)),
    dict(padding="valid", bias=False),
    dict(groups=2, stride=(2, 1, 1)),
    dict(groups=4, padding=1, bias=False),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=(1, 0, 2), padding_mode="replicate"),
    dict(padding=(2, 1, 1), padding_mode="circular", groups=2),
    dict(padding="same", padding_mode="circular", kernel_size=(2, 3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_conv3d_module(device, dtype, kw):
    kw = dict(kw)
    k = kw.pop("kernel_size", 3)
    tm = torch.nn.Conv3d(4, 8, k, **kw)
    gm = nn.Conv3d(4, 8, k, **kw)
    compare_module(gm, tm, [rnd(2, 4, 5, 6, 7)], device, dtype)


@pytest.mark.parametrize("shape", [(4, 4, 5, 3), (0, 4, 3, 3, 3), (1, 4, 1, 2, 3)])
def test_conv3d_module_shapes(device, shape):
    """Unbatched, empty-batch and odd-sized inputs."""
    tm = torch.nn.Conv3d(4, 2, (1, 2, 2), padding=(0, 1, 0))
    gm = nn.Conv3d(4, 2, (1, 2, 2), padding=(0, 1, 0))
    out, tout = compare_module(gm, tm, [rnd(*shape)], device, gpuarr.float64)
    assert tuple(out.shape) == tuple(tout.shape)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("kw", [dict(stride=2), dict(padding=(0, 1, 1), dilation=2, groups=3),
                                dict(padding="same")])
def test_conv3d_functional(device, kw):
    x, w, b = rnd(2, 3, 5, 4, 6), rnd(6, 3 // kw.get("groups", 1), 2, 2, 3, seed=1), rnd(6, seed=2)
    tt = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    gt = [gpuarr.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
    to, go = TF.conv3d(*tt, **kw), F.conv3d(*gt, **kw)
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert go.grad_fn.name() == "ConvolutionBackward0"
    u = rnd(*to.shape, seed=3)
    to.backward(torch.tensor(u))
    go.backward(gpuarr.tensor(u, device=device))
    for t, g in zip(tt, gt):
        np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv3d_float32_result_dtype(device):
    x = gpuarr.tensor(rnd(1, 2, 3, 3, 3).astype(np.float32), device=device)
    w = gpuarr.tensor(rnd(1, 2, 2, 2, 2).astype(np.float32), device=device)
    assert F.conv3d(x, w).dtype == gpuarr.float32


@pytest.mark.parametrize("kw", [dict(), dict(stride=(2, 1, 1), padding=1, dilation=(1, 1, 2)),
                                dict(groups=2, padding="same")])
def test_conv3d_gradcheck(device, kw):
    x = gpuarr.tensor(rnd(1, 2, 3, 3, 4), device=device, requires_grad=True)
    w = gpuarr.tensor(rnd(2, 2 // kw.get("groups", 1), 2, 1, 2, seed=1), device=device,
                      requires_grad=True)
    b = gpuarr.tensor(rnd(2, seed=2), device=device, requires_grad=True)

    def f(x, w, b):
        return F.conv3d(x, w, b, **kw)

    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))


def test_conv3d_repr():
    for args, kw in [((2, 4, 3), {}), ((2, 4, (1, 2, 3)), dict(stride=2, padding=1, bias=False)),
                     ((4, 4, 2), dict(dilation=(1, 2, 1), groups=2, padding_mode="reflect")),
                     ((2, 2, 3), dict(padding="same"))]:
        assert repr(nn.Conv3d(*args, **kw)) == repr(torch.nn.Conv3d(*args, **kw))


def test_conv3d_init_bounds():
    m = nn.Conv3d(3, 5, (2, 3, 4))
    assert tuple(m.weight.shape) == (5, 3, 2, 3, 4) and tuple(m.bias.shape) == (5,)
    bound = 1 / np.sqrt(3 * 24)
    w, b = to_np(m.weight), to_np(m.bias)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.std() > bound / 4  # kaiming_uniform(a=sqrt(5)) fills the whole range
    assert nn.Conv3d(3, 5, 2, bias=False).bias is None


@pytest.mark.parametrize("kw", [dict(groups=0), dict(in_channels=3, groups=2),
                                dict(out_channels=3, groups=2), dict(padding="same", stride=2)])
def test_conv3d_module_errors(kw):
    kw = {"in_channels": 4, "out_channels": 4, "kernel_size": 3, **kw}
    raises_like(lambda: torch.nn.Conv3d(**kw), lambda: nn.Conv3d(**kw))


def test_conv3d_module_bad_strings():
    # torch prints the valid choices as a set, whose order varies between runs
    for kw, msg in [(dict(padding="foo"), "Invalid padding string 'foo', should be one of"),
                    (dict(padding_mode="zero"), "padding_mode must be one of")]:
        with pytest.raises(ValueError, match=msg):
            torch.nn.Conv3d(2, 2, 3, **kw)
        with pytest.raises(ValueError, match=msg):
            nn.Conv3d(2, 2, 3, **kw)


ERRORS = [
    ((2, 3, 3), (1, 2, 1, 1, 1), {}),
    ((1, 2, 3, 3, 3), (1, 2, 4, 1, 1), {}),
    ((1, 2, 3, 3, 3), (1, 2, 1, 1, 1), dict(stride=2, padding="same")),
    ((1, 2, 3, 3, 3), (1, 2, 1, 1, 1), dict(padding="foo")),
    ((1, 2, 3, 3, 3), (1, 2, 1, 1, 1), dict(padding=(1, -1, 1))),
    ((1, 2, 3, 3, 3), (1, 2, 1, 1, 1), dict(stride=(1, 0, 1))),
    ((1, 2, 3, 3, 3), (1, 2, 1, 1, 1), dict(dilation=(1, 0, 1))),
    ((1, 2, 3, 3, 3), (1, 2, 1, 1, 1), dict(groups=0)),
    ((1, 2, 3, 3, 3), (1, 3, 1, 1, 1), {}),
    ((1, 2, 3, 3, 3), (3, 1, 1, 1, 1), dict(groups=2)),
    ((1, 2, 3, 3, 3), (2, 1, 1, 1, 1), dict(groups=2, bias=(3,))),
]


@pytest.mark.parametrize("xs,ws,kw", ERRORS)
def test_conv3d_errors(device, xs, ws, kw):
    kw = dict(kw)
    bs = kw.pop("bias", None)
    x, w = rnd(*xs), rnd(*ws)
    b = None if bs is None else rnd(*bs)

    def t():
        return TF.conv3d(torch.tensor(x), torch.tensor(w),
                         None if b is None else torch.tensor(b), **kw)

    def g():
        return F.conv3d(gpuarr.tensor(x, device=device), gpuarr.tensor(w, device=device),
                        None if b is None else gpuarr.tensor(b, device=device), **kw)

    raises_like(t, g)


def test_conv3d_dtype_mismatch(device):
    x = gpuarr.tensor(rnd(1, 2, 3, 3, 3), device=device)
    w = gpuarr.tensor(rnd(1, 2, 1, 1, 1).astype(np.float32), device=device)
    raises_like(lambda: TF.conv3d(torch.tensor(rnd(1, 2, 3, 3, 3)),
                                  torch.tensor(rnd(1, 2, 1, 1, 1).astype(np.float32))),
                lambda: F.conv3d(x, w))
