"""The exponential distribution ``Exponential(rate)``."""

from __future__ import annotations

import numbers

from .._creation import empty, zeros_like
from .._tensor import Tensor
from ..ops.sampling import exponential_
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Exponential"]


class Exponential(Distribution):
    """Exponential distribution with density ``rate * exp(-rate * x)`` on ``x >= 0``.

    Args:
        rate: ``1 / mean``, > 0 (number or tensor).

    Example:
        >>> m = gpuarr.distributions.Exponential(gpuarr.tensor([2.0]))
        >>> m.mean
        tensor([0.5000])
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch = () if isinstance(rate, numbers.Number) else self.rate.shape
        super().__init__(batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Exponential:
        return self._expand_params(Exponential, batch_shape, _instance, ("rate",))

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.rate)

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()) -> Tensor:
        """``E / rate`` with ``E ~ Exp(1)``: differentiable in rate."""
        shape = self._extended_shape(sample_shape)
        e = exponential_(empty(tuple(shape), dtype=self.rate.dtype, device=self.rate.device))
        return e / self.rate

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value) -> Tensor:
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()
