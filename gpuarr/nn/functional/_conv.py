"""2-D convolution by im2col + matrix products, and the window helpers pooling shares.

``im2col`` lays the receptive fields of every image out as an (C*KH*KW, OH*OW) matrix (torch's
``unfold`` layout), so a convolution is one GEMM per image against the (O, C*KH*KW) weight
matrix, whose result is the output image already in NCHW order: no transposes of the input,
the weight, the output or its gradient. On NumPy the fields are read through a strided view
(one copy); on CuPy they are gathered with one slice per kernel position (KH*KW copies), which
is simple and fast on a GPU. ``col2im`` is the adjoint: it adds every column back into the
(overlapping) windows it came from, one add per kernel position. The two are each other's
backward, which gives convolution second derivatives. The layer itself runs them a block of
images at a time (see :class:`Conv2d`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..._autocast import state as _amp
from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...backends import of_module
from ...ops._common import dtype_name
from ._utils import apply_raw, check_tensor, pair

__all__ = ["conv2d", "conv1d"]

# Tests set this to run the CuPy code path (slice loops) on NumPy arrays.
FORCE_SLICE_LOOPS = False

# Bytes of im2col columns per block in the blocked GEMMs on NumPy (see _block_size).
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


def _block_size(xp, g: Geom, image_bytes: int) -> int:
    """Images per block of the blocked im2col GEMMs: about ``_CHUNK_BYTES`` of columns on
    NumPy, so a block's columns are still in cache when the GEMM (or the sum back into
    windows) reads them, and all blocks share the buffers; the whole batch on a GPU, where
    blocking only adds launches."""
    if not _strided(xp):
        return max(g.n, 1)
    return min(max(g.n, 1), max(1, _CHUNK_BYTES // max(1, image_bytes)))


def _fill_cols(xp, src, g: Geom, dst) -> None:
    """Write the receptive fields of the padded images ``src`` into ``dst`` (images,
    C*KH*KW, OH*OW), laid out (C, KH, KW, OH, OW) per image."""
    c6 = dst.reshape(src.shape[0], g.c, g.kh, g.kw, g.oh, g.ow)
    if _strided(xp):
        s0, s1, s2, s3 = src.strides
        c6[...] = np.lib.stride_tricks.as_strided(
            src, c6.shape, (s0, s1, s2 * g.dh, s3 * g.dw, s2 * g.sh, s3 * g.sw),
            writeable=False)
        return
    for i in range(g.kh):
        for j in range(g.kw):
            c6[:, :, i, j] = src[:, :, _hslice(g, i), _wslice(g, j)]


def _add_cols(gcols, g: Geom, out) -> None:
    """Adjoint of :func:`_fill_cols`: add ``gcols`` (laid out as the columns) into the
    windows of the padded images ``out``: one strided add per kernel position, much faster
    than a scatter-add of every element."""
    c6 = gcols.reshape(out.shape[0], g.c, g.kh, g.kw, g.oh, g.ow)
    for i in range(g.kh):
        for j in range(g.kw):
            out[:, :, _hslice(g, i), _wslice(g, j)] += c6[:, :, i, j]


def im2col_array(xp, x, g: Geom):
    """(N, C, H, W) -> (N, C*KH*KW, OH*OW) receptive fields (torch's ``unfold`` layout).

    Rows are ordered (channel, kernel row, kernel column), the order of a flattened
    (O, C, KH, KW) weight, and the columns are the output pixels in NCHW order: a per-image
    product ``weight @ cols[n]`` is the output image already in NCHW layout, with no
    transposes of the input, the weight or the result.
    """
    cols = xp.empty((g.n, g.c * g.kh * g.kw, g.oh * g.ow), dtype=x.dtype)
    _fill_cols(xp, pad_array(xp, x, g), g, cols)
    return cols


def col2im_array(xp, cols, g: Geom):
    """Adjoint of :func:`im2col_array`: (N, C*KH*KW, OH*OW) -> (N, C, H, W), summing the
    overlapping windows."""
    out = xp.zeros(_padded_shape(g), dtype=cols.dtype)
    _add_cols(cols, g, out)
    return _cropped(xp, out, g)


def _padded_shape(g: Geom) -> tuple:
    return (g.n, g.c, g.h + g.pt + g.pb, g.w + g.pl + g.pr)


def _cropped(xp, xpd, g: Geom):
    """The unpadded part of ``xpd`` as a contiguous array (as torch returns gradients)."""
    if not (g.pt or g.pb or g.pl or g.pr):
        return xpd
    return xp.ascontiguousarray(crop(xpd, g))


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
    """Conv weight (O, C/G, KH, KW) as the GEMM operand matching im2col's row order:
    (G, O/G, C/G*KH*KW), a free reshape of a contiguous weight. Works on arrays and Tensors."""
    o = w.shape[0]
    return w.reshape(groups, o // groups, -1)


class Conv2d(Function):
    """Blocked im2col + GEMM. The columns are never kept whole: each block of a few images
    is multiplied right after it is written, while in cache, and the backward pass rebuilds
    the blocks from the input. Saving them instead would cost KH*KW times the input's
    memory and a trip through main memory (plus fresh-page faults) for every block."""

    _raw = True
    _node_name = "ConvolutionBackward0"  # torch's node: input, weight, bias (None if absent)
    _next_args = (0, 1, 2)

    @staticmethod
    def forward(ctx, x, w, b, g, groups):
        xp = ctx.xp
        o = w.shape[0]
        # contiguous (N, C, H, W), as torch's default memory format: programs view() it
        out = xp.empty((g.n, o, g.oh, g.ow), dtype=x.dtype)
        if g.n:
            _forward_blocks(xp, x, w, b, g, groups, out)
        nig = ctx.needs_input_grad
        ctx.save_for_backward(x if nig[1] else None, w if nig[0] else None)
        ctx.g, ctx.groups, ctx.w_shape = g, groups, w.shape
        return out

    @staticmethod
    def backward(ctx, gout):
        x, w = ctx.saved_tensors
        if not is_grad_enabled():
            return _backward_arrays(ctx, gout, x, w)
        nig = ctx.needs_input_grad
        g, groups = ctx.g, ctx.groups
        n, o = gout.shape[0], gout.shape[1]
        p = g.oh * g.ow
        kg = g.c // groups * g.kh * g.kw
        g4 = gout.reshape(n, groups, o // groups, p)
        gx = gw = gb = None
        if nig[0]:  # (G, Kg, Og) @ (N, G, Og, P) -> (N, G, Kg, P) columns
            gc = _weight_matrix(w, groups).mT @ g4
            gx = col2im(gc.reshape(n, groups * kg, p), g)
        if nig[1]:
            c4 = im2col(x, g).reshape(n, groups, kg, p)
            gw = (g4 @ c4.mT).sum(0).reshape(ctx.w_shape)
        if nig[2]:
            gb = gout.sum((0, 2, 3))
        return gx, gw, gb, None, None


def _forward_blocks(xp, x, w, b, g: Geom, groups: int, out) -> None:
    """Convolution into ``out``: one GEMM per image and group writes NCHW output directly."""
    o = w.shape[0]
    p = g.oh * g.ow
    k = g.c * g.kh * g.kw
    wm = _weight_matrix(w, groups)
    xpd = pad_array(xp, x, g)
    bias = None if b is None else b.reshape(o, 1, 1)
    nb = _block_size(xp, g, k * p * x.dtype.itemsize)
    cols = xp.empty((nb, k, p), dtype=x.dtype)
    for n0 in range(0, g.n, nb):
        n1 = min(g.n, n0 + nb)
        c = cols[:n1 - n0]
        _fill_cols(xp, xpd[n0:n1], g, c)
        xp.matmul(wm, c.reshape(n1 - n0, groups, -1, p),
                  out=out[n0:n1].reshape(n1 - n0, groups, -1, p))
        if bias is not None:
            out[n0:n1] += bias


def _backward_blocks(xp, g4, x, w, g: Geom, groups: int, want_x: bool, want_w: bool):
    """(gx, gw) arrays (None where not wanted), the columns rebuilt a block at a time:
    ``gw += gout[n] @ cols[n].T`` and ``w.T @ gout[n]`` summed back into gx's windows."""
    n, o = g4.shape[:2]
    p = g.oh * g.ow
    kg = g.c // groups * g.kh * g.kw
    dt = g4.dtype
    nb = _block_size(xp, g, kg * groups * p * dt.itemsize)
    cols = xp.empty((nb, groups * kg, p), dtype=dt)
    g4 = g4.reshape(n, groups, o // groups, p)
    gxp = gflat = lattice = wmt = xpd = gm = None
    if want_x:
        wmt = _weight_matrix(w, groups).transpose(0, 2, 1)
        if _strided(xp):
            gflat, gxp, lattice = _shifted_add_buffers(xp, g, nb, dt)
        else:
            gxp = xp.zeros(_padded_shape(g), dtype=dt)
    if want_w:
        xpd = pad_array(xp, x, g)
        gm = xp.zeros((groups, kg, o // groups), dtype=dt)
    for n0 in range(0, n, nb):
        n1 = min(n, n0 + nb)
        gb4 = g4[n0:n1]
        c4 = cols[:n1 - n0].reshape(n1 - n0, groups, kg, p)
        if want_w:
            _fill_cols(xp, xpd[n0:n1], g, cols[:n1 - n0])
            # cols @ gout.T (then transposed) runs faster in BLAS than gout @ cols.T
            gm += xp.matmul(c4, gb4.transpose(0, 1, 3, 2)).sum(0)
        if want_x:  # the columns' buffer is free again: take the input gradient's
            gc = xp.matmul(wmt, gb4, out=c4)
            if lattice is None:
                _add_cols(gc, g, gxp[n0:n1])
            else:
                _add_cols_shifted(gc, g, gflat, n0, lattice[:n1 - n0])
    gx = _cropped(xp, gxp, g) if want_x else None
    gw = xp.ascontiguousarray(gm.transpose(0, 2, 1)).reshape(o, -1, g.kh, g.kw) if want_w else None
    return gx, gw


def _shifted_add_buffers(xp, g: Geom, nb: int, dtype):
    """(flat, images, lattice) for :func:`_add_cols_shifted`: zeroed flat memory for the
    padded input gradient plus the slack the shifted adds run into, its (N, C, Hp, Wp)
    view, and a zeroed (nb, C, Hp, Wp) scratch."""
    hp, wp = g.h + g.pt + g.pb, g.w + g.pl + g.pr
    size = g.n * g.c * hp * wp
    flat = xp.zeros(size + (g.kh - 1) * g.dh * wp + (g.kw - 1) * g.dw, dtype=dtype)
    return flat, flat[:size].reshape(_padded_shape(g)), xp.zeros((nb, g.c, hp, wp), dtype=dtype)


def _add_cols_shifted(gcols, g: Geom, flat, first: int, lattice) -> None:
    """:func:`_add_cols` for NumPy, into images ``first:`` of ``flat`` memory (see
    :func:`_shifted_add_buffers`). NumPy adds in short strided rows (OW values) several
    times slower than it copies them or adds long contiguous runs, so each kernel
    position's values are copied onto the output lattice of the zeroed padded scratch,
    which is then added, shifted by the kernel offset, to the flat memory in one contiguous
    add. The scratch's zeros off the lattice land harmlessly, some past the last image."""
    b, c, hp, wp = lattice.shape
    c6 = gcols.reshape(b, g.c, g.kh, g.kw, g.oh, g.ow)
    on = lattice[:, :, :(g.oh - 1) * g.sh + 1:g.sh, :(g.ow - 1) * g.sw + 1:g.sw]
    src = lattice.reshape(-1)
    base = first * c * hp * wp
    for i in range(g.kh):
        for j in range(g.kw):
            on[...] = c6[:, :, i, j]
            off = base + i * g.dh * wp + j * g.dw
            dst = flat[off:off + src.size]
            dst += src


def _backward_arrays(ctx, gout, x, w):
    """First-order backward straight on arrays (no graph)."""
    nig = ctx.needs_input_grad
    g, groups = ctx.g, ctx.groups
    dev = gout._device
    xp = dev._xp()
    g4 = xp.ascontiguousarray(gout._data)
    gx = gw = gb = None
    if nig[0] or nig[1]:
        if g.n:
            gxa, gwa = _backward_blocks(xp, g4, x._data if nig[1] else None,
                                        w._data if nig[0] else None, g, groups, nig[0],
                                        nig[1])
        else:  # empty batch
            gxa = xp.zeros((0, g.c, g.h, g.w), dtype=g4.dtype)
            gwa = xp.zeros(ctx.w_shape, dtype=g4.dtype)
        gx = _make(gxa, dev) if nig[0] else None
        gw = _make(gwa, dev) if nig[1] else None
    if nig[2]:
        gb = _make(g4.sum((0, 2, 3)), dev)
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
    if _amp.on:
        return _amp.run("conv2d", conv2d, input, weight, bias=bias, stride=stride, padding=padding,
                        dilation=dilation, groups=groups)
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
    if input._data.dtype.kind not in "fV":
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
    if _amp.on:
        return _amp.run("conv1d", conv1d, input, weight, bias=bias, stride=stride, padding=padding,
                        dilation=dilation, groups=groups)
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

