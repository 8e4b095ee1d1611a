"""``gumbel_softmax``."""

from __future__ import annotations

import warnings

from ..._creation import empty_like, zeros_like
from ..._tensor import Tensor
from ._utils import check_tensor

__all__ = ["gumbel_softmax"]


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A sample of the Gumbel-softmax distribution: ``softmax((logits + g) / tau, dim)`` with
    ``g`` standard Gumbel noise drawn from gpuarr's generator.

    Args:
        logits: unnormalised log-probabilities.
        tau: temperature; lower is closer to one-hot.
        hard: return one-hot vectors (at the soft sample's argmax along ``dim``) whose
            gradient is the soft sample's (straight-through estimator).
        eps: deprecated, ignored (as torch).
        dim: the dim the distribution runs along.

    Returns:
        A tensor shaped like ``logits``, summing to 1 along ``dim``.

    Example:
        >>> y = F.gumbel_softmax(gpuarr.zeros(2, 4), hard=True)
        >>> y.sum(-1)
        tensor([1., 1.])
    """
    check_tensor(logits, "logits", "gumbel_softmax")
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    # -log(Exp(1)) is Gumbel(0, 1)
    gumbels = -empty_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
