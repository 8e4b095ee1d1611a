"""The multinomial distribution ``Multinomial(total_count=1, probs= | logits=)``."""

from __future__ import annotations

from .._creation import tensor
from .._tensor import Size, Tensor
from ..ops.elementwise import where
from ..ops.special import lgamma
from . import constraints
from ._ops import one_hot
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution
from .utils import as_size, broadcast_all

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts of ``total_count`` draws from a categorical over ``K`` classes (event shape
    ``(K,)``, in the dtype of ``probs``).

    Args:
        total_count: the number of draws (an int; only ``log_prob`` allows other totals).
        probs: class probabilities (normalised along the last dim), or ``logits``.

    Raises:
        NotImplementedError: if ``total_count`` is not an int (as torch).

    Example:
        >>> m = gpuarr.distributions.Multinomial(10, gpuarr.tensor([1.0, 1.0, 2.0]))
        >>> m.sample()          # e.g. tensor([3., 2., 5.])
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Multinomial:
        new = self._get_checked_instance(Multinomial, _instance)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = Binomial(total_count=self.total_count, probs=new.probs,
                                 validate_args=False)
        Distribution.__init__(new, tuple(batch_shape), self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        sample_shape = as_size(sample_shape)
        idx = self._categorical.sample((self.total_count,) + tuple(sample_shape))
        # one-hot each draw and add the draws up: the counts per class
        counts = one_hot(idx, self._categorical._num_events, self.probs.dtype).sum(0)
        return counts.reshape(tuple(self._extended_shape(sample_shape)))

    def entropy(self) -> Tensor:
        n = tensor(float(self.total_count), dtype=self.probs.dtype, device=self.probs.device)
        term1 = n * self._categorical.entropy() - lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = lgamma(support + 1)
        return term1 + (binomial_probs * weights).sum((0, -1))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = lgamma(value.sum(-1) + 1)
        log_factorial_xs = lgamma(value + 1).sum(-1)
        # a class of probability 0 drawn 0 times contributes 0 * (-inf) = 0
        logits = where((value == 0) & (logits == -float("inf")), 0.0, logits)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)
