"""The activation ops that are ops in their own right: ``relu``, ``softmax``, ``log_softmax``.

Each exists once, here: ``gpuarr.relu``, ``Tensor.relu``, ``F.relu`` and ``nn.ReLU`` all run
the one :class:`Relu` (likewise for softmax and log-softmax), so they agree on every input,
bool tensors included (torch refuses them everywhere).

They are raw Functions with a hand-written backward in Tensor ops: the usual backward runs on
the arrays' fast paths, and ``create_graph=True`` still gives second derivatives.

Example:
    >>> gpuarr.relu(gpuarr.tensor([-1.0, 2.0]))
    tensor([0., 2.])
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .._autocast import state as _amp
from .._core.function import Function
from .._core.grad_mode import is_grad_enabled
from .._core.tensor import _make
from . import elementwise as E
from ._common import (
    apply_raw,
    check_tensor,
    dtype_name,
    float_dtype_check,
    no_grad_needed,
    not_float,
    opmath,
    round_back,
    wrap_dim,
)
from ._registry import apply_inplace, mixin, register

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["relu", "relu_", "softmax", "log_softmax"]


class Relu(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        y = ctx.device._backend().relu(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if not is_grad_enabled():
            return _make(g._device._backend().relu_backward(g._data, y._data), g._device)
        return g.masked_fill(y <= 0, 0)  # torch's threshold_backward (see relu_backward)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)`` elementwise.

    Args:
        input: a tensor of any dtype but bool.

    Returns:
        A new tensor of ``input``'s dtype.

    Raises:
        RuntimeError: for a bool tensor, as torch.

    Example:
        >>> gpuarr.relu(gpuarr.tensor([-1, 2]))
        tensor([0, 2])
    """
    check_tensor(input, "input", "relu")
    d = input._data
    if d.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    if d.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    if no_grad_needed(input):
        input._device._xp()  # on the input's device
        return _make(input._device._backend().relu(d), input._device)
    return Relu.apply(input)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`; returns ``input``."""
    check_tensor(input, "input", "relu_")
    if input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return apply_inplace(input, relu)


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, dim):
        xp = ctx.xp
        if x.size == 0:
            y = x.copy()
        else:
            xf = x.astype(np.float32) if x.dtype.kind == "V" else x  # bfloat16: in float32
            y = xf - xf.max(axis=dim, keepdims=True)
            xp.exp(y, out=y)
            y /= y.sum(axis=dim, keepdims=True)
            if y.dtype != x.dtype:  # bfloat16 (no call otherwise: a compiled step replays it)
                y = y.astype(x.dtype)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        dim = ctx.dim
        if not is_grad_enabled():
            gy = g._data * y._data
            gy -= y._data * gy.sum(axis=dim, keepdims=True)
            return _make(gy, g._device), None
        gy = g * y
        return gy - y * gy.sum(dim, keepdim=True), None


class LogSoftmax(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, dim):
        if x.size == 0:
            y = x.copy()
        else:
            xf = x.astype(np.float32) if x.dtype.kind == "V" else x  # bfloat16: in float32
            y = ctx.device._backend().log_softmax(xf, dim)
            if y.dtype != x.dtype:  # bfloat16 (no call otherwise: a compiled step replays it)
                y = y.astype(x.dtype)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        dim = ctx.dim
        if not is_grad_enabled():
            bk = g._device._backend()
            return _make(bk.log_softmax_backward(g._data, y._data, dim), g._device), None
        return g - E.exp(y) * g.sum(dim, keepdim=True), None


def _softmax_common(cls, name: str, input: Tensor, dim, dtype, stacklevel: int) -> Tensor:
    check_tensor(input, "input", name)
    if dim is None:
        dim = _softmax_dim(name, input.ndim, stacklevel + 1)
    if dtype is not None:
        input = input.to(dtype)
    float_dtype_check(input, f"{name}_lastdim_kernel_impl")
    nd = input.ndim
    d = wrap_dim(dim, nd)
    if nd == 0:
        return _softmax_common(cls, name, input.reshape(1), 0, None, stacklevel).reshape(())
    return apply_raw(cls, input, d)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably.

    Args:
        input: float tensor.
        dim: the dim that sums to one.
        dtype: cast ``input`` to this dtype first.

    Example:
        >>> gpuarr.softmax(gpuarr.tensor([1.0, 1.0]), dim=0)
        tensor([0.5000, 0.5000])
    """
    if _amp.on:
        return _amp.run("softmax", softmax, input, dim=dim, _stacklevel=_stacklevel, dtype=dtype)
    return _softmax_common(Softmax, "softmax", input, dim, dtype, _stacklevel)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)``: stable for large logits (no overflow to inf/nan).

    Example:
        >>> gpuarr.log_softmax(gpuarr.tensor([1000.0, 0.0]), dim=0)
        tensor([    0., -1000.])
    """
    if _amp.on:
        return _amp.run("log_softmax", log_softmax, input, dim=dim, _stacklevel=_stacklevel,
                        dtype=dtype)
    return _softmax_common(LogSoftmax, "log_softmax", input, dim, dtype, _stacklevel)


def _softmax_method(self: Tensor, dim: int, dtype=None) -> Tensor:
    """``Tensor.softmax(dim)``: see :func:`softmax`."""
    return softmax(self, dim, dtype=dtype)


def _log_softmax_method(self: Tensor, dim: int, dtype=None) -> Tensor:
    """``Tensor.log_softmax(dim)``: see :func:`log_softmax`."""
    return log_softmax(self, dim, dtype=dtype)


# --------------------------------------------------------------------------------------------
# prelu, hardshrink, softshrink (nn.functional's and Tensor's)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU with a learnt slope per channel (dim 1) or one shared slope."""
    if _amp.on:
        return _amp.run("prelu", prelu, input, weight)
    w = weight
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {weight.numel()} and channel size = "
                f"{input.shape[1] if input.ndim >= 2 else 1}."
            )
        w = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        w = weight.reshape(())
    return E.where(input > 0, input, input * w)


def _inside(xp, x, lambd: float):
    """``-lambd <= x <= lambd`` with ``lambd`` in ``x``'s dtype (False for NaN)."""
    t = x.dtype.type
    return (x >= -t(lambd)) & (x <= t(lambd))


class _Shrink(Function):
    """Base of the shrink nodes: the gradient passes outside ``[-lambd, lambd]`` only (a NaN
    input is outside, as in torch's elementwise kernel)."""

    _raw = True

    @staticmethod
    def start(ctx, x, lambd: float):
        """Save what the backward needs; ``(xp, x in its compute dtype, dtype to round to)``."""
        ctx.save_for_backward(x)
        ctx.lambd = lambd
        return (ctx.xp, *opmath(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xa, _ = opmath(x._data)
        inside = _inside(g._device._xp(), xa, ctx.lambd)
        if not is_grad_enabled():
            xp = g._device._xp()
            return _make(xp.where(inside, g._data.dtype.type(0), g._data), g._device), None
        return g.masked_fill(_make(inside, g._device), 0), None


class _Hardshrink(_Shrink):
    _node_name = "HardshrinkBackward0"

    @staticmethod
    def forward(ctx, x, lambd):
        xp, xa, rd = _Shrink.start(ctx, x, lambd)
        # a zero (never -0) inside the band; NaN compares False and passes through
        out = xp.where(_inside(xp, xa, lambd), xa.dtype.type(0), xa)
        return round_back(out, rd)


class _Softshrink(_Shrink):
    _node_name = "SoftshrinkBackward0"

    @staticmethod
    def forward(ctx, x, lambd):
        xp, xa, rd = _Shrink.start(ctx, x, lambd)
        t = xa.dtype.type
        lam = t(lambd)
        # x * 0 inside the band keeps the sign of a negative x (and NaN), as torch's kernel
        out = xp.where(xa > lam, xa - lam, xp.where(xa < -lam, xa + lam, xa * t(0)))
        return round_back(out, rd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Hard shrinkage: ``0`` where ``-lambd <= x <= lambd``, else ``x``.

    Args:
        input: a floating-point tensor.
        lambd: the half width of the band set to zero.

    Example:
        >>> F.hardshrink(gpuarr.tensor([-1.0, 0.3, 0.7]), 0.5)
        tensor([-1.0000,  0.0000,  0.7000])
    """
    check_tensor(input, "input", "hardshrink")
    not_float(input, f"hardshrink_{input._device.type}")
    return apply_raw(_Hardshrink, input, float(lambd))


def _max_of(dtype) -> float:
    if dtype.kind == "V":  # bfloat16
        return 3.3895313892515355e38
    return float(np.finfo(dtype).max)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Soft shrinkage: ``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0.

    Args:
        input: a floating-point tensor.
        lambd: the shrinkage, in ``[0, largest value of input's dtype]``.

    Example:
        >>> F.softshrink(gpuarr.tensor([-1.0, 0.3, 0.75]), 0.5)
        tensor([-0.5000,  0.0000,  0.2500])
    """
    check_tensor(input, "input", "softshrink")
    not_float(input, "softshrink_check")
    lambd = float(lambd)
    hi = _max_of(input._data.dtype)
    if not (0 <= lambd <= hi):
        raise RuntimeError(f"lambda must be in range [0, {hi:g}] for input dtype "
                           f"{dtype_name(input.dtype)}, but found {lambd:g}")
    return apply_raw(_Softshrink, input, lambd)



register(__name__, {"relu": relu, "relu_": relu_, "softmax": _softmax_method,
                    "log_softmax": _log_softmax_method, "prelu": prelu, "hardshrink": hardshrink})

ActivationMethods = mixin("ActivationMethods", __name__)
