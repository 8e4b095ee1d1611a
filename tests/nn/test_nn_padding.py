"""Padding layers (Zero/Constant/Reflection/Replication/CircularPad 1d-3d) and F.pad's checks
for the non-constant modes, against PyTorch: values, input gradients, reprs and errors."""

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

DTYPES = [gpuarr.float32, gpuarr.float64]
FAMILIES = ["ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"]
MODES = {"ReflectionPad": "reflect", "ReplicationPad": "replicate", "CircularPad": "circular"}


def make(family: str, n: int, padding, value=2.5):
    """The same layer from gpuarr.nn and torch.nn."""
    name = f"{family}{n}d"
    args = (padding, value) if family == "ConstantPad" else (padding,)
    return getattr(nn, name)(*args), getattr(torch.nn, name)(*args)


def compare(gm, tm, x: np.ndarray, device, dtype) -> None:
    """Forward both layers on ``x`` and compare outputs and input gradients."""
    npdt = NP_DT[dtype]
    gx = gpuarr.tensor(x.astype(npdt), device=device, requires_grad=True)
    tx = torch.tensor(x.astype(npdt), requires_grad=True)
    gy, ty = gm(gx), tm(tx)
    assert tuple(gy.shape) == tuple(ty.shape)
    assert gy.dtype == dtype and gy.device == resolved(device)
    np.testing.assert_allclose(to_np(gy), ty.detach().numpy(), **TOL[dtype], err_msg="output")
    w = rnd(*ty.shape, seed=3).astype(npdt)
    (gy * gpuarr.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(gx.grad), tx.grad.numpy(), **TOL[dtype], err_msg="grad")


def same_error(fg, ft) -> None:
    """``ft()`` (torch) raises; ``fg()`` (gpuarr) raises the same exception type and text."""
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(type(te.value), match="^" + re.escape(str(te.value)) + "$"):
        fg()


# (padded dims, padding argument, input shapes: unbatched and batched); amounts are below
# every padded size so all five families take them
LAYER_CASES = [
    (1, 2, [(3, 4), (2, 3, 4)]),
    (1, (3, 1), [(2, 5), (2, 2, 5)]),
    (1, (0, -2), [(2, 2, 4)]),
    (2, 1, [(2, 3, 4), (2, 2, 3, 3)]),
    (2, (1, 2, 0, 2), [(2, 3, 4), (1, 2, 3, 4)]),
    (2, (-1, 0, 2, 1), [(1, 2, 3, 4)]),  # circular: no mixed signs in a dim (see below)
    (3, 1, [(2, 2, 3, 2), (1, 2, 2, 3, 2)]),
    (3, (1, 0, 0, 2, 1, 1), [(1, 2, 3, 3), (2, 1, 2, 3, 3)]),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n,padding,shapes", LAYER_CASES,
                         ids=[f"{c[0]}d-{c[1]}" for c in LAYER_CASES])
def test_layers_match_torch(n, padding, shapes, family, dtype, device):
    gm, tm = make(family, n, padding)
    for shape in shapes:
        compare(gm, tm, rnd(*shape), device, dtype)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_layers_zero_batch(family, n, device):
    gm, tm = make(family, n, 1)
    compare(gm, tm, np.zeros((0, 2) + (3,) * n), device, gpuarr.float32)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
@pytest.mark.parametrize("shape,pad", [((2, 4), (2, 1)), ((1, 3, 4), (1, 2, -1, 2)),
                                       ((2, 2, 2, 3), (1, 1, 0, 1, 1, 0))])
def test_gradcheck_and_gradgradcheck(mode, shape, pad, device):
    x = gpuarr.tensor(rnd(*shape), device=device, requires_grad=True)
    fn = (lambda t: F.pad(t, pad, mode)) if mode != "constant" else \
        (lambda t: F.pad(t, pad, mode, value=0.5))
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("dt", [np.int64, np.float32])
def test_nonconstant_modes_keep_dtype(mode, dt, device):
    x = (np.arange(24).reshape(1, 2, 3, 4) % 7).astype(dt)
    g = F.pad(gpuarr.tensor(x, device=device), (2, 1, 1, 2), mode)
    t = torch.nn.functional.pad(torch.tensor(x), (2, 1, 1, 2), mode)
    assert g.dtype == gpuarr.tensor(x).dtype
    np.testing.assert_array_equal(to_np(g), t.numpy())


def test_reprs_and_attributes():
    for family in FAMILIES:
        for n in (1, 2, 3):
            for padding in (2, tuple(range(2 * n)), list(range(1, 2 * n + 1))):
                gm, tm = make(family, n, padding)
                assert repr(gm) == repr(tm)
                assert gm.padding == tm.padding and isinstance(gm.padding, tuple)
                if family in ("ZeroPad", "ConstantPad"):
                    assert gm.value == tm.value
    assert repr(nn.ConstantPad2d(1, 3)) == repr(torch.nn.ConstantPad2d(1, 3))
    assert nn.ZeroPad1d(1).value == 0.0
    assert isinstance(nn.ZeroPad2d(1), nn.ConstantPad2d)
    assert repr(nn.Sequential(nn.ReflectionPad2d((1, 0, 2, 1)))) == \
        repr(torch.nn.Sequential(torch.nn.ReflectionPad2d((1, 0, 2, 1))))


# (family, padded dims, padding, input shape) that torch rejects
LAYER_ERRORS = [
    # the circular layers check the rank themselves (ValueError)
    ("CircularPad", 1, 1, (4,)),
    ("CircularPad", 1, 1, (1, 1, 2, 4)),
    ("CircularPad", 2, 1, (3, 3)),
    ("CircularPad", 2, 1, (1, 1, 1, 3, 3)),
    ("CircularPad", 3, 1, (2, 3, 3)),
    ("CircularPad", 3, 1, (1, 1, 1, 2, 2, 2)),
    # reflection/replication leave it to F.pad (NotImplementedError)
    ("ReflectionPad", 1, 1, (4,)),
    ("ReflectionPad", 1, 1, (1, 1, 2, 4)),
    ("ReflectionPad", 2, 1, (3, 3)),
    ("ReflectionPad", 2, 1, (1, 1, 1, 3, 3)),
    ("ReflectionPad", 3, 1, (2, 3, 3)),
    ("ReflectionPad", 3, 1, (1, 1, 1, 2, 2, 2)),
    ("ReplicationPad", 1, 1, (4,)),
    ("ReplicationPad", 2, 1, (3, 3)),
    ("ReplicationPad", 3, 1, (1, 1, 1, 2, 2, 2)),
    ("ReflectionPad", 2, (1, 1), (1, 2, 3, 3)),  # a 2-tuple kept as it is
    # constant padding takes any rank with enough dims
    ("ConstantPad", 2, 1, (3,)),
    ("ZeroPad", 3, 1, (2, 2)),
    # amounts
    ("ReflectionPad", 1, 3, (1, 2, 3)),
    ("ReflectionPad", 1, (1, 3), (2, 3)),
    ("ReflectionPad", 2, (1, 1, 3, 0), (1, 1, 3, 3)),
    ("ReflectionPad", 2, 3, (1, 2, 3, 3)),
    ("ReflectionPad", 3, (0, 0, 0, 0, 2, 2), (1, 2, 2, 2)),
    ("ReflectionPad", 1, (-3, 0), (1, 2, 3)),
    ("ReflectionPad", 2, (-3, 0, -3, 0), (1, 3, 3)),
    ("ReflectionPad", 2, (-2, -2, 0, 0), (1, 3, 3)),
    ("ReflectionPad", 3, (-1, -2, 0, 0, 0, 0), (1, 2, 2, 2)),
    ("ReplicationPad", 1, (-3, 0), (1, 2, 3)),
    ("ReplicationPad", 2, (-2, -2, -2, -2), (2, 3, 3)),
    ("ReplicationPad", 2, (0, 0, -2, -2), (2, 3, 3)),
    ("ReplicationPad", 3, -1, (1, 2, 2, 2)),
    ("CircularPad", 1, (4, 0), (1, 2, 3)),
    ("CircularPad", 2, (0, 0, 1, 1), (2, 0, 3)),
    ("CircularPad", 2, (-2, -2, 0, 0), (1, 3, 3)),
    ("ConstantPad", 1, (-2, -2), (1, 2, 3)),
    ("ConstantPad", 1, (5, -4), (1, 2, 3)),
    ("ZeroPad", 2, (-4, 4, 4, 4), (1, 2, 3, 3)),
    # reflection/replication take an empty batch only
    ("ReflectionPad", 1, 1, (1, 0, 3)),
    ("ReflectionPad", 1, 1, (2, 0)),
    ("ReplicationPad", 1, 1, (0, 0, 3)),
    ("ReplicationPad", 2, 1, (1, 2, 3, 0)),
    ("ReflectionPad", 3, 1, (1, 0, 2, 2, 2)),
]


@pytest.mark.parametrize("family,n,padding,shape", LAYER_ERRORS,
                         ids=[f"{c[0]}{c[1]}d-{c[2]}-{c[3]}" for c in LAYER_ERRORS])
def test_layer_errors_match_torch(family, n, padding, shape, device):
    gm, tm = make(family, n, padding)
    x = np.ones(shape, dtype=np.float32)
    same_error(lambda: gm(gpuarr.tensor(x, device=device)), lambda: tm(torch.tensor(x)))


@pytest.mark.parametrize("family", ["ReflectionPad", "ReplicationPad", "CircularPad"])
def test_layer_error_messages(family, device):
    # the messages spelled out, so a wrong text fails even where torch's would change
    gm, _ = make(family, 2, 1)
    if family == "CircularPad":
        with pytest.raises(ValueError, match=r"^expected 3D or 4D input \(got 2D input\)$"):
            gm(gpuarr.ones(3, 3, device=device))
    else:
        with pytest.raises(NotImplementedError,
                           match=r"^Padding size 4 is not supported for 2D input tensor\."):
            gm(gpuarr.ones(3, 3, device=device))
    with pytest.raises(RuntimeError, match=r"Padding size should be less than the "
                                           r"corresponding input dimension, but got: padding "
                                           r"\(3, 3\) at dimension 2 of input \[1, 3, 3\]"):
        nn.ReflectionPad1d(3)(gpuarr.ones(1, 3, 3, device=device))


PAD_ERRORS = [
    (np.ones(3), (1, 1), "reflect", 2.0),  # a value is rejected before the rank
    (np.ones((2, 3)), (1, 1), "replicate", 1.0),
    (np.ones((2, 3)), (1, 2, 3), "foo", None),  # the mode is checked first
    (np.ones((2, 3)), (), "circular", None),
    (np.ones((2, 3, 4, 5, 6, 7)), (1, 1), "reflect", None),
    (np.ones((1, 1, 3), dtype=bool), (1, 1), "reflect", None),
    (np.ones((1, 1, 3), dtype=bool), (1, 1), "replicate", None),
    (np.ones((1, 1, 3), dtype=bool), (5, 5), "reflect", None),  # sizes before dtype
]


@pytest.mark.parametrize("x,p,mode,value", PAD_ERRORS, ids=range(len(PAD_ERRORS)))
def test_f_pad_mode_checks_match_torch(x, p, mode, value, device):
    same_error(lambda: F.pad(gpuarr.tensor(x, device=device), p, mode, value),
               lambda: torch.nn.functional.pad(torch.tensor(x), p, mode, value))


def test_f_pad_value_message(device):
    with pytest.raises(RuntimeError, match='Padding mode "reflect" doesn\'t take in value'):
        F.pad(gpuarr.ones(1, 3, device=device), (1, 1), "reflect", 2.0)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
def test_f_pad_edge_amounts_match_torch(mode, device):
    # zero, cropping-to-empty and mixed amounts that torch takes; circular's mixed-sign
    # crops are left out (torch reads uninitialised memory there)
    cases = [((2, 3), (0, 0)), ((1, 3, 3), (-3, 0, 0, 0)), ((1, 2, 2, 2), (0, 0, -2, 0, 0, 0)),
             ((2, 3, 3), (-1, -1, -1, -1)), ((2, 3, 3), (-3, 1, 0, 0)), ((1, 1, 1), (0, 0)),
             ((1, 2, 3), (2, 2)), ((2, 1, 3), (1, 1, 0, 0))]
    for shape, p in cases:
        if mode == "circular" and min(p) < 0 < max(p):
            continue
        x = rnd(*shape)
        g = F.pad(gpuarr.tensor(x, device=device), p, mode)
        t = torch.nn.functional.pad(torch.tensor(x), p, mode)
        assert tuple(g.shape) == tuple(t.shape), (shape, p)
        np.testing.assert_array_equal(to_np(g), t.numpy())


def test_circular_mixed_sign_crop_is_a_rotation(device):
    x = gpuarr.arange(3.0, device=device).view(1, 1, 3)
    np.testing.assert_array_equal(to_np(F.pad(x, (-2, 1), "circular")), [[[2.0, 0.0]]])
    np.testing.assert_array_equal(to_np(F.pad(x, (1, -2), "circular")), [[[2.0, 0.0]]])
