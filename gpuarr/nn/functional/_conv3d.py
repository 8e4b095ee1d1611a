"""``conv3d`` by vol2col + one matrix product per group, and the 3-d window helpers that
3-d pooling shares.

``vol2col`` lays the receptive fields of every volume out as a (C*KD*KH*KW, OD*OH*OW) matrix
(rows in the order of a flattened (O, C, KD, KH, KW) weight, columns the output voxels in
NCDHW order), so the product with the weight matrix is the output already in NCDHW layout.
``col2vol`` is its adjoint (sums every column back into its overlapping window); each is the
other's backward, which gives second derivatives for free.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._autocast import state as _amp
from ..._tensor import Tensor
from ...autograd.function import Function
from ...backends import of_module
from ...ops._common import dtype_name
from ._utils import apply_raw, check_tensor, pair

__all__ = ["conv3d"]


class Geom3(NamedTuple):
    """A 3-d sliding-window layout. Every field but ``n`` and ``c`` is a (d, h, w) triple;
    ``hi`` is the high-side padding (it may include a ceil-mode extension)."""

    n: int
    c: int
    size: tuple
    k: tuple
    s: tuple
    dil: tuple
    lo: tuple
    hi: tuple
    out: tuple


def _padded(g: Geom3) -> tuple:
    return tuple(n + a + b for n, a, b in zip(g.size, g.lo, g.hi))


def _kk(g: Geom3) -> int:
    return g.k[0] * g.k[1] * g.k[2]


def _pp(g: Geom3) -> int:
    return g.out[0] * g.out[1] * g.out[2]


def _pad(xp, x, g: Geom3, value):
    if not any(g.lo) and not any(g.hi):
        return x
    out = xp.full(x.shape[:2] + _padded(g), value, dtype=x.dtype)
    (a, b, c), (d, h, w) = g.lo, g.size
    out[:, :, a:a + d, b:b + h, c:c + w] = x
    return out


def _slices(g: Geom3, pos: tuple) -> tuple:
    """The padded-input slices that kernel position ``pos`` reads for every output voxel."""
    return tuple(slice(i * d, i * d + s * (o - 1) + 1, s)
                 for i, d, s, o in zip(pos, g.dil, g.s, g.out))


def _positions(g: Geom3):
    for a in range(g.k[0]):
        for b in range(g.k[1]):
            for c in range(g.k[2]):
                yield a, b, c


def vol2col_array(xp, x, g: Geom3, value=0):
    """(N, C, D, H, W) -> (N, C*KD*KH*KW, OD*OH*OW), padding with ``value``."""
    xpd = _pad(xp, x, g, value)
    n = x.shape[0]
    shape = (n, g.c) + g.k + g.out
    if of_module(xp).strided_windows:
        s0, s1, s2, s3, s4 = xpd.strides
        st = (s0, s1, s2 * g.dil[0], s3 * g.dil[1], s4 * g.dil[2],
              s2 * g.s[0], s3 * g.s[1], s4 * g.s[2])
        v = np.lib.stride_tricks.as_strided(xpd, shape, st, writeable=False)
        return np.ascontiguousarray(v).reshape(n, g.c * _kk(g), _pp(g))
    # one strided copy per kernel position (no strided views on this backend)
    cols = xp.empty(shape, dtype=x.dtype)
    for pos in _positions(g):
        cols[(slice(None), slice(None)) + pos] = xpd[(slice(None), slice(None)) + _slices(g, pos)]
    return cols.reshape(n, g.c * _kk(g), _pp(g))


def col2vol_array(xp, cols, g: Geom3):
    """Adjoint of :func:`vol2col_array`: (N, C*K, P) -> (N, C, D, H, W), summing overlaps."""
    n = cols.shape[0]
    c8 = cols.reshape((n, g.c) + g.k + g.out)
    out = xp.zeros((n, g.c) + _padded(g), dtype=cols.dtype)
    for pos in _positions(g):
        out[(slice(None), slice(None)) + _slices(g, pos)] += c8[(slice(None), slice(None)) + pos]
    if not any(g.lo) and not any(g.hi):
        return out
    (a, b, c), (d, h, w) = g.lo, g.size
    return xp.ascontiguousarray(out[:, :, a:a + d, b:b + h, c:c + w])


class Vol2col(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, g, value):
        ctx.g = g
        return vol2col_array(ctx.xp, x, g, value)

    @staticmethod
    def backward(ctx, gc):
        return col2vol(gc, ctx.g), None, None


class Col2vol(Function):
    _raw = True

    @staticmethod
    def forward(ctx, cols, g):
        ctx.g = g
        return col2vol_array(ctx.xp, cols, g)

    @staticmethod
    def backward(ctx, gx):
        # the padding an adjoint sees is always zero, whatever the forward padded with
        return vol2col(gx, ctx.g, 0), None


def vol2col(x: Tensor, g: Geom3, value=0) -> Tensor:
    """Differentiable :func:`vol2col_array`."""
    return apply_raw(Vol2col, x, g, value)


def col2vol(cols: Tensor, g: Geom3) -> Tensor:
    """Differentiable :func:`col2vol_array`."""
    return apply_raw(Col2vol, cols, g)


class Conv3d(Function):
    """Forward on arrays; the backward is built from differentiable ops (vol2col, col2vol and
    matmul), so it can itself be differentiated."""

    _raw = True
    _node_name = "ConvolutionBackward0"  # torch's node: input, weight, bias (None if absent)
    _next_args = (0, 1, 2)

    @staticmethod
    def forward(ctx, x, w, b, g, groups):
        xp = ctx.xp
        o = w.shape[0]
        n, p, kg = x.shape[0], _pp(g), g.c // groups * _kk(g)
        cols = vol2col_array(xp, x, g).reshape(n, groups, kg, p)
        out = xp.matmul(w.reshape(groups, o // groups, kg), cols).reshape((n, o) + g.out)
        if b is not None:
            out = out + b.reshape(o, 1, 1, 1)
        nig = ctx.needs_input_grad
        ctx.save_for_backward(x if nig[1] else None, w if nig[0] else None)
        ctx.g, ctx.groups, ctx.w_shape = g, groups, tuple(w.shape)
        return xp.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, gout):
        x, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        g, groups = ctx.g, ctx.groups
        n, o = gout.shape[0], gout.shape[1]
        p, kg = _pp(g), g.c // groups * _kk(g)
        g4 = gout.reshape(n, groups, o // groups, p)
        gx = gw = gb = None
        if nig[0]:  # (G, Kg, Og) @ (N, G, Og, P) -> (N, G, Kg, P) columns
            gc = w.reshape(groups, o // groups, kg).mT @ g4
            gx = col2vol(gc.reshape(n, groups * kg, p), g)
        if nig[1]:
            c4 = vol2col(x, g).reshape(n, groups, kg, p)
            gw = (g4 @ c4.mT).sum(0).reshape(ctx.w_shape)
        if nig[2]:
            gb = gout.sum((0, 2, 3, 4))
        return gx, gw, gb, None, None


def _same_or_valid(padding, k, dil, stride) -> tuple:
    """(lo, hi) padding triples from conv3d's ``padding`` argument."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0), (0, 0, 0)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            tot = [d * (kk - 1) for d, kk in zip(dil, k)]
            return tuple(t // 2 for t in tot), tuple(t - t // 2 for t in tot)
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    p = pair(padding, "padding", 3)
    if any(v < 0 for v in p):
        raise RuntimeError("negative padding is not supported")
    return p, p


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D cross-correlation over an (N, C, D, H, W) or (C, D, H, W) input.

    Args:
        input: ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``.
        weight: ``(C_out, C_in / groups, KD, KH, KW)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: int or (d, h, w) triple.
        padding: int, (d, h, w) triple, 'valid' or 'same' (stride 1 only).
        groups: split channels into this many independent convolutions.

    Returns:
        ``(N, C_out, OD, OH, OW)`` (or unbatched ``(C_out, OD, OH, OW)``).

    Example:
        >>> F.conv3d(gpuarr.ones(1, 1, 4, 4, 4), gpuarr.ones(1, 1, 3, 3, 3)).shape
        gpuarr.Size([1, 1, 2, 2, 2])
    """
    if _amp.on:
        return _amp.run("conv3d", conv3d, input, weight, bias=bias, stride=stride,
                        padding=padding, dilation=dilation, groups=groups)
    check_tensor(input, "input", "conv3d")
    check_tensor(weight, "weight", "conv3d")
    if input.ndim == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    if input.ndim != 5:
        raise RuntimeError(
            "Expected 4D (unbatched) or 5D (batched) input to conv3d, but got input of size: "
            f"{list(input.shape)}")
    if weight.ndim != 5:
        raise RuntimeError(
            f"weight should have 5 dimensions for conv3d, but got weight of size "
            f"{list(weight.shape)}")
    s = pair(stride, "stride", 3)
    dil = pair(dilation, "dilation", 3)
    if any(v <= 0 for v in s):
        raise RuntimeError("non-positive stride is not supported")
    if any(v <= 0 for v in dil):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dil)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    n, c = input.shape[:2]
    o, cg = weight.shape[:2]
    k = tuple(weight.shape[2:])
    if o % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size [{list(weight.shape)}] instead")
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(input.shape)} to have {cg * groups} channels, but got {c} channels "
            "instead")
    if weight._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"expected scalar type {dtype_name(input.dtype)} but found "
            f"{dtype_name(weight.dtype)}")
    if bias is not None and bias._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"Input type ({dtype_name(input.dtype)}) and bias type ({dtype_name(bias.dtype)}) "
            "should be the same")
    if input._data.dtype.kind not in "fV":
        raise RuntimeError(f'"conv3d" not implemented for \'{dtype_name(input.dtype)}\'')
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
            f"with {o} elements, but got bias of size {list(bias.shape)} instead")
    lo, hi = _same_or_valid(padding, k, dil, s)
    size = tuple(input.shape[2:])
    padded = [m + a + b for m, a, b in zip(size, lo, hi)]
    eff = [d * (kk - 1) + 1 for d, kk in zip(dil, k)]
    if any(pm < e for pm, e in zip(padded, eff)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, eff))}). Kernel size can't be greater than "
            "actual input size")
    out = tuple((pm - e) // st + 1 for pm, e, st in zip(padded, eff, s))
    g = Geom3(n, c, size, k, s, dil, lo, hi, out)
    return Conv3d.apply(input, weight, bias, g, groups)
