"""``gpuarr.special``: torch.special's namespace over gpuarr's special functions.

Every name here is the same function as elsewhere in gpuarr (``special.erf is gpuarr.erf``),
under torch.special's spelling (``gammaln`` for ``lgamma``, ``expit`` for ``sigmoid``,
``psi`` for ``digamma``). torch.special functions gpuarr lacks are absent, so a program run
under ``gpuarr.run_torch`` fails at the first use with an error that names them.

Example:
    >>> gpuarr.special.gammaln(gpuarr.tensor([5.0]))  # log(4!)
    tensor([3.1781])
"""

from __future__ import annotations

from .ops.activation import log_softmax, softmax
from .ops.elementwise import exp2, expm1, log1p, round, sigmoid
from .ops.reduction import logsumexp
from .ops.special import digamma, erf, erfinv, lgamma, polygamma, xlogy

__all__ = [
    "digamma", "erf", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p", "log_softmax",
    "logsumexp", "polygamma", "psi", "round", "softmax", "xlogy",
]

gammaln = lgamma
psi = digamma
expit = sigmoid
