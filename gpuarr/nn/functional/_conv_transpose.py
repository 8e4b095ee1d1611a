"""Transposed convolution: ``conv_transpose1d`` and ``conv_transpose2d``.

A transposed convolution is the gradient of a convolution with respect to its input: each
input pixel's channel vector is multiplied by the (transposed, per-group) weight matrix into a
column of kernel-sized patches, and the patches are summed into the output image (col2im,
:func:`fold`). Gradients come from autograd through the matmul and ``fold``.
"""

from __future__ import annotations

from ..._autocast import state as _amp
from ..._tensor import Tensor
from ...ops._common import dtype_name
from ._resample import fold
from ._utils import check_tensor, pair

__all__ = ["conv_transpose1d", "conv_transpose2d"]


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution") of (N, C_in, H, W) input.

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_in, C_out / groups, KH, KW)``.
        bias: ``(C_out,)`` or None.
        stride, padding, output_padding, dilation: int or (h, w) pair; ``output_padding``
            (smaller than stride or dilation) adds rows/columns on one side of the output.
        groups: split channels into this many independent convolutions.

    Returns:
        ``(N, C_out, OH, OW)`` with ``OH = (H-1)*sh - 2*ph + dh*(KH-1) + oph + 1``.

    Example:
        >>> F.conv_transpose2d(gpuarr.ones(1, 2, 3, 3), gpuarr.ones(2, 4, 3, 3), stride=2).shape
        gpuarr.Size([1, 4, 7, 7])
    """
    if _amp.on:
        return _amp.run("conv_transpose2d", conv_transpose2d, input, weight, bias=bias,
                        stride=stride, padding=padding, output_padding=output_padding,
                        groups=groups, dilation=dilation)
    check_tensor(input, "input", "conv_transpose2d")
    check_tensor(weight, "weight", "conv_transpose2d")
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    if input.ndim != 4:
        raise RuntimeError(
            "Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input "
            f"of size: {list(input.shape)}")
    if weight.ndim != 4:
        raise RuntimeError(
            f"weight should have 4 dimensions for conv_transpose2d, but got weight of size "
            f"{list(weight.shape)}")
    s = pair(stride, "stride")
    p = pair(padding, "padding")
    op = pair(output_padding, "output_padding")
    d = pair(dilation, "dilation")
    if min(s) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(d) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if min(p) < 0:
        raise RuntimeError("negative padding is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    for i in range(2):
        if op[i] < 0 or (op[i] >= s[i] and op[i] >= d[i]):
            raise RuntimeError(
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding_height: {op[0]} output_padding_width: {op[1]} stride_height: "
                f"{s[0]} stride_width: {s[1]} dilation_height: {d[0]} dilation_width: {d[1]}")
    n, c, h, w = input.shape
    ci, cog, kh, kw = weight.shape
    if ci != c or c % groups:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {ci} channels, but got {c} channels instead")
    for other in (weight, bias):
        if other is not None and other._data.dtype != input._data.dtype:
            raise RuntimeError(
                f"expected scalar type {dtype_name(input.dtype)} but found "
                f"{dtype_name(other.dtype)}")
    if input._data.dtype.kind not in "fV":
        raise RuntimeError(
            f'"conv_transpose2d" not implemented for \'{dtype_name(input.dtype)}\'')
    co = cog * groups
    if bias is not None and tuple(bias.shape) != (co,):
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
            f"1-dimensional with {co} elements, but got bias of size {list(bias.shape)} "
            "instead")
    oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1
    ow = (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"Given input size per channel: ({h} x {w}). Calculated output size per channel: "
            f"({oh} x {ow}). Output size is too small")
    g, cig = groups, c // groups
    kk = kh * kw
    xg = input.reshape(n, g, cig, h * w)
    wg = weight.reshape(g, cig, cog * kk).transpose(1, 2)  # (g, C_out/g * KK, C_in/g)
    cols = (wg @ xg).reshape(n, co * kk, h * w)
    out = fold(cols, (oh, ow), (kh, kw), d, p, s)
    if bias is not None:
        out = out + bias.reshape(1, co, 1, 1)
    return out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of (N, C_in, L) or (C_in, L) input; weight
    ``(C_in, C_out / groups, K)`` (arguments as :func:`conv_transpose2d`, 1-D).

    Example:
        >>> F.conv_transpose1d(gpuarr.ones(1, 2, 5), gpuarr.ones(2, 3, 3)).shape
        gpuarr.Size([1, 3, 7])
    """
    if _amp.on:
        return _amp.run("conv_transpose1d", conv_transpose1d, input, weight, bias=bias,
                        stride=stride, padding=padding, output_padding=output_padding,
                        groups=groups, dilation=dilation)
    check_tensor(input, "input", "conv_transpose1d")
    check_tensor(weight, "weight", "conv_transpose1d")
    if input.ndim not in (2, 3):
        raise RuntimeError(
            "Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, but got input "
            f"of size: {list(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(
            f"weight should have 3 dimensions for conv_transpose1d, but got weight of size "
            f"{list(weight.shape)}")

    def one(v, name):
        return (1 if name in ("stride", "dilation") else 0, pair(v, name, 1)[0])

    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias,
                           one(stride, "stride"), one(padding, "padding"),
                           one(output_padding, "output_padding"), groups,
                           one(dilation, "dilation"))
    return out.squeeze(-2)
