"""The beta distribution ``Beta(concentration1, concentration0)`` on ``[0, 1]``."""

from __future__ import annotations

import numbers

from .._tensor import Tensor
from ..ops.elementwise import where
from ..ops.special import digamma, lgamma, xlogy
from . import constraints
from ._gamma_sampler import standard_gamma
from ._ops import finfo
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Beta"]


class Beta(Distribution):
    """Beta distribution: density ``x^(a-1) (1-x)^(b-1) / B(a, b)`` with
    ``a = concentration1``, ``b = concentration0`` (both > 0).

    Samples are ``X / (X + Y)`` with ``X ~ Gamma(a)``, ``Y ~ Gamma(b)``; ``rsample`` is
    differentiable in both concentrations through the gamma draws.

    Example:
        >>> m = gpuarr.distributions.Beta(gpuarr.tensor([2.0]), gpuarr.tensor([3.0]))
        >>> m.mean
        tensor([0.4000])
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        scalar = (isinstance(concentration1, numbers.Number)
                  and isinstance(concentration0, numbers.Number))
        super().__init__(() if scalar else self.concentration1.shape,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Beta:
        return self._expand_params(Beta, batch_shape, _instance,
                                   ("concentration1", "concentration0"))

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        """``(a-1)/(a+b-2)`` when both exceed 1; 0 or 1 at a J-shaped edge; NaN when both
        are <= 1 (the density is U-shaped or flat)."""
        a, b = self.concentration1, self.concentration0
        inner = (a - 1) / (a + b - 2)
        m = where((a > 1) & (b > 1), inner, float("nan") * a)
        m = where((a <= 1) & (b > 1), 0.0 * a, m)
        return where((a > 1) & (b <= 1), 0.0 * a + 1, m)

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        x = standard_gamma(self.concentration1.expand(shape))
        y = standard_gamma(self.concentration0.expand(shape))
        info = finfo(x.dtype)
        tiny = float(info.tiny)
        # tiny concentrations can underflow both draws to 0: keep the ratio defined
        x, y = x.clamp(min=tiny), y.clamp(min=tiny)
        return (x / (x + y)).clamp(min=tiny, max=1 - float(info.eps))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (xlogy(a - 1.0, value) + xlogy(b - 1.0, 1.0 - value)
                + lgamma(a + b) - lgamma(a) - lgamma(b))

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (lgamma(a) + lgamma(b) - lgamma(total) - (2.0 - total) * digamma(total)
                - (a - 1.0) * digamma(a) - (b - 1.0) * digamma(b))
