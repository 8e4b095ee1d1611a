"""The gamma distribution ``Gamma(concentration, rate)``."""

from __future__ import annotations

import numbers

from .._tensor import Tensor
from ..ops.elementwise_extra import igamma
from ..ops.special import digamma, lgamma, xlogy
from . import constraints
from ._gamma_sampler import standard_gamma
from ._ops import finfo
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Gamma"]


class Gamma(Distribution):
    """Gamma distribution with shape ``concentration`` (alpha) and ``rate`` (beta):
    density ``beta^alpha x^(alpha-1) exp(-beta x) / Gamma(alpha)`` on ``x >= 0``.

    ``rsample`` is differentiable in both parameters; the gradient w.r.t. ``concentration``
    is the implicit reparameterisation gradient (see ``_gamma_sampler``).

    Example:
        >>> m = gpuarr.distributions.Gamma(gpuarr.tensor([2.0]), gpuarr.tensor([4.0]))
        >>> m.mean, m.variance
        (tensor([0.5000]), tensor([0.1250]))
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        scalar = isinstance(concentration, numbers.Number) and isinstance(rate, numbers.Number)
        super().__init__(() if scalar else self.concentration.shape,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Gamma:
        return self._expand_params(Gamma, batch_shape, _instance, ("concentration", "rate"))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        # keep samples positive where float underflow gave 0 (as torch)
        return value.clamp(min=float(finfo(value.dtype).tiny))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value)
                - self.rate * value - lgamma(self.concentration))

    def cdf(self, value) -> Tensor:
        """The regularised lower incomplete gamma function ``P(concentration, rate * value)``
        (differentiable in ``rate`` and ``value``, as torch's)."""
        if self._validate_args:
            self._validate_sample(value)
        return igamma(self.concentration, self.rate * value)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1.0 - a) * digamma(a)
