"""Activation functions and (log-)softmax.

The hot ones (relu, leaky_relu, gelu, softplus, softmax, log_softmax) are raw Functions with a
hand-written backward in Tensor ops: the usual backward runs on the arrays' fast paths and
``create_graph=True`` still gives second derivatives. The rest are compositions of
differentiable gpuarr ops.
"""

from __future__ import annotations

import math

import numpy as np

from ..._autocast import state as _amp
from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...ops import activation as A
from ...ops import elementwise as E
from ...ops import special as S
from ...ops._registry import apply_inplace
from ...ops.activation import log_softmax, prelu, relu_, softmax  # noqa: F401 - F.prelu
from ...ops.shape import narrow
from ._elu import celu_, elu_, elu_family, selu_
from ._utils import check_tensor, float_dtype_check, no_grad_needed

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "selu", "celu", "gelu", "silu",
    "mish", "softplus", "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "sigmoid", "tanh",
    "logsigmoid", "softsign", "tanhshrink", "threshold", "prelu", "softmax", "softmin",
    "log_softmax", "glu",
]


# --------------------------------------------------------------------------------------------
# ReLU family (the one Relu is the op layer's)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` elementwise: :func:`gpuarr.relu`, or :func:`gpuarr.relu_` in place.

    Args:
        input: a tensor of any dtype but bool.
        inplace: overwrite ``input`` with the result.

    Example:
        >>> F.relu(gpuarr.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    return A.relu_(input) if inplace else A.relu(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``value`` where ``input <= threshold``, else ``input`` (so NaN stays NaN, as torch)."""
    out = E.where(input <= threshold, value, input)
    if inplace:
        return apply_inplace(input, lambda x: out)
    return out


class LeakyRelu(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, slope):
        xp = ctx.xp
        pos = x > 0
        # bfloat16: the slope unrounded (in float32) and the product rounded once, as torch
        s = np.float32(slope) if x.dtype.kind == "V" else x.dtype.type(slope)
        y = xp.where(pos, x, (x * s).astype(x.dtype, copy=False))
        ctx.save_for_backward(x)
        ctx.slope = slope
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = g._device._xp()
        d = g._data.dtype
        t = np.float32 if d.kind == "V" else d.type  # bfloat16: as forward
        scale = xp.where(x._data > 0, t(1), t(ctx.slope))
        if not is_grad_enabled():
            return _make(g._data * scale, g._device), None
        return g * _make(scale, g._device), None


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0`` else ``negative_slope * x``."""
    check_tensor(input, "input", "leaky_relu")
    if inplace:
        return leaky_relu_(input, negative_slope)
    return LeakyRelu.apply(input, float(negative_slope))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return apply_inplace(input, leaky_relu, negative_slope)


class Hardtanh(E.Clamp):
    """clamp, under the name torch's graph shows for hardtanh and relu6, with torch's
    hardtanh gradient: it passes strictly between the bounds only (clamp's passes at the
    bounds too), and a NaN input gets none."""

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        inside = (x > ctx.lo) & (x < ctx.hi)
        return g.masked_fill(~inside, 0), None, None


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Clamp to ``[min_val, max_val]``."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return hardtanh_(input, min_val, max_val)
    return E._clamp(input, min_val, max_val, Hardtanh)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return apply_inplace(input, E.clamp, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return elu_(input, alpha) if inplace else elu_family(input, "elu", alpha)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return celu_(input, alpha) if inplace else elu_family(input, "celu", alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU with the self-normalising constants."""
    return selu_(input) if inplace else elu_family(input, "selu")


# --------------------------------------------------------------------------------------------
# smooth activations


_SQRT_2_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_arrays(xp, x, approximate: str):
    if x.dtype.kind == "V":  # bfloat16: in float32, rounded once (as torch)
        return _gelu_arrays(xp, x.astype(np.float32), approximate).astype(x.dtype)
    t = x.dtype.type
    if approximate == "tanh":
        inner = xp.tanh((x + t(0.044715) * x * x * x) * t(_SQRT_2_PI))
        return t(0.5) * x * (t(1) + inner)
    return t(0.5) * x * (t(1) + S.erf_array(xp, x * t(_INV_SQRT_2)))


def _gelu_grad(x: Tensor, approximate: str) -> Tensor:
    """d gelu / dx, written with Tensor ops (so it is differentiable itself)."""
    if approximate == "tanh":
        x2 = x * x
        t = E.tanh((x + x2 * x * 0.044715) * _SQRT_2_PI)
        return (t + 1) * 0.5 + x * (1 - t * t) * (x2 * (3 * 0.044715) + 1) * (0.5 * _SQRT_2_PI)
    cdf = (S.erf(x * _INV_SQRT_2) + 1) * 0.5
    pdf = E.exp(x * x * -0.5) * _INV_SQRT_2PI
    return cdf + x * pdf


class Gelu(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return _gelu_arrays(ctx.xp, x, approximate)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _gelu_grad(x, ctx.approximate), None


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit, ``x * Phi(x)``.

    Args:
        approximate: 'none' (exact, with erf) or 'tanh' (the tanh approximation).
    """
    check_tensor(input, "input", "gelu")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    float_dtype_check(input, "GeluKernelImpl")
    if no_grad_needed(input):
        return _make(_gelu_arrays(input._device._xp(), input._data, approximate), input._device)
    return Gelu.apply(input, approximate)


class Silu(Function):
    """``x * sigmoid(x)`` in one node (torch's SiluBackward0), with the composite's formulas."""

    _raw = True

    @staticmethod
    def forward(ctx, x):
        s = E.Sigmoid.forward(ctx, x)
        ctx.save_for_backward(x, s)  # replaces what Sigmoid.forward saved
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: a sigmoid connected to x, for second derivatives
            s = E.sigmoid(x)
        return g * s + g * x * s * (1 - s)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    if input._data.dtype.kind == "f":
        out = Silu.apply(input)
    elif input._data.dtype.kind == "V":  # bfloat16: torch's formula in float32, rounded once
        x = input.float()
        out = (x / (E.exp(-x) + 1)).to(input.dtype)
    else:
        out = input * E.sigmoid(input)
    return apply_inplace(input, lambda x: out) if inplace else out


def _softplus_arrays(xp, x, beta: float, thr: float):
    """Softplus of a float array ``x`` (module ``xp``), linear where ``beta * x > thr``."""
    if x.dtype.kind == "V":  # bfloat16: in float32, rounded once (as torch)
        return _softplus_arrays(xp, x.astype(np.float32), beta, thr).astype(x.dtype)
    t = x.dtype.type
    bx = x * t(beta)
    # log(1 + exp(bx)) = max(bx, 0) + log1p(exp(-|bx|)) never overflows
    soft = (xp.maximum(bx, t(0)) + xp.log1p(xp.exp(-xp.abs(bx)))) / t(beta)
    return xp.where(bx > t(thr), x, soft)


class Softplus(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, beta, thr):
        ctx.save_for_backward(x)
        ctx.beta, ctx.thr = beta, thr
        return _softplus_arrays(ctx.xp, x, beta, thr)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        d = E.where(bx > ctx.thr, 1.0, E.sigmoid(bx))
        return g * d, None, None


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    if _amp.on:
        return _amp.run("softplus", softplus, input, beta=beta, threshold=threshold)
    check_tensor(input, "input", "softplus")
    float_dtype_check(input, "softplus")
    return Softplus.apply(input, float(beta), float(threshold))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    out = input * E.tanh(softplus(input))
    return apply_inplace(input, lambda x: out) if inplace else out


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    return E.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return E.tanh(input)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))`` computed stably as ``-softplus(-x)``."""
    return -softplus(-input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input / (E.abs(input) + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return input - E.tanh(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Piecewise-linear sigmoid: ``clamp(x / 6 + 1/2, 0, 1)``."""
    out = E.clamp(input / 6 + 0.5, 0.0, 1.0)
    return apply_inplace(input, lambda x: out) if inplace else out


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)``."""
    out = input * hardsigmoid(input)
    return apply_inplace(input, lambda x: out) if inplace else out


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` with ``a, b`` the two halves along ``dim``."""
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim % input.ndim} is size {n}"
        )
    a = narrow(input, dim, 0, n // 2)
    b = narrow(input, dim, n // 2, n // 2)
    return a * E.sigmoid(b)


# --------------------------------------------------------------------------------------------
# softmax


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)``."""
    if dtype is not None:
        input = input.to(dtype)
    return A._softmax_common(A.Softmax, "softmin", -input, dim, None, _stacklevel)


