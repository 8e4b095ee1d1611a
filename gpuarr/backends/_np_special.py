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

__all__ = ["lgamma", "polygamma", "erf", "erfinv", "erfc", "erfcx", "log_ndtr", "ndtri",
           "bessel_i", "bessel_k", "zeta", "gammainc"]

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


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function (float64), exact to double precision (one call per
    element, as :func:`erf`)."""
    vec = np.vectorize(math.erfc, otypes=[np.float64])
    return vec(x) if x.size else np.asarray(x, dtype=np.float64).copy()


def erfcx(x: np.ndarray) -> np.ndarray:
    """``exp(x**2) * erfc(x)`` (float64): directly below 10, where neither factor under- or
    overflows too early, and by its asymptotic series ``1 / (x sqrt(pi)) * sum_k
    (-1)^k (2k-1)!! / (2 x^2)^k`` above."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    small = x < 10
    with np.errstate(over="ignore", invalid="ignore"):
        xs = x[small]
        out[small] = np.exp(xs * xs) * erfc(xs)
        big = x >= 10
        xb = x[big]
        inv2 = 1.0 / (2.0 * xb * xb)
        term = np.ones_like(xb)
        total = np.ones_like(xb)
        for k in range(1, 16):
            term = term * -(2 * k - 1) * inv2
            total = total + term
        out[big] = total / (xb * math.sqrt(math.pi))
    return out


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """log of the standard normal CDF (float64): ``log1p(-ndtr(-x))`` from -1 up, and
    ``log(erfcx(-x / sqrt 2) / 2) - x**2 / 2`` below, which stays finite far into the tail."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    right = ~(x < -1)  # NaN goes this way and stays NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        out[right] = np.log1p(-0.5 * erfc(x[right] / math.sqrt(2.0)))
        xl = x[~right]
        out[~right] = np.log(0.5 * erfcx(-xl / math.sqrt(2.0))) - 0.5 * xl * xl
    return out


def ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile (float64): a rational first guess (Abramowitz and Stegun
    26.2.23), then Newton steps on ``log_ndtr(x) - log(p)`` in the lower tail, mirrored for
    ``p > 1/2``."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full_like(p, np.nan)
    out[p == 0] = -np.inf
    out[p == 1] = np.inf
    ok = (p > 0) & (p < 1)
    pv = p[ok]
    upper = pv > 0.5
    q = np.where(upper, 1.0 - pv, pv)
    t = np.sqrt(-2.0 * np.log(q))
    x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
          / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t ** 3))
    logq = np.log(q)
    for _ in range(6):
        ln = log_ndtr(x)
        # d/dx log Phi(x) = pdf(x) / Phi(x)
        slope = np.exp(-0.5 * x * x - ln) / math.sqrt(2.0 * math.pi)
        x = x - (ln - logq) / slope
    out[ok] = np.where(upper, -x, x)
    # the centre through erfinv, exact at 1/2 (2p - 1 is exact there)
    mid = (p >= 0.25) & (p <= 0.75)
    out[mid] = math.sqrt(2.0) * erfinv(2.0 * p[mid] - 1.0)
    return out


def bessel_i(order: int, x: np.ndarray, scaled: bool = False) -> np.ndarray:
    """The modified Bessel function ``I_order`` (order 0 or 1; float64), times ``exp(-|x|)``
    with ``scaled``: its power series up to ``|x| = 20`` and its asymptotic series
    ``exp(|x|) / sqrt(2 pi |x|) * sum_k (-1)^k prod_j (4 order^2 - (2j-1)^2) / (k! (8|x|)^k)``
    beyond (``I_1`` is odd, ``I_0`` even)."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    out = np.full_like(x, np.nan)
    small = ax <= 20
    xs = x[small]
    term = (xs / 2) ** order
    total = term.copy()
    quarter = xs * xs / 4
    for k in range(1, 64):
        term = term * quarter / (k * (k + order))
        total = total + term
    out[small] = total * np.exp(-ax[small]) if scaled else total
    big = ax > 20
    zb = ax[big]
    mu = 4.0 * order * order
    term = np.ones_like(zb)
    total = np.ones_like(zb)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(1, 30):
            term = term * -(mu - (2 * k - 1) ** 2) / (k * 8.0 * zb)
            total = total + term
        val = total / np.sqrt(2.0 * math.pi * zb)
        if not scaled:
            val = np.where(np.isinf(zb), np.nan, val * np.exp(zb))  # Cephes (torch): NaN
        else:
            val = np.where(np.isinf(zb), 0.0, val)
    out[big] = np.copysign(val, x[big]) if order == 1 else val
    return out


# Euler-Maclaurin coefficients (2k)! / B_2k of the Hurwitz zeta tail, as in Cephes' zeta
_ZETA_A = [12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18]


def zeta(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The Hurwitz zeta function ``sum_k (k + q) ** -x`` (float64) by Cephes' method: the
    first terms summed until ``k + q > 9``, then the Euler-Maclaurin tail. inf at ``x == 1``
    and at non-positive integer ``q``; NaN for ``x < 1`` and for non-positive ``q`` with
    non-integer ``x``."""
    x, q = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(q, dtype=np.float64))
    out = np.full(x.shape, np.nan)
    ok = (x > 1) & ~np.isnan(q)
    qpole = (q <= 0) & (q == np.floor(q))
    out[(x == 1) | ((x > 1) & qpole)] = np.inf
    ok &= ~qpole & ~((q <= 0) & (x != np.floor(x)))
    xv, qv = x[ok], q[ok]
    # terms (q + k)^-x for k = 0 .. m, m the first k >= 9 with q + k > 9
    m = np.maximum(9, np.floor(9 - qv) + 1)
    with np.errstate(all="ignore"):
        s = np.zeros_like(xv)
        for k in range(int(m.max()) + 1 if m.size else 0):
            s = s + np.where(k <= m, (qv + k) ** -xv, 0.0)
        w = qv + m
        b = w ** -xv
        s = s + b * w / (xv - 1) - 0.5 * b
        a = np.ones_like(xv)
        k = 0.0
        for coef in _ZETA_A:
            a = a * (xv + k)
            b = b / w
            s = s + a * b / coef
            k += 1
            a = a * (xv + k)
            b = b / w
            k += 1
    out[ok] = s
    return out


def gammainc(a: np.ndarray, x: np.ndarray, upper: bool = False) -> np.ndarray:
    """The regularized incomplete gamma function ``P(a, x)`` (``Q = 1 - P`` with ``upper``),
    float64: its power series where ``x < a + 1`` and Legendre's continued fraction (modified
    Lentz) elsewhere, each run until every element has converged."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    p = np.full(a.shape, np.nan)
    p[(a == 0) & (x > 0)] = 1.0
    p[(a > 0) & (x == 0)] = 0.0
    p[(a > 0) & (x == np.inf) & (a < np.inf)] = 1.0
    p[(a == np.inf) & (x < np.inf) & (x >= 0)] = 0.0
    ok = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    av, xv = a[ok], x[ok]
    with np.errstate(all="ignore"):
        front = np.exp(av * np.log(xv) - xv - lgamma(av))
        series = xv < av + 1
        lower = np.empty_like(av)
        lower[series] = front[series] * _gammainc_series(av[series], xv[series])
        lower[~series] = 1.0 - front[~series] * _gammaincc_fraction(av[~series], xv[~series])
        upper_v = np.where(series, 1.0 - lower, 0.0)
        upper_v[~series] = front[~series] * _gammaincc_fraction(av[~series], xv[~series])
    p[ok] = lower
    if not upper:
        return p
    q = 1.0 - p
    q[ok] = upper_v
    return q


def _gammainc_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sum_n x^n / (a (a+1) ... (a+n))``, the series of ``P(a, x) exp(x) x^-a Gamma(a)``."""
    term = 1.0 / a
    total = term.copy()
    for n in range(1, 100_000):
        term = term * x / (a + n)
        total = total + term
        if n % 16 == 0 and not (np.abs(term) > np.abs(total) * 1e-17).any():
            break
    return total


def _gammaincc_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The continued fraction of ``Q(a, x) exp(x) x^-a Gamma(a)`` by modified Lentz."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / np.where(np.abs(b) < tiny, tiny, b)
    h = d.copy()
    for i in range(1, 100_000):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        delta = d * c
        h = h * delta
        if not (np.abs(delta - 1.0) > 4e-16).any():  # rounding keeps it ~1e-16 off
            break
    return h


def bessel_k(order: int, x: np.ndarray, scaled: bool = False) -> np.ndarray:
    """The modified Bessel function of the second kind ``K_order`` (order 0 or 1; float64),
    times ``exp(x)`` with ``scaled``: its power series (Abramowitz and Stegun 9.6.11/13) up to
    ``x = 2``; up to ``x = 50`` the integral ``int_0^inf exp(-x cosh t) cosh(order t) dt`` by
    the trapezoidal rule (exact to rounding for this integrand, whose terms decay
    double-exponentially); beyond, the asymptotic series ``sqrt(pi / (2x)) exp(-x) sum_k
    prod_j (4 order^2 - (2j-1)^2) / (k! (8x)^k)``. inf at 0, NaN below 0, 0 at inf."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    out[x == 0] = np.inf
    out[x == np.inf] = 0.0
    with np.errstate(under="ignore", over="ignore"):
        tiny = (x > 0) & (x <= 2)
        xt = x[tiny]
        val = _bessel_k_series(order, xt)
        out[tiny] = val * np.exp(xt) if scaled else val
        mid = (x > 2) & (x <= 50)
        xm = x[mid]
        total = np.zeros_like(xm)
        h = 0.05
        # beyond t = acosh(1 + 380), x (cosh t - 1) > 760 for every x > 2: below 1e-330
        for t in np.arange(0.0, float(np.arccosh(381.0)) + h, h):
            w = 0.5 * h if t == 0.0 else h
            total += w * np.exp(-xm * (np.cosh(t) - 1.0)) * np.cosh(order * t)
        out[mid] = total if scaled else total * np.exp(-xm)
        big = (x > 50) & (x < np.inf)
        xb = x[big]
        mu = 4.0 * order * order
        term = np.ones_like(xb)
        total = np.ones_like(xb)
        for k in range(1, 40):
            term = term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * xb)
            total = total + term
        val = np.sqrt(np.pi / (2.0 * xb)) * total
        out[big] = val if scaled else val * np.exp(-xb)
    return out


_EULER_GAMMA = 0.5772156649015329


def _bessel_k_series(order: int, x: np.ndarray) -> np.ndarray:
    """K_0 / K_1 by their power series (for 0 < x <= 2), with psi(k + 1) = -gamma + H_k."""
    q = x * x / 4
    log_half = np.log(x / 2)
    psi = -_EULER_GAMMA  # psi(k + 1), k = 0
    if order == 0:
        term = np.ones_like(x)  # (x^2/4)^k / (k!)^2
        total = -(log_half - psi) * term
        for k in range(1, 40):
            term = term * q / (k * k)
            psi += 1.0 / k
            total = total - (log_half - psi) * term
        return total
    # K_1 = 1/x + log(x/2) I_1(x) - x/4 sum_k (psi(k+1) + psi(k+2)) (x^2/4)^k / (k! (k+1)!)
    term = np.ones_like(x)  # (x^2/4)^k / (k! (k+1)!)
    i1_sum = term.copy()
    psi_sum = (2 * psi + 1.0) * term
    for k in range(1, 40):
        term = term * q / (k * (k + 1))
        psi += 1.0 / k
        i1_sum = i1_sum + term
        psi_sum = psi_sum + (2 * psi + 1.0 / (k + 1)) * term
    return 1.0 / x + log_half * (x / 2) * i1_sum - x / 4 * psi_sum
