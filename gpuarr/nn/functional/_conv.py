"""2-D convolution by im2col + one matrix product, and the window helpers pooling shares.

``im2col`` lays every receptive field out as one row of a ``(N*OH*OW, C*KH*KW)`` matrix, so a
convolution is a single GEMM against the ``(O, C*KH*KW)`` weight matrix. On NumPy the fields
are read through a strided view (one copy); on CuPy they are gathered with one slice per kernel
position (KH*KW copies), which is simple and fast on a GPU. ``col2im`` is the adjoint: it adds
every row back into the (overlapping) windows it came from. The two are each other's backward,
which gives convolution second derivatives for free.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import _state
from ...backends import of_module
from ...ops._common import dtype_name
from ._linear import mm
from ._utils import apply_raw, check_tensor, pair

__all__ = ["conv2d", "conv1d"]

# Tests set this to run the CuPy code path (slice loops) on NumPy arrays.
FORCE_SLICE_LOOPS = False

# Bytes of im2col columns per block in the blocked GEMMs on NumPy (see _chunk_images).
_CHUNK_BYTES = 4 << 20


class Geom(NamedTuple):
    """Everything about a sliding-window layout: input size, kernel, stride, dilation,
    padding (top, bottom, left, right; bottom/right may include ceil-mode extension) and the
    output size."""

    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pb: int
    pl: int
    pr: int
    oh: int
    ow: int


def _strided(xp) -> bool:
    return of_module(xp).strided_windows and not FORCE_SLICE_LOOPS


def pad_array(xp, x, g: Geom, value=0):
    """``x`` (N, C, H, W) padded by the geometry's margins with ``value``."""
    if not (g.pt or g.pb or g.pl or g.pr):
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + g.pt + g.pb, w + g.pl + g.pr), value, dtype=x.dtype)
    out[:, :, g.pt:g.pt + h, g.pl:g.pl + w] = x
    return out


def _hslice(g: Geom, i: int) -> slice:
    start = i * g.dh
    return slice(start, start + g.sh * (g.oh - 1) + 1, g.sh)


def _wslice(g: Geom, j: int) -> slice:
    start = j * g.dw
    return slice(start, start + g.sw * (g.ow - 1) + 1, g.sw)


def windows(xp, xpd, g: Geom):
    """All windows of the padded input as (N, C, OH, OW, KH*KW) (a fresh array)."""
    n, c = xpd.shape[:2]
    if _strided(xp):
        s0, s1, s2, s3 = xpd.strides
        v = np.lib.stride_tricks.as_strided(
            xpd, (n, c, g.oh, g.ow, g.kh, g.kw),
            (s0, s1, s2 * g.sh, s3 * g.sw, s2 * g.dh, s3 * g.dw), writeable=False)
        return v.reshape(n, c, g.oh, g.ow, g.kh * g.kw)
    out = xp.empty((n, c, g.oh, g.ow, g.kh * g.kw), dtype=xpd.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            out[..., i * g.kw + j] = xpd[:, :, _hslice(g, i), _wslice(g, j)]
    return out


def add_windows(xp, vals, g: Geom, shape):
    """Adjoint of :func:`windows`: sum (N, C, OH, OW, KH*KW) values back into a padded
    (N, C, Hp, Wp) array of the given ``shape``."""
    out = xp.zeros(shape, dtype=vals.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            out[:, :, _hslice(g, i), _wslice(g, j)] += vals[..., i * g.kw + j]
    return out


def crop(xpd, g: Geom):
    """Remove the geometry's padding from a padded (N, C, Hp, Wp) array."""
    if not (g.pt or g.pb or g.pl or g.pr):
        return xpd
    return xpd[:, :, g.pt:g.pt + g.h, g.pl:g.pl + g.w]


def _padded_nhwc(xp, x, g: Geom):
    """(N, C, H, W) -> zero-padded channels-last (N, Hp, Wp, C), contiguous."""
    n, c, h, w = x.shape
    if not (g.pt or g.pb or g.pl or g.pr):
        return xp.ascontiguousarray(x.transpose(0, 2, 3, 1))
    out = xp.zeros((n, h + g.pt + g.pb, w + g.pl + g.pr, c), dtype=x.dtype)
    out[:, g.pt:g.pt + h, g.pl:g.pl + w, :] = x.transpose(0, 2, 3, 1)
    return out


def im2col_array(xp, x, g: Geom):
    """(N, C, H, W) -> (N*OH*OW, KH*KW*C) matrix of receptive fields.

    Columns are ordered (kernel row, kernel column, channel): working channels-last keeps
    the innermost copies contiguous, which makes this (and col2im) several times faster than
    gathering channel-first patches.
    """
    return _im2col_gemm(xp, x, g, None)[0]


def _chunk_images(xp, g: Geom, row_bytes: int) -> int:
    """Images per block for the blocked im2col/col2im GEMMs: about ``_CHUNK_BYTES`` of
    columns on NumPy, so each block is still in cache when the GEMM (or the sum back into
    windows) reads it; the whole batch on a GPU, where blocking only adds launches."""
    if not _strided(xp):
        return max(g.n, 1)
    return max(1, _CHUNK_BYTES // max(1, g.oh * g.ow * row_bytes))


def _im2col_gemm(xp, x, g: Geom, wm):
    """``(cols, cols @ wm.T)`` (the product is None without ``wm``), built a few images at a
    time: each block of columns is multiplied right after it is written, while in cache."""
    xpd = _padded_nhwc(xp, x, g)
    n, c = x.shape[:2]
    per = g.oh * g.ow
    ncols = g.kh * g.kw * c
    cols = xp.empty((n * per, ncols), dtype=x.dtype)
    prod = None if wm is None else xp.empty((n * per, wm.shape[0]), dtype=x.dtype)
    # few channels: one slice copy per kernel position (long contiguous runs) beats the
    # strided view, whose innermost run is only C elements long
    strided = _strided(xp) and c >= 8
    if strided:
        s0, s1, s2, s3 = xpd.strides
        v = np.lib.stride_tricks.as_strided(
            xpd, (n, g.oh, g.ow, g.kh, g.kw, c),
            (s0, s1 * g.sh, s2 * g.sw, s1 * g.dh, s2 * g.dw, s3), writeable=False)
    nb = _chunk_images(xp, g, ncols * cols.dtype.itemsize)
    for n0 in range(0, n, nb):
        n1 = min(n, n0 + nb)
        block = cols[n0 * per:n1 * per]
        b6 = block.reshape(n1 - n0, g.oh, g.ow, g.kh, g.kw, c)
        if strided:
            b6[...] = v[n0:n1]
        else:
            for i in range(g.kh):
                for j in range(g.kw):
                    b6[:, :, :, i, j, :] = xpd[n0:n1, _hslice(g, i), _wslice(g, j), :]
        if wm is not None:
            xp.matmul(block, wm.T, out=prod[n0 * per:n1 * per])
    return cols, prod


def col2im_array(xp, cols, g: Geom):
    """Adjoint of :func:`im2col_array`: (N*OH*OW, KH*KW*C) -> (N, C, H, W), summing the
    overlapping windows."""
    n, c = g.n, g.c
    c6 = cols.reshape(n, g.oh, g.ow, g.kh, g.kw, c)
    out = xp.zeros((n, g.h + g.pt + g.pb, g.w + g.pl + g.pr, c), dtype=cols.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            out[:, _hslice(g, i), _wslice(g, j), :] += c6[:, :, :, i, j, :]
    # left channels-last (a transposed view): the next convolution's im2col and GEMM want
    # exactly this layout, so copying it to NCHW here would only be undone there
    return out[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w, :].transpose(0, 3, 1, 2)


class Im2col(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, g):
        ctx.g = g
        return im2col_array(ctx.xp, x, g)

    @staticmethod
    def backward(ctx, gc):
        return col2im(gc, ctx.g), None


class Col2im(Function):
    _raw = True

    @staticmethod
    def forward(ctx, cols, g):
        ctx.g = g
        return col2im_array(ctx.xp, cols, g)

    @staticmethod
    def backward(ctx, gx):
        return im2col(gx, ctx.g), None


def im2col(x: Tensor, g: Geom) -> Tensor:
    """Differentiable :func:`im2col_array` on a tensor."""
    return apply_raw(Im2col, x, g)


def col2im(cols: Tensor, g: Geom) -> Tensor:
    """Differentiable :func:`col2im_array` on a tensor."""
    return apply_raw(Col2im, cols, g)


def _weight_matrix(w, groups: int):
    """Conv weight (O, C/G, KH, KW) as the GEMM operand matching im2col's column order:
    (O, KH*KW*C) for one group, (G, O/G, KH*KW*C/G) for several. Works on arrays and
    Tensors alike (permute/transpose + reshape)."""
    o, cg, kh, kw = w.shape
    wt = w.permute(0, 2, 3, 1) if isinstance(w, Tensor) else w.transpose(0, 2, 3, 1)
    if groups == 1:
        return wt.reshape(o, kh * kw * cg)
    return wt.reshape(groups, o // groups, kh * kw * cg)


def _group_cols(cols, groups: int, kk: int):
    """(NL, KK*C) columns -> (G, NL, KK*C/G), the per-group GEMM operands."""
    rows = cols.shape[0]
    c4 = cols.reshape(rows, kk, groups, -1)
    if isinstance(cols, Tensor):
        return c4.permute(2, 0, 1, 3).reshape(groups, rows, -1)
    return c4.transpose(2, 0, 1, 3).reshape(groups, rows, -1)


class Conv2d(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, w, b, g, groups):
        xp = ctx.xp
        o = w.shape[0]
        wm = _weight_matrix(w, groups)
        if groups == 1:
            cols, out2 = _im2col_gemm(xp, x, g, wm)
        else:
            cols = im2col_array(xp, x, g)
            rows = cols.shape[0]
            c3 = _group_cols(cols, groups, g.kh * g.kw)
            out2 = xp.matmul(c3, wm.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(rows, o)
        if b is not None:
            out2 += b
        # contiguous (N, C, H, W), as torch's default memory format: programs view() it
        out = xp.ascontiguousarray(out2.reshape(g.n, g.oh, g.ow, o).transpose(0, 3, 1, 2))
        nig = ctx.needs_input_grad
        ctx.save_for_backward(x if nig[1] else None, w if nig[0] else None,
                              cols if nig[1] else None)
        ctx.g, ctx.groups, ctx.w_shape = g, groups, w.shape
        return out

    @staticmethod
    def backward(ctx, gout):
        x, w, cols = ctx.saved_tensors
        nig = ctx.needs_input_grad
        g, groups = ctx.g, ctx.groups
        n, o = gout.shape[0], gout.shape[1]
        kk = g.kh * g.kw
        rows = n * g.oh * g.ow
        g2 = gout.permute(0, 2, 3, 1).reshape(rows, o)
        gx = gw = gb = None
        if groups == 1 and not _state.enabled:
            return _backward_arrays(ctx, gout, x, w, cols, rows, o)
        og = o // groups
        g3 = None if groups == 1 else g2.reshape(rows, groups, og).permute(1, 0, 2)
        if nig[0]:
            wm = _weight_matrix(w, groups)
            if groups == 1:
                gcols = mm(g2, wm)
            else:  # (G, NL, KK*Cg) -> (NL, KK, G, Cg) -> (NL, KK*C)
                gc = mm(g3, wm).reshape(groups, rows, kk, -1)
                gcols = gc.permute(1, 2, 0, 3).reshape(rows, -1)
            gx = col2im(gcols, g)
        if nig[1]:
            # recompute the columns from x when building a graph, so gw stays connected to x
            c = im2col(x, g) if _state.enabled else cols
            o_, cg, kh, kw = ctx.w_shape
            if groups == 1:
                gm = mm(g2.mT, c)  # (O, KK*C)
            else:
                gm = mm(g3.mT, _group_cols(c, groups, kk))  # (G, Og, KK*Cg)
            gw = gm.reshape(o_, kh, kw, cg).permute(0, 3, 1, 2)
        if nig[2]:
            gb = gout.sum((0, 2, 3))
        return gx, gw, gb, None, None


def _backward_blocked(xp, g2, wm, cols, g: Geom, want_x: bool, want_w: bool):
    """Input and weight gradients of an ungrouped convolution from the channels-last output
    gradient ``g2`` (N*OH*OW, O): ``gw = g2.T @ cols`` and ``gx = col2im(g2 @ wm)``, a few
    images at a time so that each block of columns is used while it is in cache (the whole
    matrices are often tens of MB). Returns (gx as an NCHW view of NHWC memory, gw matrix)."""
    n, c = g.n, g.c
    per = g.oh * g.ow
    kkc = g.kh * g.kw * c
    nb = _chunk_images(xp, g, kkc * g2.dtype.itemsize)
    gx = gm = None
    if want_x:
        gx = xp.zeros((n, g.h + g.pt + g.pb, g.w + g.pl + g.pr, c), dtype=g2.dtype)
    for n0 in range(0, n, nb):
        n1 = min(n, n0 + nb)
        gb = g2[n0 * per:n1 * per]
        if want_w:
            part = gb.T @ cols[n0 * per:n1 * per]
            if gm is None:
                gm = part
            else:
                gm += part
        if want_x:
            c6 = (gb @ wm).reshape(n1 - n0, g.oh, g.ow, g.kh, g.kw, c)
            o = gx[n0:n1]
            for i in range(g.kh):
                for j in range(g.kw):
                    o[:, _hslice(g, i), _wslice(g, j), :] += c6[:, :, :, i, j, :]
    if want_x:
        gx = gx[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w, :].transpose(0, 3, 1, 2)
    return gx, gm


def _backward_arrays(ctx, gout, x, w, cols, rows, o):
    """First-order backward of an ungrouped convolution straight on arrays: blocked GEMMs on
    the channels-last gradient, reusing the forward's columns."""
    nig = ctx.needs_input_grad
    g = ctx.g
    dev = gout._device
    xp = dev._xp()
    g2 = gout._data.transpose(0, 2, 3, 1).reshape(rows, o)  # free when gout is channels-last
    gx = gw = gb = None
    wm = _weight_matrix(w._data, 1) if nig[0] else None
    gxa, gm = _backward_blocked(xp, g2, wm, cols._data if nig[1] else None, g, nig[0], nig[1])
    if nig[0]:
        gx = _make(gxa, dev)
    if nig[1]:
        o_, cg, kh, kw = ctx.w_shape
        gw = _make(xp.ascontiguousarray(gm.reshape(o_, kh, kw, cg).transpose(0, 3, 1, 2)), dev)
    if nig[2]:
        gb = _make(g2.sum(0), dev)
    return gx, gw, gb, None, None


def out_size(n: int, k: int, s: int, d: int, p_lo: int, p_hi: int, ceil: bool = False) -> int:
    """Output length of a sliding window (torch's formula, with its ceil-mode rule)."""
    span = n + p_lo + p_hi - d * (k - 1) - 1
    if ceil:
        o = -(-span // s) + 1
        if (o - 1) * s >= n + p_lo:  # the last window must start inside the input
            o -= 1
        return o
    return span // s + 1


def _conv_padding(padding, kh, kw, dh, dw, stride):
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if stride != (1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            th, tw = dh * (kh - 1), dw * (kw - 1)
            return th // 2, th - th // 2, tw // 2, tw - tw // 2
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    ph, pw = pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise RuntimeError("negative padding is not supported")
    return ph, ph, pw, pw


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over an (N, C, H, W) or (C, H, W) input.

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, KH, KW)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: int or (h, w) pair.
        padding: int, (h, w) pair, 'valid' or 'same' (stride 1 only).
        groups: split channels into this many independent convolutions.

    Returns:
        ``(N, C_out, OH, OW)``.

    Example:
        >>> F.conv2d(gpuarr.ones(1, 1, 4, 4), gpuarr.ones(1, 1, 3, 3)).shape
        gpuarr.Size([1, 1, 2, 2])
    """
    check_tensor(input, "input", "conv2d")
    check_tensor(weight, "weight", "conv2d")
    if input.ndim == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    if input.ndim != 4:
        raise RuntimeError(
            "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
            f"{list(input.shape)}"
        )
    if weight.ndim != 4:
        raise RuntimeError(
            f"weight should have 4 dimensions for conv2d, but got weight of size "
            f"{list(weight.shape)}"
        )
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    if sh <= 0 or sw <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if dh <= 0 or dw <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    n, c, h, w = input.shape
    o, cg, kh, kw = weight.shape
    if c != cg * groups or o % groups:
        if o % groups:
            raise RuntimeError(
                f"Given groups={groups}, expected weight to be divisible by {groups} at "
                f"dimension 0, but got weight of size {list(weight.shape)} instead"
            )
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(input.shape)} to have {cg * groups} channels, but got {c} channels "
            "instead"
        )
    for other in (weight, bias):
        if other is not None and other._data.dtype != input._data.dtype:
            raise RuntimeError(
                f"expected scalar type {dtype_name(input.dtype)} but found "
                f"{dtype_name(other.dtype)}"
            )
    if input._data.dtype.kind != "f":
        raise RuntimeError(f'"conv2d" not implemented for \'{dtype_name(input.dtype)}\'')
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
            f"with {o} elements, but got bias of size {list(bias.shape)} instead"
        )
    pt, pb, pl, pr = _conv_padding(padding, kh, kw, dh, dw, (sh, sw))
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if h + pt + pb < eh or w + pl + pr < ew:
        raise RuntimeError(
            f"Calculated padded input size per channel: ({h + pt + pb} x {w + pl + pr}). "
            f"Kernel size: ({eh} x {ew}). Kernel size can't be greater than actual input size"
        )
    oh = out_size(h, kh, sh, dh, pt, pb)
    ow = out_size(w, kw, sw, dw, pl, pr)
    g = Geom(n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, oh, ow)
    return Conv2d.apply(input, weight, bias, g, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation over an (N, C, L) or (C, L) input (runs as a 1 x K conv2d).

    Args:
        weight: ``(C_out, C_in / groups, K)``.
        padding: int, 'valid' or 'same'.
    """
    check_tensor(input, "input", "conv1d")
    if input.ndim not in (2, 3):
        raise RuntimeError(
            "Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: "
            f"{list(input.shape)}"
        )
    if weight.ndim != 3:
        raise RuntimeError(
            f"weight should have 3 dimensions for conv1d, but got weight of size "
            f"{list(weight.shape)}"
        )
    s = stride[0] if isinstance(stride, (tuple, list)) else stride
    d = dilation[0] if isinstance(dilation, (tuple, list)) else dilation
    p = padding if isinstance(padding, str) else (
        padding[0] if isinstance(padding, (tuple, list)) else padding)
    p2 = p if isinstance(p, str) else (0, p)
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, s), p2, (1, d), groups)
    return out.squeeze(-2)

