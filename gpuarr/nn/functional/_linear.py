"""Matrix products used by the layers: ``mm`` (2-D and batched 3-D) and ``linear``.

Both are raw Functions whose backward is written with the same products, so second
derivatives (``create_graph=True``) work. When no graph is being recorded (the usual
backward pass) the products run straight on the backend arrays.
"""

from __future__ import annotations

import math

import numpy as np

from ..._autocast import state as _amp
from ..._core.function import HOLOMORPHIC
from ..._tensor import Tensor
from ...autograd.function import Function
from ...ops._common import _make, _state, dtype_name

# the one matrix product of the op layer, for operands already checked (backward formulas)
from ...ops.matmul import _product as mm
from ...ops.matmul import half_via_float32
from ._utils import check_tensor

__all__ = ["linear"]


class Linear(Function):
    """``x @ w.T + b`` over the last dim of ``x`` (any number of leading dims)."""

    _raw = True
    _complex_grad = HOLOMORPHIC  # its backward is products with g (ops/complex_grads.py)

    @staticmethod
    def forward(ctx, x, w, b):
        x2 = x.reshape(math.prod(x.shape[:-1]), x.shape[-1]) if x.ndim != 2 else x
        if half_via_float32(ctx.xp, x.dtype):
            # bfloat16, and float16 where the backend has no half GEMM: product and bias in
            # float32, rounded once, as torch's CPU addmm (rounding the product to half before
            # adding the bias would round twice and differ from torch by an ulp)
            out = x2.astype(np.float32) @ w.T.astype(np.float32)
            if b is not None:
                out += b.astype(np.float32)
            out = out.astype(x.dtype)
        else:
            out = x2 @ w.T
            if b is not None:
                out = ctx.device._backend().add_bias(out, b)
        nig = ctx.needs_input_grad
        ctx.save_for_backward(x if nig[1] else None, w if nig[0] else None)
        ctx.x_shape = x.shape
        return out.reshape(x.shape[:-1] + (w.shape[0],)) if x.ndim != 2 else out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        shape = ctx.x_shape
        g2 = g if g.ndim == 2 else g.reshape(math.prod(shape[:-1]), g.shape[-1])
        gx = gw = gb = None
        if nig[0]:
            gx = mm(g2, w)
            if len(shape) != 2:
                gx = gx.reshape(shape)
        if nig[1]:
            x2 = x if x.ndim == 2 else x.reshape(math.prod(shape[:-1]), shape[-1])
            gw = _weight_grad(g2, x2)
        if nig[2]:
            gb = g2.sum(0)
        return gx, gw, gb


def _weight_grad(g2: Tensor, x2: Tensor) -> Tensor:
    """``g2.T @ x2``, the weight gradient: the backend's own kernel where it has one for these
    arrays (a small float32 batch on the CPU, see ``cpu_native.linear_weight_grad``) and the
    backward records no graph; otherwise the matrix product."""
    if not (_state.enabled and (g2._rg or x2._rg)):
        out = g2._device._backend().linear_weight_grad(g2._data, x2._data)
        if out is not None:
            return _make(out, g2._device)
    return mm(g2.mT, x2)


# One fused op; these name its graph node as torch's linear does (addmm(bias, x, w.t()) or
# mm(x, w.t()), and for N-d input a view of that), listing the inputs in torch's order.
class Addmm(Linear):
    _next_args = (2, 0, 1)


class Mm(Linear):
    _next_args = (0, 1)


class LinearView(Linear):
    _node_name = "ViewBackward0"
    _next_args = (2, 0, 1)


class LinearUnsafeView(Linear):
    _node_name = "UnsafeViewBackward0"
    _next_args = (0, 1)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map ``input @ weight.T + bias`` (as ``torch.nn.functional.linear``).

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None.

    Returns:
        ``(*, out_features)``.

    Example:
        >>> F.linear(gpuarr.ones(2, 3), gpuarr.ones(4, 3)).shape
        gpuarr.Size([2, 4])
    """
    if _amp.on:
        return _amp.run("linear", linear, input, weight, bias=bias)
    check_tensor(input, "input", "linear")
    check_tensor(weight, "weight", "linear")
    xd, wd = input._data, weight._data
    if wd.ndim != 2 or xd.ndim == 0 or xd.shape[-1] != wd.shape[-1]:
        rows = xd.size // xd.shape[-1] if xd.ndim and xd.shape[-1] else (1 if xd.ndim else 0)
        if wd.ndim == 2:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                f"{xd.shape[-1] if xd.ndim else 0} and {wd.shape[1]}x{wd.shape[0]})"
            )
        raise RuntimeError(f"linear(): weight must be 2-D, got {wd.ndim}-D")
    if xd.dtype != wd.dtype:
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {dtype_name(input.dtype)} and "
            f"{dtype_name(weight.dtype)}"
        )
    if bias is not None and bias._data.dtype != wd.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {dtype_name(bias.dtype)} != "
            f"{dtype_name(weight.dtype)}"
        )
    if xd.ndim == 1:
        cls = Mm if bias is None else Addmm
        return cls.apply(input.reshape(1, -1), weight, bias).reshape(-1)
    if xd.ndim == 2:
        cls = Mm if bias is None else Addmm
    else:
        cls = LinearUnsafeView if bias is None else LinearView
    return cls.apply(input, weight, bias)
