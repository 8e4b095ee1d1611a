"""``F.affine_grid`` and ``F.grid_sample`` against torch: outputs and gradients (input, grid,
theta) over every mode / padding_mode / align_corners, grids reaching outside [-1, 1],
gradcheck in float64, the defaults' warning and the error texts."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from device_helpers import resolved
from nn_helpers import to_np

import gpuarr
import gpuarr.nn.functional as F
from gpuarr.autograd import gradcheck

MODES = ["bilinear", "nearest", "bicubic"]
PADS = ["zeros", "border", "reflection"]
NP_DT = {"float32": np.float32, "float64": np.float64}
TOL = {"float32": dict(rtol=1e-5, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-10)}


def _pair(a: np.ndarray, device: str):
    return (gpuarr.tensor(a, device=device, requires_grad=True),
            torch.tensor(a, requires_grad=True))


def _compare(fn_g, fn_t, arrays, device, dtype="float64", seed=1):
    """Run both functions on the same arrays, backward one random upstream gradient and
    compare the output and every input gradient."""
    arrays = [np.asarray(a, dtype=NP_DT[dtype]) for a in arrays]
    pairs = [_pair(a, device) for a in arrays]
    out_g = fn_g(*[p[0] for p in pairs])
    out_t = fn_t(*[p[1] for p in pairs])
    assert out_g.device == resolved(device)
    assert tuple(out_g.shape) == tuple(out_t.shape)
    assert str(out_g.dtype).split(".")[-1] == str(out_t.dtype).split(".")[-1]
    np.testing.assert_allclose(to_np(out_g), out_t.detach().numpy(), **TOL[dtype])
    up = np.random.default_rng(seed).standard_normal(tuple(out_t.shape)).astype(NP_DT[dtype])
    (out_g * gpuarr.tensor(up, device=device)).sum().backward()
    (out_t * torch.tensor(up)).sum().backward()
    for i, (g, t) in enumerate(pairs):
        assert g.grad is not None, f"no gradient for input {i}"
        np.testing.assert_allclose(to_np(g.grad), t.grad.numpy(), err_msg=f"grad {i}",
                                   **TOL[dtype])
    return out_g, out_t


def _grid(shape, lo=-1.6, hi=1.6, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def _rnd(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# --------------------------------------------------------------------------------------------
# grid_sample: differential against torch


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("mode", MODES)
def test_grid_sample_2d_matches_torch(mode, padding_mode, align_corners, device):
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    lo, hi = (-2.2, 2.2) if mode == "bicubic" else (-1.6, 1.6)
    grid = _grid((2, 3, 5, 2), lo, hi)
    assert (np.abs(grid) > 1).any()
    _compare(lambda x, g: F.grid_sample(x, g, **kw), lambda x, g: TF.grid_sample(x, g, **kw),
             [_rnd(2, 3, 4, 5), grid], device)


@pytest.mark.parametrize("mode", MODES)
def test_grid_sample_float32_matches_torch(mode, device):
    kw = dict(mode=mode, padding_mode="reflection", align_corners=False)
    _compare(lambda x, g: F.grid_sample(x, g, **kw), lambda x, g: TF.grid_sample(x, g, **kw),
             [_rnd(1, 2, 5, 3), _grid((1, 4, 4, 2), seed=3)], device, dtype="float32")


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_3d_matches_torch(mode, padding_mode, align_corners, device):
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    _compare(lambda x, g: F.grid_sample(x, g, **kw), lambda x, g: TF.grid_sample(x, g, **kw),
             [_rnd(2, 2, 3, 4, 5), _grid((2, 2, 3, 2, 3), seed=5)], device)


@pytest.mark.parametrize("padding_mode", PADS)
def test_grid_sample_unit_spatial_size(padding_mode, device):
    # a size-1 axis makes the reflection span empty under align_corners=True
    kw = dict(mode="bilinear", padding_mode=padding_mode, align_corners=True)
    _compare(lambda x, g: F.grid_sample(x, g, **kw), lambda x, g: TF.grid_sample(x, g, **kw),
             [_rnd(1, 2, 1, 3), _grid((1, 2, 3, 2), seed=2)], device)


def test_grid_sample_nearest_rounds_half_to_even(device):
    # align_corners=True, W=5: x = -0.75, 0.25, 0.75 land exactly on 0.5, 2.5, 3.5
    x = np.arange(5.0).reshape(1, 1, 1, 5)
    pts = np.array([-0.75, 0.25, 0.75, -0.25])
    grid = np.stack([pts, np.zeros(4)], -1).reshape(1, 1, 4, 2)
    out = F.grid_sample(gpuarr.tensor(x, device=device), gpuarr.tensor(grid, device=device),
                        mode="nearest", align_corners=True)
    ref = TF.grid_sample(torch.tensor(x), torch.tensor(grid), mode="nearest",
                         align_corners=True)
    np.testing.assert_array_equal(to_np(out).ravel(), [0.0, 2.0, 4.0, 2.0])
    np.testing.assert_array_equal(to_np(out), ref.numpy())


def test_grid_sample_nearest_gives_grid_a_zero_gradient(device):
    x, g = _pair(_rnd(1, 2, 3, 3), device)[0], _pair(_grid((1, 2, 2, 2)), device)[0]
    F.grid_sample(x, g, mode="nearest", align_corners=False).sum().backward()
    assert g.grad is not None
    np.testing.assert_array_equal(to_np(g.grad), np.zeros((1, 2, 2, 2)))
    assert to_np(x.grad).sum() == pytest.approx(2 * np.count_nonzero(
        to_np(F.grid_sample(gpuarr.ones(1, 1, 3, 3, device=device, dtype=gpuarr.float64),
                            g.detach(), mode="nearest", align_corners=False))))


def test_grid_sample_zeros_padding_far_outside_and_inf(device):
    x = _rnd(1, 1, 3, 3)
    grid = np.array([[[[1e30, 0.0], [0.0, -np.inf], [-3.0, 0.0], [0.0, 0.0]]]])
    for mode in ("bilinear", "nearest"):
        out = F.grid_sample(gpuarr.tensor(x, device=device), gpuarr.tensor(grid, device=device),
                            mode=mode, align_corners=False)
        ref = TF.grid_sample(torch.tensor(x), torch.tensor(grid), mode=mode,
                             align_corners=False)
        # an infinite coordinate gives torch's NaN (bilinear) or 0 (nearest), no crash
        np.testing.assert_allclose(to_np(out), ref.numpy(), atol=1e-12)
        assert to_np(out)[0, 0, 0, [0, 2]].tolist() == [0.0, 0.0]


def test_grid_sample_empty_batch_and_output(device):
    x = gpuarr.zeros(0, 2, 3, 4, device=device)
    assert F.grid_sample(x, gpuarr.zeros(0, 2, 2, 2, device=device),
                         align_corners=False).shape == (0, 2, 2, 2)
    y = gpuarr.ones(1, 2, 3, 4, device=device)
    assert F.grid_sample(y, gpuarr.zeros(1, 0, 2, 2, device=device),
                         align_corners=True).shape == (1, 2, 0, 2)


def test_grid_sample_default_align_corners_warns_and_is_false(device):
    x = gpuarr.tensor(_rnd(1, 1, 3, 3), device=device)
    g = gpuarr.tensor(_grid((1, 2, 2, 2)), device=device)
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
        out = F.grid_sample(x, g)
    np.testing.assert_array_equal(to_np(out), to_np(F.grid_sample(x, g, align_corners=False)))
    assert not np.allclose(to_np(out), to_np(F.grid_sample(x, g, align_corners=True)))


# --------------------------------------------------------------------------------------------
# gradcheck (float64; random grids stay far from the cell edges the finite differences cross)


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADS)
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_grid_sample_gradcheck(mode, padding_mode, align_corners, device):
    x = gpuarr.tensor(_rnd(1, 2, 3, 4), device=device, requires_grad=True)
    g = gpuarr.tensor(_grid((1, 2, 3, 2), seed=7), device=device, requires_grad=True)
    assert gradcheck(lambda a, b: F.grid_sample(a, b, mode=mode, padding_mode=padding_mode,
                                                align_corners=align_corners), (x, g))


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_3d_gradcheck(mode, device):
    x = gpuarr.tensor(_rnd(1, 1, 2, 3, 3), device=device, requires_grad=True)
    g = gpuarr.tensor(_grid((1, 2, 1, 2, 3), seed=4), device=device, requires_grad=True)
    assert gradcheck(lambda a, b: F.grid_sample(a, b, mode=mode, padding_mode="reflection",
                                                align_corners=False), (x, g))


def test_affine_grid_gradcheck(device):
    th = gpuarr.tensor(_rnd(2, 2, 3), device=device, requires_grad=True)
    assert gradcheck(lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=False), (th,))


# --------------------------------------------------------------------------------------------
# affine_grid


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 2, 3, 4), (2, 1, 4, 1)])
def test_affine_grid_matches_torch(size, align_corners, dtype, device):
    theta = _rnd(2, len(size) - 2, len(size) - 1)
    with warnings.catch_warnings():
        # unit-size axes under align_corners=True warn in both libraries
        warnings.simplefilter("ignore")
        _compare(lambda t: F.affine_grid(t, size, align_corners=align_corners),
                 lambda t: TF.affine_grid(t, size, align_corners=align_corners),
                 [theta], device, dtype=dtype)


def test_affine_grid_identity_is_pixel_centres(device):
    theta = gpuarr.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], device=device)
    out = F.affine_grid(theta, (1, 1, 2, 4), align_corners=False)
    np.testing.assert_allclose(to_np(out)[0, 0, :, 0], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(to_np(out)[0, :, 0, 1], [-0.5, 0.5])
    out = F.affine_grid(theta, (1, 1, 2, 4), align_corners=True)
    np.testing.assert_allclose(to_np(out)[0, 0, :, 0], [-1.0, -1 / 3, 1 / 3, 1.0])


@pytest.mark.parametrize("padding_mode", PADS)
def test_spatial_transformer_chain_matches_torch(padding_mode, device):
    def run(lib, x, th):
        grid = lib.affine_grid(th, (2, 2, 3, 4), align_corners=False)
        return lib.grid_sample(x, grid, padding_mode=padding_mode, align_corners=False)

    theta = np.array([[[1.2, 0.3, 0.1], [-0.2, 0.9, 0.4]], [[0.7, -0.5, -0.3], [0.4, 1.3, 0.2]]])
    _compare(lambda x, t: run(F, x, t), lambda x, t: run(TF, x, t),
             [_rnd(2, 2, 5, 4), theta], device)


def test_affine_grid_warnings(device):
    theta = gpuarr.tensor(_rnd(1, 2, 3), device=device)
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
        out = F.affine_grid(theta, (1, 1, 2, 2))
    np.testing.assert_array_equal(
        to_np(out), to_np(F.affine_grid(theta, (1, 1, 2, 2), align_corners=False)))
    with pytest.warns(UserWarning, match="affine_grid behavior has changed for unit-size"):
        F.affine_grid(theta, (1, 1, 1, 2), align_corners=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.affine_grid(theta, (1, 1, 2, 2), align_corners=False)


# --------------------------------------------------------------------------------------------
# errors: same exception type and message as torch


def _arr(shape, dtype="float32"):
    return np.zeros(shape, dtype=dtype)


ERRORS = [
    ("grid_sample", [_arr((1, 2, 3, 4)), _arr((1, 2, 2))], {}),
    ("grid_sample", [_arr((1, 2, 3, 4)), _arr((2, 2, 2, 2))], {}),
    ("grid_sample", [_arr((1, 2, 3, 4)), _arr((1, 2, 2, 3))], {}),
    ("grid_sample", [_arr((1, 2, 3, 4, 5)), _arr((1, 2, 2, 2))], {}),
    ("grid_sample", [_arr((1, 2, 3)), _arr((1, 2, 1))], {}),
    ("grid_sample", [_arr((1, 2, 0, 4)), _arr((1, 2, 2, 2))], {}),
    ("grid_sample", [_arr((1, 2, 3, 4)), _arr((1, 2, 2, 2), "float64")], {}),
    ("grid_sample", [_arr((1, 2, 3, 4), "float64"), _arr((1, 2, 2, 2))], {}),
    ("grid_sample", [_arr((1, 2, 3, 4), "int32"), _arr((1, 2, 2, 2), "int32")], {}),
    ("grid_sample", [_arr((1, 2, 3, 4, 5), "int64"), _arr((1, 2, 2, 2, 3), "int64")], {}),
    ("grid_sample", [_arr((1, 2, 3, 4, 5)), _arr((1, 2, 2, 2, 3))], {"mode": "bicubic"}),
    ("grid_sample", [_arr((1, 2, 3, 4)), _arr((1, 2, 2, 2))], {"mode": "linear"}),
    ("grid_sample", [_arr((1, 2, 3, 4)), _arr((1, 2, 2, 2))], {"padding_mode": "wrap"}),
    ("affine_grid", [_arr((1, 2, 3), "int32")], {"size": (1, 1, 2, 2)}),
    ("affine_grid", [_arr((1, 2, 4))], {"size": (1, 1, 2, 2)}),
    ("affine_grid", [_arr((2, 3))], {"size": (1, 1, 2, 2)}),
    ("affine_grid", [_arr((1, 2, 3))], {"size": (1, 1, 2, 2, 2)}),
    ("affine_grid", [_arr((1, 2, 3))], {"size": (1, 1, 2)}),
    ("affine_grid", [_arr((1, 2, 3))], {"size": (1, 1, 0, 2)}),
    ("affine_grid", [_arr((1, 2, 3))], {"size": (0, 1, 2, 2)}),
    ("affine_grid", [_arr((2, 2, 3))], {"size": (1, 1, 3, 2)}),
]


@pytest.mark.parametrize("name,arrays,kwargs", ERRORS)
def test_errors_match_torch(name, arrays, kwargs, device):
    kwargs = {"align_corners": False, **kwargs}
    with pytest.raises(Exception) as ref:
        getattr(TF, name)(*[torch.tensor(a) for a in arrays], **kwargs)
    msg = str(ref.value).replace("torch.", "gpuarr.")
    with pytest.raises(ref.type, match=f"^{re.escape(msg)}$"):
        getattr(F, name)(*[gpuarr.tensor(a, device=device) for a in arrays], **kwargs)
