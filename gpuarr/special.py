"""``gpuarr.special``: torch.special's namespace over gpuarr's special functions.

Every name here is the same function as elsewhere in gpuarr (``special.erf is gpuarr.erf``),
under torch.special's spelling (``gammaln`` for ``lgamma``, ``expit`` for ``sigmoid``,
``psi`` for ``digamma``, ``multigammaln`` for ``mvlgamma``, ``gammainc``/``gammaincc`` for
``igamma``/``igammac``). The functions torch has only here (``erfcx``, ``ndtr``, ``ndtri``,
``log_ndtr``, ``i0e``, ``i1``, ``i1e``, ``entr``, ``xlog1py``, ``zeta``,
the modified Bessel functions, ``spherical_bessel_j0``) live in
:mod:`gpuarr.ops.elementwise_extra`. torch.special functions gpuarr lacks are absent, so a
program run under ``gpuarr.run_torch`` fails at the first use with an error that names them.

Example:
    >>> gpuarr.special.gammaln(gpuarr.tensor([5.0]))  # log(4!)
    tensor([3.1781])
"""

from __future__ import annotations

from .ops.activation import log_softmax, softmax
from .ops.elementwise import exp2, expm1, log1p, round, sigmoid
from .ops.elementwise_extra import (
    entr,
    erfc,
    erfcx,
    i0,
    i0e,
    i1,
    i1e,
    igamma,
    igammac,
    log_ndtr,
    logit,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    mvlgamma,
    ndtr,
    ndtri,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    sinc,
    spherical_bessel_j0,
    xlog1py,
    zeta,
)
from .ops.reduction import logsumexp
from .ops.special import digamma, erf, erfinv, lgamma, polygamma, xlogy
from .ops.special_polynomials import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    hermite_polynomial_h,
    hermite_polynomial_he,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
)

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc",
    "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax",
    "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
    "modified_bessel_k1", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "sinc", "softmax",
    "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
    # Bessel functions of the first and second kind, Airy's Ai and orthogonal polynomials
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
    "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
    "legendre_polynomial_p", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
]

gammaln = lgamma
psi = digamma
expit = sigmoid
multigammaln = mvlgamma
gammainc = igamma
gammaincc = igammac
