"""NumPy implementations of the special functions, for machines without SciPy.

float64 in, float64 out: Stirling's series with upward recurrence and reflection for
``lgamma``; the asymptotic series with upward recurrence for ``digamma`` and ``polygamma``;
``math.erf`` element by element for ``erf``; a closed-form first guess refined by Newton steps
for ``erfinv``. SciPy, when importable, is the faster and more precise path
(:class:`~gpuarr.backends.numpy_backend.NumpyBackend` picks it).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["lgamma", "polygamma", "erf", "erfinv"]

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


def lgamma(x: np.ndarray) -> np.ndarray:
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


def polygamma(n: int, x: np.ndarray) -> np.ndarray:
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


def erf(x: np.ndarray) -> np.ndarray:
    """The error function (float64), exact to double precision (slow: one call per element)."""
    vec = np.vectorize(math.erf, otypes=[np.float64])
    return vec(x) if x.size else x.copy()


def erfinv(x: np.ndarray) -> np.ndarray:
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
        err = erf(y) - xv
        y = y - err / (2.0 / math.sqrt(math.pi) * np.exp(-y * y))
    out[ok] = y
    return out
