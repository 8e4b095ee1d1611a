"""Elementwise ops: arithmetic, comparisons, bitwise/logical ops, and unary math.

Binary ops promote their operands by torch's rules (``_common.promote_operands``), then run one
backend ufunc. When no gradient is needed and both operands already share a dtype, the public
function calls the ufunc directly (the hot path of small-tensor code). Gradients of broadcast
operands are summed back to their shapes by the engine's shared check.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._autocast import POLICIES as AUTOCAST_POLICIES
from .._autocast import state as _amp
from .._core import tensor as _ct
from .._core.function import _NOARG, _oom, record_one_output, shared_ctx
from .._core.tensor import check_no_overlap
from .._device import CPU
from ..backends import sync_debug
from ._common import (
    Function,
    TensorBase,
    _make,
    _state,
    broadcast_error,
    check_same_device,
    dtype_name,
    inplace_shape_error,
    promote_operands,
    same_device,
    scalar_as,
)
from ._out import write_out
from ._registry import apply_inplace, mixin, register
from .complex_ops import abs_complex, no_complex, not_implemented_for
from .indexing import nonzero

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [  # the unary ops of the derivative table (unary_op) add their names below
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "pow", "maximum", "minimum", "atan2",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal",
    "not_equal", "equal", "allclose", "isclose",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "logical_and", "logical_or",
    "logical_xor", "logical_not",
    "neg", "negative", "abs", "absolute", "rsqrt", "square", "sigmoid", "sign", "floor", "ceil",
    "round", "trunc", "frac", "isnan", "isinf", "isfinite", "nan_to_num", "clamp", "clip",
    "where", "lerp",
]

_ndarray = np.ndarray


# --------------------------------------------------------------------------------------------
# binary arithmetic


def _bcast_guard(fn, a, b):
    """Run ``fn(a, b)`` turning NumPy/CuPy broadcast errors into torch's RuntimeError."""
    try:
        return fn(a, b)
    except ValueError as e:
        sa, sb = getattr(a, "shape", ()), getattr(b, "shape", ())
        if "broadcast" in str(e) or "shape" in str(e):
            raise broadcast_error(sa, sb) from None
        raise


class _Binary(Function):
    _raw = True
    _one_output = True  # Function.apply's short path
    _ufunc = ""

    @classmethod
    def forward(cls, ctx, a, b):
        return _bcast_guard(getattr(ctx.xp, cls._ufunc), a, b)


class Add(_Binary):
    _ufunc = "add"
    _next_args = (0, 1)  # torch lists a number operand too, as an undefined input

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(_Binary):
    _ufunc = "subtract"
    _next_args = (0, 1)  # torch lists a number operand too, as an undefined input

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(_Binary):
    _ufunc = "multiply"
    _next_args = (0, 1)  # torch lists a number operand too, as an undefined input

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        # each side's gradient needs the other side (a scalar operand is kept as it is)
        ctx._to_save = (a if nb else None, b if na else None)  # save_for_backward, inlined
        try:
            return ctx.xp.multiply(a, b)
        except ValueError:
            raise broadcast_error(getattr(a, "shape", ()), getattr(b, "shape", ())) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if b is not None else None), (g * a if a is not None else None)


class Div(_Binary):
    _ufunc = "true_divide"
    _next_args = (0, 1)  # torch lists a number operand too, as an undefined input

    @staticmethod
    def forward(ctx, a, b):
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                                  b if not isinstance(b, np.generic) else None)
            ctx.b = b  # a number divisor (the ctx is the graph node: it lives with the graph)
        return _bcast_guard(ctx.xp.true_divide, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if b is None:
            b = ctx.b
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(_Binary):
    """tensor ** tensor (the subclasses below: with a number on one side, as torch names them)"""

    _ufunc = "power"
    _node_name = "PowBackward1"

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        if isinstance(b, np.generic) and b.dtype.kind in "iu" and b < 0 and a.dtype.kind in "iu":
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        out = _bcast_guard(xp.power, a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, TensorBase):
                ga = g * b * where(b == 0, 1.0, a ** (b - 1))
            else:
                ga = g * b * a ** (b - 1) if b != 0 else g * 0.0
        if ctx.needs_input_grad[1]:
            # d/db a**b = a**b * log(a); defined as 0 where a == 0 and b >= 0 (as torch)
            la = (where((a == 0) & (b >= 0), 0.0, log(a)) if isinstance(a, TensorBase)
                  else math.log(a))
            gb = g * out * la
        return ga, gb


class PowScalar(Pow):
    _node_name = "PowBackward0"  # tensor ** number
    _next_args = (0,)


class RPow(Pow):
    _node_name = "PowBackward2"  # number ** tensor
    _next_args = (1,)


class RSub(Sub):
    _node_name = "RsubBackward1"  # number - tensor: torch's rsub, listing only the tensor
    _next_args = (1,)


class _MinMax(_Binary):
    """maximum / minimum: the gradient goes to the picked side, split evenly on ties (torch)."""

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return _bcast_guard(getattr(ctx.xp, cls._ufunc), a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        half = (a == b).to(g.dtype) * 0.5
        wa = ((a > b) if cls._ufunc == "maximum" else (a < b)).to(g.dtype) + half
        return g * wa, g * (1 - wa)


class Maximum(_MinMax):
    _ufunc = "maximum"


class Minimum(_MinMax):
    _ufunc = "minimum"


class _Mod(_Binary):
    """remainder / fmod: d/da = 1, d/db = -(a / b rounded the way the op rounds)."""

    @classmethod
    def forward(cls, ctx, a, b):
        nb = ctx.needs_input_grad[1]
        ctx.save_for_backward(a if nb else None, b if nb else None)
        if a.dtype.kind in "iu" and _has_zero(b):
            raise RuntimeError("ZeroDivisionError")
        return _bcast_guard(getattr(ctx.xp, cls._ufunc), a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        if not ctx.needs_input_grad[1]:
            return g, None
        q = floor_divide(a, b) if cls._ufunc == "remainder" else trunc(a / b)
        return g, -g * q


class Remainder(_Mod):
    _ufunc = "remainder"


class Fmod(_Mod):
    _ufunc = "fmod"


class Atan2(_Binary):
    _ufunc = "arctan2"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _bcast_guard(ctx.xp.arctan2, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        den = a * a + b * b
        return g * b / den, -g * a / den


def _has_zero(b) -> bool:
    if isinstance(b, np.generic):
        return b == 0
    sync_debug.check_array(b)  # torch checks on the CPU only; gpuarr on CUDA too (a wait)
    return bool((b == 0).any())


def _binary(cls, a, b, fast_int: bool = True, force_float: bool = False):
    """Run binary op ``cls`` on tensors/scalars with torch's promotion.

    Operands that need no promotion take ``Function.apply``'s short paths, inlined (the binary
    functions' hot path): the backend ufunc without a graph, apply's recording routine with one.
    """
    if isinstance(a, TensorBase):
        if isinstance(b, TensorBase):
            da, db = a._data, b._data
            dev = a._device
            if dev is b._device and da.dtype == db.dtype and (fast_int or da.dtype.kind in "fV"):
                if (a._rg or b._rg) and _state.enabled:
                    return record_one_output(cls, a, b)
                try:
                    return _make(_bcast_guard(getattr(dev._xp(), cls._ufunc), da, db), dev)
                except (MemoryError, RuntimeError) as e:  # CUDA out of memory: torch's error
                    _oom(e, (a,))
                    raise
        elif (b.__class__ is float or b.__class__ is int) and a._data.dtype.kind == "f":
            # a weak Python scalar never changes a float tensor's dtype
            s = a._data.dtype.type(b)
            if a._rg and _state.enabled:
                return record_one_output(cls, a, s)
            dev = a._device
            try:
                return _make(getattr(dev._xp(), cls._ufunc)(a._data, s), dev)
            except (MemoryError, RuntimeError) as e:
                _oom(e, (a,))
                raise
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        raise TypeError(
            f"{cls.__name__.lower()}(): argument 'input' must be Tensor, not {type(a).__name__}"
        )
    if _bf16_and_scalar(cls, a, b):
        return _bf16_scalar_binary(cls, a, b, fast_int, force_float)
    a, b, _ = promote_operands(a, b, cls.__name__.lower(), force_float=force_float)
    return cls.apply(a, b)


def _bf16_and_scalar(cls, a, b) -> bool:
    """Multiplying or dividing a bfloat16 tensor by a Python / NumPy number."""
    if cls is not Mul and cls is not Div:
        return False
    t, s = (a, b) if isinstance(a, TensorBase) else (b, a)
    return (t._data.dtype.kind == "V" and not isinstance(s, TensorBase)
            and isinstance(s, (int, float, np.number)) and not isinstance(s, (bool, np.bool_)))


def _bf16_scalar_binary(cls, a, b, fast_int: bool, force_float: bool) -> Tensor:
    """bfloat16 times or over a number, as torch's CPU kernels compute it: in float32 with the
    number unrounded, then rounded once. (torch's add, sub, pow, remainder and fmod round the
    number to bfloat16 first, which the generic path does; ``number / t`` is
    ``reciprocal(t) * number``.)"""
    if not isinstance(a, TensorBase):  # number / t
        return _bf16_scalar_binary(Mul, b.reciprocal(), a, fast_int, force_float)
    return _binary(cls, a.to(D.float32), b, fast_int, force_float).to(D.bfloat16)


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with broadcasting and torch's type promotion.

    Args:
        input: a Tensor or number.
        other: a Tensor or number.
        alpha: multiplier for ``other``.

    Returns:
        A new Tensor.

    Example:
        >>> gpuarr.add(gpuarr.ones(2), 1)
        tensor([2., 2.])
    """
    if alpha != 1:
        other = mul(other, alpha)
    return _out(_binary(Add, input, other), out)


def _is_bool(x) -> bool:
    return (x._data.dtype == np.bool_) if isinstance(x, TensorBase) else isinstance(
        x, (bool, np.bool_))


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other`` (see :func:`add`)."""
    if _is_bool(input) or _is_bool(other):
        if _is_bool(input) and _is_bool(other):
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
                "`^` or `logical_xor()` operator instead."
            )
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    if alpha != 1:
        other = mul(other, alpha)
    return _out(_binary(Sub, input, other), out)


subtract = sub


def mul(input, other, *, out=None):
    """Elementwise product with broadcasting."""
    return _out(_binary(Mul, input, other), out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """Elementwise division. Integer inputs give floats unless ``rounding_mode`` is 'trunc' or
    'floor'.

    Args:
        rounding_mode: None (true division), 'trunc' or 'floor'.
    """
    if rounding_mode is None:
        return _out(_binary(Div, input, other, fast_int=False, force_float=True), out)
    if rounding_mode == "floor":
        return _out(floor_divide(input, other), out)
    if rounding_mode == "trunc":
        a, b, res = promote_operands(input, other, "div")
        if res.is_floating_point:
            return _out(trunc(Div.apply(a, b)), out)
        q = _nograd_binary("floor_divide", a, b)
        r = _nograd_binary("remainder", a, b)
        # floor and trunc differ by one where the division is inexact and the signs differ
        # (a number operand's sign as a Python bool: a NumPy bool would not compare with a Tensor)
        neg_a = (a < 0) if isinstance(a, TensorBase) else bool(a < 0)
        neg_b = (b < 0) if isinstance(b, TensorBase) else bool(b < 0)
        fix = (r != 0) & (neg_a != neg_b)
        return _out(q + fix.to(q.dtype), out)
    raise RuntimeError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


divide = div
true_divide = div


def floor_divide(input, other, *, out=None):
    """Division rounded down (torch's floor_divide); not differentiable."""
    a, b, res = promote_operands(input, other, "floor_divide")
    if res == D.bool:
        dev = (a if isinstance(a, TensorBase) else b)._device
        raise NotImplementedError(f'"div_floor_{dev.type}" not implemented for \'Bool\'')
    if not res.is_floating_point and _has_zero(b._data if isinstance(b, TensorBase) else b):
        raise RuntimeError("ZeroDivisionError")
    return _out(_nograd_binary("floor_divide", a, b), out)


def remainder(input, other, *, out=None):
    """Python-style modulus (result has the sign of ``other``)."""
    return _out(_binary(Remainder, input, other, fast_int=False), out)


def fmod(input, other, *, out=None):
    """C-style modulus (result has the sign of ``input``)."""
    return _out(_binary(Fmod, input, other, fast_int=False), out)


def pow(input, exponent, *, out=None):
    """``input ** exponent`` elementwise (either may be a number)."""
    if _amp.on and out is None:
        return _amp.run("pow", pow, input, exponent, out=out)
    if isinstance(input, TensorBase):
        cls = Pow if isinstance(exponent, TensorBase) else PowScalar
    else:
        cls = RPow
    return _out(_binary(cls, input, exponent, fast_int=False), out)


def maximum(input, other, *, out=None):
    """Elementwise maximum of two tensors (NaN propagates)."""
    _need_tensors("maximum", input, other)
    for x in (input, other):
        no_complex(x, "maximum not implemented for complex tensors.")
    return _out(_binary(Maximum, input, other), out)


def minimum(input, other, *, out=None):
    """Elementwise minimum of two tensors (NaN propagates)."""
    _need_tensors("minimum", input, other)
    for x in (input, other):
        no_complex(x, "minimum not implemented for complex tensors.")
    return _out(_binary(Minimum, input, other), out)


def atan2(input, other, *, out=None):
    """Elementwise arctangent of ``input / other`` choosing the quadrant."""
    if _amp.on and out is None:
        return _amp.run("atan2", atan2, input, other, out=out)
    return _out(_binary(Atan2, input, other, fast_int=False, force_float=True), out)


def _need_tensors(name, *xs):
    for x in xs:
        if not isinstance(x, TensorBase):
            raise TypeError(f"{name}(): argument 'other' must be Tensor, not {type(x).__name__}")


def _out(res, out):
    if out is None:
        return res
    # torch names the calling op (add, mul, div...) in its errors; only this path pays for the
    # frame lookup
    return write_out(res, out, sys._getframe(1).f_code.co_name)


# --------------------------------------------------------------------------------------------
# ops without gradients: comparisons, bitwise, logical


def _nograd_binary(fname: str, a, b):
    t = a if isinstance(a, TensorBase) else b
    xp = t._device._xp()
    da = a._data if isinstance(a, TensorBase) else a
    db = b._data if isinstance(b, TensorBase) else b
    return _make(_bcast_guard(getattr(xp, fname), da, db), t._device)


_ORDERING = {"less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge"}


def _compare(fname: str, a, b) -> Tensor:
    tn = _ORDERING.get(fname)
    if tn is not None:
        for x in (a, b):
            no_complex(x, not_implemented_for(tn + "_{dev}"), NotImplementedError)
    if isinstance(a, TensorBase) and isinstance(b, TensorBase) and a._data.dtype == b._data.dtype:
        if a._device is b._device:
            return _make(_bcast_guard(getattr(a._device._xp(), fname), a._data, b._data),
                         a._device)
    a, b, _ = promote_operands(a, b, fname)
    return _nograd_binary(fname, a, b)


def eq(input, other) -> Tensor:
    """Elementwise ``==`` as a bool tensor."""
    return _compare("equal", input, other)


def ne(input, other) -> Tensor:
    """Elementwise ``!=`` as a bool tensor."""
    return _compare("not_equal", input, other)


def lt(input, other) -> Tensor:
    """Elementwise ``<`` as a bool tensor."""
    return _compare("less", input, other)


def le(input, other) -> Tensor:
    """Elementwise ``<=`` as a bool tensor."""
    return _compare("less_equal", input, other)


def gt(input, other) -> Tensor:
    """Elementwise ``>`` as a bool tensor."""
    return _compare("greater", input, other)


def ge(input, other) -> Tensor:
    """Elementwise ``>=`` as a bool tensor."""
    return _compare("greater_equal", input, other)


greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    if input.shape != other.shape:
        return False
    return bool(eq(input, other).all().item())


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` as a bool tensor."""
    a, b, _ = promote_operands(input, other, "isclose")
    xp = (a if isinstance(a, TensorBase) else b)._device._xp()
    da = a._data if isinstance(a, TensorBase) else a
    db = b._data if isinstance(b, TensorBase) else b
    return _make(xp.isclose(da, db, rtol=rtol, atol=atol, equal_nan=equal_nan),
                 (a if isinstance(a, TensorBase) else b)._device)


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True if :func:`isclose` holds everywhere."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def _bitwise(fname: str, torch_name: str, a, b) -> Tensor:
    a, b, res = promote_operands(a, b, fname)
    if res.is_floating_point:
        dev = (a if isinstance(a, TensorBase) else b)._device
        raise RuntimeError(f'"{torch_name}_{dev.type}" not implemented for '
                           f"'{dtype_name(res)}'")
    return _nograd_binary(fname, a, b)


def bitwise_and(input, other) -> Tensor:
    """Elementwise AND of integer/bool tensors (``&``)."""
    return _bitwise("bitwise_and", "bitwise_and", input, other)


def bitwise_or(input, other) -> Tensor:
    """Elementwise OR of integer/bool tensors (``|``)."""
    return _bitwise("bitwise_or", "bitwise_or", input, other)


def bitwise_xor(input, other) -> Tensor:
    """Elementwise XOR of integer/bool tensors (``^``)."""
    return _bitwise("bitwise_xor", "bitwise_xor", input, other)


def bitwise_not(input: Tensor) -> Tensor:
    """Elementwise NOT of an integer/bool tensor (``~``)."""
    if input._data.dtype.kind in "fV":
        raise RuntimeError(f'"bitwise_not_{input._device.type}" not implemented for '
                           f"'{dtype_name(input.dtype)}'")
    return _make(input._device._xp().invert(input._data), input._device)


def _logical(fname, a, b) -> Tensor:
    if not isinstance(a, TensorBase):
        raise TypeError(f"{fname}(): argument 'input' must be Tensor")
    if isinstance(b, TensorBase):
        a, b = same_device(a, b)
    else:
        b = a._device._xp().asarray(b)
    db = b._data if isinstance(b, TensorBase) else b
    return _make(_bcast_guard(getattr(a._device._xp(), fname), a._data, db), a._device)


def logical_and(input, other) -> Tensor:
    """Elementwise logical AND (nonzero is True) as a bool tensor."""
    return _logical("logical_and", input, other)


def logical_or(input, other) -> Tensor:
    """Elementwise logical OR as a bool tensor."""
    return _logical("logical_or", input, other)


def logical_xor(input, other) -> Tensor:
    """Elementwise logical XOR as a bool tensor."""
    return _logical("logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    """Elementwise logical NOT as a bool tensor."""
    return _make(input._device._xp().logical_not(input._data), input._device)


def isnan(input: Tensor) -> Tensor:
    """Bool tensor, True where the element is NaN."""
    return _make(input._device._xp().isnan(input._data), input._device)


def isinf(input: Tensor) -> Tensor:
    """Bool tensor, True where the element is +/-inf."""
    return _make(input._device._xp().isinf(input._data), input._device)


def isfinite(input: Tensor) -> Tensor:
    """Bool tensor, True where the element is neither NaN nor inf."""
    return _make(input._device._xp().isfinite(input._data), input._device)


# --------------------------------------------------------------------------------------------
# unary math


class _Unary(Function):
    """A unary op: ``_f`` is the backend function name; ``_float`` casts ints to float first."""

    _raw = True
    _one_output = True  # Function.apply's short path
    _f = ""
    _save = "x"  # what backward needs: 'x', 'out', 'both' or ''

    @classmethod
    def forward(cls, ctx, x):
        out = getattr(ctx.xp, cls._f)(x)
        s = cls._save
        if s == "x":
            ctx.save_for_backward(x)
        elif s == "out":
            ctx.save_for_backward(out)
        elif s == "both":
            ctx.save_for_backward(x, out)
        return out


def _unary_grad(name, f, save, grad_fn, node_name=None):
    """Build a _Unary subclass whose backward is ``grad_fn(g, *saved)`` (``node_name``: torch's
    name for its graph node, where it is not ``<name>Backward0``)."""

    def backward(ctx, g):
        return grad_fn(g, *ctx.saved_tensors)

    ns = {"_f": f, "_save": save, "backward": staticmethod(backward)}
    if node_name:
        ns["_node_name"] = node_name
    return type(name, (_Unary,), ns)


Neg = _unary_grad("Neg", "negative", "", lambda g: -g)
Abs = _unary_grad("Abs", "abs", "x", lambda g, x: g * sign(x))
Square = _unary_grad("Square", "square", "x", lambda g, x: 2 * g * x, "PowBackward0")


class Rsqrt(_Unary):
    @staticmethod
    def forward(ctx, x):
        xf = x.astype(np.float32) if x.dtype.kind == "V" else x  # bfloat16: round once, as torch
        out = (1 / ctx.xp.sqrt(xf)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return -0.5 * g * y * y * y


class Sigmoid(_Unary):
    @staticmethod
    def forward(ctx, x):
        # 0.5 * (1 + tanh(x / 2)) is overflow-free for any x, unlike 1 / (1 + exp(-x))
        xp = ctx.xp
        if x.dtype.kind == "V":  # bfloat16: torch's formula in float32, rounded once
            out = (1 / (1 + xp.exp(-x.astype(np.float32)))).astype(x.dtype)
        else:
            out = xp.tanh(x * x.dtype.type(0.5))
            out += 1
            out *= x.dtype.type(0.5)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


class _ZeroGrad(_Unary):
    """Piecewise-constant ops (floor, sign...): gradient is zero almost everywhere."""

    _save = ""

    @staticmethod
    def backward(ctx, g):
        # zeros, not g * 0: an inf or NaN upstream gradient still gives 0 (torch's zeros_like)
        return _make(g._device._xp().zeros_like(g._data), g._device)


class Sign(_ZeroGrad):
    @classmethod
    def forward(cls, ctx, x):
        xp = ctx.xp
        out = xp.sign(x)
        if x.dtype.kind in "fV":  # torch: sign(nan) is 0
            out = xp.where(xp.isnan(out), out.dtype.type(0), out)
        return out


Floor = type("Floor", (_ZeroGrad,), {"_f": "floor"})
Ceil = type("Ceil", (_ZeroGrad,), {"_f": "ceil"})
Trunc = type("Trunc", (_ZeroGrad,), {"_f": "trunc"})


class Round(_ZeroGrad):
    @staticmethod
    def forward(ctx, x, decimals=0):
        return ctx.xp.round(x, decimals)


class Frac(_Unary):
    _save = ""

    @staticmethod
    def forward(ctx, x):
        return x - ctx.xp.trunc(x)

    @staticmethod
    def backward(ctx, g):
        return g


def _float_input(x: Tensor) -> Tensor:
    if x._data.dtype.kind not in "fVc":  # "V": bfloat16
        return x.to(D.get_default_dtype())
    return x


def _unary(cls, x, float_only: bool = True, int_ok_identity: bool = False):
    if not isinstance(x, TensorBase):
        raise TypeError(
            f"{cls.__name__.lower()}(): argument 'input' (position 1) must be Tensor, not "
            f"{type(x).__name__}"
        )
    if float_only:
        x = _float_input(x)
    elif x._data.dtype.kind == "b" and cls in (Neg,):
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
            "to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    if int_ok_identity and x._data.dtype.kind in "iub":
        return x.clone()
    # Function.apply's one-tensor short path, inlined: the unary ops' hot path
    if x._rg and _state.enabled:
        return record_one_output(cls, x, _NOARG)
    dev = x._device
    try:
        return _make(cls.forward(shared_ctx(dev, 1), x._data), dev)
    except (MemoryError, RuntimeError) as e:  # CUDA out of memory: torch's error
        _oom(e, (x,))
        raise


def unary_op(name: str, save: str, grad: Callable, doc: str, *, ufunc: str | None = None,
             node: str | None = None, aliases: tuple[str, ...] = ()) -> Callable:
    """Declare a float unary op with a one-line derivative: the whole op from one line.

    Makes the :class:`Function` (its forward runs the backend's ``ufunc``, ``name`` by default;
    integer inputs are computed in the default float dtype, as torch's are), the public function
    ``name(input, *, out=None)`` (running autocast's policy when torch has one for ``name``),
    and declares ``Tensor.<name>`` (without ``out=``, as torch's), ``Tensor.<name>_`` and each
    alias in the op registry.

    Args:
        name: the op's public name.
        save: what ``grad`` reads besides the incoming gradient: ``"x"`` (the input),
            ``"out"`` (the result), ``"both"`` or ``""``.
        grad: the derivative, ``grad(g, *saved)``, written with Tensor ops (so that it is
            itself differentiable).
        doc: the public function's docstring.
        ufunc: the backend function, where its name differs (``arcsin`` for ``asin``).
        node: torch's name for the graph node, where it is not ``<Name>Backward0``.
        aliases: other public names of the op (``arcsin``).

    Returns:
        The public function.
    """
    cls = _unary_grad(name.capitalize(), ufunc or name, save, grad, node)
    autocast = name in AUTOCAST_POLICIES

    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        if autocast and _amp.on:
            return _amp.run(name, fn, input, out=out)
        res = _unary(cls, input)
        return res if out is None else write_out(res, out, name)

    def method(self: Tensor) -> Tensor:  # torch's Tensor methods take no out=
        if autocast and _amp.on:
            return _amp.run(name, fn, self)
        return _unary(cls, self)

    fn.__name__ = fn.__qualname__ = method.__name__ = name
    method.__qualname__ = "Tensor." + name
    fn.__doc__ = method.__doc__ = doc
    fn.Function = cls  # the op's autograd Function (tests and fused paths reach it here)
    names = (name, *aliases)
    register(__name__, dict.fromkeys(names, method), inplace=names)
    UNARY_TABLE.append(name)
    __all__.append(name)  # gpuarr's namespace re-exports it
    return fn


UNARY_TABLE: list[str] = []  # the ops declared by unary_op, in table order


def _acosh_slope(x: Tensor) -> Tensor:
    # 1/sqrt(x^2 - 1); for complex x the principal branch needs the two roots taken apart
    return rsqrt(x + 1) * rsqrt(x - 1) if x.is_complex() else rsqrt(x * x - 1)


# The derivative table: one line per op. ``g`` is the incoming gradient, ``x`` the input,
# ``y`` the result.
exp = unary_op("exp", "out", lambda g, y: g * y,
               "``e ** input``; integer inputs give the default float dtype.")
exp2 = unary_op("exp2", "out", lambda g, y: g * y * math.log(2.0), "``2 ** input``.")
expm1 = unary_op("expm1", "out", lambda g, y: g * (y + 1),
                 "``exp(input) - 1``, accurate for small inputs.")
log = unary_op("log", "x", lambda g, x: g / x, "Natural logarithm (``-inf`` at 0, NaN below).")
log2 = unary_op("log2", "x", lambda g, x: g / (x * math.log(2.0)), "Base-2 logarithm.")
log10 = unary_op("log10", "x", lambda g, x: g / (x * math.log(10.0)), "Base-10 logarithm.")
log1p = unary_op("log1p", "x", lambda g, x: g / (x + 1),
                 "``log(1 + input)``, accurate for small inputs.", node="Log1PBackward0")
sqrt = unary_op("sqrt", "out", lambda g, y: g / (2 * y), "Square root.")
reciprocal = unary_op("reciprocal", "out", lambda g, y: -g * y * y,
                      "``1 / input``; integer inputs give the default float dtype.")
sin = unary_op("sin", "x", lambda g, x: g * cos(x), "Sine.")
cos = unary_op("cos", "x", lambda g, x: -g * sin(x), "Cosine.")
tan = unary_op("tan", "out", lambda g, y: g * (1 + y * y), "Tangent.")
asin = unary_op("asin", "x", lambda g, x: g * rsqrt(1 - x * x), "Arcsine.", ufunc="arcsin",
                aliases=("arcsin",))
acos = unary_op("acos", "x", lambda g, x: -g * rsqrt(1 - x * x), "Arccosine.", ufunc="arccos",
                aliases=("arccos",))
atan = unary_op("atan", "x", lambda g, x: g / (1 + x * x), "Arctangent.", ufunc="arctan",
                aliases=("arctan",))
sinh = unary_op("sinh", "x", lambda g, x: g * cosh(x), "Hyperbolic sine.")
cosh = unary_op("cosh", "x", lambda g, x: g * sinh(x), "Hyperbolic cosine.")
tanh = unary_op("tanh", "out", lambda g, y: g * (1 - y * y), "Hyperbolic tangent.")
asinh = unary_op("asinh", "x", lambda g, x: g * rsqrt(x * x + 1), "Inverse hyperbolic sine.",
                 ufunc="arcsinh", aliases=("arcsinh",))
acosh = unary_op("acosh", "x", lambda g, x: g * _acosh_slope(x),
                 "Inverse hyperbolic cosine (NaN below 1).", ufunc="arccosh", aliases=("arccosh",))
atanh = unary_op("atanh", "x", lambda g, x: g / (1 - x * x),
                 "Inverse hyperbolic tangent (+-inf at +-1, NaN beyond).", ufunc="arctanh",
                 aliases=("arctanh",))


def neg(input: Tensor) -> Tensor:
    """``-input``."""
    return _unary(Neg, input, float_only=False)


negative = neg


def abs(input: Tensor) -> Tensor:
    """Absolute value (of a complex tensor: its modulus, a real tensor)."""
    if isinstance(input, TensorBase) and input._data.dtype.kind == "c":
        return abs_complex(input)
    return _unary(Abs, input, float_only=False)


absolute = abs


def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(input)``."""
    if _amp.on:
        return _amp.run("rsqrt", rsqrt, input)
    return _unary(Rsqrt, input)


def square(input: Tensor) -> Tensor:
    """``input * input``."""
    return _unary(Square, input, float_only=False)


def sigmoid(input: Tensor) -> Tensor:
    """Logistic sigmoid ``1 / (1 + exp(-input))``, computed without overflow."""
    return _unary(Sigmoid, input)


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element."""
    if input._data.dtype.kind == "b":
        return input.clone()
    if input._data.dtype.kind == "c":
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex "
                                  "numbers. Please use torch.sgn instead.")
    return _unary(Sign, input, float_only=False)


def floor(input: Tensor) -> Tensor:
    """Round down."""
    no_complex(input, "floor is not supported for complex inputs", NotImplementedError)
    return _unary(Floor, input, float_only=False, int_ok_identity=True)


def ceil(input: Tensor) -> Tensor:
    """Round up."""
    no_complex(input, "ceil is not supported for complex inputs", NotImplementedError)
    return _unary(Ceil, input, float_only=False, int_ok_identity=True)


def trunc(input: Tensor) -> Tensor:
    """Round toward zero."""
    no_complex(input, "trunc is not supported for complex inputs", NotImplementedError)
    return _unary(Trunc, input, float_only=False, int_ok_identity=True)


def frac(input: Tensor) -> Tensor:
    """Fractional part ``input - trunc(input)``."""
    if input._data.dtype.kind not in "fV":
        raise RuntimeError(f'"frac_{input._device.type}" not implemented for '
                           f"'{dtype_name(input.dtype)}'")
    return _unary(Frac, input, float_only=False)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, optionally to ``decimals`` places (as torch)."""
    no_complex(input, not_implemented_for("round_{dev}"), NotImplementedError)
    if input._data.dtype.kind in "iub":
        return input.clone()
    if decimals == 0:
        return _unary(Round, input, float_only=False)
    return Round.apply(input, decimals)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """Replace NaN, +inf and -inf by finite numbers (default: 0 and the dtype's max / min).

    The gradient passes through where the input was finite and is zero elsewhere.
    """
    if input._data.dtype.kind not in "fV":
        return input.clone()
    info = np.finfo(input._data.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    x = where(isnan(input), nan, input)
    x = where(x == math.inf, posinf, x)
    return where(x == -math.inf, neginf, x)


class Clamp(Function):
    _raw = True
    _node_name = "ClampBackward1"  # torch's clamp with number bounds

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = ctx.xp
        out = x
        if lo is not None:
            out = xp.maximum(out, lo)
        if hi is not None:
            out = xp.minimum(out, hi)
        if out is x:
            out = x.copy()
        ctx.save_for_backward(x, lo if not isinstance(lo, np.generic) else None,
                              hi if not isinstance(hi, np.generic) else None)
        ctx.lo, ctx.hi = lo, hi
        return out

    @staticmethod
    def backward(ctx, g):
        x, lo_t, hi_t = ctx.saved_tensors
        lo = lo_t if lo_t is not None else ctx.lo
        hi = hi_t if hi_t is not None else ctx.hi
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            m = x <= hi
            mask = m if mask is None else mask & m
        gx = g * mask.to(g.dtype) if ctx.needs_input_grad[0] else None
        glo = ghi = None
        # clamp is minimum(maximum(x, lo), hi): with lo > hi the result is hi
        if ctx.needs_input_grad[1]:
            m = x < lo
            glo = g * (m & (lo <= hi) if hi is not None else m).to(g.dtype)
        if ctx.needs_input_grad[2]:
            m = x > hi
            ghi = g * (m | (lo > hi) if lo is not None else m).to(g.dtype)
        return gx, glo, ghi


class ClampTensor(Clamp):
    """clamp with a Tensor bound: torch's node lists input, min and max."""

    _node_name = "ClampBackward0"
    _next_args = (0, 1, 2)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit values to ``[min, max]`` (either bound may be None, a number or a Tensor).

    Example:
        >>> gpuarr.tensor([-2., 0.5, 3.]).clamp(0, 1)
        tensor([0.0000, 0.5000, 1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    cls = ClampTensor if isinstance(min, TensorBase) or isinstance(max, TensorBase) else Clamp
    return _clamp(input, min, max, cls)


def _bound_as(v, res: D.dtype):
    return v.to(res) if isinstance(v, TensorBase) else scalar_as(v, res)


def _clamp(input: Tensor, min, max, cls: type) -> Tensor:
    """:func:`clamp` recorded as ``cls`` (a Clamp subclass that names the graph node)."""
    no_complex(input, "clamp is not supported for complex types", NotImplementedError)
    res = D.result_type(*(v for v in (input, min, max) if v is not None))
    x = input if input._data.dtype == res.np else input.to(res)
    lo = None if min is None else _bound_as(min, res)
    hi = None if max is None else _bound_as(max, res)
    return cls.apply(x, lo, hi)


clip = clamp


class Where(Function):
    _raw = True
    _next_args = (1, 2)  # torch's node lists input and other (a number as an undefined input)

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        try:
            return ctx.xp.where(cond, a, b)
        except ValueError:
            raise broadcast_error(getattr(a, "shape", ()), getattr(b, "shape", ())) from None

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        # a literal 0, not g * 0: an inf/nan gradient must not leak into the unselected side
        zero = _make(ctx.xp.zeros((), dtype=g._data.dtype), g._device)
        ga = where(cond, g, zero) if ctx.needs_input_grad[1] else None
        gb = where(cond, zero, g) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition: Tensor, input=None, other=None) -> Tensor:
    """Pick ``input`` where ``condition`` is True, else ``other`` (with broadcasting).

    With only ``condition``, returns the indices of nonzero elements
    (``nonzero(as_tuple=True)``).
    """
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, TensorBase):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if condition._data.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{dtype_name(condition.dtype)}"
        )
    a, b, _ = promote_operands(input, other, "where")

    check_same_device(condition, a, b)
    return Where.apply(condition, a, b)


# C++ type names torch uses in lerp's dtype errors
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
              "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool", "bfloat16": "c10::BFloat16"}


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """Linear interpolation ``input + weight * (end - input)`` (floating point only, as torch).

    Args:
        input: the start tensor.
        end: the end tensor, of ``input``'s dtype.
        weight: a number, or a tensor of ``input``'s dtype.

    Example:
        >>> gpuarr.lerp(gpuarr.zeros(2), gpuarr.ones(2), 0.25)
        tensor([0.2500, 0.2500])
    """
    dt = input._data.dtype
    for name, v in (("end", end), ("weight", weight)):
        if isinstance(v, TensorBase) and v._data.dtype != dt:
            raise RuntimeError(f"expected dtype {_CPP_NAMES[dt.name]} for `{name}` but got dtype "
                               f"{_CPP_NAMES[v._data.dtype.name]}")
    if dt.kind not in "fV":
        kind = "tensor" if isinstance(weight, TensorBase) else "scalar"
        raise NotImplementedError(
            f'"lerp_kernel_{kind}" not implemented for \'{dtype_name(input.dtype)}\'')
    return input + weight * (end - input)


# --------------------------------------------------------------------------------------------
# Tensor methods, operators and in-place forms


_LEGACY_ALPHA = ("This overload of {0}_ is deprecated:\n\t{0}_(Number alpha, Tensor other)\n"
                 "Consider using one of the following signatures instead:\n"
                 "\t{0}_(Tensor other, *, Number alpha = 1)")


def _fast_inplace(ufunc_name: str, fallback):
    """In-place arithmetic: one ufunc with ``out=`` when no graph is needed. ``add_`` and
    ``sub_`` also take torch's deprecated ``(alpha, other)`` order (``p.data.add_(-lr, grad)``
    in older programs), with torch's warning."""

    def method(self, other, legacy_other=None, *, alpha=1):
        if legacy_other is not None:
            import warnings

            if ufunc_name == "multiply":
                raise TypeError("mul_() takes 1 positional argument but 2 were given")
            warnings.warn(_LEGACY_ALPHA.format(fallback.__name__), UserWarning, stacklevel=2)
            other, alpha = legacy_other, other
        if not (_state.enabled and (self._rg or (isinstance(other, TensorBase) and other._rg))):
            d = self._data
            if alpha == 1 and d.dtype.kind in "fV":
                if isinstance(other, TensorBase):
                    if other._device is self._device and other._data.dtype == d.dtype:
                        _bcast_inplace(self, ufunc_name, other._data)
                        return self
                elif other.__class__ is float or other.__class__ is int:
                    _bcast_inplace(self, ufunc_name, d.dtype.type(other))
                    return self
        if alpha != 1:
            return apply_inplace(self, fallback, other, alpha=alpha)
        return apply_inplace(self, fallback, other)

    method.__name__ = fallback.__name__ + "_"
    method.__doc__ = f"In-place :func:`{fallback.__name__}`; returns self."
    return method


def _bcast_inplace(self: Tensor, ufunc_name: str, other) -> None:
    check_no_overlap(self)
    xp = self._device._xp()
    try:
        getattr(xp, ufunc_name)(self._data, other, out=self._data)
    except ValueError:
        raise inplace_shape_error(self._data.shape, getattr(other, "shape", ())) from None
    self._bump_version()


_new = object.__new__
_NP_REAL_SCALARS = frozenset([np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
                              np.int64, np.uint8])


def _fast_method(cls, slow, fast_int: bool = True):
    """An operator method (``a + b``, ``a * b``...) with ``Function.apply``'s short paths
    inlined for operands of one dtype and device.

    This is the hot path of small-tensor code, so it avoids every call it can: without a
    graph, one ufunc call plus building the result Tensor by hand (the same fields ``_make``
    sets); with one, apply's recording routine directly. Anything else goes through ``slow``.
    """
    np_fn = getattr(np, cls._ufunc)
    name = cls._ufunc

    state, new = _state, _new  # closure cells: the cheapest lookups inside method()

    def method(self, other):
        oc = other.__class__
        if isinstance(other, TensorBase):
            da = self._data
            db = other._data
            dev = self._device
            if (self._rg or other._rg) and state.enabled:
                if dev is other._device and da.dtype == db.dtype and (
                        fast_int or da.dtype.kind in "fV"):
                    return record_one_output(cls, self, other)
            elif dev is other._device and da.dtype is db.dtype and (
                    fast_int or da.dtype.kind in "fV"):
                try:
                    out = np_fn(da, db) if dev is CPU else getattr(dev._xp(), name)(da, db)
                except ValueError:
                    raise broadcast_error(da.shape, db.shape) from None
                except TypeError:  # dtypes the ufunc refuses (bool subtract): torch's error
                    return slow(self, other)
                except (MemoryError, RuntimeError) as e:  # CUDA out of memory: torch's error
                    _oom(e, (self,))
                    raise
                if out.__class__ is not _ndarray and dev is CPU:
                    out = np.asarray(out)  # NumPy gives scalars for 0-d inputs
                t = new(_ct._Tensor)  # _make inlined: gpuarr.Tensor
                t._data = out
                t._device = dev
                t._rg = False
                t._gfn = None
                return t
        elif oc is float or oc is int or (oc in _NP_REAL_SCALARS):
            da = self._data
            if da.dtype.kind == "f":
                # Python and NumPy scalars are weak: the tensor's float dtype wins
                if _state.enabled and self._rg:
                    return record_one_output(cls, self, da.dtype.type(other))
                dev = self._device
                if dev is CPU and (oc is float or oc is int):
                    out = np_fn(da, other)
                else:
                    try:
                        out = getattr(dev._xp(), name)(da, da.dtype.type(other))
                    except (MemoryError, RuntimeError) as e:  # CUDA out of memory: torch's
                        _oom(e, (self,))
                        raise
                return _make(out, dev)
        return slow(self, other)

    method.__name__ = f"__{name}__"
    return method


def _rsub(self, other):
    if isinstance(other, TensorBase) or _is_bool(self) or _is_bool(other):
        return sub(other, self)
    return _binary(RSub, other, self)


def _reflect(fn):
    def method(self, other):
        return fn(other, self)

    return method


def _div_(self, other, *, rounding_mode=None):
    if rounding_mode is None and self._data.dtype.kind in "fV" and not (
        _state.enabled and (self._rg or (isinstance(other, TensorBase) and other._rg))
    ) and (not isinstance(other, TensorBase) or (other._data.dtype == self._data.dtype
                                                 and other._device is self._device)):
        o = other._data if isinstance(other, TensorBase) else self._data.dtype.type(other)
        _bcast_inplace(self, "true_divide", o)
        return self
    return apply_inplace(self, div, other, rounding_mode=rounding_mode)


def _invert(self):
    return logical_not(self) if self._data.dtype == np.bool_ else bitwise_not(self)


def _eq_op(self, other):
    return eq(self, other) if isinstance(other, (TensorBase, int, float)) else NotImplemented


def _ne_op(self, other):
    return ne(self, other) if isinstance(other, (TensorBase, int, float)) else NotImplemented


def _pos(self):
    return self


def _in_place_op(fn):
    def method(self, other):
        return apply_inplace(self, fn, other)

    method.__name__ = f"__i{fn.__name__}__"
    return method


_add_op = _fast_method(Add, lambda self, other: _binary(Add, self, other))
_mul_op = _fast_method(Mul, lambda self, other: _binary(Mul, self, other))
_add_ = _fast_inplace("add", add)
_sub_ = _fast_inplace("subtract", sub)
_mul_ = _fast_inplace("multiply", mul)

# Python's operators, and the in-place arithmetic with its no-graph fast path
register(__name__, {
    "__add__": _add_op, "__radd__": _add_op,
    "__sub__": _fast_method(Sub, lambda self, other: sub(self, other)), "__rsub__": _rsub,
    "__mul__": _mul_op, "__rmul__": _mul_op,
    "__truediv__": _fast_method(
        Div, lambda self, other: _binary(Div, self, other, fast_int=False, force_float=True),
        fast_int=False),
    "__rtruediv__": _reflect(div),
    "__floordiv__": floor_divide, "__rfloordiv__": _reflect(floor_divide),
    "__mod__": remainder, "__rmod__": _reflect(remainder),
    "__pow__": pow, "__rpow__": _reflect(pow),
    "__neg__": neg, "__pos__": _pos, "__abs__": abs, "__invert__": _invert,
    "__and__": bitwise_and, "__rand__": _reflect(bitwise_and),
    "__or__": bitwise_or, "__ror__": _reflect(bitwise_or),
    "__xor__": bitwise_xor, "__rxor__": _reflect(bitwise_xor),
    "__eq__": _eq_op, "__ne__": _ne_op, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__iadd__": _add_, "__isub__": _sub_, "__imul__": _mul_,
    "__itruediv__": _in_place_op(div), "__ifloordiv__": _in_place_op(floor_divide),
    "__imod__": _in_place_op(remainder), "__ipow__": _in_place_op(pow),
    "__iand__": _in_place_op(bitwise_and), "__ior__": _in_place_op(bitwise_or),
    "__ixor__": _in_place_op(bitwise_xor),
    "add_": _add_, "sub_": _sub_, "subtract_": _sub_, "mul_": _mul_, "multiply_": _mul_,
    "div_": _div_, "true_divide_": _div_,
    # Python's __eq__ on a class also needs __hash__ (TensorBase's: identity)
    "__hash__": TensorBase.__hash__,
})
_METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "floor_divide": floor_divide, "remainder": remainder,
    "fmod": fmod, "pow": pow, "maximum": maximum, "minimum": minimum, "atan2": atan2,
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt, "less": lt,
    "greater_equal": ge, "less_equal": le, "not_equal": ne, "equal": equal,
    "isclose": isclose, "allclose": allclose, "bitwise_and": bitwise_and,
    "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "logical_not": logical_not, "neg": neg, "negative": neg, "abs": abs, "absolute": abs,
    "rsqrt": rsqrt, "square": square, "sigmoid": sigmoid, "sign": sign, "floor": floor,
    "ceil": ceil, "round": round, "trunc": trunc, "frac": frac, "isnan": isnan,
    "isinf": isinf, "isfinite": isfinite, "nan_to_num": nan_to_num, "clamp": clamp,
    "clip": clamp, "where": lambda self, condition, other: where(condition, self, other),
    "lerp": lerp,
}
register(__name__, _METHODS, inplace=[
    "floor_divide", "remainder", "fmod", "pow", "neg", "abs", "rsqrt", "square", "sigmoid",
    "sign", "floor", "ceil", "round", "trunc", "frac", "clamp", "clip", "nan_to_num", "lerp",
    "maximum", "minimum", "atan2", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "logical_not", "logical_and", "logical_or", "logical_xor", "eq", "ne", "lt", "le", "gt",
    "ge",
])

ElementwiseMethods = mixin("ElementwiseMethods", __name__)
