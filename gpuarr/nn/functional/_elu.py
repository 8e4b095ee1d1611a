"""The ELU family as torch's ``elu`` kernel: ``elu``, ``celu`` and ``selu`` (through
:func:`elu_family`) and their in-place forms ``elu_``, ``celu_`` and ``selu_``.

Out of place, the gradient comes from the input (``exp(x * input_scale)``, as torch's
``elu_backward``); in place, from the result (the input is gone), as torch's in-place forms
record it, so a backward after the in-place call works.
"""

from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...ops import elementwise as E
from ...ops._registry import apply_inplace
from ._utils import apply_raw, check_tensor, not_float, opmath, round_back

__all__ = ["elu_", "celu_", "selu_"]  # (elu, celu, selu: see _activation.py)


class _Elu(Function):
    """torch's ``elu`` kernel, ``x <= 0 ? expm1(x * input_scale) * alpha * scale : x * scale``
    (NaN takes the ``x * scale`` side), and its gradient from the input, as torch's
    ``elu_backward``: ``exp(x * input_scale)`` directly, where ``expm1``'s own derivative
    (``result + 1``) would lose every digit for very negative ``x`` (it rounds to 0 in float32
    below about -17)."""

    _raw = True
    _node_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale, back_input_scale):
        xp = ctx.xp
        xa, rd = opmath(x)
        t = xa.dtype.type
        neg = xa <= 0
        negcoef = t(alpha) * t(scale)
        # expm1 of the non-positive part only: no overflow on the branch where() drops
        e = xp.expm1(xp.where(neg, xa, t(0)) * t(input_scale)) * negcoef
        out = round_back(xp.where(neg, e, xa * t(scale)), rd)
        ctx.save_for_backward(x, out)
        ctx.coef = (alpha, scale, back_input_scale)
        return out

    @staticmethod
    def backward(ctx, g):
        x, _ = ctx.saved_tensors
        alpha, scale, iscale = ctx.coef
        if not is_grad_enabled():
            xp = g._device._xp()
            ga, rd = opmath(g._data)
            xa, _ = opmath(x._data)
            t = ga.dtype.type
            neg = xa <= 0
            dneg = ga * t(iscale) * (t(alpha) * t(scale)) * xp.exp(xp.where(neg, xa, t(0))
                                                                   * t(iscale))
            return _make(round_back(xp.where(neg, dneg, ga * t(scale)), rd), g._device), \
                None, None, None, None
        return g * _derivative(x, alpha, scale, iscale), None, None, None, None


def _derivative(x: Tensor, alpha: float, scale: float, iscale: float) -> Tensor:
    """d elu / dx in Tensor ops (differentiable again, for ``create_graph=True``)."""
    neg = x <= 0
    xn = E.where(neg, x, 0.0)
    return E.where(neg, E.exp(xn * iscale) * (iscale * alpha * scale), scale)


class _Celu(_Elu):
    _node_name = "CeluBackward0"


class _EluResult(_Elu):
    """:class:`_Elu` with the backward torch's in-place forms record: the derivative read off
    the result (the input is overwritten)."""

    _node_name = "EluBackward1"

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        alpha, scale, iscale = ctx.coef
        if alpha < 0:
            raise RuntimeError(
                "In-place elu backward calculation is triggered with a negative slope which is "
                "not supported. This is caused by calling in-place forward function with a "
                "negative slope, please call out-of-place version instead.")
        if not is_grad_enabled():
            xp = g._device._xp()
            ga, rd = opmath(g._data)
            b, _ = opmath(out._data)
            t = ga.dtype.type
            neg = ga * t(iscale) * (b + t(alpha) * t(scale))
            return _make(round_back(xp.where(b <= 0, neg, ga * t(scale)), rd), g._device), \
                None, None, None, None
        # differentiable form, from the input (the same derivative)
        return g * _derivative(x, alpha, scale, iscale), None, None, None, None


class _CeluResult(_EluResult):
    _node_name = "CeluBackward1"


SELU_ALPHA = 1.6732632423543772848170429916717  # selu's constants (also F.selu's)
SELU_SCALE = 1.0507009873554804934193349852946


def _elu_inplace(input: Tensor, cls: type, alpha: float, scale: float, input_scale: float,
                 back_input_scale: float) -> Tensor:
    check_tensor(input, "input", "elu_")
    not_float(input, f"elu_{input._device.type}")
    return apply_inplace(input, lambda x: apply_raw(cls, x, alpha, scale, input_scale,
                                                    back_input_scale))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`~gpuarr.nn.functional.elu`: ``x`` for ``x > 0`` else
    ``alpha * (exp(x) - 1)``, written into ``input``.

    Example:
        >>> x = gpuarr.tensor([-1.0, 2.0])
        >>> F.elu_(x)
        tensor([-0.6321,  2.0000])
    """
    a = float(alpha)
    return _elu_inplace(input, _EluResult, a, 1.0, 1.0, 1.0)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`~gpuarr.nn.functional.celu`: ``max(0, x) + min(0, alpha * (exp(x /
    alpha) - 1))``, written into ``input``.

    Example:
        >>> F.celu_(gpuarr.tensor([-1.0, 2.0]), 2.0)
        tensor([-0.7869,  2.0000])
    """
    a = float(alpha)
    if a == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    # torch's backward uses 1 / alpha with alpha rounded to float32
    return _elu_inplace(input, _CeluResult, a, 1.0, 1.0 / a, 1.0 / float(np.float32(a)))


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`~gpuarr.nn.functional.selu` (scaled ELU with the self-normalising
    constants), written into ``input``.

    Example:
        >>> F.selu_(gpuarr.tensor([-1.0, 2.0]))
        tensor([-1.1113,  2.1014])
    """
    return _elu_inplace(input, _EluResult, SELU_ALPHA, SELU_SCALE, 1.0, 1.0)


def elu_family(input: Tensor, kind: str, alpha: float = 1.0) -> Tensor:
    """Out-of-place ``elu`` (``kind='elu'``), ``celu`` or ``selu`` of ``input`` (what
    ``F.elu``/``celu``/``selu`` run without ``inplace``)."""
    check_tensor(input, "input", kind)
    not_float(input, f"elu_{input._device.type}")
    a = float(alpha)
    if kind == "selu":
        return apply_raw(_Elu, input, SELU_ALPHA, SELU_SCALE, 1.0, 1.0)
    if kind == "celu":
        if a == 0:
            raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
        return apply_raw(_Celu, input, a, 1.0, 1.0 / a, 1.0 / float(np.float32(a)))
    return apply_raw(_Elu, input, a, 1.0, 1.0, 1.0)
