"""Categorical distributions: ``Categorical`` (indices) and ``OneHotCategorical`` (one-hot)."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._creation import arange, eye, zeros
from .._tensor import Size, Tensor
from ..autograd.grad_mode import no_grad
from ..ops.sampling import multinomial
from . import constraints
from ._ops import finfo, one_hot, take_last
from .distribution import Distribution
from .utils import as_size, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical", "OneHotCategorical"]


class Categorical(Distribution):
    """A distribution over ``{0, ..., K-1}`` given by ``probs`` or ``logits`` (last dim K).

    ``probs`` must be non-negative and finite with a positive sum; they are normalised to sum
    to 1 along the last dim (``probs`` returns the normalised values). ``logits`` are
    unnormalised log-probabilities, normalised the same way. Leading dims are a batch.

    Example:
        >>> m = gpuarr.distributions.Categorical(probs=gpuarr.tensor([0.25, 0.25, 0.5]))
        >>> m.sample((4,))      # e.g. tensor([2, 0, 2, 1])
        >>> m.log_prob(gpuarr.tensor(2)).exp()
        tensor(0.5000)
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            with np.errstate(invalid="ignore", divide="ignore"):  # all-zero rows: NaN, rejected
                self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch = self._param.shape[:-1] if self._param.dim() > 1 else ()
        super().__init__(batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Categorical:
        new = self._expand_params(Categorical, batch_shape, _instance, ("probs", "logits"),
                                  (self._num_events,))
        new._num_events = self._num_events
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> Size:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        """Undefined for categories (NaN), as in torch."""
        return self._nan_full(self.probs)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    @property
    def variance(self) -> Tensor:
        """Undefined for categories (NaN), as in torch."""
        return self._nan_full(self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        sample_shape = as_size(sample_shape)
        with no_grad():
            probs_2d = self.probs.detach().reshape(-1, self._num_events)
            n = sample_shape.numel()
            if n == 0 or probs_2d.shape[0] == 0:
                return zeros(tuple(self._extended_shape(sample_shape)), dtype=D.int64,
                             device=self._param.device)
            samples_2d = multinomial(probs_2d, n, True).transpose(0, 1)
            return samples_2d.reshape(tuple(self._extended_shape(sample_shape)))

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return take_last(self.logits, value.long())

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=float(finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = arange(self._num_events, dtype=D.int64, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values


class OneHotCategorical(Distribution):
    """Like :class:`Categorical`, but samples are one-hot vectors of length K (event shape
    ``(K,)``) in the dtype of ``probs``.

    Example:
        >>> m = gpuarr.distributions.OneHotCategorical(probs=gpuarr.tensor([0.2, 0.8]))
        >>> m.sample()          # e.g. tensor([0., 1.])
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> OneHotCategorical:
        new = self._get_checked_instance(OneHotCategorical, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, tuple(batch_shape), self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def _param(self) -> Tensor:
        return self._categorical._param

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return self._categorical.probs

    @property
    def mode(self) -> Tensor:
        probs = self._categorical.probs
        return one_hot(probs.argmax(-1), probs.shape[-1], probs.dtype)

    @property
    def variance(self) -> Tensor:
        p = self._categorical.probs
        return p * (1 - p)

    def sample(self, sample_shape=()) -> Tensor:
        probs = self._categorical.probs
        indices = self._categorical.sample(sample_shape)
        return one_hot(indices, self._categorical._num_events, probs.dtype)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self.event_shape[0]
        values = eye(n, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        if expand:
            values = values.expand((n,) + tuple(self.batch_shape) + (n,))
        return values
