"""``ExponentialFamily``: base class of distributions with density
``exp(<t(x), theta> - F(theta) + k(x))``."""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd import grad
from ..autograd.grad_mode import enable_grad
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Base class of exponential-family distributions: density
    ``p(x; theta) = exp(<t(x), theta> - F(theta) + k(x))`` with natural parameters ``theta``
    (``_natural_params``), log normaliser ``F`` (``_log_normalizer``) and carrier measure
    ``k`` (``_mean_carrier_measure`` is ``E[k(x)]``).

    With those three, ``entropy()`` is the Bregman form ``F(theta) - <theta, grad F(theta)>
    - E[k(x)]`` (gradients by autograd), and ``kl_divergence`` between two members of the
    same family is the Bregman divergence of ``F``.
    """

    @property
    def _natural_params(self) -> tuple:
        """The natural parameters ``theta`` (a tuple of tensors)."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params) -> Tensor:
        """The log normaliser ``F(theta)``."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> float:
        """``E[k(x)]``, the expected carrier measure."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """The entropy by the Bregman identity (autograd through ``_log_normalizer``)."""
        result = -self._mean_carrier_measure
        with enable_grad():
            nparams = [p.detach().requires_grad_() for p in self._natural_params]
            lg_normal = self._log_normalizer(*nparams)
            gradients = grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for p, g in zip(nparams, gradients):
            result = result - (p * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
