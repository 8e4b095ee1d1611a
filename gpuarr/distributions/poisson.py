"""The Poisson distribution ``Poisson(rate)``."""

from __future__ import annotations

import math
import numbers

from .._creation import arange
from .._tensor import Tensor
from ..ops.elementwise import where
from ..ops.sampling import poisson
from ..ops.special import lgamma, xlogy
from . import constraints
from ._ops import max_item, min_item
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Poisson"]


class Poisson(Distribution):
    """Poisson distribution: ``P(k) = rate^k exp(-rate) / k!`` for ``k = 0, 1, 2, ...``.

    Args:
        rate: the mean number of events, >= 0.

    Example:
        >>> m = gpuarr.distributions.Poisson(gpuarr.tensor([4.0]))
        >>> m.sample()          # e.g. tensor([3.])
        >>> m.log_prob(gpuarr.tensor([2.0])).exp()
        tensor([0.1465])
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch = () if isinstance(rate, numbers.Number) else self.rate.shape
        super().__init__(batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Poisson:
        return self._expand_params(Poisson, batch_shape, _instance, ("rate",))

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return poisson(self.rate.detach().expand(shape))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)

    def entropy(self) -> Tensor:
        """``-sum_k P(k) log P(k)``, summed over ``k`` up to far in the upper tail
        (``max(rate) + 12 sqrt(max(rate)) + 30``, where the remaining mass is < 1e-30) and
        starting just as far below the smallest rate.

        torch does not implement this one; the value matches ``scipy.stats.poisson.entropy``.
        """
        top, low = max_item(self.rate), min_item(self.rate)
        kmax = int(math.ceil(top + 12.0 * math.sqrt(top) + 30.0))
        # below min(rate) - 12 sqrt(min(rate)) - 30 the mass is also < 1e-30: skip it
        kmin = max(0, int(math.floor(low - 12.0 * math.sqrt(low) - 30.0)))
        k = arange(kmin, kmax + 1, dtype=self.rate.dtype, device=self.rate.device)
        k = k.reshape((-1,) + (1,) * self.rate.dim())
        logp = xlogy(k, self.rate) - self.rate - lgamma(k + 1)
        p = logp.exp()
        # 0 * log 0 = 0 (rate 0 puts all mass on k = 0)
        return -(p * where(p > 0, logp, 0.0 * p)).sum(0)
