"""More elementwise math: logaddexp, hypot, fmax/fmin, logit, sinc, heaviside, gcd/lcm, ldexp/frexp
and torch's aliases and in-place spellings of the elementwise ops; also the special functions of
torch.special that gpuarr had lacked (``erfcx``, ``ndtr``, ``ndtri``, ``log_ndtr``, ``i0e``,
``i1``, ``i1e``, ``entr``, ``xlog1py``, ``zeta``, the modified Bessel functions
``modified_bessel_i0/i1/k0/k1``, ``scaled_modified_bessel_k0/k1`` and ``spherical_bessel_j0``;
``igamma``/``igammac`` are also torch's top-level ops), which ``gpuarr.special`` re-exports.

The special functions' array work is the backend's (``Backend.erfc``, ``erfcx``, ``ndtri``,
``log_ndtr``, ``bessel_i``, ``bessel_k``, ``zeta``, ``gammainc``): SciPy /
``cupyx.scipy.special``, or gpuarr's NumPy implementations without SciPy. float16 and
bfloat16 are computed in float32 and rounded once, as torch's kernels do.

Gradients are torch's (derivatives.yaml), written with gpuarr ops so that higher derivatives
work: ``fmax`` passes the gradient to the chosen operand (``input`` on ties), ``hypot``'s is
``x / hypot``, ``logit`` with ``eps`` has zero gradient outside ``[eps, 1 - eps]``, ``i0' = i1``,
``erfcx'(x) = 2 x erfcx(x) - 2 / sqrt(pi)``... ``signbit``, ``isposinf``, ``gcd`` and the
shifts return integers or bools and are not differentiable; ``heaviside`` and ``zeta`` (in its
first argument) raise torch's error when differentiated.

Example:
    >>> gpuarr.logaddexp(gpuarr.tensor([0.0]), gpuarr.tensor([0.0]))   # log(2)
    tensor([0.6931])
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .. import return_types
from ..backends import of_module
from . import elementwise as E
from . import special as S
from ._common import Function, TensorBase, _make, apply_raw, dtype_name, promote_operands
from ._out import write_out
from ._registry import apply_inplace, inplace_method, mixin, register
from .complex_ops import sgn_complex

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__: list[str] = [
    "logaddexp", "logaddexp2", "hypot", "fmax", "fmin", "nextafter", "heaviside", "gcd", "lcm",
    "igamma", "igammac",
    "bitwise_left_shift", "bitwise_right_shift", "ldexp", "float_power", "rsub",
    "erfc", "i0", "sinc", "logit", "deg2rad", "rad2deg", "mvlgamma", "frexp",
    "signbit", "sgn", "isposinf", "isneginf", "isreal", "positive", "fix", "clamp_min",
    "clamp_max", "arccos", "arcsin", "arctan", "arccosh", "arcsinh", "arctanh", "arctan2",
]

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# helpers


def _need_tensors(name: str, input, other, other_name: str = "other") -> None:
    """torch's TypeError for the ops that take no Python numbers."""
    for pos, arg, v in ((1, "input", input), (2, other_name, other)):
        if not isinstance(v, TensorBase):
            raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not "
                            f"{type(v).__name__}")


def _not_implemented(name: str, res: D.dtype, a, b=None) -> NotImplementedError:
    """torch's error for a dtype its kernel lacks (``"gcd_cpu" not implemented for 'Float'``)."""
    dev = (a if isinstance(a, TensorBase) else b)._device
    return NotImplementedError(f'"{name}_{dev.type}" not implemented for \'{dtype_name(res)}\'')


def _half_as_float(xp, fn: Callable, *arrays):
    """``fn(*arrays)`` with float16 / bfloat16 computed in float32 and rounded once (torch's
    opmath), which also covers the functions NumPy and CuPy lack for bfloat16."""
    dt = arrays[0].dtype
    if dt.kind not in "fV" or dt.itemsize >= 4:
        return fn(*arrays)
    with np.errstate(all="ignore"):
        return fn(*(a.astype(np.float32) for a in arrays)).astype(dt)


def _finish(res: Tensor, out, name: str) -> Tensor:
    return res if out is None else write_out(res, out, name)


def _zero_where(mask: Tensor, g: Tensor) -> Tensor:
    """``g`` with zeros where ``mask`` holds (torch's ``masked_fill(mask, 0)``: an inf or NaN
    gradient does not leak through, unlike ``g * 0``)."""
    return E.where(mask, 0.0, g)


# --------------------------------------------------------------------------------------------
# binary float ops: logaddexp, logaddexp2, hypot, nextafter


class _FloatBinary(Function):
    """A binary op of floats through backend ufunc ``_f``; saves what backward reads."""

    _raw = True
    _f = ""

    @classmethod
    def forward(cls, ctx, a, b):
        xp = ctx.xp
        out = E._bcast_guard(lambda u, v: _half_as_float(xp, getattr(xp, cls._f), u, v), a, b)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b, out)
        return out


class Logaddexp(_FloatBinary):
    _f = "logaddexp"

    @staticmethod
    def backward(ctx, g):
        a, b, _ = ctx.saved_tensors
        return g / (1 + E.exp(b - a)), g / (1 + E.exp(a - b))


class Logaddexp2(_FloatBinary):
    _f = "logaddexp2"

    @staticmethod
    def backward(ctx, g):
        a, b, _ = ctx.saved_tensors
        return g / (1 + E.pow(2.0, b - a)), g / (1 + E.pow(2.0, a - b))


class Hypot(_FloatBinary):
    _f = "hypot"

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        return g * a / y, g * b / y


class Nextafter(_FloatBinary):
    _f = "nextafter"

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype.kind == "V":  # bfloat16: its own next number, not float32's
            return E._bcast_guard(lambda u, v: _nextafter_bits(ctx.xp, u, v), a, b)
        return E._bcast_guard(ctx.xp.nextafter, a, b)

    @staticmethod
    def backward(ctx, g):
        return g, g * 0  # torch: the step is locally constant in input, ignores other


def _nextafter_bits(xp, a, b):
    """nextafter for a 16-bit float without a ufunc: step the bit pattern by one."""
    a, b = xp.broadcast_arrays(a, b)
    bits = a.view(np.int16)
    up = (a < b) == (a > 0)  # away from zero when heading away from zero
    stepped = (bits + xp.where(up, 1, -1).astype(np.int16)).view(a.dtype)
    # from zero: the smallest subnormal with the sign of the direction
    tiny = xp.ones(a.shape, dtype=np.int16).view(a.dtype)
    from_zero = xp.where(b > a, tiny, -tiny)
    out = xp.where(a == 0, from_zero, stepped)
    out = xp.where(a == b, b, out)
    return xp.where((a != a) | (b != b), a + b, out)


def _float_binary(cls, name: str, input, other, out) -> Tensor:
    _need_tensors(name, input, other)
    a, b, res = promote_operands(input, other, name)
    if not res.is_floating_point:
        raise _not_implemented(name, res, a)
    return _finish(cls.apply(a, b), out, name)


def logaddexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow, elementwise with broadcasting.

    Args:
        input: a floating-point tensor (integer tensors raise, as in torch, unless ``other``
            is a float tensor that they promote with).
        other: a tensor.
        out: optional output tensor.

    Returns:
        A float tensor. Differentiable in both: ``d/dinput = 1 / (1 + exp(other - input))``.

    Example:
        >>> gpuarr.logaddexp(gpuarr.tensor([-100.0, 1.0]), gpuarr.tensor([-100.0, 1.0]))
        tensor([-99.3069,   1.6931])
    """
    return _float_binary(Logaddexp, "logaddexp", input, other, out)


def logaddexp2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow (see :func:`logaddexp`).

    Example:
        >>> gpuarr.logaddexp2(gpuarr.tensor([1.0]), gpuarr.tensor([1.0]))
        tensor([2.])
    """
    return _float_binary(Logaddexp2, "logaddexp2", input, other, out)


def hypot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``sqrt(input**2 + other**2)`` without intermediate overflow, elementwise.

    Args:
        input, other: floating-point tensors (broadcast together).

    Returns:
        A float tensor; the gradients are ``input / hypot`` and ``other / hypot``.

    Example:
        >>> gpuarr.hypot(gpuarr.tensor([3.0]), gpuarr.tensor([4.0]))
        tensor([5.])
    """
    return _float_binary(Hypot, "hypot", input, other, out)


def nextafter(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The next floating-point value after ``input`` towards ``other``, elementwise.

    Returns:
        A tensor of the promoted float dtype. Its gradient is ``1`` for ``input`` and ``0``
        for ``other`` (as torch's).

    Example:
        >>> gpuarr.nextafter(gpuarr.tensor([1.0]), gpuarr.tensor([2.0])) - 1
        tensor([1.1921e-07])
    """
    return _float_binary(Nextafter, "nextafter", input, other, out)


# --------------------------------------------------------------------------------------------
# fmax / fmin: NaN-ignoring maximum and minimum


class _FMinMax(Function):
    _raw = True
    _f = ""

    @classmethod
    def forward(cls, ctx, a, b):
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.save_for_backward(a, b)
        xp = ctx.xp
        return E._bcast_guard(lambda u, v: _half_as_float(xp, getattr(xp, cls._f), u, v)
                              if u.dtype.kind == "V" else getattr(xp, cls._f)(u, v), a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        # torch: input gets the gradient where it wins, ties included, or other is NaN
        picks_a = ((a >= b) if cls._f == "fmax" else (a <= b)) | E.isnan(b)
        return _zero_where(~picks_a, g), _zero_where(picks_a, g)


class Fmax(_FMinMax):
    _f = "fmax"


class Fmin(_FMinMax):
    _f = "fmin"


def fmax(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise maximum that ignores NaN: where one side is NaN, the other is taken.

    Args:
        input, other: tensors of any real dtype (promoted together, broadcast).

    Returns:
        A tensor; the gradient goes to the chosen side (``input`` on ties).

    Example:
        >>> gpuarr.fmax(gpuarr.tensor([1.0, float("nan")]), gpuarr.tensor([2.0, 0.5]))
        tensor([2.0000, 0.5000])
    """
    _need_tensors("fmax", input, other)
    a, b, _ = promote_operands(input, other, "fmax")
    return _finish(Fmax.apply(a, b), out, "fmax")


def fmin(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise minimum that ignores NaN (see :func:`fmax`).

    Example:
        >>> gpuarr.fmin(gpuarr.tensor([1.0, float("nan")]), gpuarr.tensor([2.0, 0.5]))
        tensor([1.0000, 0.5000])
    """
    _need_tensors("fmin", input, other)
    a, b, _ = promote_operands(input, other, "fmin")
    return _finish(Fmin.apply(a, b), out, "fmin")


# --------------------------------------------------------------------------------------------
# heaviside, gcd, lcm, shifts: no gradients


class Heaviside(Function):
    """Step function; torch has no derivative for it and says so on backward."""

    _raw = True

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        # torch's kernel: values where input == 0, else (input > 0); NaN input gives 0
        return E._bcast_guard(lambda u, v: xp.where(u == 0, v, (u > 0).astype(u.dtype)), a, b)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


def heaviside(input: Tensor, values: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Heaviside step: 0 where ``input < 0``, ``values`` where ``input == 0``, 1 where
    ``input > 0``.

    Args:
        input: a tensor.
        values: a tensor of ``input``'s dtype (broadcast), used where ``input`` is 0.

    Returns:
        A tensor of ``input``'s dtype. Not differentiable (backward raises, as torch).

    Example:
        >>> gpuarr.heaviside(gpuarr.tensor([-1.0, 0.0, 2.0]), gpuarr.tensor([0.5]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    _need_tensors("heaviside", input, values, "values")
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    a, b, _ = promote_operands(input, values, "heaviside")
    return _finish(Heaviside.apply(a, b), out, "heaviside")


def _int_binary(name: str, kernel: str, input, other, fn: Callable) -> Tensor:
    """An integer-only binary op without gradient: ``fn(xp, a, b, dtype)`` on the arrays."""
    a, b, res = promote_operands(input, other, name)
    if res.is_floating_point or res == D.bool:
        raise _not_implemented(kernel, res, a, b)
    t = a if isinstance(a, TensorBase) else b
    xp = t._device._xp()
    da = a._data if isinstance(a, TensorBase) else xp.asarray(a)
    db = b._data if isinstance(b, TensorBase) else xp.asarray(b)
    res_arr = E._bcast_guard(lambda u, v: fn(xp, u, v, res.np), da, db)
    return _make(res_arr.astype(res.np, copy=False), t._device)


def gcd(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Greatest common divisor of integer tensors, elementwise (non-negative; ``gcd(0, 0) = 0``).

    Example:
        >>> gpuarr.gcd(gpuarr.tensor([12, -4]), gpuarr.tensor([18, 6]))
        tensor([6, 2])
    """
    _need_tensors("gcd", input, other)
    res = _int_binary("gcd", "gcd", input, other, lambda xp, u, v, dt: xp.gcd(u, v))
    return _finish(res, out, "gcd")


def lcm(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Least common multiple of integer tensors, elementwise (non-negative).

    Example:
        >>> gpuarr.lcm(gpuarr.tensor([4, -4]), gpuarr.tensor([6, 6]))
        tensor([12, 12])
    """
    _need_tensors("lcm", input, other)
    res = _int_binary("lcm", "lcm", input, other, lambda xp, u, v, dt: xp.lcm(u, v))
    return _finish(res, out, "lcm")


def _lshift(xp, a, s, dt):
    bits = np.dtype(dt).itemsize * 8
    # torch: a shift by a negative count or by the width or more gives 0
    bad = (s < 0) | (s >= bits)
    shifted = xp.left_shift(a, xp.where(bad, 0, s).astype(s.dtype))
    return xp.where(bad, xp.zeros((), dtype=dt), shifted)


def _rshift(xp, a, s, dt):
    bits = np.dtype(dt).itemsize * 8
    # torch: a negative or too large count shifts by width - 1 (the sign fills the result)
    bad = (s < 0) | (s >= bits)
    return xp.right_shift(a, xp.where(bad, bits - 1, s).astype(s.dtype))


def _need_a_tensor(name: str, input, other) -> None:
    if not isinstance(input, TensorBase) and not isinstance(other, TensorBase):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def bitwise_left_shift(input, other, *, out: Tensor | None = None) -> Tensor:
    """``input << other`` for integer tensors (either may be a number).

    Returns:
        A tensor of the promoted integer dtype; shifts by a negative count or by the width
        or more give 0 (as torch's).

    Example:
        >>> gpuarr.bitwise_left_shift(gpuarr.tensor([1, 3]), 2)
        tensor([ 4, 12])
    """
    _need_a_tensor("bitwise_left_shift", input, other)
    return _finish(_int_binary("bitwise_left_shift", "lshift", input, other, _lshift), out,
                   "bitwise_left_shift")


def bitwise_right_shift(input, other, *, out: Tensor | None = None) -> Tensor:
    """``input >> other`` (arithmetic shift) for integer tensors (either may be a number).

    Returns:
        A tensor of the promoted integer dtype; a count that is negative or at least the
        width shifts by the width minus one (as torch's).

    Example:
        >>> gpuarr.bitwise_right_shift(gpuarr.tensor([16, -16]), 2)
        tensor([ 4, -4])
    """
    _need_a_tensor("bitwise_right_shift", input, other)
    return _finish(_int_binary("bitwise_right_shift", "rshift", input, other, _rshift), out,
                   "bitwise_right_shift")


# --------------------------------------------------------------------------------------------
# composites of differentiable ops: ldexp, float_power, rsub, deg2rad, rad2deg, mvlgamma


def ldexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input * 2**other``, elementwise (torch's definition, with its promotion).

    Returns:
        A float tensor (integer inputs give the default float dtype). Differentiable in both.

    Example:
        >>> gpuarr.ldexp(gpuarr.tensor([1.0, 3.0]), gpuarr.tensor([3, 1]))
        tensor([8., 6.])
    """
    _need_tensors("ldexp", input, other)
    return _finish(E.mul(input, E.pow(2.0, other)), out, "ldexp")


def _ldexp_(self: Tensor, other: Tensor) -> Tensor:
    # the dtype of self * 2.0**other, checked first for torch's message
    power = other.dtype if other.is_floating_point() else D.get_default_dtype()
    if not D.can_cast(D.promote_types(self.dtype, power), self.dtype):
        raise RuntimeError(f"ldexp can't be cast to the desired output type "
                           f"{dtype_name(self.dtype)}")
    return apply_inplace(self, ldexp, other)


def float_power(input, exponent, *, out: Tensor | None = None) -> Tensor:
    """``input ** exponent`` computed in float64 (either may be a number).

    Returns:
        A float64 tensor. Differentiable like :func:`gpuarr.pow`.

    Example:
        >>> gpuarr.float_power(gpuarr.tensor([2, 3]), 2)
        tensor([4., 9.], dtype=gpuarr.float64)
    """
    _need_a_tensor("float_power", input, exponent)
    base = input.to(D.float64) if isinstance(input, TensorBase) else float(input)
    exp = exponent.to(D.float64) if isinstance(exponent, TensorBase) else float(exponent)
    return _finish(E.pow(base, exp), out, "float_power")


def _float_power_(self: Tensor, exponent) -> Tensor:
    if self.dtype != D.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {dtype_name(self.dtype)} "
                           f"but the operation's result requires dtype Double")
    return apply_inplace(self, float_power, exponent)


def rsub(input: Tensor, other, alpha=1) -> Tensor:
    """``other - alpha * input`` (subtraction with the operands reversed).

    Args:
        input: a tensor.
        other: a tensor or number.
        alpha: multiplier of ``input``.

    Example:
        >>> gpuarr.rsub(gpuarr.tensor([1.0, 2.0]), 3)
        tensor([2., 1.])
    """
    return E.sub(other, _tensor_arg(input, "rsub"), alpha=alpha)


def deg2rad(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Degrees to radians, ``input * pi / 180`` (integers give the default float dtype).

    Example:
        >>> gpuarr.deg2rad(gpuarr.tensor([180.0]))
        tensor([3.1416])
    """
    return _finish(E._float_input(_tensor_arg(input, "deg2rad")) * (math.pi / 180.0), out,
                   "deg2rad")


def rad2deg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Radians to degrees, ``input * 180 / pi`` (integers give the default float dtype).

    Example:
        >>> gpuarr.rad2deg(gpuarr.tensor([3.14159265]))
        tensor([180.])
    """
    return _finish(E._float_input(_tensor_arg(input, "rad2deg")) * (180.0 / math.pi), out,
                   "rad2deg")


def mvlgamma(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    ``p (p - 1) / 4 log(pi) + sum_{j < p} lgamma(input - j / 2)``.

    Args:
        input: a tensor (integers give the default float dtype).
        p: the dimension, at least 1.

    Returns:
        A float tensor. Differentiable (``sum_j digamma(input - j / 2)``).

    Example:
        >>> gpuarr.mvlgamma(gpuarr.tensor([2.5]), 2)
        tensor([0.8570])
    """
    _tensor_arg(input, "mvlgamma")
    if input._data.dtype == np.bool_:
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = E._float_input(input)
    # bfloat16 in float32, rounded once (gpuarr.lgamma would return float32 for it)
    xw = x.float() if x.dtype == D.bfloat16 else x
    res = S.lgamma(xw)
    for j in range(1, p):
        res = res + S.lgamma(xw - j / 2)
    res = (res + p * (p - 1) / 4 * math.log(math.pi)).to(x.dtype)
    return _finish(res, out, "mvlgamma")


def _tensor_arg(x, name: str, arg: str = "input") -> Tensor:
    if not isinstance(x, TensorBase):
        raise TypeError(f"{name}(): argument '{arg}' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


# --------------------------------------------------------------------------------------------
# unary float ops with backend special functions


def _backend_op(call: Callable) -> Callable:
    """``call(backend, x)`` as a forward ``(xp, x) -> array of x's dtype`` (half types in
    float32)."""

    def compute(xp, x):
        bk = of_module(xp)
        with np.errstate(all="ignore"):
            return _half_as_float(xp, lambda v: call(bk, v), x)

    return compute


def _special_unary(name: str, compute: Callable, save: str, grad: Callable,
                   doc: str) -> Callable:
    """A float unary op from its array forward ``compute(xp, x)`` and its derivative
    ``grad(g, *saved)`` (``save``: ``"x"``, ``"out"`` or ``"both"``), written with Tensor ops.

    Returns the public function ``name(input, *, out=None)``; integer inputs are computed in
    the default float dtype, as torch's are.
    """

    def forward(ctx, x):
        out = compute(ctx.xp, x)
        ctx.save_for_backward(*{"x": (x,), "out": (out,), "both": (x, out)}[save])
        return out

    def backward(ctx, g):
        return grad(g, *ctx.saved_tensors)

    cls = type(name.capitalize(), (E._Unary,), {
        "forward": staticmethod(forward), "backward": staticmethod(backward),
        "__module__": __name__})

    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        return _finish(E._unary(cls, input), out, name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.Function = cls
    return fn


def _sinc_array(xp, x):
    with np.errstate(all="ignore"):  # sinc(inf) is NaN, as torch's, without a warning
        return _half_as_float(xp, xp.sinc, x)


def _sinc_grad(g: Tensor, x: Tensor) -> Tensor:
    # d/dx sin(pi x) / (pi x) = (pi x cos(pi x) - sin(pi x)) / (pi x^2); 0 at x = 0 (torch)
    zero = x == 0
    safe = E.where(zero, 1.0, x)
    px = math.pi * safe
    d = (px * E.cos(px) - E.sin(px)) / (math.pi * safe * safe)
    return _zero_where(zero, g * d)


def _entr_array(xp, x):
    with np.errstate(all="ignore"):
        pos = -x * xp.log(xp.where(x > 0, x, xp.ones((), dtype=x.dtype)))
        out = xp.where(x > 0, pos, xp.where(x == 0, 0, -xp.inf).astype(x.dtype))
    return xp.where(xp.isnan(x), x, out)


def _i1_grad(g: Tensor, x: Tensor, y: Tensor) -> Tensor:
    # I1' = I0 - I1 / x, 1/2 at 0
    zero = x == 0
    d = i0(x) - y / E.where(zero, 1.0, x)
    return g * E.where(zero, 0.5, d)


def _i1e_grad(g: Tensor, x: Tensor, y: Tensor) -> Tensor:
    # (I1 e^-|x|)' = i0e - i1e (sgn x + 1 / x), 1/2 at 0
    zero = x == 0
    d = i0e(x) - y * (sgn(x) + 1 / E.where(zero, 1.0, x))
    return g * E.where(zero, 0.5, d)


def _ndtr_array(xp, x):
    return _backend_op(lambda bk, v: 0.5 * bk.erfc(v * v.dtype.type(-1 / _SQRT_2)))(xp, x)


erfc = _special_unary(
    "erfc", _backend_op(lambda bk, v: bk.erfc(v)), "x",
    lambda g, x: g * (-2.0 / _SQRT_PI) * E.exp(-(x * x)),
    """The complementary error function ``1 - erf(input)``, accurate where erf is near 1.

    Example:
        >>> gpuarr.erfc(gpuarr.tensor([0.0, 5.0]))
        tensor([1.0000e+00, 1.5375e-12])
    """)
i0 = _special_unary(
    "i0", _backend_op(lambda bk, v: bk.bessel_i(0, v)), "x", lambda g, x: g * i1(x),
    """The modified Bessel function of the first kind of order 0; its gradient is ``i1``.

    Example:
        >>> gpuarr.i0(gpuarr.tensor([0.0, 1.0]))
        tensor([1.0000, 1.2661])
    """)
i0e = _special_unary(
    "i0e", _backend_op(lambda bk, v: bk.bessel_i(0, v, scaled=True)), "both",
    lambda g, x, y: g * (i1e(x) - sgn(x) * y),
    """The exponentially scaled Bessel function ``i0(input) * exp(-|input|)``.

    Example:
        >>> gpuarr.special.i0e(gpuarr.tensor([0.0, 1.0]))
        tensor([1.0000, 0.4658])
    """)
i1 = _special_unary(
    "i1", _backend_op(lambda bk, v: bk.bessel_i(1, v)), "both", _i1_grad,
    """The modified Bessel function of the first kind of order 1.

    Example:
        >>> gpuarr.special.i1(gpuarr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.5652])
    """)
i1e = _special_unary(
    "i1e", _backend_op(lambda bk, v: bk.bessel_i(1, v, scaled=True)), "both", _i1e_grad,
    """The exponentially scaled Bessel function ``i1(input) * exp(-|input|)``.

    Example:
        >>> gpuarr.special.i1e(gpuarr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.2079])
    """)
erfcx = _special_unary(
    "erfcx", _backend_op(lambda bk, v: bk.erfcx(v)), "both",
    lambda g, x, y: g * (2 * x * y - 2.0 / _SQRT_PI),
    """The scaled complementary error function ``exp(input**2) * erfc(input)``, finite where
    ``erfc`` underflows.

    Example:
        >>> gpuarr.special.erfcx(gpuarr.tensor([0.0, 30.0]))
        tensor([1.0000, 0.0188])
    """)
ndtr = _special_unary(
    "ndtr", _ndtr_array, "x", lambda g, x: g * E.exp(-0.5 * x * x) / _SQRT_2PI,
    """The standard normal CDF ``(1 + erf(input / sqrt(2))) / 2``.

    Example:
        >>> gpuarr.special.ndtr(gpuarr.tensor([0.0, 1.0]))
        tensor([0.5000, 0.8413])
    """)
ndtri = _special_unary(
    "ndtri", _backend_op(lambda bk, v: bk.ndtri(v)), "out",
    lambda g, y: g * _SQRT_2PI * E.exp(0.5 * y * y),
    """The standard normal quantile, the inverse of :func:`ndtr` (``-inf`` at 0, ``inf`` at 1,
    NaN outside ``[0, 1]``).

    Example:
        >>> gpuarr.special.ndtri(gpuarr.tensor([0.5, 0.975]))
        tensor([0.0000, 1.9600])
    """)
log_ndtr = _special_unary(
    "log_ndtr", _backend_op(lambda bk, v: bk.log_ndtr(v)), "both",
    lambda g, x, y: g / _SQRT_2PI * E.exp(-(y + 0.5 * x * x)),
    """The log of the standard normal CDF, accurate far into the left tail.

    Example:
        >>> gpuarr.special.log_ndtr(gpuarr.tensor([0.0, -10.0]))
        tensor([ -0.6931, -53.2313])
    """)
sinc = _special_unary(
    "sinc", _sinc_array, "x", _sinc_grad,
    """The normalized sinc function ``sin(pi input) / (pi input)`` (1 at 0).

    Example:
        >>> gpuarr.sinc(gpuarr.tensor([0.0, 0.5]))
        tensor([1.0000, 0.6366])
    """)
entr = _special_unary(
    "entr", _entr_array, "x", lambda g, x: g * -(1 + E.log(x)),
    """The elementwise entropy term ``-input * log(input)`` (0 at 0, ``-inf`` below 0).

    Example:
        >>> gpuarr.special.entr(gpuarr.tensor([0.0, 0.5]))
        tensor([0.0000, 0.3466])
    """)


def _no_grad_special(name: str, torch_name: str, compute: Callable, doc: str,
                     arg: str = "input") -> Callable:
    """A float unary special function torch gives no gradient (its result never requires
    grad): ``compute(xp, x)`` on the array, integers in the default float dtype."""

    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        x = E._float_input(_tensor_arg(input, torch_name, arg))
        return _finish(_make(compute(x._device._xp(), x._data), x._device), out, torch_name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _spherical_j0_array(xp, x):
    def f(v):
        with np.errstate(all="ignore"):
            x2 = v * v
            # sin(x) / x loses nothing above 1/2; below, its Taylor series (error < x^14 / 15!)
            series = 1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42 * (1 - x2 / 72 * (
                1 - x2 / 110 * (1 - x2 / 156)))))
            out = xp.where(xp.abs(v) < 0.5, series, xp.sin(v) / v)
            return xp.where(xp.isinf(v), xp.zeros((), dtype=v.dtype), out)

    return _half_as_float(xp, f, x)


modified_bessel_i0 = _no_grad_special(
    "modified_bessel_i0", "special_modified_bessel_i0",
    _backend_op(lambda bk, v: bk.bessel_i(0, v)),
    """The modified Bessel function of the first kind of order 0 (the values of :func:`i0`,
    without a gradient, as torch's).

    Example:
        >>> gpuarr.special.modified_bessel_i0(gpuarr.tensor([0.0, 1.0]))
        tensor([1.0000, 1.2661])
    """)
modified_bessel_i1 = _no_grad_special(
    "modified_bessel_i1", "special_modified_bessel_i1",
    _backend_op(lambda bk, v: bk.bessel_i(1, v)),
    """The modified Bessel function of the first kind of order 1 (the values of :func:`i1`,
    without a gradient, as torch's).

    Example:
        >>> gpuarr.special.modified_bessel_i1(gpuarr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.5652])
    """)
modified_bessel_k0 = _no_grad_special(
    "modified_bessel_k0", "special_modified_bessel_k0",
    _backend_op(lambda bk, v: bk.bessel_k(0, v)),
    """The modified Bessel function of the second kind of order 0 (inf at 0, NaN below);
    without a gradient, as torch's.

    Example:
        >>> gpuarr.special.modified_bessel_k0(gpuarr.tensor([0.5, 2.0]))
        tensor([0.9244, 0.1139])
    """)
modified_bessel_k1 = _no_grad_special(
    "modified_bessel_k1", "special_modified_bessel_k1",
    _backend_op(lambda bk, v: bk.bessel_k(1, v)),
    """The modified Bessel function of the second kind of order 1 (inf at 0, NaN below);
    without a gradient, as torch's.

    Example:
        >>> gpuarr.special.modified_bessel_k1(gpuarr.tensor([0.5, 2.0]))
        tensor([1.6564, 0.1399])
    """)
scaled_modified_bessel_k0 = _no_grad_special(
    "scaled_modified_bessel_k0", "special_scaled_modified_bessel_k0",
    _backend_op(lambda bk, v: bk.bessel_k(0, v, scaled=True)),
    """``modified_bessel_k0(x) * exp(x)``, finite where ``K_0`` underflows; without a gradient,
    as torch's.

    Example:
        >>> gpuarr.special.scaled_modified_bessel_k0(gpuarr.tensor([0.5, 800.0]))
        tensor([1.5241, 0.0443])
    """, arg="x")
scaled_modified_bessel_k1 = _no_grad_special(
    "scaled_modified_bessel_k1", "special_scaled_modified_bessel_k1",
    _backend_op(lambda bk, v: bk.bessel_k(1, v, scaled=True)),
    """``modified_bessel_k1(x) * exp(x)``, finite where ``K_1`` underflows; without a gradient,
    as torch's.

    Example:
        >>> gpuarr.special.scaled_modified_bessel_k1(gpuarr.tensor([0.5, 800.0]))
        tensor([2.7310, 0.0443])
    """, arg="x")
spherical_bessel_j0 = _no_grad_special(
    "spherical_bessel_j0", "special_spherical_bessel_j0", _spherical_j0_array,
    """The spherical Bessel function of the first kind of order 0, ``sin(x) / x`` (1 at 0,
    0 at +-inf); without a gradient, as torch's.

    Example:
        >>> gpuarr.special.spherical_bessel_j0(gpuarr.tensor([0.0, 3.0]))
        tensor([1.0000, 0.0470])
    """, arg="x")


class Logit(E._Unary):
    @staticmethod
    def forward(ctx, x, eps):
        xp = ctx.xp
        ctx.save_for_backward(x)
        ctx.eps = eps
        def f(v):
            if eps is not None:
                v = xp.clip(v, v.dtype.type(eps), v.dtype.type(1 - eps))
            return xp.log(v / (1 - v))

        with np.errstate(all="ignore"):
            return _half_as_float(xp, f, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        d = g / (x * (1 - x))
        eps = ctx.eps
        if eps is None:  # torch: NaN outside [0, 1]
            return E.where((x < 0) | (x > 1), math.nan, d), None
        return _zero_where((x < eps) | (x > 1 - eps), d), None


def logit(input: Tensor, eps: float | None = None, *, out: Tensor | None = None) -> Tensor:
    """``log(input / (1 - input))``, with ``input`` first clamped to ``[eps, 1 - eps]`` when
    ``eps`` is given.

    Args:
        input: a tensor (integers give the default float dtype).
        eps: the clamp margin, or None for no clamping (NaN outside ``[0, 1]``).
        out: optional output tensor.

    Returns:
        A float tensor; its gradient is ``1 / (input (1 - input))``, zero outside
        ``[eps, 1 - eps]`` when ``eps`` is given.

    Example:
        >>> gpuarr.logit(gpuarr.tensor([0.25, 1.0]), eps=1e-6)
        tensor([-1.0986, 13.8023])
    """
    x = E._float_input(_tensor_arg(input, "logit"))
    return _finish(apply_raw(Logit, x, None if eps is None else float(eps)), out, "logit")


class Xlog1py(Function):
    _raw = True

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            prod = E._bcast_guard(lambda u, v: _half_as_float(xp, lambda p, q: p * xp.log1p(q),
                                                               u, v), a, b)
            # 0 where input == 0, unless other is NaN
            return xp.where((a == 0) & ~xp.isnan(b), xp.zeros((), dtype=prod.dtype), prod)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _zero_where((a == 0) & (b <= -1), xlog1py(g, b))
        if ctx.needs_input_grad[1]:
            gb = g * a / (b + 1)
        return ga, gb


def xlog1py(input, other, *, out: Tensor | None = None) -> Tensor:
    """``input * log1p(other)``, defined as 0 where ``input == 0`` (unless ``other`` is NaN).

    Args:
        input, other: tensors or numbers (at least one a tensor), broadcast together;
            integers give the default float dtype.

    Returns:
        A float tensor, differentiable in both (torch's derivatives).

    Example:
        >>> gpuarr.special.xlog1py(gpuarr.tensor([0.0, 2.0]), gpuarr.tensor([-1.0, 1.0]))
        tensor([0.0000, 1.3863])
    """
    _need_a_tensor("xlog1py", input, other)
    a, b, _ = promote_operands(input, other, "xlog1py", force_float=True)
    return _finish(Xlog1py.apply(a, b), out, "special_xlog1py")


class Zeta(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, q):
        xp = ctx.xp
        bk = of_module(xp)
        ctx.save_for_backward(x, q)
        with np.errstate(all="ignore"):
            out = E._bcast_guard(lambda u, v: _half_as_float(xp, bk.zeta, u, v), x, q)
            # Cephes (torch) gives NaN at q = inf, where SciPy gives 0
            return xp.where(q == xp.inf, xp.asarray(xp.nan, dtype=out.dtype), out)

    @staticmethod
    def backward(ctx, g):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        x, q = ctx.saved_tensors
        return None, g * -x * zeta(x + 1, q)


def zeta(input, other, *, out: Tensor | None = None) -> Tensor:
    """The Hurwitz zeta function ``sum_{k >= 0} (k + other) ** -input``.

    Args:
        input: the exponent ``x`` (tensor or number).
        other: the shift ``q`` (tensor or number); at least one argument is a tensor.

    Returns:
        A float tensor; inf at ``x == 1``, NaN for ``x < 1``. Differentiable in ``other``
        only (``-x zeta(x + 1, q)``), as in torch.

    Example:
        >>> gpuarr.special.zeta(gpuarr.tensor([2.0]), gpuarr.tensor([1.0]))   # pi^2 / 6
        tensor([1.6449])
    """
    _need_a_tensor("zeta", input, other)
    a, b, _ = promote_operands(input, other, "zeta", force_float=True)
    return _finish(Zeta.apply(a, b), out, "special_zeta")


class Igamma(Function):
    """The regularized lower incomplete gamma function (``Igammac``: the upper one)."""

    _raw = True
    _upper = False

    @classmethod
    def forward(cls, ctx, a, x):
        xp = ctx.xp
        bk = of_module(xp)
        ctx.save_for_backward(a, x)
        with np.errstate(all="ignore"):
            return E._bcast_guard(lambda u, v: _half_as_float(
                xp, lambda p, q: bk.gammainc(p, q, upper=cls._upper), u, v), a, x)

    @classmethod
    def backward(cls, ctx, g):
        name = "igammac" if cls._upper else "igamma"
        if ctx.needs_input_grad[0]:  # torch has no derivative in a either
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        a, x = ctx.saved_tensors
        # d/dx P(a, x) = x^(a-1) e^-x / Gamma(a)
        d = g * E.exp((a - 1) * E.log(x) - x - S.lgamma(a))
        return None, (-d if cls._upper else d)


class Igammac(Igamma):
    _upper = True


def igamma(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularized lower incomplete gamma function
    ``P(input, other) = integral_0^other t^(input-1) e^-t dt / Gamma(input)``
    (torch.special.gammainc).

    Args:
        input: the shape ``a > 0`` (a float tensor).
        other: the upper limit ``x >= 0`` (a float tensor, broadcast with ``input``).
        out: optional output tensor.

    Returns:
        A float tensor (NaN for negative arguments). Differentiable in ``other`` only, as in
        torch.

    Example:
        >>> gpuarr.igamma(gpuarr.tensor([1.0, 2.0]), gpuarr.tensor([1.0, 2.0]))
        tensor([0.6321, 0.5940])
    """
    return _float_binary(Igamma, "igamma", input, other, out)


def igammac(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularized upper incomplete gamma function ``Q(input, other) = 1 - P(input,
    other)``, accurate where ``P`` is near 1 (torch.special.gammaincc; see :func:`igamma`).

    Example:
        >>> gpuarr.igammac(gpuarr.tensor([1.0, 2.0]), gpuarr.tensor([1.0, 2.0]))
        tensor([0.3679, 0.4060])
    """
    return _float_binary(Igammac, "igammac", input, other, out)


# --------------------------------------------------------------------------------------------
# frexp, predicates, sign-like ops, aliases


class Frexp(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        if x.dtype.kind == "V":  # bfloat16: the mantissa of float32 is exact in it
            m, e = xp.frexp(x.astype(np.float32))
            m = m.astype(x.dtype)
        else:
            m, e = xp.frexp(x)
        e = e.astype(np.int32, copy=False)
        ctx.save_for_backward(e)
        return m, e

    @staticmethod
    def backward(ctx, gm, ge):
        (e,) = ctx.saved_tensors
        return gm / E.exp2(e.to(gm.dtype))


def frexp(input: Tensor, *, out=None):
    """Split ``input`` into mantissas in ``[0.5, 1)`` (by magnitude) and int32 exponents with
    ``input == mantissa * 2 ** exponent``.

    Returns:
        ``gpuarr.return_types.frexp(mantissa, exponent)``; the mantissa is differentiable
        (``grad / 2 ** exponent``), the exponent is not.

    Example:
        >>> gpuarr.frexp(gpuarr.tensor([8.0])).exponent
        tensor([4], dtype=gpuarr.int32)
    """
    _tensor_arg(input, "frexp")
    if input._data.dtype.kind not in "fV":
        raise RuntimeError("gpuarr.frexp() only supports floating-point dtypes")
    res = return_types.frexp(*Frexp.apply(input))
    return res if out is None else write_out(res, out, "frexp")


def _predicate(name: str, fn: Callable) -> Callable:
    """A bool-valued elementwise test ``fn(xp, array)``; not differentiable."""

    def pred(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        x = _tensor_arg(input, name)
        res = _make(fn(x._device._xp(), x._data), x._device)
        return _finish(res, out, name)

    pred.__name__ = pred.__qualname__ = name
    return pred


def _signbit_array(xp, a):
    if a.dtype.kind == "b":
        return xp.zeros(a.shape, dtype=np.bool_)
    if a.dtype.kind in "iu":
        return a < 0
    return xp.signbit(a.astype(np.float32) if a.dtype.kind == "V" else a)


def _isinf_signed(sign: int) -> Callable:
    def test(xp, a):
        if a.dtype.kind not in "fV":
            return xp.zeros(a.shape, dtype=np.bool_)
        return a == sign * xp.inf

    return test


signbit = _predicate("signbit", _signbit_array)
signbit.__doc__ = """True where the sign bit is set (``-0.0`` and ``-nan`` included).

    Example:
        >>> gpuarr.signbit(gpuarr.tensor([-0.0, 1.0, -2.0]))
        tensor([ True, False,  True])
    """
isposinf = _predicate("isposinf", _isinf_signed(1))
isposinf.__doc__ = """True where the element is ``+inf``.

    Example:
        >>> gpuarr.isposinf(gpuarr.tensor([float("inf"), -float("inf"), 1.0]))
        tensor([ True, False, False])
    """
isneginf = _predicate("isneginf", _isinf_signed(-1))
isneginf.__doc__ = """True where the element is ``-inf``.

    Example:
        >>> gpuarr.isneginf(gpuarr.tensor([float("inf"), -float("inf"), 1.0]))
        tensor([False,  True, False])
    """


def isreal(input: Tensor) -> Tensor:
    """True where the element has no imaginary part: everywhere, for gpuarr's real dtypes.

    Example:
        >>> gpuarr.isreal(gpuarr.tensor([1.0, 2.0]))
        tensor([True, True])
    """
    x = _tensor_arg(input, "isreal")
    if x._data.dtype.kind == "c":
        return _make(x._data.imag == 0, x._device)
    return _make(x._device._xp().ones(x._data.shape, dtype=np.bool_), x._device)


class Sgn(E.Sign):
    """sgn of a real tensor is its sign (torch names the node SgnBackward0)."""


def sgn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The sign of each element (``x / |x|``, 0 at 0): for real tensors the same as
    :func:`gpuarr.sign`.

    Example:
        >>> gpuarr.sgn(gpuarr.tensor([-2.0, 0.0, 3.0]))
        tensor([-1.,  0.,  1.])
    """
    x = _tensor_arg(input, "sgn")
    k = x._data.dtype.kind
    res = (x.clone() if k == "b" else sgn_complex(x) if k == "c"
           else E._unary(Sgn, x, float_only=False))
    return _finish(res, out, "sgn")


def positive(input: Tensor) -> Tensor:
    """``+input``: returns ``input`` itself (bool tensors raise, as in torch).

    Example:
        >>> x = gpuarr.tensor([1.0]); gpuarr.positive(x) is x
        True
    """
    x = _tensor_arg(input, "positive")
    if x._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return x


def clamp_min(input: Tensor, min, *, out: Tensor | None = None) -> Tensor:
    """Limit values from below: :func:`gpuarr.clamp` with only ``min`` (a number or tensor).

    Example:
        >>> gpuarr.clamp_min(gpuarr.tensor([-1.0, 2.0]), 0)
        tensor([0., 2.])
    """
    return _finish(E.clamp(_tensor_arg(input, "clamp_min"), min=min), out, "clamp_min")


def clamp_max(input: Tensor, max, *, out: Tensor | None = None) -> Tensor:
    """Limit values from above: :func:`gpuarr.clamp` with only ``max`` (a number or tensor).

    Example:
        >>> gpuarr.clamp_max(gpuarr.tensor([-1.0, 2.0]), 0)
        tensor([-1.,  0.])
    """
    return _finish(E.clamp(_tensor_arg(input, "clamp_max"), max=max), out, "clamp_max")


def fix(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Round toward zero: torch's alias of :func:`gpuarr.trunc`.

    Example:
        >>> gpuarr.fix(gpuarr.tensor([-1.7, 2.5]))
        tensor([-1.,  2.])
    """
    if _tensor_arg(input, "fix")._data.dtype == np.bool_:
        raise _not_implemented("trunc_vml", D.bool, input)  # torch's kernel lacks bool
    return _finish(E.trunc(input), out, "fix")


# torch's aliases (same functions, so the same gradients and out=)
arccos, arcsin, arctan = E.acos, E.asin, E.atan
arccosh, arcsinh, arctanh = E.acosh, E.asinh, E.atanh
arctan2 = E.atan2


def _polygamma_(self: Tensor, n: int) -> Tensor:
    return apply_inplace(self, lambda x: S.polygamma(n, x))


# --------------------------------------------------------------------------------------------
# torch's top-level in-place functions (torch.abs_(x) is x.abs_())

_TOP_LEVEL_INPLACE = (
    "abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "clamp", "clip", "cos",
    "cosh", "erf", "erfc", "exp2", "exp", "expm1", "fix", "floor", "frac", "log10", "log1p",
    "log2", "log", "nan_to_num", "neg", "negative", "reciprocal", "round", "rsqrt", "sigmoid",
    "sin", "sinc", "sinh", "sqrt", "square", "tan", "tanh", "trunc", "xlogy", "deg2rad",
    "rad2deg", "logit", "i0", "gcd", "lcm", "ldexp",
)


# the example call of each top-level in-place function, where ``x = gpuarr.tensor([0.5])``
# does not do
_EXAMPLE_CALL = {"clamp": "x, 0.0, 1.0", "clip": "x, 0.0, 1.0", "xlogy": "x, 2.0",
                 "ldexp": "x, gpuarr.tensor([1.0])", "gcd": "x, gpuarr.tensor([6])",
                 "lcm": "x, gpuarr.tensor([6])"}


def _top_level_inplace(name: str) -> Callable:
    method = name + "_"
    start = "gpuarr.tensor([4])" if name in ("gcd", "lcm") else "gpuarr.tensor([0.5])"

    def fn(input: Tensor, *args, **kwargs) -> Tensor:
        return getattr(_tensor_arg(input, method), method)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = method
    fn.__doc__ = f"""In-place :func:`gpuarr.{name}`: ``input.{method}(...)``; returns ``input``.

    Example:
        >>> x = {start}; gpuarr.{method}({_EXAMPLE_CALL.get(name, "x")}) is x
        True
    """
    return fn


for _name in _TOP_LEVEL_INPLACE:
    globals()[_name + "_"] = _top_level_inplace(_name)
    __all__.append(_name + "_")
del _name


# --------------------------------------------------------------------------------------------
# Tensor methods

_SHIFT_OPS = {
    "__lshift__": bitwise_left_shift, "__rshift__": bitwise_right_shift,
    "__rlshift__": lambda self, other: bitwise_left_shift(other, self),
    "__rrshift__": lambda self, other: bitwise_right_shift(other, self),
    "__ilshift__": inplace_method(bitwise_left_shift, "__ilshift__"),
    "__irshift__": inplace_method(bitwise_right_shift, "__irshift__"),
}



def _method(fn: Callable) -> Callable:
    """``Tensor.<name>``: the public function without ``out=`` (torch's methods take none)."""
    name = fn.__name__

    def method(self, *args, **kwargs):
        if "out" in kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument 'out'")
        return fn(self, *args, **kwargs)

    sig = inspect.signature(fn)
    method.__signature__ = sig.replace(
        parameters=[p for p in sig.parameters.values() if p.name != "out"])
    method.__name__, method.__qualname__, method.__doc__ = name, "Tensor." + name, fn.__doc__
    return method


_WITH_OUT = (
    logaddexp, logaddexp2, hypot, fmax, fmin, nextafter, heaviside, gcd, lcm, bitwise_left_shift,
    bitwise_right_shift, ldexp, float_power, erfc, i0, sinc, logit, deg2rad, rad2deg, mvlgamma,
    frexp, signbit, sgn, isposinf, isneginf, fix, clamp_min, clamp_max, igamma, igammac,
)
register(__name__, {
    **{f.__name__: _method(f) for f in _WITH_OUT},
    "isreal": isreal, "positive": positive, "arctan2": _method(arctan2), **_SHIFT_OPS,
}, inplace=[
    "hypot", "nextafter", "heaviside", "gcd", "lcm", "bitwise_left_shift",
    "bitwise_right_shift", "erfc", "i0", "sinc", "logit", "deg2rad", "rad2deg", "mvlgamma",
    "sgn", "fix", "clamp_min", "clamp_max", "arctan2", "igamma", "igammac",
])
# in-place spellings of ops declared elsewhere (their gradients are the out-of-place ops')
register(__name__, {
    "ldexp_": _ldexp_, "float_power_": _float_power_, "polygamma_": _polygamma_,
    "absolute_": inplace_method(E.abs, "absolute"),
    "negative_": inplace_method(E.neg, "negative"),
    "divide_": inplace_method(E.div, "divide"),
    "greater_": inplace_method(E.gt, "greater"),
    "greater_equal_": inplace_method(E.ge, "greater_equal"),
    "less_": inplace_method(E.lt, "less"),
    "less_equal_": inplace_method(E.le, "less_equal"),
    "not_equal_": inplace_method(E.ne, "not_equal"),
    "digamma_": inplace_method(S.digamma, "digamma"),
    "erfinv_": inplace_method(S.erfinv, "erfinv"),
    "lgamma_": inplace_method(S.lgamma, "lgamma"),
    "xlogy_": inplace_method(S.xlogy, "xlogy"),
})

ElementwiseExtraMethods = mixin("ElementwiseExtraMethods", __name__)
