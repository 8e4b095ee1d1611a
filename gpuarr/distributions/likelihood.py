"""Likelihood in the course's sense: how probable observed data are under a distribution.

For independent observations ``x_1 .. x_n`` the likelihood is the product of their
probabilities (densities), so its log is the sum ``d.log_prob(x).sum()``. Fitting a model by
maximum likelihood means maximising that sum over the parameters, e.g. with autograd.
"""

from __future__ import annotations

from .._tensor import Tensor
from .distribution import Distribution

__all__ = ["log_likelihood"]


def log_likelihood(distribution: Distribution, data: Tensor) -> Tensor:
    """The log-likelihood ``sum_i log p(x_i)`` of observations ``data`` under ``distribution``.

    Args:
        distribution: any distribution; its parameters may require grad.
        data: observations, shaped ``(n,) + batch_shape + event_shape`` (or broadcastable).

    Returns:
        A 0-d tensor, differentiable w.r.t. the distribution's parameters.

    Example:
        >>> from gpuarr.distributions import Categorical, log_likelihood
        >>> logits = gpuarr.zeros(3, requires_grad=True)
        >>> data = gpuarr.tensor([0, 2, 2, 1, 2])
        >>> (-log_likelihood(Categorical(logits=logits), data)).backward()
        >>> logits.grad   # n * probs - counts: descent moves probs toward the frequencies
        tensor([ 0.6667,  0.6667, -1.3333])
    """
    return distribution.log_prob(data).sum()
