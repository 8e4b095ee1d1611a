"""Probability distributions with PyTorch's ``torch.distributions`` API.

Each distribution has ``sample(sample_shape)``, ``log_prob(value)``, ``entropy()``, ``mean``,
``variance``, ``stddev``, ``support``, ``arg_constraints``, ``batch_shape``, ``event_shape``
and ``expand``; the continuous ones with ``has_rsample`` have a differentiable
(reparameterised) ``rsample``. Parameters are validated when a distribution is built, with
``ValueError`` for invalid values (negative scales, probabilities outside [0, 1], ...).
``kl_divergence(p, q)`` gives closed-form KL divergences.

Many families are built from others by :mod:`~gpuarr.distributions.transforms` (invertible
maps with log-det-Jacobians) through :class:`TransformedDistribution` (``LogNormal`` is
``Normal`` pushed through ``ExpTransform``); :class:`Independent` turns batch dims into event
dims; ``biject_to`` / ``transform_to`` (:mod:`~gpuarr.distributions.constraint_registry`)
map unconstrained tensors onto a constraint, for optimising constrained parameters.

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

from . import constraint_registry, constraints, transforms
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical, OneHotCategorical
from .cauchy import Cauchy
from .chi2 import Chi2
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .fishersnedecor import FisherSnedecor
from .gamma import Gamma
from .generalized_pareto import GeneralizedPareto
from .geometric import Geometric
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .independent import Independent
from .inverse_gamma import InverseGamma
from .kl import kl_divergence, register_kl
from .kumaraswamy import Kumaraswamy
from .laplace import Laplace
from .lkj_cholesky import LKJCholesky
from .likelihood import log_likelihood
from .log_normal import LogNormal
from .logistic_normal import LogisticNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .negative_binomial import NegativeBinomial
from .normal import Normal
from .one_hot_categorical import OneHotCategoricalStraightThrough
from .pareto import Pareto
from .poisson import Poisson
from .relaxed_bernoulli import RelaxedBernoulli
from .relaxed_categorical import RelaxedOneHotCategorical
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F403
from .uniform import Uniform
from .von_mises import VonMises
from .weibull import Weibull
from .wishart import Wishart

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ContinuousBernoulli",
    "Dirichlet", "Distribution", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
    "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent",
    "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal",
    "LowRankMultivariateNormal",
    "MixtureSameFamily", "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal",
    "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
    "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT", "TransformedDistribution",
    "Uniform", "VonMises", "Weibull", "Wishart", "constraints", "kl_divergence", "log_likelihood",
    "biject_to", "constraint_registry", "register_kl", "transform_to", "transforms",
]
__all__.extend(transforms.__all__)
