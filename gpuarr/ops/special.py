"""Special functions with gradients: ``erf``, ``erfinv``, ``lgamma``, ``digamma``, ``polygamma``,
``xlogy``; the one home of each, used by the ops, ``nn.init``, ``nn.functional.gelu`` and
``distributions`` (``gpuarr.special`` is torch.special's namespace over them).

The array work is the backend's (``Backend.erf/erfinv/gammaln/digamma/polygamma``): SciPy's
``scipy.special`` on the CPU when SciPy is importable, else NumPy implementations
(``gpuarr/backends/_np_special.py``); ``cupyx.scipy.special`` on CUDA.

Gradients: ``erf'(x) = 2 / sqrt(pi) * exp(-x**2)``, ``lgamma' = digamma``,
``digamma' = polygamma(1, .)``, ``polygamma(n, .)' = polygamma(n + 1, .)``,
``erfinv'(x) = sqrt(pi) / 2 * exp(erfinv(x)**2)``.
All are written with gpuarr ops, so higher derivatives work too.

Example:
    >>> x = gpuarr.tensor([0.5, 3.0], requires_grad=True)
    >>> gpuarr.lgamma(x).sum().backward()
    >>> x.grad  # digamma(x)
    tensor([-1.9635,  0.9228])
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._autocast import state as _amp
from .._core.function import Function
from .._core.tensor import TensorBase
from .._creation import tensor
from ..backends import of_module
from . import elementwise as E
from ._common import apply_raw, promote_operands
from ._registry import mixin, register
from .elementwise import where

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["erf", "lgamma", "digamma", "polygamma", "erfinv", "xlogy"]

# --------------------------------------------------------------------------------------------
# array-level dispatch (numpy or cupy arrays; float dtypes)


def _work_dtype(dt: np.dtype) -> np.dtype:
    # float16 has no kernels in SciPy/CuPy special: compute in float32
    return np.dtype(np.float32) if dt == np.float16 else dt


def erf_array(xp, x):
    """The error function of a backend array (its dtype kept)."""
    return of_module(xp).erf(x)


def lgamma_array(xp, x):
    """log|Gamma(x)| of a float array, same dtype (inf at the poles, as torch)."""
    dt = x.dtype
    xw = x.astype(_work_dtype(dt), copy=False)
    out = of_module(xp).gammaln(xw)
    # SciPy gives -inf at -inf; torch (and log|Gamma|) gives +inf
    out = xp.where(xw == -xp.inf, xp.inf, out)
    return out.astype(dt, copy=False)


def polygamma_array(xp, n: int, x):
    """The n-th derivative of digamma of a float array (n = 0 is digamma), same dtype."""
    dt = x.dtype
    xw = x.astype(_work_dtype(dt), copy=False)
    bk = of_module(xp)
    out = bk.digamma(xw) if n == 0 else bk.polygamma(n, xw)
    return out.astype(dt, copy=False)


def erfinv_array(xp, x):
    """Inverse error function of a float array, same dtype."""
    dt = x.dtype
    xw = x.astype(_work_dtype(dt), copy=False)
    return of_module(xp).erfinv(xw).astype(dt, copy=False)


# --------------------------------------------------------------------------------------------
# autograd Functions and public ops


class Lgamma(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return Lgamma._compute(ctx.xp, x)

    @staticmethod
    def _compute(xp, x):
        with np.errstate(all="ignore"):
            return lgamma_array(xp, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * digamma(x)


class Polygamma(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return Polygamma._compute(ctx.xp, x, n)

    @staticmethod
    def _compute(xp, x, n):
        with np.errstate(all="ignore"):
            return polygamma_array(xp, n, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, x), None


class Erfinv(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        out = Erfinv._compute(ctx.xp, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def _compute(xp, x):
        with np.errstate(all="ignore"):
            return erfinv_array(xp, x)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (math.sqrt(math.pi) / 2) * (y * y).exp()


class Erf(E._Unary):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(ctx.xp, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2.0 / math.sqrt(math.pi)) * E.exp(-(x * x))


def erf(input: Tensor) -> Tensor:
    """The Gauss error function ``2 / sqrt(pi) * integral_0^x exp(-t**2) dt``, elementwise.

    Example:
        >>> gpuarr.erf(gpuarr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8427])
    """
    return E._unary(Erf, input)


def _float_input(input, name: str) -> Tensor:
    if not isinstance(input, TensorBase):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind != "f":
        return input.to(D.get_default_dtype())
    return input


def lgamma(input: Tensor) -> Tensor:
    """Natural log of the absolute value of the gamma function, elementwise.

    Args:
        input: a tensor (integer inputs are computed in the default float dtype).

    Returns:
        A float tensor; ``+inf`` at 0, -1, -2, ... (as torch). Differentiable (``digamma``).

    Example:
        >>> gpuarr.lgamma(gpuarr.tensor([1.0, 5.0]))   # log(0!), log(4!)
        tensor([0.0000, 3.1781])
    """
    return apply_raw(Lgamma, _float_input(input, "lgamma"))


def digamma(input: Tensor) -> Tensor:
    """The digamma function ``d/dx log Gamma(x)``, elementwise.

    Returns:
        A float tensor; ``-inf`` at 0 and NaN at negative integers (as torch).

    Example:
        >>> gpuarr.digamma(gpuarr.tensor([1.0]))   # minus the Euler-Mascheroni constant
        tensor([-0.5772])
    """
    return apply_raw(Polygamma, _float_input(input, "digamma"), 0)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of the digamma function, elementwise (``n >= 0``).

    Example:
        >>> gpuarr.polygamma(1, gpuarr.tensor([1.0]))   # trigamma(1) = pi^2 / 6
        tensor([1.6449])
    """
    if int(n) < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return apply_raw(Polygamma, _float_input(input, "polygamma"), int(n))


def erfinv(input: Tensor) -> Tensor:
    """The inverse error function on ``[-1, 1]`` (NaN outside), elementwise.

    Example:
        >>> gpuarr.erfinv(gpuarr.tensor([0.0, 0.5]))
        tensor([0.0000, 0.4769])
    """
    if _amp.on:
        return _amp.run("erfinv", erfinv, input)
    return apply_raw(Erfinv, _float_input(input, "erfinv"))


class Xlogy(Function):
    """``x * log(y)``: 0 where ``x == 0`` and NaN where ``y`` is NaN (torch's kernel), with
    torch's derivatives: ``d/dx = xlogy(g, y)`` (0 where ``x == 0`` and ``y <= 0``) and
    ``d/dy = g * x / y``."""

    _raw = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        xp = ctx.xp
        out = xp.where(x == 0, xp.zeros((), x.dtype), x * xp.log(y))
        return xp.where(xp.isnan(y), y, out).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = where((x == 0) & (y <= 0), 0.0, xlogy(g, y))
        if ctx.needs_input_grad[1]:
            gy = g * x / y
        return gx, gy


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, defined as 0 where ``input == 0`` (unless ``other`` is NaN).

    Both arguments may be tensors or numbers (at least one a tensor); they broadcast.
    Differentiable in both, with torch's derivatives (the gradient for ``input`` is
    ``log(other)``, except 0 where ``input == 0`` and ``other <= 0``).

    Example:
        >>> gpuarr.xlogy(gpuarr.tensor([0.0, 2.0]), gpuarr.tensor([0.0, 3.0]))
        tensor([0.0000, 2.1972])
    """
    ref = input if isinstance(input, TensorBase) else other
    if not isinstance(ref, TensorBase):
        raise TypeError("xlogy(): expected at least one Tensor argument")
    x = input if isinstance(input, TensorBase) else _full_like_scalar(input, ref)
    y = other if isinstance(other, TensorBase) else _full_like_scalar(other, ref)
    x, y, _ = promote_operands(x, y, "xlogy", force_float=True)
    return Xlogy.apply(x, y)


def _full_like_scalar(value, ref: Tensor) -> Tensor:
    dt = D.result_type(ref, value)
    return tensor(value, dtype=dt, device=ref.device)


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


register(__name__, {"erf": erf, "lgamma": lgamma, "digamma": digamma, "erfinv": erfinv,
                    "xlogy": xlogy, "polygamma": _polygamma_method}, inplace=["erf"])

SpecialMethods = mixin("SpecialMethods", __name__)
