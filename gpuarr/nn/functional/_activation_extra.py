"""Shrinkage and randomised activations, and the in-place form of ``threshold``.

The shrink functions and the ELU family are raw Functions that follow torch's elementwise
formulas term by term (the comparisons, the order of the products, the sign of a zero), so the
values and gradients at NaN, infinities, signed zeros and exactly at the thresholds are
torch's. Their backward runs on the arrays for a plain ``backward()`` and in Tensor ops under
``create_graph=True``, so second derivatives work.
"""

from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...ops._common import dtype_name
from ...ops._registry import apply_inplace
from ...ops.random import rand
from ._activation import LeakyRelu
from ._activation import threshold as _threshold
from ._utils import apply_raw, check_tensor, not_float, opmath, round_back

__all__ = ["hardshrink", "softshrink", "rrelu", "rrelu_", "threshold_"]


# --------------------------------------------------------------------------------------------
# hardshrink / softshrink


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


# --------------------------------------------------------------------------------------------
# rrelu


class _RreluEval(LeakyRelu):
    """Leaky ReLU with the mean slope, under torch's node name for rrelu."""

    _node_name = "RreluWithNoiseBackward0"


class _RreluTrain(Function):
    """``x * r`` where ``x <= 0`` (``r`` a drawn slope), else ``x``; the backward multiplies
    by the same per-element factor."""

    _raw = True
    _node_name = "RreluWithNoiseBackward0"

    @staticmethod
    def forward(ctx, x, r):
        xp = ctx.xp
        neg = x <= 0  # False for NaN: it passes through with gradient 1, as torch
        ctx.scale = xp.where(neg, r, r.dtype.type(1))
        return xp.where(neg, x * r, x)

    @staticmethod
    def backward(ctx, g):
        if not is_grad_enabled():
            return _make(g._data * ctx.scale, g._device), None
        return g * _make(ctx.scale, g._device), None


def _check_bounds(lower: float, upper: float) -> None:
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomised leaky ReLU.

    In training mode each element ``x <= 0`` is multiplied by its own slope drawn uniformly
    from ``[lower, upper]`` with gpuarr's generator (reproducible under ``gpuarr.manual_seed``);
    otherwise the slope is ``(lower + upper) / 2`` for every element.

    Args:
        input: a floating-point tensor.
        lower, upper: the range of the negative slope.
        training: draw the slopes (True) or use their mean (False).
        inplace: overwrite ``input`` with the result.

    Example:
        >>> F.rrelu(gpuarr.tensor([-1.0, 2.0]), 0.1, 0.3)
        tensor([-0.2000,  2.0000])
    """
    if inplace:
        return rrelu_(input, lower, upper, training)
    check_tensor(input, "input", "rrelu")
    _check_bounds(lower, upper)
    dev = input._device.type
    if not training:
        not_float(input, f"leaky_relu_{dev}")
        return apply_raw(_RreluEval, input, (lower + upper) / 2)
    not_float(input, f"rrelu_with_noise_out_{dev}")
    xp = input._device._xp()
    dt = input._data.dtype
    u = rand(tuple(input.shape), dtype=input.dtype, device=input.device)._data
    t = np.float32 if dt.kind == "V" else dt.type
    r = u.astype(t) * t(upper - lower) + t(lower)
    r = xp.clip(r, t(lower), t(upper)).astype(dt)  # rounding must not leave the range
    return apply_raw(_RreluTrain, input, r)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """In-place :func:`rrelu`: writes the result into ``input`` and returns it.

    Example:
        >>> x = gpuarr.tensor([-1.0, 2.0])
        >>> F.rrelu_(x, 0.1, 0.3) is x
        True
    """
    check_tensor(input, "input", "rrelu_")
    _check_bounds(lower, upper)
    return apply_inplace(input, rrelu, lower, upper, training)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`~gpuarr.nn.functional.threshold`: ``value`` where ``input <=
    threshold``, written into ``input``.

    Example:
        >>> F.threshold_(gpuarr.tensor([-1.0, 2.0]), 0.0, 5.0)
        tensor([5., 2.])
    """
    check_tensor(input, "input", "threshold_")
    return apply_inplace(input, _threshold, threshold, value)

