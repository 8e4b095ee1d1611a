"""The binomial distribution ``Binomial(total_count, probs= | logits=)``."""

from __future__ import annotations

from .._creation import arange
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import where
from ..ops.sampling import binomial
from ..ops.special import lgamma
from . import constraints
from ._ops import max_item, min_item
from .distribution import Distribution
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Binomial"]


def _clamp_by_zero(x: Tensor) -> Tensor:
    # max(x, 0) with gradient 1/2 at 0 (as torch)
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(Distribution):
    """Number of successes in ``total_count`` independent trials with success probability
    ``probs`` (or log-odds ``logits``).

    Args:
        total_count: number of trials (non-negative whole number or tensor of them).
        probs: success probability in [0, 1] (give this or ``logits``).
        logits: log-odds of success.

    Example:
        >>> m = gpuarr.distributions.Binomial(10, gpuarr.tensor([0.5]))
        >>> m.mean, m.variance
        (tensor([5.]), tensor([2.5000]))
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Binomial:
        return self._expand_params(Binomial, batch_shape, _instance,
                                   ("total_count", "probs", "logits"))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            return binomial(self.total_count.detach().expand(shape),
                            self.probs.detach().expand(shape))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._log_prob(value)

    def _log_prob(self, value) -> Tensor:
        n, logits = self.total_count, self.logits
        log_factorial_n = lgamma(n + 1)
        log_factorial_k = lgamma(value + 1)
        log_factorial_nmk = lgamma(n - value + 1)
        # n * log(1 + exp(logits)), computed without overflow
        normalize_term = (n * _clamp_by_zero(logits) + n * (-logits.abs()).exp().log1p()
                          - log_factorial_n)
        return value * logits - log_factorial_k - log_factorial_nmk - normalize_term

    def _homogeneous_count(self, what: str) -> int:
        top = int(max_item(self.total_count))
        if min_item(self.total_count) != top:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return top

    def entropy(self) -> Tensor:
        """Exact entropy ``-sum_k P(k) log P(k)`` by summing over ``k = 0 .. total_count``.

        Unlike torch, batches with different ``total_count`` values are supported: each
        member sums over its own support.
        """
        top = int(max_item(self.total_count))
        k = arange(top + 1, dtype=self._param.dtype, device=self._param.device)
        k = k.reshape((-1,) + (1,) * len(self._batch_shape))
        inside = k <= self.total_count
        # score k = 0 outside a member's support so that no inf/NaN reaches the gradient
        log_prob = self._log_prob(where(inside, k, 0.0 * k))
        terms = where(inside, log_prob.exp() * log_prob, 0.0 * log_prob)
        return -terms.sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        total = self._homogeneous_count("enumerate_support")
        values = arange(1 + total, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
