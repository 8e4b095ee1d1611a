"""ConvTranspose3d and F.conv_transpose3d against PyTorch: outputs and input / weight / bias
gradients over strides, paddings, dilations, output paddings and groups, batched, unbatched and
empty inputs, the module's output_size argument, gradcheck and gradgradcheck in float64, int64
inputs, the repr and init, and torch's error types and texts."""

from __future__ import annotations

import re

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
    dict(stride=2, output_padding=1),
    dict(stride=(1, 2, 3), padding=(1, 0, 2), dilation=(2, 1, 1), output_padding=(1, 1, 2)),
    dict(dilation=2, output_padding=(1, 0, 1), bias=False),
    dict(groups=2, stride=(2, 1, 1)),
    dict(groups=4, padding=1, bias=False, kernel_size=(1, 2, 3)),
]


def _ids(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items()) or "default"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CASES, ids=_ids)
def test_conv_transpose3d_module(device, dtype, kw):
    kw = dict(kw)
    k = kw.pop("kernel_size", 3)
    tm = torch.nn.ConvTranspose3d(4, 8, k, **kw)
    gm = nn.ConvTranspose3d(4, 8, k, **kw)
    compare_module(gm, tm, [rnd(2, 4, 3, 4, 5)], device, dtype)


@pytest.mark.parametrize("shape", [(4, 3, 2, 3), (0, 4, 3, 3, 3), (1, 4, 1, 2, 1)])
def test_conv_transpose3d_module_shapes(device, shape):
    """Unbatched, empty-batch and single-voxel inputs."""
    tm = torch.nn.ConvTranspose3d(4, 2, (1, 2, 2), stride=(1, 2, 1), padding=(0, 1, 0))
    gm = nn.ConvTranspose3d(4, 2, (1, 2, 2), stride=(1, 2, 1), padding=(0, 1, 0))
    out, tout = compare_module(gm, tm, [rnd(*shape)], device, gpuarr.float64)
    assert tuple(out.shape) == tuple(tout.shape)


def test_conv_transpose3d_output_too_small(device):
    """torch's own kernel (float64 here) refuses an output with an empty dim."""
    x, w = rnd(1, 2, 3, 3, 3), rnd(2, 1, 2, 2, 2, seed=1)
    for pad in (2, 3):
        raises_like(lambda p=pad: TF.conv_transpose3d(torch.tensor(x), torch.tensor(w), padding=p),
                    lambda p=pad: F.conv_transpose3d(gpuarr.tensor(x, device=device),
                                                     gpuarr.tensor(w, device=device), padding=p))


def test_conv_transpose3d_empty_batch_empty_output(device):
    x, w = rnd(0, 2, 1, 2, 3), rnd(2, 1, 2, 2, 1, seed=1)
    kw = dict(stride=(2, 2, 1), padding=(1, 0, 0), output_padding=(0, 1, 1), dilation=(1, 1, 2))
    to = TF.conv_transpose3d(torch.tensor(x), torch.tensor(w), **kw)
    go = F.conv_transpose3d(gpuarr.tensor(x, device=device), gpuarr.tensor(w, device=device),
                            **kw)
    assert tuple(go.shape) == tuple(to.shape) == (0, 1, 0, 5, 4)


@pytest.mark.parametrize("kw", [dict(stride=2, output_padding=(1, 0, 1)),
                                dict(padding=(0, 1, 1), dilation=2, groups=3),
                                dict(stride=(3, 1, 2), dilation=(1, 2, 1))])
def test_conv_transpose3d_functional(device, kw):
    g = kw.get("groups", 1)
    x, w, b = rnd(2, 3, 3, 4, 2), rnd(3, 2, 2, 2, 3, seed=1), rnd(2 * g, seed=2)
    tt = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    gt = [gpuarr.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
    to, go = TF.conv_transpose3d(*tt, **kw), F.conv_transpose3d(*gt, **kw)
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert go.grad_fn.name() == "ConvolutionBackward0"
    u = rnd(*to.shape, seed=3)
    to.backward(torch.tensor(u))
    go.backward(gpuarr.tensor(u, device=device))
    for t, a in zip(tt, gt):
        np.testing.assert_allclose(to_np(a.grad), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose3d_no_bias_and_partial_grads(device):
    """Only the weight needs a gradient; no bias."""
    x, w = rnd(1, 2, 2, 3, 2), rnd(2, 3, 2, 2, 2, seed=1)
    tw = torch.tensor(w, requires_grad=True)
    gw = gpuarr.tensor(w, device=device, requires_grad=True)
    to = TF.conv_transpose3d(torch.tensor(x), tw, stride=2)
    go = F.conv_transpose3d(gpuarr.tensor(x, device=device), gw, stride=2)
    to.sum().backward()
    go.sum().backward()
    np.testing.assert_allclose(to_np(gw.grad), tw.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose3d_float32_result_dtype(device):
    x = gpuarr.tensor(rnd(1, 2, 3, 3, 3).astype(np.float32), device=device)
    w = gpuarr.tensor(rnd(2, 1, 2, 2, 2).astype(np.float32), device=device)
    assert F.conv_transpose3d(x, w).dtype == gpuarr.float32


def test_conv_transpose3d_int64(device):
    """torch's CPU kernel also takes int64 (exact integer arithmetic)."""
    x = np.arange(2 * 2 * 2 * 3 * 2).reshape(2, 2, 2, 3, 2) % 7 - 3
    w = np.arange(2 * 3 * 2 * 2 * 1).reshape(2, 3, 2, 2, 1) % 5 - 2
    b = np.array([1, -2, 3])
    to = TF.conv_transpose3d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=2)
    go = F.conv_transpose3d(*(gpuarr.tensor(a, device=device) for a in (x, w, b)), stride=2)
    assert go.dtype == gpuarr.int64
    np.testing.assert_array_equal(to_np(go), to.numpy())


@pytest.mark.parametrize("kw", [dict(), dict(stride=(2, 1, 2), padding=1, output_padding=(1, 0, 0)),
                                dict(groups=2, dilation=(1, 1, 2))])
def test_conv_transpose3d_gradcheck(device, kw):
    x = gpuarr.tensor(rnd(1, 2, 2, 3, 2), device=device, requires_grad=True)
    w = gpuarr.tensor(rnd(2, 2 // kw.get("groups", 1), 2, 1, 2, seed=1), device=device,
                      requires_grad=True)
    b = gpuarr.tensor(rnd(2, seed=2), device=device, requires_grad=True)

    def f(x, w, b):
        return F.conv_transpose3d(x, w, b, **kw)

    assert gradcheck(f, (x, w, b))
    assert gradgradcheck(f, (x, w, b))


@pytest.mark.parametrize("output_size", [(6, 8, 9), [2, 2, 6, 8, 10], (5, 7, 11)])
def test_conv_transpose3d_output_size(device, output_size):
    tm = torch.nn.ConvTranspose3d(2, 2, 3, stride=(2, 2, 3), padding=1, dilation=(1, 1, 2))
    gm = nn.ConvTranspose3d(2, 2, 3, stride=(2, 2, 3), padding=1, dilation=(1, 1, 2))
    gm.to(device=device, dtype=gpuarr.float64)
    tm.double()
    gm.load_state_dict({k: gpuarr.tensor(v.detach().numpy(), device=device)
                        for k, v in tm.state_dict().items()})
    x = rnd(2, 2, 3, 4, 3)
    to = tm(torch.tensor(x), output_size=output_size)
    go = gm(gpuarr.tensor(x, device=device), output_size=output_size)
    assert tuple(go.shape) == tuple(to.shape)
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose3d_unbatched_output_size(device):
    tm = torch.nn.ConvTranspose3d(2, 1, 2, stride=2).double()
    gm = nn.ConvTranspose3d(2, 1, 2, stride=2).to(device=device, dtype=gpuarr.float64)
    gm.load_state_dict({k: gpuarr.tensor(v.detach().numpy(), device=device)
                        for k, v in tm.state_dict().items()})
    x = rnd(2, 3, 2, 2)
    to = tm(torch.tensor(x), output_size=(1, 7, 4, 5))
    go = gm(gpuarr.tensor(x, device=device), output_size=(1, 7, 4, 5))
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("output_size", [(8, 8, 8), (7, 8), (2, 3, 9, 8, 8)])
def test_conv_transpose3d_output_size_errors(output_size):
    args = (4, 6, 3)
    kw = dict(stride=2, groups=2, output_padding=1, dilation=(1, 2, 1), padding=(0, 1, 1))
    x = rnd(2, 4, 3, 3, 3)
    with pytest.raises(ValueError) as te:
        torch.nn.ConvTranspose3d(*args, **kw)(torch.tensor(x).float(), output_size=output_size)
    # the same text, with gpuarr's Size where torch prints its own
    msg = str(te.value).replace("torch.Size", "gpuarr.Size")
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        nn.ConvTranspose3d(*args, **kw)(gpuarr.tensor(x).float(), output_size=output_size)


def test_conv_transpose3d_repr():
    for args, kw in [((2, 4, 3), {}), ((2, 4, (1, 2, 3)), dict(stride=2, padding=1, bias=False)),
                     ((4, 6, 3), dict(dilation=(1, 2, 1), groups=2, output_padding=(1, 0, 1),
                                      stride=2))]:
        assert repr(nn.ConvTranspose3d(*args, **kw)) == repr(torch.nn.ConvTranspose3d(*args, **kw))


def test_conv_transpose3d_init():
    m = nn.ConvTranspose3d(3, 4, (2, 3, 4), groups=1)
    assert tuple(m.weight.shape) == (3, 4, 2, 3, 4) and tuple(m.bias.shape) == (4,)
    # torch's fan_in for a transposed weight is its dim 1 times the kernel
    bound = 1 / np.sqrt(4 * 24)
    w, b = to_np(m.weight), to_np(m.bias)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.std() > bound / 4
    assert nn.ConvTranspose3d(2, 2, 2, bias=False).bias is None


@pytest.mark.parametrize("kw", [dict(groups=0), dict(in_channels=3, groups=2),
                                dict(out_channels=3, groups=2), dict(padding_mode="reflect")])
def test_conv_transpose3d_module_errors(kw):
    kw = {"in_channels": 4, "out_channels": 4, "kernel_size": 3, **kw}
    raises_like(lambda: torch.nn.ConvTranspose3d(**kw), lambda: nn.ConvTranspose3d(**kw))


ERRORS = [
    ((3, 3, 3), (2, 1, 1, 1, 1), {}),
    ((1, 2, 3, 3, 3), (2, 1, 1, 1, 1), dict(stride=(1, 0, 1))),
    ((1, 2, 3, 3, 3), (2, 1, 1, 1, 1), dict(stride=(1, 2))),
    ((1, 2, 3, 3, 3), (2, 1, 1, 1, 1), dict(padding=(1, -1, 1))),
    ((1, 2, 3, 3, 3), (2, 1, 1, 1, 1), dict(output_padding=-1)),
    ((1, 2, 3, 3, 3), (2, 1, 1, 1, 1), dict(stride=2, output_padding=(1, 2, 0))),
    ((1, 2, 3, 3, 3), (2, 1, 1, 1, 1), dict(groups=0)),
    ((1, 2, 3, 3, 3), (2, 1, 1, 1, 1), dict(groups=3)),
    ((1, 2, 3, 3, 3), (0, 1, 1, 1, 1), {}),
    ((1, 4, 3, 3, 3), (3, 1, 1, 1, 1), {}),
    ((1, 2, 3, 3, 3), (2, 3, 1, 1, 1), dict(bias=(2,))),
    ((1, 2, 3, 3, 3), (2, 3, 1, 1, 1), dict(bias=(3, 1))),
]


@pytest.mark.parametrize("xs,ws,kw", ERRORS)
def test_conv_transpose3d_errors(device, xs, ws, kw):
    kw = dict(kw)
    bs = kw.pop("bias", None)
    x, w = rnd(*xs), rnd(*ws)
    b = None if bs is None else rnd(*bs)

    def t():
        return TF.conv_transpose3d(torch.tensor(x), torch.tensor(w),
                                   None if b is None else torch.tensor(b), **kw)

    def g():
        return F.conv_transpose3d(gpuarr.tensor(x, device=device),
                                  gpuarr.tensor(w, device=device),
                                  None if b is None else gpuarr.tensor(b, device=device), **kw)

    raises_like(t, g)


def test_conv_transpose3d_weight_rank(device):
    # (torch complains about the stride's length here, its weight's rank being the mistake)
    with pytest.raises(RuntimeError, match="^weight should have 5 dimensions for "
                                           "conv_transpose3d, but got weight of size"):
        F.conv_transpose3d(gpuarr.tensor(rnd(1, 2, 3, 3, 3), device=device),
                           gpuarr.tensor(rnd(2, 1, 1, 1), device=device))


def test_conv_transpose3d_bad_dtypes(device):
    x64, w64 = rnd(1, 2, 2, 2, 2), rnd(2, 1, 1, 1, 1)
    msg = (r"^Input type \(gpuarr.(cuda.)?DoubleTensor\) and weight type "
           r"\(gpuarr.(cuda.)?FloatTensor\) should be the same")
    with pytest.raises(RuntimeError, match=msg):
        F.conv_transpose3d(gpuarr.tensor(x64, device=device).double(),
                           gpuarr.tensor(w64, device=device).float())
    raises_like(lambda: TF.conv_transpose3d(torch.tensor(x64).long(), torch.tensor(w64)),
                lambda: F.conv_transpose3d(gpuarr.tensor(x64, device=device).long(),
                                           gpuarr.tensor(w64, device=device)))
    with pytest.raises(NotImplementedError, match="not implemented for 'Int'"):
        TF.conv_transpose3d(torch.tensor(x64).int(), torch.tensor(w64).int())
    with pytest.raises(NotImplementedError, match="not implemented for 'Int'"):
        F.conv_transpose3d(gpuarr.tensor(x64, device=device).int(),
                           gpuarr.tensor(w64, device=device).int())
    with pytest.raises(TypeError, match="^conv_transpose3d\\(\\): argument 'weight'"):
        F.conv_transpose3d(gpuarr.tensor(x64, device=device), 3)
