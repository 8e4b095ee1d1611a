"""torch.special's Bessel functions ``bessel_j0``, ``bessel_j1``, ``bessel_y0``, ``bessel_y1``,
the Airy function ``airy_ai`` and the classical orthogonal polynomials
(``chebyshev_polynomial_t/u/v/w``, ``shifted_chebyshev_polynomial_t/u/v/w``,
``hermite_polynomial_h/he``, ``laguerre_polynomial_l``, ``legendre_polynomial_p``).

They are torch.special names only (``torch.bessel_j0`` does not exist), so nothing here is
exported as ``gpuarr.<name>``; :mod:`gpuarr.special` re-exports them. None of them has a
gradient in torch: the results never require grad, and ``backward`` through one raises
torch's "does not require grad" error.

How the values are computed, and why:

- The Bessel and Airy functions are torch's own algorithms (the Cephes rational
  approximations of ``ATen/native/Math.h``, same coefficients and operation order), written
  once against ``xp``: every branch is computed on the whole array and the right one chosen
  with ``where``, so both devices run the same code with no host round trip. The one loop
  (the power series of ``airy_ai`` on ``|x| < 2.09``) converges within a known number of
  terms on that interval, so it runs a fixed count with the finished elements masked.
- The polynomials are torch's scalar code: special cases, a closed trigonometric form for
  the Chebyshev families on ``|x| < 1`` at high degree, else a three-term recurrence run
  ``n - 1`` times (stopping early once it is NaN). The recurrence length depends on the
  values of ``n`` (and, for ``|x| > 1``, on when the values overflow), which torch's CUDA
  kernel handles per thread without synchronising. So on CUDA the same C code runs as one
  ``RawKernel`` per function and dtype (:data:`RAW_KERNELS`, compiled by NVRTC in the tests),
  one thread per element; on the CPU a vectorised NumPy loop runs the recurrence on the
  elements that still need it (reading on the host how many remain is free there).
- ``n`` is promoted with ``x`` as torch does (integers to the default float dtype) and
  truncated toward zero; NaN, +-inf and ``|n| >= 2**63`` give 0, as torch's CPU kernel does
  (its cast to int64 yields the most negative integer there, a negative degree).
- float16, bfloat16 and complex inputs (complex numbers; gpuarr has no complex tensors) raise
  torch's NotImplementedError.

Where torch's results are accidents, these differ on purpose: a NaN ``x`` gives NaN (0 for
``n < 0``, 1 for ``n == 0``) where torch's recurrence returns an uninitialised variable, and
within a factor ~1000 of the dtype's overflow threshold the recurrence rounds ``a * b - c``
twice where torch's compiled CPU code fuses it (FMA), which can turn torch's +-inf into NaN.

Example:
    >>> gpuarr.special.bessel_j0(gpuarr.tensor([0.0, 1.0]))
    tensor([1.0000, 0.7652])
    >>> gpuarr.special.chebyshev_polynomial_t(gpuarr.tensor([0.5, 2.0]), 3)
    tensor([-1., 26.])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from string import Template
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from ..backends import of_module
from ._common import TensorBase, _make, broadcast_shapes, dtype_name, promote_operands
from .elementwise import _float_input
from .elementwise_extra import _finish, _tensor_arg

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__: list[str] = []  # torch.special names only: gpuarr.special re-exports them

_SQ2OPI = 0.797884560802865355879892119868763737  # sqrt(2 / pi)
_TWOOPI = 0.636619772367581343075535053490057448  # 2 / pi
_PIO4 = 0.785398163397448309615660845819875721  # pi / 4
_THPIO4 = 2.356194490192344928846982537459627163  # 3 pi / 4

# ---- Cephes coefficients (torch's ATen/native/Math.h); Y0/Y1 share J0/J1's asymptotic tables
_AIRY_AI_AN = (
    3.46538101525629032477e-01, 1.20075952739645805542e+01, 7.62796053615234516538e+01,
    1.68089224934630576269e+02, 1.59756391350164413639e+02, 7.05360906840444183113e+01,
    1.40264691163389668864e+01, 9.99999999999999995305e-01,
)
_AIRY_AI_AD = (
    5.67594532638770212846e-01, 1.47562562584847203173e+01, 8.45138970141474626562e+01,
    1.77318088145400459522e+02, 1.64234692871529701831e+02, 7.14778400825575695274e+01,
    1.40959135607834029598e+01, 1.00000000000000000470e+00,
)
_AIRY_AI_AFN = (
    -1.31696323418331795333e-01, -6.26456544431912369773e-01, -6.93158036036933542233e-01,
    -2.79779981545119124951e-01, -4.91900132609500318020e-02, -4.06265923594885404393e-03,
    -1.59276496239262096340e-04, -2.77649108155232920844e-06, -1.67787698489114633780e-08,
)
_AIRY_AI_AFD = (
    1.33560420706553243746e+01, 3.26825032795224613948e+01, 2.67367040941499554804e+01,
    9.18707402907259625840e+00, 1.47529146771666414581e+00, 1.15687173795188044134e-01,
    4.40291641615211203805e-03, 7.54720348287414296618e-05, 4.51850092970580378464e-07,
)
_AIRY_AI_AGN = (
    1.97339932091685679179e-02, 3.91103029615688277255e-01, 1.06579897599595591108e+00,
    9.39169229816650230044e-01, 3.51465656105547619242e-01, 6.33888919628925490927e-02,
    5.85804113048388458567e-03, 2.82851600836737019778e-04, 6.98793669997260967291e-06,
    8.11789239554389293311e-08, 3.41551784765923618484e-10,
)
_AIRY_AI_AGD = (
    9.30892908077441974853e+00, 1.98352928718312140417e+01, 1.55646628932864612953e+01,
    5.47686069422975497931e+00, 9.54293611618961883998e-01, 8.64580826352392193095e-02,
    4.12656523824222607191e-03, 1.01259085116509135510e-04, 1.17166733214413521882e-06,
    4.91834570062930015649e-09,
)
_BESSEL_J0_PP = (
    7.96936729297347051624e-04, 8.28352392107440799803e-02, 1.23953371646414299388e+00,
    5.44725003058768775090e+00, 8.74716500199817011941e+00, 5.30324038235394892183e+00,
    9.99999999999999997821e-01,
)
_BESSEL_J0_PQ = (
    9.24408810558863637013e-04, 8.56288474354474431428e-02, 1.25352743901058953537e+00,
    5.47097740330417105182e+00, 8.76190883237069594232e+00, 5.30605288235394617618e+00,
    1.00000000000000000218e+00,
)
_BESSEL_J0_QP = (
    -1.13663838898469149931e-02, -1.28252718670509318512e+00, -1.95539544257735972385e+01,
    -9.32060152123768231369e+01, -1.77681167980488050595e+02, -1.47077505154951170175e+02,
    -5.14105326766599330220e+01, -6.05014350600728481186e+00,
)
_BESSEL_J0_QQ = (
    6.43178256118178023184e+01, 8.56430025976980587198e+02, 3.88240183605401609683e+03,
    7.24046774195652478189e+03, 5.93072701187316984827e+03, 2.06209331660327847417e+03,
    2.42005740240291393179e+02,
)
_BESSEL_J0_RP = (
    -4.79443220978201773821e+09, 1.95617491946556577543e+12, -2.49248344360967716204e+14,
    9.70862251047306323952e+15,
)
_BESSEL_J0_RQ = (
    4.99563147152651017219e+02, 1.73785401676374683123e+05, 4.84409658339962045305e+07,
    1.11855537045356834862e+10, 2.11277520115489217587e+12, 3.10518229857422583814e+14,
    3.18121955943204943306e+16, 1.71086294081043136091e+18,
)
_BESSEL_J1_PP = (
    7.62125616208173112003e-04, 7.31397056940917570436e-02, 1.12719608129684925192e+00,
    5.11207951146807644818e+00, 8.42404590141772420927e+00, 5.21451598682361504063e+00,
    1.00000000000000000254e+00,
)
_BESSEL_J1_PQ = (
    5.71323128072548699714e-04, 6.88455908754495404082e-02, 1.10514232634061696926e+00,
    5.07386386128601488557e+00, 8.39985554327604159757e+00, 5.20982848682361821619e+00,
    9.99999999999999997461e-01,
)
_BESSEL_J1_QP = (
    5.10862594750176621635e-02, 4.98213872951233449420e+00, 7.58238284132545283818e+01,
    3.66779609360150777800e+02, 7.10856304998926107277e+02, 5.97489612400613639965e+02,
    2.11688757100572135698e+02, 2.52070205858023719784e+01,
)
_BESSEL_J1_QQ = (
    7.42373277035675149943e+01, 1.05644886038262816351e+03, 4.98641058337653607651e+03,
    9.56231892404756170795e+03, 7.99704160447350683650e+03, 2.82619278517639096600e+03,
    3.36093607810698293419e+02,
)
_BESSEL_J1_RP = (
    -8.99971225705559398224e+08, 4.52228297998194034323e+11, -7.27494245221818276015e+13,
    3.68295732863852883286e+15,
)
_BESSEL_J1_RQ = (
    6.20836478118054335476e+02, 2.56987256757748830383e+05, 8.35146791431949253037e+07,
    2.21511595479792499675e+10, 4.74914122079991414898e+12, 7.84369607876235854894e+14,
    8.95222336184627338078e+16, 5.32278620332680085395e+18,
)
_BESSEL_Y0_YP = (
    1.55924367855235737965e+04, -1.46639295903971606143e+07, 5.43526477051876500413e+09,
    -9.82136065717911466409e+11, 8.75906394395366999549e+13, -3.46628303384729719441e+15,
    4.42733268572569800351e+16, -1.84950800436986690637e+16,
)
_BESSEL_Y0_YQ = (
    1.04128353664259848412e+03, 6.26107330137134956842e+05, 2.68919633393814121987e+08,
    8.64002487103935000337e+10, 2.02979612750105546709e+13, 3.17157752842975028269e+15,
    2.50596256172653059228e+17,
)
_BESSEL_Y1_YP = (
    1.26320474790178026440e+09, -6.47355876379160291031e+11, 1.14509511541823727583e+14,
    -8.12770255501325109621e+15, 2.02439475713594898196e+17, -7.78877196265950026825e+17,
)
_BESSEL_Y1_YQ = (
    5.94301592346128195359e+02, 2.35564092943068577943e+05, 7.34811944459721705660e+07,
    1.87601316108706159478e+10, 3.88231277496238566008e+12, 6.20557727146953693363e+14,
    6.87141087355300489866e+16, 3.97270608116560655612e+18,
)


# --------------------------------------------------------------------------------------------
# argument handling


def _not_implemented(name: str, dt: D.dtype, dev) -> NotImplementedError:
    """torch's error for a dtype its kernel lacks (``"bessel_j0_cpu" not implemented for
    'Half'``): these kernels take float32 and float64 only."""
    return NotImplementedError(f'"{name}_{dev.type}" not implemented for \'{dtype_name(dt)}\'')


def _float_arg(name: str, input, arg: str) -> Tensor:
    """``input`` as a float32/float64 tensor: integers and bools in the default float dtype,
    as torch promotes them; other dtypes raise torch's NotImplementedError."""
    x = _float_input(_tensor_arg(input, f"special_{name}", arg))
    if x._data.dtype not in (np.float32, np.float64):
        raise _not_implemented(name, x.dtype, x._device)
    return x


def _unary(name: str, compute: Callable, input, out, arg: str = "input") -> Tensor:
    """A float unary function without a gradient: ``compute(xp, x)`` on the array."""
    x = _float_arg(name, input, arg)
    with np.errstate(all="ignore"):  # the branches not taken may overflow or divide by zero
        res = compute(x._device._xp(), x._data)
    return _finish(_make(res, x._device), out, f"special_{name}")


# --------------------------------------------------------------------------------------------
# Bessel functions of the first and second kind, orders 0 and 1 (Cephes, as torch)


def _polevl(z, coefs):
    """``((c0 z + c1) z + c2) ...`` from 0, as torch's loops (0 * inf gives NaN there too)."""
    r = 0.0
    for c in coefs:
        r = r * z + c
    return r


def _asymptotic(xp, x, w, tables: tuple, phase: float, second_kind: bool):
    """The large-``x`` (> 5) form shared by J and Y: ``w`` is ``(5 / x)**2`` as torch
    computes it for the order."""
    pp, pq, qp, qq = (_polevl(w, t) for t in tables)
    c, s = xp.cos(x - phase), xp.sin(x - phase)
    if second_kind:
        v = pp / pq * s + 5.0 / x * (qp / qq) * c
    else:
        v = pp / pq * c - 5.0 / x * (qp / qq) * s
    return v * _SQ2OPI / xp.sqrt(x)


def _j0_array(xp, x):
    x = xp.abs(x)
    z = x * x
    small = (z - 5.78318596294678452118e+00) * (z - 3.04712623436620863991e+01) * _polevl(
        z, _BESSEL_J0_RP) / _polevl(z, _BESSEL_J0_RQ)
    small = xp.where(x < 0.00001, 1.0 - z / 4.0, small)
    big = _asymptotic(xp, x, 25.0 / z, (_BESSEL_J0_PP, _BESSEL_J0_PQ, _BESSEL_J0_QP,
                                          _BESSEL_J0_QQ), _PIO4, False)
    return xp.where(x <= 5.0, small, big).astype(x.dtype, copy=False)


def _j1_array(xp, x):
    neg = x < 0.0  # torch: j1(x) = -j1(-x) below 0 (-0.0 keeps its sign through x * ...)
    a = xp.where(neg, -x, x)
    z = a * a
    small = _polevl(z, _BESSEL_J1_RP) / _polevl(z, _BESSEL_J1_RQ) * a * (
        z - 1.46819706421238932572e+01) * (z - 4.92184563216946036703e+01)
    big = _asymptotic(xp, a, 5.0 / a * (5.0 / a), (_BESSEL_J1_PP, _BESSEL_J1_PQ,
                                                      _BESSEL_J1_QP, _BESSEL_J1_QQ),
                      _THPIO4, False)
    v = xp.where(a <= 5.0, small, big)
    return xp.where(neg, -v, v).astype(x.dtype, copy=False)


def _y0_array(xp, x):
    z = x * x
    small = _polevl(z, _BESSEL_Y0_YP) / _polevl(z, _BESSEL_Y0_YQ) + (
        _TWOOPI * xp.log(x) * _j0_array(xp, x))
    small = xp.where(x < 0.0, xp.nan, small)
    small = xp.where(x == 0.0, -xp.inf, small)
    big = _asymptotic(xp, x, 25.0 / z, (_BESSEL_J0_PP, _BESSEL_J0_PQ, _BESSEL_J0_QP,
                                          _BESSEL_J0_QQ), _PIO4, True)
    return xp.where(x <= 5.0, small, big).astype(x.dtype, copy=False)


def _y1_array(xp, x):
    z = x * x
    small = x * (_polevl(z, _BESSEL_Y1_YP) / _polevl(z, _BESSEL_Y1_YQ)) + _TWOOPI * (
        _j1_array(xp, x) * xp.log(x) - 1.0 / x)
    small = xp.where(x < 0.0, xp.nan, small)
    small = xp.where(x == 0.0, -xp.inf, small)
    big = _asymptotic(xp, x, 5.0 / x * (5.0 / x), (_BESSEL_J1_PP, _BESSEL_J1_PQ,
                                                      _BESSEL_J1_QP, _BESSEL_J1_QQ),
                      _THPIO4, True)
    return xp.where(x <= 5.0, small, big).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------------------------
# the Airy function Ai (Cephes, as torch)

# The power series below runs on -2.09 <= x < 2.09 only, where it meets torch's stopping rule
# (the last term below machine epsilon relative to the sum) within 10 terms in float32 and
# 14 in float64; running a fixed count with the finished elements frozen gives torch's sums
# with no data-dependent loop (a test checks the count on a dense grid).
_AIRY_SERIES_TERMS = 20


def _airy_series(xp, x):
    """torch's Maclaurin series ``0.355... f - 0.258... g`` of Ai, term by term."""
    eps = float(np.finfo(x.dtype).eps)
    one = xp.ones_like(x)
    f, g, k, m, n, t = one, x, one, one, x, one
    z = x * x * x
    for _ in range(_AIRY_SERIES_TERMS):
        go = t > eps
        m1 = m * z
        k1 = k + 1.0
        m1 = m1 / k1
        n1 = n * z
        k1 = k1 + 1.0
        n1 = n1 / k1
        m1 = m1 / k1
        f1 = f + m1
        k1 = k1 + 1.0
        n1 = n1 / k1
        f, g = xp.where(go, f1, f), xp.where(go, g + n1, g)
        m, n, k = xp.where(go, m1, m), xp.where(go, n1, n), xp.where(go, k1, k)
        t = xp.where(go, xp.abs(m1 / f1), t)
    return 0.355028053887817239260 * f - 0.258819403792806798405 * g


def _airy_array(xp, x):
    # x < -2.09: the oscillating asymptotic form
    xi = -2.0 * x * xp.sqrt(-x) / 3.0
    z = 1.0 / xi
    zz = z * z
    afn, afd = _polevl(zz, _AIRY_AI_AFN), _polevl(zz, _AIRY_AI_AFD)
    agn, agd = _polevl(zz, _AIRY_AI_AGN), _polevl(zz, _AIRY_AI_AGD)
    t = xi + 0.25 * math.pi
    neg = 5.64189583547756286948e-01 / xp.sqrt(xp.sqrt(-x)) * (
        xp.sin(t) * (1.0 + z * z * afn / afd) - xp.cos(t) * (z * agn / agd))
    # x >= 2.09: the decaying asymptotic form
    zeta = 2.0 * x * xp.sqrt(x) / 3.0
    an, ad = _polevl(1.0 / zeta, _AIRY_AI_AN), _polevl(1.0 / zeta, _AIRY_AI_AD)
    pos = 5.64189583547756286948e-01 * (an / ad) / (
        2.0 * xp.sqrt(xp.sqrt(x)) * xp.exp(zeta))
    outer = (x < -2.09) | (x >= 2.09)  # NaN stays in the series, which keeps it
    mid = _airy_series(xp, xp.where(outer, xp.zeros((), dtype=x.dtype), x))
    v = xp.where(x < -2.09, neg, xp.where(x >= 2.09, pos, mid))
    v = xp.where(x > 103.892, 0.0, v)
    return xp.where(xp.isinf(x), xp.nan, v).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------------------------
# orthogonal polynomials: torch's special cases, closed forms and recurrences


class _Poly:
    """One polynomial family as torch evaluates it.

    Attributes:
        cases: ``(xp, x, n, nf) -> [(mask, value), ...]``: torch's early returns in its order
            (``n``: the degree as int64, ``nf``: the degree in x's dtype, as C converts it).
        start: ``x -> P_1(x)``, the recurrence's first value (``P_0 = 1``).
        step: ``(j, x, p, q) -> P_{j+1}(x)`` from ``p = P_{j-1}`` and ``q = P_j``.
    """

    __slots__ = ("cases", "start", "step")

    def __init__(self, cases: Callable, start: Callable, step: Callable):
        self.cases, self.start, self.step = cases, start, step


def _degree(xp, n):
    """torch's ``static_cast<int64_t>(n)``: truncation toward zero; NaN, +-inf and
    ``|n| >= 2**63`` (undefined in C++, INT64_MIN on the x86 CPUs torch's results come from)
    become -1, a negative degree like INT64_MIN."""
    return xp.where(xp.abs(n) < 2.0 ** 63, n, -1.0).astype(np.int64)


def _signed(xp, even, v):
    """``v`` for even degrees, ``-v`` for odd ones."""
    return xp.where(even, v, -v)


def _cheb_u_trig(xp, y, n):
    # sin((n + 1) acos y) / sin(acos y); torch's fallback where that sine is 0
    a = xp.arccos(y)
    m = (n + 1).astype(y.dtype)
    s = xp.sin(a)
    return xp.where(s != 0.0, xp.sin(m * a) / s, m * xp.cos(m * a) / y)


def _cheb_v_trig(xp, y, nf, edge):
    # cos((n + 1/2) acos y) / cos(acos(y) / 2), ``edge`` where sin(acos(y) / 2) == 1
    a = xp.arccos(y)
    return xp.where(xp.sin(a / 2.0) != 1.0, xp.cos((nf + 0.5) * a) / xp.cos(a / 2.0), edge)


def _cheb_w_trig(xp, y, nf, edge):
    # sin((n + 1/2) acos y) / sin(acos(y) / 2), ``edge`` where cos(acos(y) / 2) == 1
    a = xp.arccos(y)
    return xp.where(xp.cos(a / 2.0) != 1.0, xp.sin((nf + 0.5) * a) / xp.sin(a / 2.0), edge)


def _cheb_t_cases(xp, x, n, nf):
    ax, even = xp.abs(x), n % 2 == 0
    return [(n < 0, 0.0), (ax == 1.0, xp.where((x > 0.0) | even, 1.0, -1.0)),
            ((n > 6) & (ax < 1.0), xp.cos(nf * xp.arccos(x))), (n == 0, 1.0), (n == 1, x)]


def _cheb_u_cases(xp, x, n, nf):
    ax, even = xp.abs(x), n % 2 == 0
    return [(n < 0, 0.0), (ax == 1.0, xp.where((x > 0.0) | even, n + 1, -(n + 1))),
            ((n > 8) & (ax < 1.0), _cheb_u_trig(xp, x, n)), (n == 0, 1.0), (n == 1, x + x)]


def _cheb_v_cases(xp, x, n, nf):
    ax, edge = xp.abs(x), _signed(xp, n % 2 == 0, n + n + 1)
    return [(n < 0, 0.0), (ax == 1.0, xp.where(x > 0.0, 1, edge)),
            ((n > 8) & (ax < 1.0), _cheb_v_trig(xp, x, nf, edge)), (n == 0, 1.0),
            (n == 1, x + x - 1.0)]


def _cheb_w_cases(xp, x, n, nf):
    ax = xp.abs(x)
    edge = xp.where(x > 0.0, n + n + 1, _signed(xp, n % 2 == 0, xp.ones_like(n)))
    return [(n < 0, 0.0), (ax == 1.0, edge),
            ((n > 8) & (ax < 1.0), _cheb_w_trig(xp, x, nf, edge)), (n == 0, 1.0),
            (n == 1, x + x + 1.0)]


def _shifted_t_cases(xp, x, n, nf):
    y, even = x + x - 1.0, n % 2 == 0
    return [(n < 0, 0.0), (x == 1.0, 1.0), (x == 0.0, xp.where(even, 1.0, -1.0)),
            ((n > 6) & (xp.abs(y) < 1.0), xp.cos(nf * xp.arccos(y))), (n == 0, 1.0),
            (n == 1, y)]


def _shifted_u_cases(xp, x, n, nf):
    y = x + x - 1.0
    return [(n < 0, 0.0), (x == 1.0, n + 1), (x == 0.0, _signed(xp, n % 2 == 0, n + 1)),
            ((n > 6) & (xp.abs(y) < 1.0), _cheb_u_trig(xp, y, n)), (n == 0, 1.0),
            (n == 1, y + y)]


def _shifted_v_cases(xp, x, n, nf):
    y, edge = x + x - 1.0, _signed(xp, n % 2 == 0, n + n + 1)
    return [(n < 0, 0.0), (x == 1.0, 1.0), (x == 0.0, edge),
            ((n > 6) & (xp.abs(y) < 1.0), _cheb_v_trig(xp, y, nf, edge)), (n == 0, 1.0),
            (n == 1, y + y - 1.0)]


def _shifted_w_cases(xp, x, n, nf):
    y, edge = x + x - 1.0, xp.where(n % 2 == 0, 1.0, -1.0)
    return [(n < 0, 0.0), (x == 1.0, n + n + 1), (x == 0.0, edge),
            ((n > 4) & (xp.abs(y) < 1.0), _cheb_w_trig(xp, y, nf, edge)), (n == 0, 1.0),
            (n == 1, y + y + 1.0)]


# torch returns NaN above these degrees (the values overflow long before)
_HERMITE_LIMIT = {np.dtype(np.float32): 128, np.dtype(np.float64): 512}


def _hermite_cases(first: Callable) -> Callable:
    def cases(xp, x, n, nf):
        return [(n < 0, 0.0), (n == 0, 1.0), (n == 1, first(x)),
                (n > _HERMITE_LIMIT[x.dtype], xp.nan)]

    return cases


def _laguerre_cases(xp, x, n, nf):
    return [(n < 0, 0.0), (xp.abs(x) == 0.0, 1.0), (n == 0, 1.0), (n == 1, 1.0 - x)]


def _legendre_cases(xp, x, n, nf):
    return [(n < 0, 0.0), (xp.abs(x) == 1.0, xp.where((x > 0.0) | (n % 2 == 0), 1.0, -1.0)),
            (n == 0, 1.0), (n == 1, x)]


def _cheb_step(j, x, p, q):
    return (x + x) * q - p


def _shifted_step(j, x, p, q):
    y = x + x - 1.0
    return (y + y) * q - p


_POLYS = {
    "chebyshev_polynomial_t": _Poly(_cheb_t_cases, lambda x: x, _cheb_step),
    "chebyshev_polynomial_u": _Poly(_cheb_u_cases, lambda x: x + x, _cheb_step),
    "chebyshev_polynomial_v": _Poly(_cheb_v_cases, lambda x: x + x - 1.0, _cheb_step),
    "chebyshev_polynomial_w": _Poly(_cheb_w_cases, lambda x: x + x + 1.0, _cheb_step),
    "shifted_chebyshev_polynomial_t": _Poly(_shifted_t_cases, lambda x: x + x - 1.0,
                                            _shifted_step),
    "shifted_chebyshev_polynomial_u": _Poly(
        _shifted_u_cases, lambda x: (x + x - 1.0) + (x + x - 1.0), _shifted_step),
    "shifted_chebyshev_polynomial_v": _Poly(
        _shifted_v_cases, lambda x: (x + x - 1.0) + (x + x - 1.0) - 1.0, _shifted_step),
    "shifted_chebyshev_polynomial_w": _Poly(
        _shifted_w_cases, lambda x: (x + x - 1.0) + (x + x - 1.0) + 1.0, _shifted_step),
    # torch's loop counter is k = 2j for H (k = 2, 4, ... < 2n)
    "hermite_polynomial_h": _Poly(_hermite_cases(lambda x: x + x), lambda x: x + x,
                                  lambda j, x, p, q: (x + x) * q - (j + j) * p),
    "hermite_polynomial_he": _Poly(_hermite_cases(lambda x: x), lambda x: x,
                                   lambda j, x, p, q: x * q - j * p),
    "laguerre_polynomial_l": _Poly(
        _laguerre_cases, lambda x: 1.0 - x,
        lambda j, x, p, q: (((j + j) + (1.0 - x)) * q - j * p) / (j + 1)),
    "legendre_polynomial_p": _Poly(_legendre_cases, lambda x: x,
                                   lambda j, x, p, q: ((j + j + 1) * x * q - j * p) / (j + 1)),
}


def _recurrence(xp, poly: _Poly, x, n, todo):
    """torch's loop ``P_{j+1} = step(j, P_{j-1}, P_j)`` for ``j = 1 .. n - 1`` (stopping once
    the value is NaN, which it would stay) on the elements of ``todo``; NaN elsewhere.

    CPU only: each pass keeps just the elements still running, so the work is that of
    torch's scalar loops (the count of those left is read on the host)."""
    out = xp.full(x.shape, xp.nan, dtype=x.dtype)
    flat = out.reshape(-1)
    idx = xp.flatnonzero(todo)
    xs, ns = x.reshape(-1)[idx], n.reshape(-1)[idx]
    p, q = xp.ones_like(xs), poly.start(xs)
    j = 1
    while idx.size:
        done = (ns <= j) | xp.isnan(q)
        if done.any():
            flat[idx[done]] = q[done]
            keep = ~done
            idx, xs, ns, p, q = idx[keep], xs[keep], ns[keep], p[keep], q[keep]
        p, q = q, poly.step(j, xs, p, q)
        j += 1
    return out


def _poly_array(xp, poly: _Poly, x, n):
    """The polynomial on same-shaped contiguous arrays ``x`` and ``n`` (float32/float64)."""
    dt = x.dtype
    deg = _degree(xp, n)
    cases = poly.cases(xp, x, deg, deg.astype(dt))
    todo = xp.ones(x.shape, dtype=bool)
    for mask, _ in cases:
        todo &= ~mask
    res = _recurrence(xp, poly, x, deg, todo)
    for mask, value in reversed(cases):
        if not isinstance(value, float):
            value = value.astype(dt, copy=False)  # C converts the int64 results to T
        res = xp.where(mask, value, res)
    return res.astype(dt, copy=False)


# --------------------------------------------------------------------------------------------
# the CUDA kernels: torch's scalar code, one thread per element

# The bodies are torch's ``*_forward(T x, int64_t n)`` functions of ATen/native/Math.h, with
# ``$fabs``/``$acos``/``$cos``/``$sin`` for the math functions of T, ``q == q`` for
# ``!isnan(q)`` and ``T r = q`` where torch leaves ``r`` uninitialised (returned as is when x
# is NaN: NaN here).
_C_BODIES = {
    "chebyshev_polynomial_t": """
  if (n < 0) {
    return T(0.0);
  }
  if ($fabs(x) == T(1.0)) {
    if (x > T(0.0) || n % 2 == 0) {
      return T(1.0);
    }
    return T(-1.0);
  }
  if ((n > 6) && ($fabs(x) < T(1.0))) {
    return $cos(n * $acos(x));
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x;
  }
  T p = T(1.0);
  T q = x;
  T r = x;
  for (long long k = 2; (k <= n) && q == q; k++) {
    r = (x + x) * q - p;
    p = q;
    q = r;
  }
  return r;
""",
    "chebyshev_polynomial_u": """
  if (n < 0) {
    return T(0.0);
  }
  if ($fabs(x) == T(1.0)) {
    if (x > T(0.0) || n % 2 == 0) {
      return n + 1;
    }
    return -(n + 1);
  }
  if ((n > 8) && ($fabs(x) < T(1.0))) {
    if ($sin($acos(x)) != T(0.0)) {
      return $sin((n + 1) * $acos(x)) / $sin($acos(x));
    }
    return (n + 1) * $cos((n + 1) * $acos(x)) / x;
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x + x;
  }
  T p = T(1.0);
  T q = x + x;
  T r = q;
  for (long long k = 2; (k <= n) && q == q; k++) {
    r = (x + x) * q - p;
    p = q;
    q = r;
  }
  return r;
""",
    "chebyshev_polynomial_v": """
  if (n < 0) {
    return T(0.0);
  }
  if ($fabs(x) == T(1.0)) {
    if (x > T(0.0)) {
      return T(1.0);
    }
    if (n % 2 == 0) {
      return n + n + 1;
    }
    return -(n + n + 1);
  }
  if ((n > 8) && ($fabs(x) < T(1.0))) {
    if ($sin($acos(x) / T(2.0)) != T(1.0)) {
      return $cos((n + T(0.5)) * $acos(x)) / $cos($acos(x) / T(2.0));
    }
    if (n % 2 == 0) {
      return n + n + 1;
    }
    return -(n + n + 1);
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x + x - T(1.0);
  }
  T p = T(1.0);
  T q = x + x - T(1.0);
  T r = q;
  for (long long k = 2; (k <= n) && q == q; k++) {
    r = (x + x) * q - p;
    p = q;
    q = r;
  }
  return r;
""",
    "chebyshev_polynomial_w": """
  if (n < 0) {
    return T(0.0);
  }
  if ($fabs(x) == T(1.0)) {
    if (x > T(0.0)) {
      return n + n + 1;
    }
    if (n % 2 == 0) {
      return T(1.0);
    }
    return T(-1.0);
  }
  if ((n > 8) && ($fabs(x) < T(1.0))) {
    if ($cos($acos(x) / T(2.0)) != T(1.0)) {
      return $sin((n + T(0.5)) * $acos(x)) / $sin($acos(x) / T(2.0));
    }
    if (x > T(0.0)) {
      return n + n + 1;
    }
    if (n % 2 == 0) {
      return T(1.0);
    }
    return T(-1.0);
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x + x + T(1.0);
  }
  T p = T(1.0);
  T q = x + x + T(1.0);
  T r = q;
  for (long long k = 2; (k <= n) && q == q; k++) {
    r = (x + x) * q - p;
    p = q;
    q = r;
  }
  return r;
""",
    "shifted_chebyshev_polynomial_t": """
  if (n < 0) {
    return T(0.0);
  }
  if (x == T(1.0)) {
    return T(1.0);
  }
  if (x == T(0.0)) {
    if (n % 2 == 0) {
      return T(1.0);
    }
    return T(-1.0);
  }
  if ((n > 6) && ($fabs(x + x - T(1.0)) < T(1.0))) {
    return $cos(n * $acos(x + x - T(1.0)));
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x + x - T(1.0);
  }
  T p = T(1.0);
  T q = x + x - T(1.0);
  T r = q;
  for (long long k = 2; (k <= n) && q == q; k++) {
    r = (x + x - T(1.0) + (x + x - T(1.0))) * q - p;
    p = q;
    q = r;
  }
  return r;
""",
    "shifted_chebyshev_polynomial_u": """
  if (n < 0) {
    return T(0.0);
  }
  if (x == T(1.0)) {
    return n + 1;
  }
  if (x == T(0.0)) {
    if (n % 2 == 0) {
      return n + 1;
    }
    return -(n + 1);
  }
  if ((n > 6) && ($fabs(x + x - T(1.0)) < T(1.0))) {
    if ($sin($acos(x + x - T(1.0))) != T(0.0)) {
      return $sin((n + 1) * $acos(x + x - T(1.0))) / $sin($acos(x + x - T(1.0)));
    }
    return (n + 1) * $cos((n + 1) * $acos(x + x - T(1.0))) / (x + x - T(1.0));
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x + x - T(1.0) + (x + x - T(1.0));
  }
  T p = T(1.0);
  T q = x + x - T(1.0) + (x + x - T(1.0));
  T r = q;
  for (long long k = 2; (k <= n) && q == q; k++) {
    r = (x + x - T(1.0) + (x + x - T(1.0))) * q - p;
    p = q;
    q = r;
  }
  return r;
""",
    "shifted_chebyshev_polynomial_v": """
  if (n < 0) {
    return T(0.0);
  }
  if (x == T(1.0)) {
    return T(1.0);
  }
  if (x == T(0.0)) {
    if (n % 2 == 0) {
      return (n + n + 1);
    }
    return -(n + n + 1);
  }
  if ((n > 6) && ($fabs(x + x - T(1.0)) < T(1.0))) {
    if ($sin($acos(x + x - T(1.0)) / T(2.0)) != T(1.0)) {
      return $cos((n + T(0.5)) * $acos(x + x - T(1.0))) / $cos($acos(x + x - T(1.0)) / T(2.0));
    }
    if (n % 2 == 0) {
      return n + n + 1;
    }
    return -(n + n + 1);
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x + x - T(1.0) + (x + x - T(1.0)) - T(1.0);
  }
  T p = T(1.0);
  T q = x + x - T(1.0) + (x + x - T(1.0)) - T(1.0);
  T r = q;
  for (long long k = 2; (k <= n) && q == q; k++) {
    r = (x + x - T(1.0) + (x + x - T(1.0))) * q - p;
    p = q;
    q = r;
  }
  return r;
""",
    "shifted_chebyshev_polynomial_w": """
  if (n < 0) {
    return T(0.0);
  }
  if (x == T(1.0)) {
    return n + n + 1;
  }
  if (x == T(0.0)) {
    if (n % 2 == 0) {
      return T(1.0);
    }
    return T(-1.0);
  }
  if ((n > 4) && ($fabs(x + x - T(1.0)) < T(1.0))) {
    if ($cos($acos(x + x - T(1.0)) / T(2.0)) != T(1.0)) {
      return $sin((n + T(0.5)) * $acos(x + x - T(1.0))) / $sin($acos(x + x - T(1.0)) / T(2.0));
    }
    if (n % 2 == 0) {
      return T(1.0);
    }
    return T(-1.0);
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x + x - T(1.0) + (x + x - T(1.0)) + T(1.0);
  }
  T p = T(1.0);
  T q = x + x - T(1.0) + (x + x - T(1.0)) + T(1.0);
  T r = q;
  for (long long k = 2; (k <= n) && q == q; k++) {
    r = (x + x - T(1.0) + (x + x - T(1.0))) * q - p;
    p = q;
    q = r;
  }
  return r;
""",
    "hermite_polynomial_h": """
  if (n < 0) {
    return T(0.0);
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x + x;
  }
  if (n > $hlimit) {
    return gpuarr_nan();
  }
  T p = T(1.0);
  T q = x + x;
  T r = T(0.0);
  for (long long k = 2; k < n + n; k += 2) {
    r = (x + x) * q - k * p;
    p = q;
    q = r;
  }
  return r;
""",
    "hermite_polynomial_he": """
  if (n < 0) {
    return T(0.0);
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x;
  }
  if (n > $hlimit) {
    return gpuarr_nan();
  }
  T p = T(1.0);
  T q = x;
  T r = q;
  for (long long k = 1; k < n; k++) {
    r = x * q - k * p;
    p = q;
    q = r;
  }
  return r;
""",
    "laguerre_polynomial_l": """
  if (n < 0) {
    return T(0.0);
  }
  if ($fabs(x) == T(0.0)) {
    return T(1.0);
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return T(1.0) - x;
  }
  T p = T(1.0);
  T q = T(1.0) - x;
  T r = q;
  for (long long k = 1; (k < n) && q == q; k++) {
    r = (((k + k) + (T(1.0) - x)) * q - k * p) / (k + 1);
    p = q;
    q = r;
  }
  return r;
""",
    "legendre_polynomial_p": """
  if (n < 0) {
    return T(0.0);
  }
  if ($fabs(x) == T(1.0)) {
    if (x > T(0.0) || n % 2 == 0) {
      return T(1.0);
    }
    return T(-1.0);
  }
  if (n == 0) {
    return T(1.0);
  }
  if (n == 1) {
    return x;
  }
  T p = T(1.0);
  T q = x;
  T r = q;
  for (long long k = 1; (k < n) && q == q; k++) {
    r = ((k + k + 1) * x * q - k * p) / (k + 1);
    p = q;
    q = r;
  }
  return r;
""",
}

_C_SOURCE = Template("""typedef $T T;
__device__ T gpuarr_nan() {
  T zero = T(0.0);
  return zero / zero;
}
// torch's static_cast<int64_t>(n), with its x86 result where C++ leaves it undefined (NaN,
// +-inf, |n| >= 2^63 give INT64_MIN there, a negative degree): -1
__device__ long long gpuarr_degree(T n) {
  return $fabs(n) < T(9223372036854775808.0) ? (long long)n : -1LL;
}
__device__ T gpuarr_poly(T x, long long n) {$body}
extern "C" __global__ void $kernel(const T* x, const T* n, T* out, long long size) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < size) {
    out[i] = gpuarr_poly(x[i], gpuarr_degree(n[i]));
  }
}
""")

_C_TYPES = {
    "float32": {"T": "float", "fabs": "fabsf", "acos": "acosf", "cos": "cosf", "sin": "sinf",
                "hlimit": "128"},
    "float64": {"T": "double", "fabs": "fabs", "acos": "acos", "cos": "cos", "sin": "sin",
                "hlimit": "512"},
}


def kernel_source(name: str, dtype: str) -> tuple[str, str]:
    """``(kernel name, CUDA source)`` of polynomial ``name`` for ``dtype`` ('float32' or
    'float64'): one thread per element of contiguous ``x``, ``n`` and ``out``."""
    kernel = f"gpuarr_{name}_{'f32' if dtype == 'float32' else 'f64'}"
    subs = dict(_C_TYPES[dtype])
    body = Template(_C_BODIES[name]).substitute(subs)
    return kernel, _C_SOURCE.substitute(subs, body=body, kernel=kernel)


# every kernel, for the NVRTC check of the test suite: (name, source) pairs
RAW_KERNELS = tuple(kernel_source(name, dt) for name in _C_BODIES for dt in _C_TYPES)

_BLOCK = 256
_kernels: dict = {}  # (array module, polynomial, dtype) -> RawKernel (compiled on first use)


def _poly_kernel(xp, name: str, x, n):
    """Polynomial ``name`` by its CUDA kernel on same-shaped contiguous arrays."""
    k = _kernels.get((id(xp), name, x.dtype))
    if k is None:
        kernel, src = kernel_source(name, x.dtype.name)
        k = _kernels[id(xp), name, x.dtype] = xp.RawKernel(src, kernel)
    out = xp.empty(x.shape, dtype=x.dtype)
    if out.size:
        k(((out.size + _BLOCK - 1) // _BLOCK,), (_BLOCK,), (x, n, out, np.int64(out.size)))
    return out


def _runs_kernels(xp) -> bool:
    """Whether ``xp``'s backend runs CUDA C kernels (CuPy). A Backend capability would say
    this better; until it has one, the device type does."""
    return of_module(xp).device_type == "cuda"


# --------------------------------------------------------------------------------------------
# public functions: the polynomials

_NUMBERS = (int, float, complex, bool, np.number, np.bool_)


def _signature_error(name: str, x, n) -> TypeError:
    got = ", ".join("Tensor" if isinstance(v, TensorBase) else type(v).__name__ for v in (x, n))
    return TypeError(
        f"special_{name}() received an invalid combination of arguments - got ({got}), but "
        "expected one of:\n * (Tensor x, Tensor n, *, Tensor out = None)\n"
        " * (Number x, Tensor n, *, Tensor out = None)\n"
        " * (Tensor x, Number n, *, Tensor out = None)\n")


def _polynomial(name: str, x, n, out) -> Tensor:
    """Polynomial ``name`` of degree ``n`` at ``x`` (tensors or numbers, at least one tensor),
    broadcast, in their promoted float dtype."""
    tx, tn = isinstance(x, TensorBase), isinstance(n, TensorBase)
    if not (tx or tn) or not (tx or isinstance(x, _NUMBERS)) or not (
            tn or isinstance(n, _NUMBERS)):
        raise _signature_error(name, x, n)
    for v, other in ((x, n), (n, x)):
        if isinstance(v, complex) and isinstance(other, TensorBase):  # gpuarr has no complex
            cx = "ComplexDouble" if other.dtype == D.float64 else "ComplexFloat"
            raise NotImplementedError(
                f'"{name}_{other._device.type}" not implemented for \'{cx}\'')
    a, b, res = promote_operands(x, n, f"special_{name}", force_float=True)
    dev = (a if isinstance(a, TensorBase) else b)._device
    if res.np not in (np.float32, np.float64):
        raise _not_implemented(name, res, dev)
    xp = dev._xp()
    xa, na = (v._data if isinstance(v, TensorBase) else xp.asarray(v) for v in (a, b))
    shape = broadcast_shapes(xa.shape, na.shape)
    xa, na = (xp.broadcast_to(v, shape).copy() for v in (xa, na))  # contiguous, 0-d kept
    with np.errstate(all="ignore"):  # overflow to inf and NaN are torch's results too
        if _runs_kernels(xp):
            r = _poly_kernel(xp, name, xa, na)
        else:
            r = _poly_array(xp, _POLYS[name], xa, na)
    return _finish(_make(r, dev), out, f"special_{name}")


# --------------------------------------------------------------------------------------------
# public functions: Bessel and Airy

def bessel_j0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Bessel function of the first kind of order 0, ``J_0``.

    torch's algorithm (Cephes) in the input's dtype; without a gradient, as in torch.

    Args:
        input: a float32 or float64 tensor (integers and bools are computed in the default
            float dtype).
        out: the output tensor (optional).

    Returns:
        A tensor of ``input``'s shape: 1 at 0, even in ``input``; NaN at +-inf (as torch).

    Example:
        >>> gpuarr.special.bessel_j0(gpuarr.tensor([0.5, 2.0]))
        tensor([0.9385, 0.2239])
    """
    return _unary("bessel_j0", _j0_array, input, out)

def bessel_j1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Bessel function of the first kind of order 1, ``J_1``.

    torch's algorithm (Cephes) in the input's dtype; without a gradient, as in torch.

    Args:
        input: a float32 or float64 tensor (integers and bools are computed in the default
            float dtype).
        out: the output tensor (optional).

    Returns:
        A tensor of ``input``'s shape: 0 at 0, odd in ``input``; NaN at +-inf (as torch).

    Example:
        >>> gpuarr.special.bessel_j1(gpuarr.tensor([0.5, 2.0]))
        tensor([0.2423, 0.5767])
    """
    return _unary("bessel_j1", _j1_array, input, out)

def bessel_y0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Bessel function of the second kind of order 0, ``Y_0``.

    torch's algorithm (Cephes) in the input's dtype; without a gradient, as in torch.

    Args:
        input: a float32 or float64 tensor (integers and bools are computed in the default
            float dtype).
        out: the output tensor (optional).

    Returns:
        A tensor of ``input``'s shape: ``-inf`` at 0, NaN below 0 and at +-inf.

    Example:
        >>> gpuarr.special.bessel_y0(gpuarr.tensor([0.5, 2.0]))
        tensor([-0.4445,  0.5104])
    """
    return _unary("bessel_y0", _y0_array, input, out)

def bessel_y1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Bessel function of the second kind of order 1, ``Y_1``.

    torch's algorithm (Cephes) in the input's dtype; without a gradient, as in torch.

    Args:
        input: a float32 or float64 tensor (integers and bools are computed in the default
            float dtype).
        out: the output tensor (optional).

    Returns:
        A tensor of ``input``'s shape: ``-inf`` at 0, NaN below 0 and at +-inf.

    Example:
        >>> gpuarr.special.bessel_y1(gpuarr.tensor([0.5, 2.0]))
        tensor([-1.4715, -0.1070])
    """
    return _unary("bessel_y1", _y1_array, input, out)

def airy_ai(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Airy function ``Ai``.

    torch's algorithm (Cephes) in the input's dtype; without a gradient, as in torch.

    Args:
        x: a float32 or float64 tensor (integers and bools are computed in the default
            float dtype).
        out: the output tensor (optional).

    Returns:
        A tensor of ``x``'s shape: 0 above 103.892 (underflow), NaN at +-inf.

    Example:
        >>> gpuarr.special.airy_ai(gpuarr.tensor([0.5, 2.0]))
        tensor([0.2317, 0.0349])
    """
    return _unary("airy_ai", _airy_array, x, out, arg="x")


# --------------------------------------------------------------------------------------------
# public functions: the polynomials

def chebyshev_polynomial_t(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Chebyshev polynomial of the first kind ``T_n(x)`` of degree ``n``.

    For ``|x| < 1`` and ``n > 6`` torch's ``cos(n acos(x))``, else its recurrence. A negative
    ``n`` gives 0; a fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.chebyshev_polynomial_t(gpuarr.tensor([0.5, 2.0]), 3)
        tensor([-1., 26.])
    """
    return _polynomial("chebyshev_polynomial_t", x, n, out)

def chebyshev_polynomial_u(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Chebyshev polynomial of the second kind ``U_n(x)`` of degree ``n``.

    For ``|x| < 1`` and ``n > 8`` torch's trigonometric form, else its recurrence. A negative
    ``n`` gives 0; a fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.chebyshev_polynomial_u(gpuarr.tensor([0.5, 2.0]), 3)
        tensor([-1., 56.])
    """
    return _polynomial("chebyshev_polynomial_u", x, n, out)

def chebyshev_polynomial_v(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Chebyshev polynomial of the third kind ``V_n(x)`` of degree ``n``.

    For ``|x| < 1`` and ``n > 8`` torch's trigonometric form, else its recurrence. A negative
    ``n`` gives 0; a fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.chebyshev_polynomial_v(gpuarr.tensor([0.5, 2.0]), 3)
        tensor([-1., 41.])
    """
    return _polynomial("chebyshev_polynomial_v", x, n, out)

def chebyshev_polynomial_w(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Chebyshev polynomial of the fourth kind ``W_n(x)`` of degree ``n``.

    For ``|x| < 1`` and ``n > 8`` torch's trigonometric form, else its recurrence. A negative
    ``n`` gives 0; a fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.chebyshev_polynomial_w(gpuarr.tensor([0.5, 2.0]), 3)
        tensor([-1., 71.])
    """
    return _polynomial("chebyshev_polynomial_w", x, n, out)

def shifted_chebyshev_polynomial_t(x, n, *, out: Tensor | None = None) -> Tensor:
    """The shifted Chebyshev polynomial of the first kind ``T_n(2x - 1)`` of degree ``n``.

    For ``0 < x < 1`` and ``n > 6`` torch's trigonometric form, else its recurrence. A negative
    ``n`` gives 0; a fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.shifted_chebyshev_polynomial_t(gpuarr.tensor([0.25, 2.0]), 3)
        tensor([ 1., 99.])
    """
    return _polynomial("shifted_chebyshev_polynomial_t", x, n, out)

def shifted_chebyshev_polynomial_u(x, n, *, out: Tensor | None = None) -> Tensor:
    """The shifted Chebyshev polynomial of the second kind ``U_n(2x - 1)`` of degree ``n``.

    For ``0 < x < 1`` and ``n > 6`` torch's trigonometric form, else its recurrence. A negative
    ``n`` gives 0; a fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.shifted_chebyshev_polynomial_u(gpuarr.tensor([0.25, 2.0]), 3)
        tensor([  1., 204.])
    """
    return _polynomial("shifted_chebyshev_polynomial_u", x, n, out)

def shifted_chebyshev_polynomial_v(x, n, *, out: Tensor | None = None) -> Tensor:
    """The shifted Chebyshev polynomial of the third kind ``V_n(2x - 1)`` of degree ``n``.

    For ``0 < x < 1`` and ``n > 6`` torch's trigonometric form, else its recurrence. A negative
    ``n`` gives 0; a fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.shifted_chebyshev_polynomial_v(gpuarr.tensor([0.25, 2.0]), 3)
        tensor([  1., 169.])
    """
    return _polynomial("shifted_chebyshev_polynomial_v", x, n, out)

def shifted_chebyshev_polynomial_w(x, n, *, out: Tensor | None = None) -> Tensor:
    """The shifted Chebyshev polynomial of the fourth kind ``W_n(2x - 1)`` of degree ``n``.

    For ``0 < x < 1`` and ``n > 4`` torch's trigonometric form, else its recurrence. A negative
    ``n`` gives 0; a fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.shifted_chebyshev_polynomial_w(gpuarr.tensor([0.25, 2.0]), 3)
        tensor([  1., 239.])
    """
    return _polynomial("shifted_chebyshev_polynomial_w", x, n, out)

def hermite_polynomial_h(x, n, *, out: Tensor | None = None) -> Tensor:
    """The physicists' Hermite polynomial ``H_n(x)`` of degree ``n``.

    NaN above degree 128 (float32) or 512 (float64), as torch. A negative ``n`` gives 0; a
    fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.hermite_polynomial_h(gpuarr.tensor([0.5, 2.0]), 3)
        tensor([-5., 40.])
    """
    return _polynomial("hermite_polynomial_h", x, n, out)

def hermite_polynomial_he(x, n, *, out: Tensor | None = None) -> Tensor:
    """The probabilists' Hermite polynomial ``He_n(x)`` of degree ``n``.

    NaN above degree 128 (float32) or 512 (float64), as torch. A negative ``n`` gives 0; a
    fractional ``n`` is truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.hermite_polynomial_he(gpuarr.tensor([0.5, 2.0]), 3)
        tensor([-1.3750,  2.0000])
    """
    return _polynomial("hermite_polynomial_he", x, n, out)

def laguerre_polynomial_l(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Laguerre polynomial ``L_n(x)`` of degree ``n``.

    1 at ``x == 0`` for every ``n >= 0``. A negative ``n`` gives 0; a fractional ``n`` is
    truncated toward zero. Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.laguerre_polynomial_l(gpuarr.tensor([0.5, 2.0]), 3)
        tensor([-0.1458, -0.3333])
    """
    return _polynomial("laguerre_polynomial_l", x, n, out)

def legendre_polynomial_p(x, n, *, out: Tensor | None = None) -> Tensor:
    """The Legendre polynomial ``P_n(x)`` of degree ``n``.

    +-1 at ``x == +-1``. A negative ``n`` gives 0; a fractional ``n`` is truncated toward zero.
    Without a gradient, as in torch.

    Args:
        x: the points: a tensor or a number.
        n: the degree: a tensor or a number (at least one of ``x``, ``n`` is a tensor); they
            broadcast together, in their promoted dtype (integers in the default float dtype).
        out: the output tensor (optional).

    Returns:
        A float32 or float64 tensor of the broadcast shape.

    Example:
        >>> gpuarr.special.legendre_polynomial_p(gpuarr.tensor([0.5, 2.0]), 3)
        tensor([-0.4375, 17.0000])
    """
    return _polynomial("legendre_polynomial_p", x, n, out)
