"""One-hot categorical distributions: ``OneHotCategorical`` (defined with ``Categorical``) and
``OneHotCategoricalStraightThrough``."""

from __future__ import annotations

from .._tensor import Tensor
from .categorical import OneHotCategorical

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """:class:`OneHotCategorical` with a straight-through ``rsample`` (Bengio et al., 2013):
    the value is a one-hot sample, the gradient is that of ``probs``.

    Example:
        >>> p = gpuarr.tensor([0.2, 0.8], requires_grad=True)
        >>> d = gpuarr.distributions.OneHotCategoricalStraightThrough(probs=p)
        >>> (d.rsample() * gpuarr.tensor([1.0, 2.0])).sum().backward()   # p.grad is set
    """

    has_rsample = True

    def rsample(self, sample_shape=()) -> Tensor:
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
