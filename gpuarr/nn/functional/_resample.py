"""Resampling and patch ops: ``pixel_shuffle``/``pixel_unshuffle``, ``unfold``/``fold``
(im2col / col2im) and ``interpolate`` ('nearest', 'nearest-exact', 'linear', 'bilinear',
'bicubic', 'trilinear').

``unfold`` and ``fold`` are raw Functions that are each other's adjoint, so both are
differentiable to any order. ``interpolate`` is separable: one 1-D resampling per spatial dim,
each a weighted sum of ``take``s along that dim (differentiable through autograd).
"""

from __future__ import annotations

import math

import numpy as np

from ..._autocast import state as _amp
from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...backends import of_module
from ._misc import _take
from ._utils import apply_raw, check_tensor, pair

__all__ = ["pixel_shuffle", "pixel_unshuffle", "unfold", "fold", "interpolate", "upsample"]


# --------------------------------------------------------------------------------------------
# pixel shuffle


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C*r*r, H, W) into (*, C, H*r, W*r).

    Args:
        input: tensor with at least 3 dims.
        upscale_factor: ``r``.

    Returns:
        The rearranged tensor.

    Example:
        >>> F.pixel_shuffle(gpuarr.randn(1, 8, 3, 3), 2).shape
        gpuarr.Size([1, 2, 6, 6])
    """
    check_tensor(input, "input", "pixel_shuffle")
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *b, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    oc = c // (r * r)
    x = input.reshape(*b, oc, r, r, h, w)
    k = len(b)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*b, oc, h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange (*, C, H*r, W*r) into (*, C*r*r, H, W); the inverse of ``pixel_shuffle``.

    Example:
        >>> F.pixel_unshuffle(gpuarr.randn(1, 2, 6, 6), 2).shape
        gpuarr.Size([1, 8, 3, 3])
    """
    check_tensor(input, "input", "pixel_unshuffle")
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *b, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(
            "pixel_unshuffle expects height and width to be divisible by downscale_factor, "
            f"but got height={h}, width={w}, downscale_factor={r}")
    oh, ow = h // r, w // r
    x = input.reshape(*b, c, oh, r, ow, r)
    k = len(b)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*b, c * r * r, oh, ow)


# --------------------------------------------------------------------------------------------
# unfold / fold


def _blocks(size: tuple, k: tuple, d: tuple, p: tuple, s: tuple) -> tuple:
    """Number of sliding blocks along each spatial dim."""
    return tuple((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))


def _patch_key(xp, k, d, s, nb) -> tuple:
    """Index arrays (kh, 1, oh, 1) and (1, kw, 1, ow) into the padded image."""
    rows = (np.arange(k[0]) * d[0])[:, None] + (np.arange(nb[0]) * s[0])[None, :]
    cols = (np.arange(k[1]) * d[1])[:, None] + (np.arange(nb[1]) * s[1])[None, :]
    return (xp.asarray(rows[:, None, :, None]), xp.asarray(cols[None, :, None, :]))


class Unfold(Function):
    """(N, C, H, W) -> (N, C*kh*kw, L); backward is :class:`Fold`."""

    _raw = True
    _node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, k, d, p, s):
        xp = ctx.xp
        n, c, h, w = x.shape
        nb = _blocks((h, w), k, d, p, s)
        xpd = xp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]))) if any(p) else x
        r, cc = _patch_key(xp, k, d, s, nb)
        out = xpd[:, :, r, cc]  # (N, C, kh, kw, oh, ow)
        ctx.geom = ((h, w), k, d, p, s)
        return xp.ascontiguousarray(out).reshape(n, c * k[0] * k[1], nb[0] * nb[1])

    @staticmethod
    def backward(ctx, g):
        return (apply_raw(Fold, g, *ctx.geom),) + (None,) * 4


class Fold(Function):
    """(N, C*kh*kw, L) -> (N, C, H, W), summing overlapping values; backward is
    :class:`Unfold`."""

    _raw = True
    _node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, size, k, d, p, s):
        xp = ctx.xp
        n = cols.shape[0]
        c = cols.shape[1] // (k[0] * k[1])
        nb = _blocks(size, k, d, p, s)
        out = xp.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]), dtype=cols.dtype)
        r, cc = _patch_key(xp, k, d, s, nb)
        vals = cols.reshape(n, c, k[0], k[1], nb[0], nb[1])
        of_module(xp).add_at(out, (slice(None), slice(None), r, cc), vals)
        ctx.geom = (k, d, p, s)
        out = out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
        return xp.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, g):
        return (apply_raw(Unfold, g, *ctx.geom),) + (None,) * 5


def _geom_args(kernel_size, dilation, padding, stride) -> tuple:
    return (pair(kernel_size, "kernel_size"), pair(dilation, "dilation"),
            pair(padding, "padding"), pair(stride, "stride"))


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks (im2col): (N, C, H, W) -> (N, C*kh*kw, L).

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        kernel_size, dilation, padding, stride: int or pair.

    Returns:
        (N, C*kh*kw, L) with L the number of blocks (row-major over the output grid).

    Example:
        >>> F.unfold(gpuarr.randn(1, 3, 5, 5), 3).shape
        gpuarr.Size([1, 27, 9])
    """
    check_tensor(input, "input", "unfold")
    if input.ndim not in (3, 4):
        raise NotImplementedError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    k, d, p, s = _geom_args(kernel_size, dilation, padding, stride)
    unb = input.ndim == 3
    x = input.unsqueeze(0) if unb else input
    nb = _blocks(tuple(x.shape[2:]), k, d, p, s)
    if nb[0] < 1 or nb[1] < 1:
        raise RuntimeError(
            f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size={k}, "
            f"dilation={d}, padding={p}, calculated shape of the array of sliding blocks as "
            f"{nb}, but its components must be at least one.")
    out = apply_raw(Unfold, x, k, d, p, s)
    return out.squeeze(0) if unb else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding local blocks into an image (col2im), summing overlaps:
    (N, C*kh*kw, L) -> (N, C, H, W).

    Args:
        input: (N, C*kh*kw, L) or unbatched (C*kh*kw, L).
        output_size: (H, W) of the result.
        kernel_size, dilation, padding, stride: int or pair.

    Returns:
        (N, C, H, W) tensor.

    Example:
        >>> F.fold(gpuarr.randn(1, 27, 9), (5, 5), 3).shape
        gpuarr.Size([1, 3, 5, 5])
    """
    check_tensor(input, "input", "fold")
    if input.ndim not in (2, 3):
        raise NotImplementedError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
            f"(got {input.ndim}D)")
    size = pair(output_size, "output_size")
    k, d, p, s = _geom_args(kernel_size, dilation, padding, stride)
    unb = input.ndim == 2
    x = input.unsqueeze(0) if unb else input
    kk = k[0] * k[1]
    if x.shape[1] % kk:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={x.shape[1]} and kernel_size={k}")
    nb = _blocks(size, k, d, p, s)
    if nb[0] * nb[1] != x.shape[2]:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, "
            f"stride={s}, expected size of input's dimension 2 to match the calculated number "
            f"of sliding blocks {nb[0]} * {nb[1]} = {nb[0] * nb[1]}, but got "
            f"input.size(2)={x.shape[2]}.")
    out = apply_raw(Fold, x, size, k, d, p, s)
    return out.squeeze(0) if unb else out


# --------------------------------------------------------------------------------------------
# interpolate

_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _src_index(out_n: int, in_n: int, scale: float | None, align: bool, cubic: bool, ft):
    """torch's ``area_pixel_compute_source_index`` for every output position (in ``ft``)."""
    dst = np.arange(out_n, dtype=ft)
    if align:
        sc = ft((in_n - 1) / (out_n - 1)) if out_n > 1 else ft(0)
        return dst * sc
    sc = ft(1.0 / scale) if scale is not None and scale > 0 else ft(in_n) / ft(out_n)
    src = sc * (dst + ft(0.5)) - ft(0.5)
    return src if cubic else np.maximum(src, ft(0))


def _cubic_coeffs(t):
    a = -0.75

    def cc1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def cc2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)]


def _resample_axis(x: Tensor, axis: int, out_n: int, scale: float | None, mode: str,
                   align: bool) -> Tensor:
    in_n = x.shape[axis]
    xp = x._device._xp()
    ft = np.float64 if x._data.dtype == np.float64 else np.float32
    # torch's shortcuts, whatever the scale factor: the linear modes copy an axis whose size
    # is unchanged; 2-D 'nearest' does too, and halves indices for an exact 2x
    if out_n == in_n and (mode == "linear" or (mode == "nearest" and x.ndim == 4)):
        return x
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest" and x.ndim == 4 and out_n == 2 * in_n:
            return _take(x, xp.asarray(np.arange(out_n) // 2), axis)
        sc = ft(1.0 / scale) if scale is not None and scale > 0 else ft(in_n) / ft(out_n)
        dst = np.arange(out_n, dtype=ft)
        if mode == "nearest-exact":
            dst = dst + ft(0.5)
        idx = np.minimum(np.floor(dst * sc).astype(np.int64), in_n - 1)
        return _take(x, xp.asarray(idx), axis)
    shape = [1] * x.ndim
    shape[axis] = out_n
    if mode == "cubic":
        src = _src_index(out_n, in_n, scale, align, True, ft)
        i0 = np.floor(src)
        t = (src - i0).astype(np.float64)
        i0 = i0.astype(np.int64)
        out = None
        for j, wgt in enumerate(_cubic_coeffs(t)):
            idx = np.clip(i0 - 1 + j, 0, in_n - 1)
            w = _const(x, wgt.reshape(shape))
            term = _take(x, xp.asarray(idx), axis) * w
            out = term if out is None else out + term
        return out
    src = _src_index(out_n, in_n, scale, align, False, ft)
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < in_n - 1)
    l1 = (src - i0).astype(ft)
    l0 = ft(1) - l1
    return (_take(x, xp.asarray(i0), axis) * _const(x, l0.reshape(shape))
            + _take(x, xp.asarray(i1), axis) * _const(x, l1.reshape(shape)))


def _const(like: Tensor, arr) -> Tensor:
    xp = like._device._xp()
    return _make(xp.asarray(arr.astype(like._data.dtype)), like._device)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, *spatial) input to ``size`` or by ``scale_factor`` (torch's rules).

    Args:
        input: 3D, 4D or 5D tensor.
        size: int or tuple, the output spatial size.
        scale_factor: float or tuple; the output size is ``floor(in * scale_factor)``, and
            the scale itself sets the sampling positions unless ``recompute_scale_factor``.
        mode: 'nearest', 'nearest-exact', 'linear' (3D), 'bilinear' or 'bicubic' (4D),
            'trilinear' (5D).
        align_corners: for the linear and cubic modes: corner pixels' centres line up.
        recompute_scale_factor: recompute the scale from the output size.
        antialias: not supported (raises).

    Returns:
        The resized tensor.

    Example:
        >>> F.interpolate(gpuarr.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        gpuarr.Size([1, 3, 8, 8])
    """
    if _amp.on and mode != "area":
        return _amp.run("interpolate", interpolate, input, size=size, scale_factor=scale_factor,
                        mode=mode, align_corners=align_corners,
                        recompute_scale_factor=recompute_scale_factor, antialias=antialias)
    check_tensor(input, "input", "interpolate")
    nd = input.ndim - 2
    if nd < 1 or nd > 3:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})")
    if mode not in ("nearest", "nearest-exact", *_MODE_DIMS):
        raise NotImplementedError(f"interpolate mode {mode!r} is not supported")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear")
    else:
        if _MODE_DIMS[mode] != nd:
            raise NotImplementedError(
                f"Got {input.ndim}D input, but {mode} mode needs {_MODE_DIMS[mode] + 2}D input")
        align_corners = bool(align_corners)
    spatial = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nd
        if len(sizes) != nd:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(spatial)} and output size of "
                f"{list(sizes)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                f"and output size in (o1, o2, ...,oK) format.")
        out_sizes = tuple(int(v) for v in sizes)
        scales: tuple = (None,) * nd
    else:
        sf = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) \
            else (scale_factor,) * nd
        if len(sf) != nd:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {list(spatial)} and scale_factor of "
                f"shape {list(sf)}.")
        out_sizes = tuple(int(math.floor(float(n) * float(f))) for n, f in zip(spatial, sf))
        scales = (None,) * nd if recompute_scale_factor else tuple(float(f) for f in sf)
    if any(o <= 0 for o in out_sizes):
        raise RuntimeError(f"interpolate: output size must be positive, got {list(out_sizes)}")
    kind = "cubic" if mode == "bicubic" else ("linear" if mode in _MODE_DIMS else mode)
    out = input
    for i in range(nd):
        out = _resample_axis(out, 2 + i, out_sizes[i], scales[i], kind, bool(align_corners))
    return input.clone() if out is input else out


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate` (as torch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)
