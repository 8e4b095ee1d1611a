"""3-d pooling (functional forms).

Max and average pooling read every window through the differentiable ``vol2col`` of
:mod:`._conv3d` (laid out (N, C, K, P)), then reduce over the K window positions: the
gradients (and their gradients) come from ops that already have them. Adaptive average
pooling is separable: one averaging-matrix product per spatial dim. Max pooling finds its
indices on arrays (no graph) and then gathers the output through them, which routes the
gradients exactly where torch does.
"""

from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _make
from ._conv3d import Geom3, vol2col, vol2col_array
from ._pool import _adaptive_matrix, adaptive_windows
from ._pool_adaptive_max import _check_nonempty, output_size_of
from ._utils import check_tensor, dtype_name, pair

__all__ = ["max_pool3d", "max_pool3d_with_indices", "avg_pool3d", "adaptive_avg_pool3d",
           "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices"]


def _pool_geom3(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
                is_avg: bool) -> Geom3:
    """The window layout of a 3-d pooling, checked in torch's order with torch's texts."""
    k = pair(kernel_size, "kernel_size", 3)
    s = pair(stride if stride is not None and stride != [] and stride != () else kernel_size,
             "stride", 3)
    p = pair(padding, "padding", 3)
    dil = pair(dilation, "dilation", 3)
    if any(v == 0 for v in s):
        raise RuntimeError("stride should not be zero")
    if any(v <= 0 for v in k):
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kT: {k[0]} kH: {k[1]} kW: {k[2]}")
    if any(v <= 0 for v in s):
        raise RuntimeError(
            f"stride should be greater than zero, but got dT: {s[0]} dH: {s[1]} dW: {s[2]}")
    if any(v <= 0 for v in dil):
        raise RuntimeError(
            f"dilation should be greater than zero, but got dilationT: {dil[0]} dilationH: "
            f"{dil[1]} dilationW: {dil[2]}")
    if x.ndim not in (4, 5) or 0 in tuple(x.shape)[-4:]:
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    c, d, h, w = x.shape[-4:]
    size = (d, h, w)
    if is_avg and any(m < kk for m, kk in zip(size, k)):
        raise RuntimeError(
            f"input image (T: {d} H: {h} W: {w}) smaller than kernel size (kT: {k[0]} kH: "
            f"{k[1]} kW: {k[2]})")
    for pp, kk, dd in zip(p, k, dil):
        if pp < 0 or pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={pp}, "
                f"kernel_size={kk} and dilation={dd}")
    out = []
    for m, kk, ss, dd, pp in zip(size, k, s, dil, p):
        span = m + 2 * pp - dd * (kk - 1) - 1
        o = (-(-span // ss) if ceil_mode else span // ss) + 1
        if ceil_mode and (o - 1) * ss >= m + pp:  # the last window must start in the input
            o -= 1
        out.append(o)
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"Given input size: ({c}x{d}x{h}x{w}). Calculated output size: "
            f"({c}x{out[0]}x{out[1]}x{out[2]}). Output size is too small")
    # the padded volume must reach the end of the last window (ceil mode may need more)
    hi = tuple(max(0, (o - 1) * ss + dd * (kk - 1) + 1 - m - pp)
               for o, ss, dd, kk, m, pp in zip(out, s, dil, k, size, p))
    n = x.shape[0] if x.ndim == 5 else 1
    return Geom3(n, c, size, k, s, dil, p, hi, tuple(out))


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _windows(x5: Tensor, g: Geom3, value) -> Tensor:
    """Every window of ``x5`` as (N, C, K, P)."""
    kk = g.k[0] * g.k[1] * g.k[2]
    p = g.out[0] * g.out[1] * g.out[2]
    return vol2col(x5, g, value).reshape(g.n, g.c, kk, p)


def _flat_index_table(g: Geom3) -> tuple:
    """(K, P) int64 flat D*H*W input index that window position k reads for output p (-1
    where it reads padding), and (P,) the first in-bounds index of every window."""
    axes = []
    for kk, ss, dd, pp, o, m in zip(g.k, g.s, g.dil, g.lo, g.out, g.size):
        i = np.arange(kk)[:, None] * dd + (np.arange(o) * ss - pp)[None, :]
        axes.append(np.where((i >= 0) & (i < m), i, -(1 << 40)))  # (k, o) per dim
    a, b, c = axes
    d, h, w = g.size
    t = ((a[:, None, None, :, None, None] * h + b[None, :, None, None, :, None]) * w
         + c[None, None, :, None, None, :])
    t = np.where(t >= 0, t, -1).reshape(len(a) * len(b) * len(c), -1).astype(np.int64)
    first = np.where(t >= 0, t, np.iinfo(np.int64).max).min(0)  # scan order is flat order
    return t, first


def _max_pool3d(input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
                want_idx: bool):
    check_tensor(input, "input", "max_pool3d")
    g = _pool_geom3(input, kernel_size, stride, padding, dilation, ceil_mode, False)
    x5 = input if input.ndim == 5 else input.unsqueeze(0)
    xp, dev = input._device._xp(), input._device
    kk = g.k[0] * g.k[1] * g.k[2]
    p = g.out[0] * g.out[1] * g.out[2]
    cols = vol2col_array(xp, x5._data, g, _lowest(x5._data.dtype)).reshape(g.n, g.c, kk, p)
    # the first maximum (or NaN) of every window, as torch scans it
    arg = xp.argmax(cols, axis=2).astype(np.int64)
    table, first = _flat_index_table(g)
    flat = xp.take(xp.asarray(table).reshape(-1), arg * p + xp.arange(p, dtype=np.int64))
    # a window that ties only with padding (all of it the lowest value) reports its first
    # in-bounds element, as torch does
    flat = xp.where(flat < 0, xp.asarray(first), flat)
    idx = _make(flat.reshape((g.n, g.c) + g.out), dev)
    # gathering through the indices routes gradients exactly where torch routes them
    vol = g.size[0] * g.size[1] * g.size[2]
    out = x5.reshape(g.n, g.c, vol).gather(2, idx.reshape(g.n, g.c, p))
    out = out.reshape((g.n, g.c) + g.out)
    if input.ndim == 4:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return out, (idx if want_idx else None)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """:func:`max_pool3d` that also returns the flat (D*H*W) index of every maximum."""
    return _max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W).

    Args:
        kernel_size, stride (default: kernel_size), padding, dilation: int or (d, h, w).
        ceil_mode: round the output size up instead of down.
        return_indices: also return where each maximum came from, as a flat index into the
            D*H*W volume of its plane (the first maximum of a window wins; NaN propagates).

    Returns:
        The pooled tensor, or (pooled, indices) with ``return_indices``.

    Example:
        >>> F.max_pool3d(gpuarr.randn(1, 2, 4, 4, 4), 2).shape
        gpuarr.Size([1, 2, 2, 2, 2])
    """
    out, idx = _max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode,
                           return_indices)
    return (out, idx) if return_indices else out


def _divisors3(g: Geom3, count_include_pad: bool) -> np.ndarray:
    """(OD, OH, OW) divisors, as torch: each window clipped to the padded input, or to the
    real input when padding is not counted."""
    per = []
    for m, kk, ss, pp, o in zip(g.size, g.k, g.s, g.lo, g.out):
        start = np.arange(o) * ss - pp
        end = np.minimum(start + kk, m + pp)
        per.append(np.minimum(end, m) - np.maximum(start, 0) if not count_include_pad
                   else end - start)
    a, b, c = per
    return (a[:, None, None] * b[None, :, None] * c[None, None, :]).astype(np.float64)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W).

    Args:
        kernel_size, stride (default: kernel_size), padding: int or (d, h, w).
        ceil_mode: round the output size up instead of down.
        count_include_pad: count zero padding in the divisor.
        divisor_override: divide every window sum by this instead.

    Example:
        >>> F.avg_pool3d(gpuarr.ones(1, 1, 2, 2, 2), 2)
        tensor([[[[[1.]]]]])
    """
    check_tensor(input, "input", "avg_pool3d")
    g = _pool_geom3(input, kernel_size, stride, padding, 1, ceil_mode, True)
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"avg_pool3d" not implemented for \'{dtype_name(input.dtype)}\'')
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x5 = input if input.ndim == 5 else input.unsqueeze(0)
    total = _windows(x5, g, 0).sum(2).reshape((g.n, g.c) + g.out)
    if divisor_override is not None:
        out = total / float(divisor_override)
    else:
        xp = input._device._xp()
        div = xp.asarray(_divisors3(g, count_include_pad).astype(x5._data.dtype))
        out = total / _make(div, input._device)
    return out if input.ndim == 5 else out.squeeze(0)


def _adaptive_sizes(input: Tensor, output_size, name: str) -> tuple:
    d, h, w = input.shape[-3:]
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 3:
            raise RuntimeError(f"{name}: output_size must be 3")
        return tuple(m if o is None else int(o) for m, o in zip((d, h, w), output_size))
    return (int(output_size),) * 3


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed output size (windows as
    torch chooses them: output i averages input[floor(i*n/o) : ceil((i+1)*n/o)] per dim).

    Args:
        output_size: int or (od, oh, ow); None keeps that input dim.

    Example:
        >>> F.adaptive_avg_pool3d(gpuarr.randn(2, 3, 5, 6, 7), (1, 2, 3)).shape
        gpuarr.Size([2, 3, 1, 2, 3])
    """
    check_tensor(input, "input", "adaptive_avg_pool3d")
    if input.ndim not in (4, 5):
        raise RuntimeError(
            f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    od, oh, ow = _adaptive_sizes(input, output_size, "adaptive_avg_pool3d")
    if od < 0 or oh < 0 or ow < 0:
        raise RuntimeError(
            "adaptive_avg_pool3d: elements of output_size must be greater than or equal to 0 "
            f"but received {{{od}, {oh},{ow}}}")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"adaptive_avg_pool3d_{input._device.type}" not implemented for '
            f"'{dtype_name(input.dtype)}'")
    xp, dev, dt = input._device._xp(), input._device, input._data.dtype
    d, h, w = input.shape[-3:]
    ad, ah, aw = (_make(_adaptive_matrix(n, o, xp, dt), dev)
                  for n, o in ((d, od), (h, oh), (w, ow)))
    lead = tuple(input.shape[:-3])
    m = 1
    for v in lead:
        m *= v
    t = input.reshape(m, d, h, w) @ aw.mT  # (m, d, h, ow)
    t = ah @ t  # (m, d, oh, ow)
    t = ad @ t.reshape(m, d, oh * ow)  # (m, od, oh*ow)
    return t.reshape(lead + (od, oh, ow))


def _adaptive_max3(input: Tensor, size: tuple):
    """(output, indices) of adaptive max pooling of a 4-d or 5-d ``input`` to ``size``."""
    lead = tuple(input.shape[:-3])
    for v in size:
        if v < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {v}: "
                               f"{list(lead + size)}")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"adaptive_max_pool3d_{input._device.type}" not implemented for '
            f"'{dtype_name(input.dtype)}'")
    xp, dev = input._device._xp(), input._device
    d, h, w = input.shape[-3:]
    m = 1
    for v in lead:
        m *= v
    p = size[0] * size[1] * size[2]
    if p == 0 or m == 0:
        idx = _make(xp.zeros((m, p), dtype=np.int64), dev)
    else:
        # every candidate of every window, in torch's scan order; short windows repeat their
        # last position (marked invalid, so a repeat never counts as a new candidate)
        per = []
        for n, o in zip((d, h, w), size):
            start, length = adaptive_windows(n, o)
            off = np.arange(int(length.max()))[:, None]
            per.append((start[None, :] + np.minimum(off, length - 1), off < length))
        (ia, va), (ib, vb), (ic, vc) = per
        table = ((ia[:, None, None, :, None, None] * h + ib[None, :, None, None, :, None]) * w
                 + ic[None, None, :, None, None, :])
        valid = (va[:, None, None, :, None, None] & vb[None, :, None, None, :, None]
                 & vc[None, None, :, None, None, :])
        kk = ia.shape[0] * ib.shape[0] * ic.shape[0]
        table = xp.asarray(table.reshape(kk, p).astype(np.int64))
        valid = xp.asarray(valid.reshape(kk, p))
        cand = input._data.reshape(m, d * h * w)[:, table]  # (m, K, P)
        nan = (cand != cand) & valid
        lowest = _lowest(cand.dtype)
        first_max = xp.argmax(xp.where(valid, cand, lowest), axis=1)
        # torch's running scan lets every NaN take over: the last NaN of a window wins
        last_nan = kk - 1 - xp.argmax(nan[:, ::-1], axis=1)
        k = xp.where(nan.any(axis=1), last_nan, first_max).astype(np.int64)
        flat = xp.take(table.reshape(-1), k * p + xp.arange(p, dtype=np.int64))
        idx = _make(flat, dev)
    # gathering through the indices gives torch's gradients (and their gradients)
    out = input.reshape(m, d * h * w).gather(1, idx) if p and m else _make(
        xp.empty((m, p), dtype=input._data.dtype), dev)
    return out.reshape(lead + size), idx.reshape(lead + size)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """:func:`adaptive_max_pool3d` that always returns ``(output, indices)``.

    Example:
        >>> x = gpuarr.arange(8.).view(1, 2, 2, 2)
        >>> F.adaptive_max_pool3d_with_indices(x, 1)[1]
        tensor([[[[7]]]])
    """
    size = output_size_of(input, output_size, 3)
    if input.ndim not in (4, 5):
        raise RuntimeError(
            f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: {list(input.shape)}")
    _check_nonempty(input, "adaptive_max_pool3d")
    return _adaptive_max3(input, size)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """3-D max pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed output size (windows as
    torch chooses them; the first maximum of a window wins, or its last NaN).

    Args:
        input: a floating-point tensor.
        output_size: ``o`` (for ``o x o x o``) or ``(od, oh, ow)``; a None keeps that size.
        return_indices: also return the flat (D*H*W) index of every maximum (int64).

    Returns:
        The pooled tensor, or ``(output, indices)`` with ``return_indices``.

    Example:
        >>> F.adaptive_max_pool3d(gpuarr.randn(2, 3, 5, 6, 7), (1, 2, 3)).shape
        gpuarr.Size([2, 3, 1, 2, 3])
    """
    out, idx = adaptive_max_pool3d_with_indices(input, output_size)
    return (out, idx) if return_indices else out
