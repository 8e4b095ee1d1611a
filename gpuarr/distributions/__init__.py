"""Probability distributions with PyTorch's ``torch.distributions`` API.

Each distribution has ``sample(sample_shape)``, ``log_prob(value)``, ``entropy()``, ``mean``,
``variance``, ``stddev``, ``support``, ``arg_constraints``, ``batch_shape``, ``event_shape``
and ``expand``; the continuous ones with ``has_rsample`` have a differentiable
(reparameterised) ``rsample``. Parameters are validated when a distribution is built, with
``ValueError`` for invalid values (negative scales, probabilities outside [0, 1], ...).
``kl_divergence(p, q)`` gives closed-form KL divergences.

The log-likelihood of observed data ``x`` under a distribution ``d`` is
``d.log_prob(x).sum()``; maximising it with autograd fits the parameters.

Example:
    >>> from gpuarr.distributions import Normal
    >>> loc = gpuarr.zeros((), requires_grad=True)
    >>> data = gpuarr.tensor([1.0, 2.0, 3.0])
    >>> nll = -Normal(loc, 1.0).log_prob(data).sum()
    >>> nll.backward()      # loc.grad == -(sum of data - 3 * loc) == -6
"""

from __future__ import annotations

from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .kl import kl_divergence, register_kl
from .likelihood import log_likelihood
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Distribution", "Exponential", "Gamma",
    "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson", "Uniform", "constraints",
    "kl_divergence", "log_likelihood", "register_kl",
]
