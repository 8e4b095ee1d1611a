"""instance_norm / rms_norm / cosine_similarity, pixel_(un)shuffle, unfold / fold,
interpolate, conv_transpose1d/2d and their layers, against torch (outputs and gradients) and
gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_helpers import compare_module, to_np

import gpuarr
import gpuarr.nn as nn
import gpuarr.nn.functional as F
from gpuarr.autograd import gradcheck

DTYPES = [gpuarr.float32, gpuarr.float64]
TDT = {gpuarr.float32: torch.float32, gpuarr.float64: torch.float64}
NDT = {gpuarr.float32: np.float32, gpuarr.float64: np.float64}
TOL = {gpuarr.float32: 2e-5, gpuarr.float64: 1e-10}


def _cmp(gfn, tfn, arrays, device, dtype, rg=None, tol_scale=1.0):
    """Run ``gfn`` / ``tfn`` on the same float arrays, compare the output and the gradients of
    a random projection of it."""
    rg = [True] * len(arrays) if rg is None else rg
    ga = [gpuarr.tensor(a.astype(NDT[dtype]), device=device, requires_grad=r)
          for a, r in zip(arrays, rg)]
    ta = [torch.tensor(a.astype(NDT[dtype]), requires_grad=r) for a, r in zip(arrays, rg)]
    go, to = gfn(*ga), tfn(*ta)
    tol = TOL[dtype] * tol_scale
    assert tuple(go.shape) == tuple(to.shape)
    np.testing.assert_allclose(to_np(go), to.detach().numpy(), rtol=tol, atol=tol)
    w = np.random.default_rng(1).standard_normal(tuple(to.shape)).astype(NDT[dtype])
    (to * torch.tensor(w)).sum().backward()
    (go * gpuarr.tensor(w, device=device)).sum().backward()
    for i, (g, t) in enumerate(zip(ga, ta)):
        if t.requires_grad:
            np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), rtol=tol, atol=tol,
                                       err_msg=f"grad {i}")
    return go


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _gc(fn, arrays, device):
    ts = tuple(gpuarr.tensor(a.astype(np.float64), device=device, requires_grad=True)
               for a in arrays)
    assert gradcheck(fn, ts)


# ---------------------------------------------------------------------------- norms

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4), (2, 2, 2, 3, 3)])
def test_instance_norm_affine(device, dtype, shape):
    c = shape[1]
    _cmp(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
         lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
         [_rand(*shape), _rand(c, seed=1), _rand(c, seed=2)], device, dtype)
    _cmp(F.instance_norm, TF.instance_norm, [_rand(*shape)], device, dtype)


def test_instance_norm_gradcheck(device):
    _gc(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
        [_rand(2, 3, 4), _rand(3, seed=1), _rand(3, seed=2)], device)


@pytest.mark.parametrize("cls", ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"])
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True),
                                          (False, True)])
def test_instance_norm_modules(device, cls, affine, track):
    nd = {"InstanceNorm1d": 1, "InstanceNorm2d": 2, "InstanceNorm3d": 3}[cls]
    gm = getattr(nn, cls)(3, affine=affine, track_running_stats=track, momentum=0.3)
    tm = getattr(torch.nn, cls)(3, affine=affine, track_running_stats=track, momentum=0.3)
    if affine:
        with torch.no_grad():
            tm.weight.normal_()
            tm.bias.normal_()
    x = _rand(2, 3, *([4] * nd))
    compare_module(gm, tm, [x], device, gpuarr.float64)
    if track:
        np.testing.assert_allclose(to_np(gm.running_mean), tm.running_mean.numpy(), rtol=1e-10)
        np.testing.assert_allclose(to_np(gm.running_var), tm.running_var.numpy(), rtol=1e-10)
        gm.eval()
        tm.eval()
        compare_module(gm, tm, [x * 2 + 1], device, gpuarr.float64)
    gm.train()
    tm.train()
    compare_module(gm, tm, [_rand(3, *([4] * nd))], device, gpuarr.float64)  # unbatched


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ns,eps", [((6,), None), ((4, 6), None), ((6,), 1e-3)])
def test_rms_norm(device, dtype, ns, eps):
    x = _rand(3, 4, 6)
    _cmp(lambda a, w: F.rms_norm(a, ns, w, eps), lambda a, w: TF.rms_norm(a, ns, w, eps),
         [x, _rand(*ns, seed=3)], device, dtype)
    _cmp(lambda a: F.rms_norm(a, ns, eps=eps), lambda a: TF.rms_norm(a, ns, eps=eps),
         [x], device, dtype)


def test_rms_norm_gradcheck_and_module(device):
    _gc(lambda a, w: F.rms_norm(a, (5,), w), [_rand(3, 5), _rand(5, seed=1)], device)
    for aff in (True, False):
        gm, tm = nn.RMSNorm((4, 5), elementwise_affine=aff), torch.nn.RMSNorm(
            (4, 5), elementwise_affine=aff)
        if aff:
            with torch.no_grad():
                tm.weight.normal_()
        compare_module(gm, tm, [_rand(2, 4, 5)], device, gpuarr.float64)
        assert (gm.weight is None) == (tm.weight is None)


def test_rms_norm_half(device):
    x = _rand(3, 8).astype(np.float16)
    g = F.rms_norm(gpuarr.tensor(x, device=device), (8,))
    t = TF.rms_norm(torch.tensor(x), (8,))
    assert g.dtype == gpuarr.float16
    np.testing.assert_allclose(to_np(g).astype(np.float32), t.float().numpy(), rtol=2e-3,
                               atol=2e-3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_cosine_similarity(device, dtype, dim):
    _cmp(lambda a, b: F.cosine_similarity(a, b, dim), lambda a, b: TF.cosine_similarity(a, b, dim),
         [_rand(3, 4, 5), _rand(3, 4, 5, seed=1)], device, dtype)


def test_cosine_similarity_broadcast_tiny_and_gradcheck(device):
    a, b = _rand(3, 1, 5), _rand(1, 4, 5, seed=1)
    a[0] *= 1e-9  # norm below eps: clamped, torch's gradient
    _cmp(lambda x, y: F.cosine_similarity(x, y, -1, eps=1e-6),
         lambda x, y: TF.cosine_similarity(x, y, -1, eps=1e-6), [a, b], device, gpuarr.float64)
    _gc(lambda x, y: F.cosine_similarity(x, y), [_rand(2, 4), _rand(2, 4, seed=1)], device)


# ---------------------------------------------------------------------------- pixel shuffle

@pytest.mark.parametrize("dtype", DTYPES)
def test_pixel_shuffle(device, dtype):
    _cmp(lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2),
         [_rand(2, 8, 3, 4)], device, dtype)
    _cmp(lambda x: F.pixel_unshuffle(x, 3), lambda x: TF.pixel_unshuffle(x, 3),
         [_rand(2, 1, 2, 6, 9)], device, dtype)
    x = gpuarr.tensor(_rand(1, 2, 4, 6), device=device)
    np.testing.assert_array_equal(to_np(nn.PixelShuffle(2)(nn.PixelUnshuffle(2)(x))), to_np(x))
    with pytest.raises(RuntimeError):
        F.pixel_shuffle(gpuarr.zeros(1, 3, 2, 2, device=device), 2)


# ---------------------------------------------------------------------------- unfold / fold

GEOMS = [dict(kernel_size=3), dict(kernel_size=(2, 3), stride=2, padding=1),
         dict(kernel_size=2, dilation=2, padding=(0, 1), stride=(1, 2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", GEOMS)
def test_unfold_fold(device, dtype, kw):
    x = _rand(2, 3, 6, 7)
    cols = _cmp(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x], device, dtype)
    _cmp(lambda a: F.fold(a, (6, 7), **kw), lambda a: TF.fold(a, (6, 7), **kw),
         [_rand(*cols.shape, seed=4)], device, dtype)
    _cmp(lambda a: nn.Unfold(**kw)(a), lambda a: torch.nn.Unfold(**kw)(a), [x[0]], device,
         dtype)


def test_unfold_fold_gradcheck(device):
    kw = dict(kernel_size=2, stride=1, padding=1, dilation=2)
    _gc(lambda a: F.unfold(a, **kw), [_rand(1, 2, 3, 4)], device)
    n = F.unfold(gpuarr.zeros(1, 2, 3, 4), **kw).shape
    _gc(lambda a: F.fold(a, (3, 4), **kw), [_rand(*n)], device)
    # second order through the adjoint pair
    x = gpuarr.tensor(_rand(1, 1, 3, 3), device=device, requires_grad=True)
    y = (F.unfold(x, 2) ** 2).sum()
    (gx,) = gpuarr.autograd.grad(y, x, create_graph=True)
    gx.sum().backward()
    tx = torch.tensor(_rand(1, 1, 3, 3), requires_grad=True)
    (tgx,) = torch.autograd.grad((TF.unfold(tx, 2) ** 2).sum(), tx, create_graph=True)
    tgx.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------------------- interpolate

INTERP = [
    ("nearest", 3, dict(size=7)), ("nearest", 4, dict(scale_factor=2)),
    ("nearest", 4, dict(size=(3, 10))), ("nearest", 4, dict(scale_factor=(0.5, 1.7))),
    ("nearest-exact", 4, dict(size=(3, 10))), ("nearest-exact", 5, dict(scale_factor=1.5)),
    ("linear", 3, dict(size=9, align_corners=False)), ("linear", 3, dict(size=3,
                                                                        align_corners=True)),
    ("bilinear", 4, dict(size=(7, 3), align_corners=False)),
    ("bilinear", 4, dict(size=(7, 3), align_corners=True)),
    ("bilinear", 4, dict(scale_factor=(1.5, 2.3), align_corners=False)),
    ("bilinear", 4, dict(scale_factor=2, align_corners=False, recompute_scale_factor=True)),
    ("bicubic", 4, dict(size=(9, 4), align_corners=False)),
    ("bicubic", 4, dict(scale_factor=1.7, align_corners=True)),
    ("trilinear", 5, dict(size=(3, 5, 6), align_corners=False)),
    # an unchanged axis is copied whatever the scale; nearest 2x is exact
    ("nearest", 4, dict(scale_factor=(1.12, 2.1))), ("nearest-exact", 4,
                                                    dict(scale_factor=(2.1, 1.1))),
    ("bilinear", 4, dict(scale_factor=(1.45, 1.12))),
    # (fwd: torch's own backward disagrees with its forward's finite differences here, so
    # only the forward is compared; gpuarr's gradient is gradchecked below)
    ("bicubic", 4, dict(scale_factor=(1.12, 1.1), fwd=True)),
    ("nearest", 3, dict(scale_factor=1.15, fwd=True)),
    ("nearest", 5, dict(scale_factor=(1.1, 2.1, 1.2), fwd=True)),
    ("linear", 3, dict(scale_factor=1.1)), ("trilinear", 5, dict(scale_factor=(1.1, 1.5, 1.2))),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,nd,kw", INTERP)
def test_interpolate(device, dtype, mode, nd, kw):
    shape = (2, 3, 5, 6, 4)[:nd]
    kw = dict(kw)
    if kw.pop("fwd", False):
        x = _rand(*shape).astype(NDT[dtype])
        np.testing.assert_allclose(
            to_np(F.interpolate(gpuarr.tensor(x, device=device), mode=mode, **kw)),
            TF.interpolate(torch.tensor(x), mode=mode, **kw).numpy(), rtol=TOL[dtype],
            atol=TOL[dtype])
        _gc(lambda a: F.interpolate(a, mode=mode, **kw), [_rand(1, 2, *[3] * (nd - 2))],
            device)
        return
    _cmp(lambda a: F.interpolate(a, mode=mode, **kw),
         lambda a: TF.interpolate(a, mode=mode, **kw), [_rand(*shape)], device, dtype)


def test_interpolate_gradcheck_and_upsample(device):
    _gc(lambda a: F.interpolate(a, size=(4, 5), mode="bilinear"), [_rand(1, 1, 3, 3)], device)
    _gc(lambda a: F.interpolate(a, scale_factor=1.5, mode="bicubic", align_corners=True),
        [_rand(1, 1, 3, 3)], device)
    for gm, tm in [(nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
                   (nn.Upsample(size=(5, 3), mode="bilinear"),
                    torch.nn.Upsample(size=(5, 3), mode="bilinear")),
                   (nn.UpsamplingBilinear2d(scale_factor=2),
                    torch.nn.UpsamplingBilinear2d(scale_factor=2)),
                   (nn.UpsamplingNearest2d(size=5), torch.nn.UpsamplingNearest2d(size=5))]:
        compare_module(gm, tm, [_rand(1, 2, 3, 4)], device, gpuarr.float64)


# ---------------------------------------------------------------------------- conv transpose

CT2 = [dict(), dict(stride=2), dict(stride=(2, 3), padding=1, output_padding=(1, 2)),
       dict(stride=2, padding=(0, 1), dilation=2, output_padding=1, groups=2),
       dict(groups=2, padding=1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CT2)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d(device, dtype, kw, bias):
    arrs = [_rand(2, 4, 4, 5), _rand(4, 3, 3, 2, seed=1)] + ([_rand(6 if kw.get("groups")
                                                                    else 3, seed=2)]
                                                            if bias else [])
    if not kw.get("groups"):
        arrs[1] = _rand(4, 3, 3, 2, seed=1)
    _cmp(lambda *a: F.conv_transpose2d(*a, **kw), lambda *a: TF.conv_transpose2d(*a, **kw),
         arrs, device, dtype, tol_scale=5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(stride=3, padding=1, output_padding=2),
                                dict(groups=2, dilation=2, stride=2, output_padding=1)])
def test_conv_transpose1d(device, dtype, kw):
    _cmp(lambda *a: F.conv_transpose1d(*a, **kw), lambda *a: TF.conv_transpose1d(*a, **kw),
         [_rand(2, 4, 6), _rand(4, 3, 3, seed=1), _rand(3 * kw.get("groups", 1), seed=2)],
         device, dtype, tol_scale=5)


def test_conv_transpose_gradcheck(device):
    _gc(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [_rand(1, 2, 3, 3), _rand(2, 2, 2, 3, seed=1), _rand(2, seed=2)], device)
    _gc(lambda x, w: F.conv_transpose1d(x, w, groups=2, stride=2),
        [_rand(1, 2, 4), _rand(2, 1, 3, seed=1)], device)


def test_conv_transpose_modules(device):
    gpuarr.manual_seed(0)
    tm = torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1,
                                  groups=2)
    gm = nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2)
    assert tuple(gm.weight.shape) == tuple(tm.weight.shape) == (4, 3, 3, 2)
    bound = 1 / np.sqrt(3 * 3 * 2)  # torch's init: fan_in from weight.size(1) * kernel
    assert float(gm.weight.abs().max()) <= bound + 1e-6
    assert float(gm.bias.abs().max()) <= bound + 1e-6
    compare_module(gm, tm, [_rand(2, 4, 5, 5)], device, gpuarr.float64)
    tm1 = torch.nn.ConvTranspose1d(2, 3, 3, stride=2, bias=False)
    gm1 = nn.ConvTranspose1d(2, 3, 3, stride=2, bias=False)
    compare_module(gm1, tm1, [_rand(2, 2, 5)], device, gpuarr.float64)
    # output_size picks output_padding
    gm.to(dtype=gpuarr.float64)
    x = gpuarr.tensor(_rand(1, 4, 5, 5), device=device)
    tx = torch.tensor(_rand(1, 4, 5, 5))
    assert tuple(gm(x, output_size=(10, 9)).shape) == tuple(tm(tx, output_size=(10, 9)).shape)


@pytest.mark.parametrize("kw", [{}, dict(affine=True), dict(affine=True, bias=False),
                                dict(track_running_stats=True, bias=False)], ids=str)
def test_instance_norm_bias_keyword(kw):
    """InstanceNorm's keyword-only ``bias`` (torch 2.13): parameters and repr as torch's."""
    for n in (1, 2, 3):
        g = getattr(nn, f"InstanceNorm{n}d")(4, **kw)
        t = getattr(torch.nn, f"InstanceNorm{n}d")(4, **kw)
        assert repr(g) == repr(t)
        assert [k for k, _ in g.named_parameters()] == [k for k, _ in t.named_parameters()]
