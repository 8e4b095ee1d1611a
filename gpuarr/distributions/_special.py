"""Special functions with gradients: ``lgamma``, ``digamma``, ``polygamma``, ``erfinv``, ``xlogy``.

The array work is done by SciPy's ``scipy.special`` on the CPU when SciPy is importable, by
``cupyx.scipy.special`` on CUDA, and otherwise by the NumPy implementations below (Stirling's
series with upward recurrence and reflection for ``lgamma``; the asymptotic series with upward
recurrence for ``digamma`` and ``polygamma``; an initial guess refined by Newton steps for
``erfinv``). SciPy is therefore optional: it is only a faster, more precise path.

Gradients: ``lgamma' = digamma``, ``digamma' = polygamma(1, .)``,
``polygamma(n, .)' = polygamma(n + 1, .)``, ``erfinv'(x) = sqrt(pi) / 2 * exp(erfinv(x)**2)``.
All are written with gpuarr ops, so higher derivatives work too.

Example:
    >>> x = gpuarr.tensor([0.5, 3.0], requires_grad=True)
    >>> gpuarr.lgamma(x).sum().backward()
    >>> x.grad  # digamma(x)
    tensor([-1.9635,  0.9228])
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, _make
from ..autograd.function import Function
from ..autograd.grad_mode import _state

__all__ = ["lgamma", "digamma", "polygamma", "erfinv", "xlogy"]

# Set to False to force the NumPy implementations on the CPU (tests compare both paths).
USE_SCIPY = True


def _scipy_special():
    """``scipy.special`` if SciPy is importable and allowed, else None."""
    if not USE_SCIPY:
        return None
    try:
        import scipy.special as sps
    except ImportError:  # SciPy is a test dependency only
        return None
    return sps


def _cupy_special():
    import cupyx.scipy.special as cps

    return cps


# --------------------------------------------------------------------------------------------
# NumPy fallbacks (float64 in, float64 out)

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Bernoulli numbers B_2, B_4, ..., B_20 for the asymptotic series
_B2K = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
        43867 / 798, -174611 / 330]


def _shift_up(x: np.ndarray, threshold: float, term) -> tuple:
    """Add 1 to ``x`` until every element is >= ``threshold``; sum ``term(x)`` over the steps.

    Returns ``(shifted_x, accumulated_terms)``.
    """
    y = x.copy()
    acc = np.zeros_like(y)
    while True:
        m = y < threshold
        if not m.any():
            return y, acc
        acc[m] += term(y[m])
        y[m] += 1.0


def _np_lgamma(x: np.ndarray) -> np.ndarray:
    """log|Gamma(x)| (float64) by Stirling's series after shifting x to >= 10."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    fin = np.isfinite(x)
    out[~fin] = np.where(np.isnan(x[~fin]), np.nan, np.inf)
    pole = fin & (x <= 0) & (x == np.floor(x))
    out[pole] = np.inf
    ok = fin & ~pole
    xv = x[ok]
    refl = xv < 0.5
    # Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x)
    z = np.where(refl, 1.0 - xv, xv)
    with np.errstate(divide="ignore"):
        y, logprod = _shift_up(z, 10.0, np.log)
    inv = 1.0 / y
    inv2 = inv * inv
    series = inv * (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (
        -1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 / 156))))))
    lg = (y - 0.5) * np.log(y) - y + _HALF_LOG_2PI + series - logprod
    with np.errstate(divide="ignore"):
        s = np.abs(np.sin(np.pi * (xv - np.floor(xv))))
        lg_refl = math.log(math.pi) - np.log(s) - lg
    out[ok] = np.where(refl, lg_refl, lg)
    return out


def _np_polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """The n-th derivative of digamma (n >= 0) in float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    pole = (x <= 0) & (x == np.floor(x))
    if n == 0:
        out[pole & (x == 0)] = -np.inf
    else:
        # approaching a pole from the right: (-1)^(n+1) n! / x^(n+1)
        out[pole] = np.inf if n % 2 == 1 else -np.inf
    out[x == np.inf] = 0.0 if n > 0 else np.inf
    ok = np.isfinite(x) & ~pole
    xv = x[ok]
    if n == 0:
        # Reflection keeps the recurrence short for negative x: psi(1-x) - psi(x) = pi cot(pi x)
        refl = xv < 0
        z = np.where(refl, 1.0 - xv, xv)
        y, acc = _shift_up(z, 10.0, lambda v: 1.0 / v)
        inv2 = 1.0 / (y * y)
        tail = 0.0
        for k in range(len(_B2K), 0, -1):
            tail = tail * inv2 + _B2K[k - 1] / (2 * k)
        psi = np.log(y) - 0.5 / y - tail * inv2 - acc
        with np.errstate(divide="ignore", invalid="ignore"):
            psi_refl = psi - np.pi / np.tan(np.pi * xv)
        out[ok] = np.where(refl, psi_refl, psi)
        return out
    nf = math.factorial(n)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)**(n+1)
    y, acc = _shift_up(xv, 10.0 + n, lambda v: v ** -(n + 1))
    # psi^(n)(x) = psi^(n)(x + m) - (-1)^n n! sum_k (x + k)^-(n+1)
    s = math.factorial(n - 1) / y ** n + nf / (2.0 * y ** (n + 1))
    for k in range(1, len(_B2K) + 1):
        coef = _B2K[k - 1] * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
        s = s + coef / y ** (2 * k + n)
    out[ok] = sign * s + sign * nf * acc
    return out


def _np_erf(x: np.ndarray) -> np.ndarray:
    vec = np.vectorize(math.erf, otypes=[np.float64])
    return vec(x) if x.size else x.copy()


def _np_erfinv(x: np.ndarray) -> np.ndarray:
    """Inverse error function (float64): a closed-form first guess, then Newton steps."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    out[x == 1] = np.inf
    out[x == -1] = -np.inf
    ok = np.abs(x) < 1
    xv = x[ok]
    a = 0.147  # Winitzki's approximation, relative error ~2e-3
    ln = np.log1p(-xv * xv)
    t = 2.0 / (np.pi * a) + 0.5 * ln
    y = np.sign(xv) * np.sqrt(np.sqrt(t * t - ln / a) - t)
    for _ in range(4):
        err = _np_erf(y) - xv
        y = y - err / (2.0 / math.sqrt(math.pi) * np.exp(-y * y))
    out[ok] = y
    return out


# --------------------------------------------------------------------------------------------
# array-level dispatch (numpy or cupy arrays; float dtypes)


def _work_dtype(dt: np.dtype) -> np.dtype:
    # float16 has no kernels in SciPy/CuPy special: compute in float32
    return np.dtype(np.float32) if dt == np.float16 else dt


def lgamma_array(xp, x):
    """log|Gamma(x)| of a float array, same dtype (inf at the poles, as torch)."""
    dt = x.dtype
    xw = x.astype(_work_dtype(dt), copy=False)
    if xp is np:
        sps = _scipy_special()
        out = sps.gammaln(xw) if sps is not None else _np_lgamma(xw).astype(xw.dtype)
    else:
        out = _cupy_special().gammaln(xw)
    # SciPy gives -inf at -inf; torch (and log|Gamma|) gives +inf
    out = xp.where(xw == -xp.inf, xp.inf, out)
    return out.astype(dt, copy=False)


def polygamma_array(xp, n: int, x):
    """The n-th derivative of digamma of a float array (n = 0 is digamma), same dtype."""
    dt = x.dtype
    xw = x.astype(_work_dtype(dt), copy=False)
    if xp is np:
        sps = _scipy_special()
        if sps is None:
            out = _np_polygamma(n, xw).astype(xw.dtype)
        elif n == 0:
            out = sps.digamma(xw)
        else:
            out = sps.polygamma(n, xw).astype(xw.dtype, copy=False)
    else:
        cps = _cupy_special()
        # CuPy's polygamma broadcasts n against x, so n must be an array too
        out = cps.digamma(xw) if n == 0 else cps.polygamma(xp.asarray(float(n), xw.dtype), xw)
    return out.astype(dt, copy=False)


def erfinv_array(xp, x):
    """Inverse error function of a float array, same dtype."""
    dt = x.dtype
    xw = x.astype(_work_dtype(dt), copy=False)
    if xp is np:
        sps = _scipy_special()
        out = sps.erfinv(xw) if sps is not None else _np_erfinv(xw)
    else:
        out = _cupy_special().erfinv(xw)
    return out.astype(dt, copy=False)


# --------------------------------------------------------------------------------------------
# autograd Functions and public ops


class Lgamma(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(all="ignore"):
            return lgamma_array(ctx.xp, x)

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
        with np.errstate(all="ignore"):
            return polygamma_array(ctx.xp, n, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, x), None


class Erfinv(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        with np.errstate(all="ignore"):
            out = erfinv_array(ctx.xp, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (math.sqrt(math.pi) / 2) * (y * y).exp()


def _float_input(input, name: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind != "f":
        return input.to(D.get_default_dtype())
    return input


def _run(cls, x: Tensor, *extra) -> Tensor:
    if not (_state.enabled and x._rg):
        xp = x._device._xp()
        with np.errstate(all="ignore"):
            if cls is Lgamma:
                return _make(lgamma_array(xp, x._data), x._device)
            if cls is Polygamma:
                return _make(polygamma_array(xp, extra[0], x._data), x._device)
            return _make(erfinv_array(xp, x._data), x._device)
    return cls.apply(x, *extra)


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
    return _run(Lgamma, _float_input(input, "lgamma"))


def digamma(input: Tensor) -> Tensor:
    """The digamma function ``d/dx log Gamma(x)``, elementwise.

    Returns:
        A float tensor; ``-inf`` at 0 and NaN at negative integers (as torch).

    Example:
        >>> gpuarr.digamma(gpuarr.tensor([1.0]))   # minus the Euler-Mascheroni constant
        tensor([-0.5772])
    """
    return _run(Polygamma, _float_input(input, "digamma"), 0)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of the digamma function, elementwise (``n >= 0``).

    Example:
        >>> gpuarr.polygamma(1, gpuarr.tensor([1.0]))   # trigamma(1) = pi^2 / 6
        tensor([1.6449])
    """
    if int(n) < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _run(Polygamma, _float_input(input, "polygamma"), int(n))


def erfinv(input: Tensor) -> Tensor:
    """The inverse error function on ``[-1, 1]`` (NaN outside), elementwise.

    Example:
        >>> gpuarr.erfinv(gpuarr.tensor([0.0, 0.5]))
        tensor([0.0000, 0.4769])
    """
    return _run(Erfinv, _float_input(input, "erfinv"))


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, defined as 0 where ``input == 0`` (unless ``other`` is NaN).

    Both arguments may be tensors or numbers (at least one a tensor); they broadcast.
    Differentiable in both; the gradient is 0 where ``input == 0``.

    Example:
        >>> gpuarr.xlogy(gpuarr.tensor([0.0, 2.0]), gpuarr.tensor([0.0, 3.0]))
        tensor([0.0000, 2.1972])
    """
    from ..ops.elementwise import isnan, where

    ref = input if isinstance(input, Tensor) else other
    if not isinstance(ref, Tensor):
        raise TypeError("xlogy(): expected at least one Tensor argument")
    x = input if isinstance(input, Tensor) else _full_like_scalar(input, ref)
    y = other if isinstance(other, Tensor) else _full_like_scalar(other, ref)
    if x._data.dtype.kind != "f" and y._data.dtype.kind != "f":
        x = x.to(D.get_default_dtype())
    zero = x == 0
    # log of a safe value where input == 0, so the unused branch has no inf/NaN gradient
    safe_y = where(zero, 1.0, y) if y._data.dtype.kind == "f" else where(zero, 1, y).to(x.dtype)
    res = where(zero, 0.0, x * safe_y.log())
    return where(isnan(y), y, res) if y._data.dtype.kind == "f" else res


def _full_like_scalar(value, ref: Tensor) -> Tensor:
    from .._creation import tensor

    dt = D.result_type(ref, value)
    return tensor(value, dtype=dt, device=ref.device)


def _install() -> None:
    methods = {"lgamma": lgamma, "digamma": digamma, "erfinv": erfinv, "xlogy": xlogy,
               "polygamma": lambda self, n: polygamma(n, self)}
    for name, fn in methods.items():
        if not hasattr(Tensor, name):  # another op module may already provide it
            setattr(Tensor, name, fn)


_install()
