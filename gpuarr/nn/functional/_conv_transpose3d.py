"""``conv_transpose3d``: the 3-d transposed convolution ("deconvolution").

A transposed convolution is the adjoint of a convolution with respect to its input: every input
voxel's channel vector is multiplied by the (per-group, transposed) weight matrix into a column
of kernel-sized patches, and :func:`col2vol_array` sums the patches into the output volume.
The backward pass is a forward convolution of the output gradient (``vol2col`` + matmul) for
the input, the same columns against the input for the weight, and a sum for the bias. It is
written with differentiable ops (``vol2col``, ``col2vol``, matmul), so it can be differentiated
again.
"""

from __future__ import annotations

from ..._autocast import state as _amp
from ..._tensor import Tensor
from ...autograd.function import Function
from ._conv3d import Geom3, _kk, _pp, col2vol_array, vol2col
from ._utils import check_tensor, dtype_name

__all__ = ["conv_transpose3d"]


class ConvTranspose3d(Function):
    """Forward on arrays: ``W^T x`` per group, then col2vol. Saves input and weight."""

    _raw = True
    _node_name = "ConvolutionBackward0"  # torch's node: input, weight, bias (None if absent)
    _next_args = (0, 1, 2)

    @staticmethod
    def forward(ctx, x, w, b, g, groups):
        xp = ctx.xp
        n, c = x.shape[:2]
        cig, cog = c // groups, w.shape[1]
        p, kk = _pp(g), _kk(g)
        xg = x.reshape(n, groups, cig, p)
        wg = w.reshape(groups, cig, cog * kk).transpose(0, 2, 1)  # (G, C_out/G * K, C_in/G)
        cols = xp.matmul(wg, xg).reshape(n, g.c * kk, p)
        out = col2vol_array(xp, cols, g)
        if b is not None:
            out += b.reshape(g.c, 1, 1, 1).astype(out.dtype, copy=False)
        nig = ctx.needs_input_grad
        ctx.save_for_backward(x if nig[1] else None, w if nig[0] else None)
        ctx.g, ctx.groups, ctx.w_shape = g, groups, tuple(w.shape)
        return out

    @staticmethod
    def backward(ctx, gout):
        x, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        g, groups = ctx.g, ctx.groups
        n = gout.shape[0]
        ci, cog = ctx.w_shape[:2]
        cig, p, kk = ci // groups, _pp(g), _kk(g)
        gx = gw = gb = None
        if nig[0] or nig[1]:
            # the gradient's windows, one column per input voxel: (N, G, C_out/G * K, P)
            cols = vol2col(gout, g).reshape(n, groups, cog * kk, p)
        if nig[0]:  # a forward convolution of the gradient: (G, Cig, Cog*K) @ columns
            gx = (w.reshape(groups, cig, cog * kk) @ cols).reshape((n, ci) + g.out)
        if nig[1]:  # (N, G, Cig, P) @ (N, G, P, Cog*K), summed over the batch
            gw = (x.reshape(n, groups, cig, p) @ cols.mT).sum(0).reshape(ctx.w_shape)
        if nig[2]:
            gb = gout.sum((0, 2, 3, 4))
        return gx, gw, gb, None, None


def triple(v, name: str) -> tuple:
    """``v`` as a (d, h, w) triple of ints, with torch's error for a wrong length."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = (v[0],) * 3
        if len(v) != 3:
            raise RuntimeError(
                f"expected {name} to be a single integer value or a list of 3 values to match "
                f"the convolution dimensions, but got {name}={[int(a) for a in v]}")
        return tuple(int(a) for a in v)
    return (int(v),) * 3


def _check_args(s, p, op, dil, groups) -> None:
    if min(s) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dil) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if min(p) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(op) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(o >= a and o >= b for o, a, b in zip(op, s, dil)):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            f"output_padding_depth: {op[0]} output_padding_height: {op[1]} "
            f"output_padding_width: {op[2]} stride_depth: {s[0]} stride_height: {s[1]} "
            f"stride_width: {s[2]} dilation_depth: {dil[0]} dilation_height: {dil[1]} "
            f"dilation_width: {dil[2]}")


def _check_dtypes(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """torch's checks: one dtype for all three, floating point or int64."""
    for other, what in ((weight, "weight"), (bias, "bias")):
        if other is None or other._data.dtype == input._data.dtype:
            continue
        if input._data.dtype.kind in "fV":
            raise RuntimeError(
                f"Input type ({input.type()}) and {what} type ({other.type()}) should be the "
                "same")
        raise RuntimeError(
            f"expected scalar type {dtype_name(input.dtype)} but found {dtype_name(other.dtype)}")
    dt = input._data.dtype
    if dt.kind not in "fV" and dt != "int64":  # torch's slow kernel also takes int64
        raise NotImplementedError(
            f'"slow_conv_transpose3d" not implemented for \'{dtype_name(input.dtype)}\'')


def _check_shapes(input: Tensor, weight: Tensor, bias: Tensor | None, groups: int) -> None:
    c, (ci, cog) = input.shape[1], weight.shape[:2]
    if ci < groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
            f"but got weight of size {list(weight.shape)} instead")
    if ci % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size [{list(weight.shape)}] instead")
    if ci != c:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {ci} channels, but got {c} channels instead")
    co = cog * groups
    if bias is not None and tuple(bias.shape) != (co,):
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
            f"1-dimensional with {co} elements, but got bias of size {list(bias.shape)} "
            "instead")


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution ("deconvolution") of an (N, C_in, D, H, W) input.

    Args:
        input: ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``.
        weight: ``(C_in, C_out / groups, KD, KH, KW)``.
        bias: ``(C_out,)`` or None.
        stride, padding, output_padding, dilation: int or (d, h, w) triple. ``padding``
            removes ``dilation * (kernel_size - 1) - padding`` zero-padding from each side of
            the output; ``output_padding`` (smaller than stride or dilation) adds to one side.
        groups: split channels into this many independent convolutions.

    Returns:
        ``(N, C_out, OD, OH, OW)`` with ``OD = (D-1)*sd - 2*pd + dd*(KD-1) + opd + 1`` (and so
        on); unbatched input gives an unbatched result.

    Example:
        >>> F.conv_transpose3d(gpuarr.ones(1, 2, 3, 3, 3), gpuarr.ones(2, 4, 3, 3, 3),
        ...                    stride=2).shape
        gpuarr.Size([1, 4, 7, 7, 7])
    """
    if _amp.on:
        return _amp.run("conv_transpose3d", conv_transpose3d, input, weight, bias=bias,
                        stride=stride, padding=padding, output_padding=output_padding,
                        groups=groups, dilation=dilation)
    check_tensor(input, "input", "conv_transpose3d")
    check_tensor(weight, "weight", "conv_transpose3d")
    if input.ndim == 4:
        return conv_transpose3d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    if input.ndim != 5:
        raise RuntimeError(
            "Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d, but got input "
            f"of size: {list(input.shape)}")
    if weight.ndim != 5:
        raise RuntimeError(
            f"weight should have 5 dimensions for conv_transpose3d, but got weight of size "
            f"{list(weight.shape)}")
    s, p = triple(stride, "stride"), triple(padding, "padding")
    op, dil = triple(output_padding, "output_padding"), triple(dilation, "dilation")
    _check_args(s, p, op, dil, groups)
    _check_shapes(input, weight, bias, groups)
    _check_dtypes(input, weight, bias)
    k = tuple(weight.shape[2:])
    size = tuple(input.shape[2:])
    out = tuple((m - 1) * st - 2 * pp + d * (kk - 1) + o + 1
                for m, st, pp, d, kk, o in zip(size, s, p, dil, k, op))
    # torch's own kernel refuses an empty output dim, except for an empty batch (where it
    # checks nothing; there a negative size is refused too)
    if min(out) < (0 if input.shape[0] == 0 else 1):
        raise RuntimeError(
            f"Given input size per channel: ({' x '.join(map(str, size))}). Calculated output "
            f"size per channel: ({' x '.join(map(str, out))}). Output size is too small")
    # the output volume is the "input" of the convolution this op is the adjoint of: its
    # padded extent reaches the last window end plus the output padding
    g = Geom3(input.shape[0], weight.shape[1] * groups, out, k, s, dil, p, p, size)
    return ConvTranspose3d.apply(input, weight, bias, g, groups)
