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
from ...ops._registry import apply_inplace
from ...ops.activation import hardshrink, softshrink  # the op layer's, Tensor's too
from ...ops.random import rand
from ._activation import LeakyRelu
from ._activation import threshold as _threshold
from ._utils import apply_raw, check_tensor, not_float

__all__ = ["hardshrink", "softshrink", "rrelu", "rrelu_", "threshold_"]


# --------------------------------------------------------------------------------------------
# hardshrink / softshrink


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

