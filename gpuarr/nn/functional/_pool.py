"""Pooling: max, average and adaptive average, in 2-D (and 1-D through 2-D).

Max pooling records, per output, which window position won (argmax); its backward puts each
gradient back at that position, and the backward of that is a gather at the same positions,
so second derivatives work. Average pooling is linear: its backward spreads ``grad / divisor``
over each window, and the backward of that is average pooling again.
"""

from __future__ import annotations

import numpy as np

from ..._core.capture import tracing
from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ._conv import (
    Geom,
    _hslice,
    _strided,
    _wslice,
    crop,
    out_size,
    pad_array,
    windows,
)
from ._linear import mm
from ._utils import apply_raw, check_tensor, float_dtype_check, pair

__all__ = ["max_pool2d", "max_pool1d", "avg_pool2d", "avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_avg_pool1d", "max_pool2d_with_indices"]


def _pool_geom(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
               name: str) -> Geom:
    if x.ndim not in (3, 4) or x.numel() == 0 and x.ndim == 4 and 0 in x.shape[1:]:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(stride if stride is not None and stride != [] and stride != ()
                  else kernel_size, "stride")
    ph, pw = pair(padding, "padding")
    dh, dw = pair(dilation, "dilation")
    if kh <= 0 or kw <= 0:
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(
            f"dilation should be greater than zero, but got dilationH: {dh} dilationW: {dw}")
    if ph > (dh * (kh - 1) + 1) // 2 or pw > (dw * (kw - 1) + 1) // 2 or ph < 0 or pw < 0:
        bad = (ph, kh, dh) if ph > (dh * (kh - 1) + 1) // 2 or ph < 0 else (pw, kw, dw)
        raise RuntimeError(
            f"pad should be at most half of effective kernel size, but got pad={bad[0]}, "
            f"kernel_size={bad[1]} and dilation={bad[2]}"
        )
    n, c, h, w = x.shape if x.ndim == 4 else (1,) + tuple(x.shape)
    oh = out_size(h, kh, sh, dh, ph, ph, ceil_mode)
    ow = out_size(w, kw, sw, dw, pw, pw, ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{oh}x{ow}). "
            "Output size is too small"
        )
    # the padded array must reach the end of the last window (ceil mode may need more than ph)
    pb = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - h - ph)
    pr = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - w - pw)
    return Geom(n, c, h, w, kh, kw, sh, sw, dh, dw, ph, pb, pw, pr, oh, ow)


def _lowest(dtype):
    if dtype.kind in "fV":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


def _channels_last(a) -> bool:
    """Whether a 4-D (N, C, H, W) array is a view of channels-last memory."""
    return a.ndim == 4 and a.shape[1] > 1 and a.strides[1] < a.strides[3]


def _padded_shape(g: Geom) -> tuple:
    return (g.n, g.c, g.h + g.pt + g.pb, g.w + g.pl + g.pr)


# --------------------------------------------------------------------------------------------
# max pooling


def _index_dtype(kk: int):
    return np.int8 if kk < 128 else np.int32


class MaxPool2d(Function):
    """Max over each window; the winning window position (first maximum, or a NaN) is kept
    for the backward pass. Runs as one elementwise maximum per kernel position, which is
    faster than materialising the windows and works the same on NumPy and CuPy."""

    _raw = True
    _node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, g, holder):
        xp = ctx.xp
        xpd = pad_array(xp, x, g, _lowest(x.dtype))
        slices = [xpd[:, :, _hslice(g, i), _wslice(g, j)]
                  for i in range(g.kh) for j in range(g.kw)]
        out = slices[0].copy(order="K")  # keeps a channels-last input's layout
        for s in slices[1:]:
            xp.maximum(out, s, out=out)
        kdt = _index_dtype(len(slices))
        nan_ok = x.dtype.kind in "fV"
        # On NumPy a NaN check is cheap (no device sync): without NaNs, ``s < max`` alone
        # says "not the winner" and needs one pass instead of three (not while tracing: a
        # replay must be right whatever the values)
        if nan_ok and _strided(xp) and not tracing() and not xp.isnan(out).any():
            nan_ok = False
        # the winner (first maximum, or first NaN) is the number of leading positions that
        # lose: k = sum over idx of "positions 0..idx all lose" (no masked copies, which are
        # slow on NumPy)
        k = xp.zeros_like(out, dtype=kdt)
        run = None
        for s in slices[:-1]:
            if nan_ok:
                miss = xp.logical_not((s == out) | (s != s))
            else:
                miss = xp.less(s, out)
            run = miss if run is None else xp.logical_and(run, miss, out=run)
            k += run
        ctx.save_for_backward(k)
        ctx.g = g
        holder.append(k)
        return out

    @staticmethod
    def backward(ctx, gout):
        (k,) = ctx.saved_tensors
        return _scatter(gout, k, ctx.g), None, None


class _MaxScatter(Function):
    """Put each output gradient at its window's argmax position (summing overlaps)."""

    _raw = True

    @staticmethod
    def forward(ctx, gout, k, g):
        xp = ctx.xp
        shape = _padded_shape(g)
        last = _channels_last(k)
        if last:  # follow the input's channels-last layout (see conv2d)
            n, c, hp, wp = shape
            out = xp.zeros((n, hp, wp, c), dtype=gout.dtype).transpose(0, 3, 1, 2)
        else:
            out = xp.zeros(shape, dtype=gout.dtype)
        zero = gout.dtype.type(0)
        disjoint = g.sh >= g.dh * (g.kh - 1) + 1 and g.sw >= g.dw * (g.kw - 1) + 1
        # with finite gradients (checked on NumPy only: no device sync) a product with the
        # winner mask is exact and much faster than a masked copy
        finite = (disjoint and _strided(xp) and not tracing()
                  and bool(xp.isfinite(gout).all()))
        for i in range(g.kh):
            for j in range(g.kw):
                dst = out[:, :, _hslice(g, i), _wslice(g, j)]
                if finite:
                    xp.multiply(gout, k == i * g.kw + j, out=dst)
                elif disjoint:  # windows do not overlap: copy the winners into the zeros
                    xp.copyto(dst, gout, where=k == i * g.kw + j)
                else:
                    dst += xp.where(k == i * g.kw + j, gout, zero)
        ctx.save_for_backward(k)
        ctx.g = g
        return crop(out, g) if last else xp.ascontiguousarray(crop(out, g))

    @staticmethod
    def backward(ctx, gg):
        (k,) = ctx.saved_tensors
        return _gather(gg, k, ctx.g), None, None


class _MaxGather(Function):
    """Read, for every output, the value at its window's argmax position."""

    _raw = True

    @staticmethod
    def forward(ctx, x, k, g):
        xp = ctx.xp
        win = windows(xp, pad_array(xp, x, g, 0), g)
        ctx.save_for_backward(k)
        ctx.g = g
        return xp.take_along_axis(win, k[..., None].astype(np.int64), axis=-1)[..., 0]

    @staticmethod
    def backward(ctx, gg):
        (k,) = ctx.saved_tensors
        return _scatter(gg, k, ctx.g), None, None


def _scatter(gout: Tensor, k: Tensor, g: Geom) -> Tensor:
    return apply_raw(_MaxScatter, gout, k, g)


def _gather(x: Tensor, k: Tensor, g: Geom) -> Tensor:
    return apply_raw(_MaxGather, x, k, g)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """:func:`max_pool2d` that also returns the flat (H*W) index of every maximum."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, want_idx: bool):
    check_tensor(input, "input", "max_pool2d")
    g = _pool_geom(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    holder: list = []
    out = MaxPool2d.apply(x, g, holder)
    if not want_idx:
        return (out if input.ndim == 4 else out.squeeze(0)), None
    # flat index into the unpadded H x W plane, as torch returns it
    xp = x._device._xp()
    kd = holder[0].astype(np.int64)
    ih = (xp.arange(g.oh) * g.sh - g.pt)[:, None] + (kd // g.kw) * g.dh
    iw = (xp.arange(g.ow) * g.sw - g.pl)[None, :] + (kd % g.kw) * g.dw
    idx = _make((ih * g.w + iw).astype(np.int64), x._device)
    if input.ndim == 3:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return out, idx


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling over (N, C, H, W) or (C, H, W).

    Args:
        kernel_size, stride (default: kernel_size), padding, dilation: int or (h, w).
        ceil_mode: round the output size up instead of down.
        return_indices: also return the flat (H*W) index of every maximum.

    Example:
        >>> F.max_pool2d(gpuarr.arange(16.).view(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    out, idx = _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                         return_indices)
    return (out, idx) if return_indices else out


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling over (N, C, L) or (C, L)."""
    one = _first
    res = max_pool2d(input.unsqueeze(-2), (1, one(kernel_size)),
                     (1, one(stride if stride is not None else kernel_size)), (0, one(padding)),
                     (1, one(dilation)), ceil_mode, return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


def _first(v):
    return v[0] if isinstance(v, (tuple, list)) else v


# --------------------------------------------------------------------------------------------
# average pooling


def _window_sum(xp, xpd, g: Geom):
    if _strided(xp):
        s0, s1, s2, s3 = xpd.strides
        v = np.lib.stride_tricks.as_strided(
            xpd, (xpd.shape[0], xpd.shape[1], g.oh, g.ow, g.kh, g.kw),
            (s0, s1, s2 * g.sh, s3 * g.sw, s2 * g.dh, s3 * g.dw), writeable=False)
        return v.sum(axis=(-2, -1))
    out = None
    for i in range(g.kh):
        for j in range(g.kw):
            s = xpd[:, :, _hslice(g, i), _wslice(g, j)]
            out = s.copy() if out is None else out + s
    return out


def _spread(xp, vals, g: Geom):
    """Adjoint of :func:`_window_sum`: add each (N, C, OH, OW) value over its window."""
    out = xp.zeros(_padded_shape(g), dtype=vals.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            out[:, :, _hslice(g, i), _wslice(g, j)] += vals
    return xp.ascontiguousarray(crop(out, g))


class AvgPool2d(Function):
    _raw = True
    _node_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, g, div):
        xp = ctx.xp
        ctx.g, ctx.div = g, div
        s = _window_sum(xp, pad_array(xp, x, g, 0), g)
        return (s / xp.asarray(div, dtype=x.dtype)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gout):
        return _avg_back(gout, ctx.g, ctx.div), None, None


class _AvgPoolBack(Function):
    _raw = True

    @staticmethod
    def forward(ctx, gout, g, div):
        xp = ctx.xp
        ctx.g, ctx.div = g, div
        return _spread(xp, gout / xp.asarray(div, dtype=gout.dtype), g)

    @staticmethod
    def backward(ctx, gg):
        return _avg(gg, ctx.g, ctx.div), None, None


def _avg(x: Tensor, g: Geom, div) -> Tensor:
    return apply_raw(AvgPool2d, x, g, div)


def _avg_back(gout: Tensor, g: Geom, div) -> Tensor:
    return apply_raw(_AvgPoolBack, gout, g, div)


def _divisors(g: Geom, count_include_pad: bool):
    """Per-output divisor (OH, OW), as torch: window clipped to the padded input, or to the
    real input when padding is not counted."""
    def one(n, k, s, p, o):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        size = end - start
        if not count_include_pad:
            size = np.minimum(end, n) - np.maximum(start, 0)
        return size

    dh = one(g.h, g.kh, g.sh, g.pt, g.oh)
    dw = one(g.w, g.kw, g.sw, g.pl, g.ow)
    return (dh[:, None] * dw[None, :]).astype(np.float64)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling over (N, C, H, W) or (C, H, W).

    Args:
        kernel_size, stride (default: kernel_size), padding: int or (h, w).
        ceil_mode: round the output size up instead of down.
        count_include_pad: count zero padding in the divisor.
        divisor_override: divide every window sum by this instead.

    Example:
        >>> F.avg_pool2d(gpuarr.ones(1, 1, 4, 4), 2)
        tensor([[[[1., 1.],
                  [1., 1.]]]])
    """
    return _avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override, AvgPool2d)


class _AdaptiveAvgPool2d(AvgPool2d):
    _node_name = "AdaptiveAvgPool2DBackward0"


class _AdaptiveAvgPool2dMean(AvgPool2d):
    _node_name = "MeanBackward1"  # torch averages over H, W for an output of 1 x 1


def _avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override, cls: type) -> Tensor:
    """:func:`avg_pool2d` recorded as ``cls`` (an AvgPool2d subclass naming the node)."""
    check_tensor(input, "input", "avg_pool2d")
    g = _pool_geom(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    float_dtype_check(input, "avg_pool2d")
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        div = np.float64(divisor_override)
    else:
        div = _divisors(g, count_include_pad)
        if input._device.type != "cpu":
            div = input._device._xp().asarray(div)
    x = input if input.ndim == 4 else input.unsqueeze(0)
    out = cls.apply(x, g, div)
    return out if input.ndim == 4 else out.squeeze(0)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over (N, C, L) or (C, L)."""
    out = avg_pool2d(input.unsqueeze(-2), (1, _first(kernel_size)),
                     (1, _first(stride if stride is not None else kernel_size)),
                     (0, _first(padding)), ceil_mode, count_include_pad)
    return out.squeeze(-2)


# --------------------------------------------------------------------------------------------
# adaptive average pooling


def adaptive_windows(n: int, o: int):
    """Start and length of each of the ``o`` adaptive windows over ``n`` (torch's choice:
    window i covers ``[floor(i*n/o), ceil((i+1)*n/o))``), as int64 arrays."""
    i = np.arange(o, dtype=np.int64)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    return start, end - start


def _adaptive_matrix(n: int, o: int, xp, dtype):
    """(o, n) averaging matrix: row i averages the input over adaptive window i."""
    a = np.zeros((o, n), dtype=np.float64)
    for i, (start, length) in enumerate(zip(*adaptive_windows(n, o))):
        a[i, start:start + length] = 1.0 / length
    return xp.asarray(a.astype(dtype))


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (windows as torch chooses them).

    Args:
        output_size: int or (oh, ow); None keeps that input dim.
    """
    check_tensor(input, "input", "adaptive_avg_pool2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(
            "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got " + str(list(input.shape)))
    h, w = input.shape[-2:]
    if isinstance(output_size, (tuple, list)):
        oh, ow = (h if output_size[0] is None else output_size[0],
                  w if output_size[1] is None else output_size[1])
    else:
        oh = ow = output_size
    if oh < 0 or ow < 0:
        raise RuntimeError("adaptive_avg_pool2d: elements of output_size must be greater than or "
                           "equal to 0")
    if h % oh == 0 and w % ow == 0 and oh and ow:
        cls = _AdaptiveAvgPool2dMean if oh == ow == 1 else _AdaptiveAvgPool2d
        return _avg_pool2d(input, (h // oh, w // ow), None, 0, False, True, None, cls)
    if input._data.dtype.kind not in "fV":
        raise RuntimeError("adaptive_avg_pool2d is only implemented for floating point inputs")
    xp = input._device._xp()
    ah = _make(_adaptive_matrix(h, oh, xp, input._data.dtype), input._device)
    aw = _make(_adaptive_matrix(w, ow, xp, input._data.dtype), input._device)
    lead = tuple(input.shape[:-2])
    m = 1
    for s in lead:
        m *= s
    t = mm(input.reshape(m * h, w), aw.mT)  # (m*h, ow)
    t = t.reshape(m, h, ow).permute(0, 2, 1).reshape(m * ow, h)
    t = mm(t, ah.mT)  # (m*ow, oh)
    return t.reshape(m, ow, oh).permute(0, 2, 1).reshape(lead + (oh, ow))


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, L) or (C, L) to a fixed length."""
    o = _first(output_size)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, o)).squeeze(-2)
