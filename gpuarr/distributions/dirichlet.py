"""The Dirichlet distribution ``Dirichlet(concentration)`` on the simplex."""

from __future__ import annotations

from .._tensor import Tensor
from ..ops.elementwise import where
from ..ops.special import digamma, lgamma, xlogy
from . import constraints
from ._gamma_sampler import standard_gamma
from ._ops import finfo, one_hot
from .exp_family import ExponentialFamily

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """Dirichlet distribution with ``concentration`` (last dim K, all > 0): density
    ``prod x_i^(a_i - 1) / B(a)`` on the (K-1)-simplex.

    Samples are normalised gamma draws ``G / G.sum(-1)``; ``rsample`` is differentiable in
    ``concentration`` through the gamma draws' implicit reparameterisation gradient.

    Raises:
        ValueError: if ``concentration`` is 0-d.

    Example:
        >>> gpuarr.distributions.Dirichlet(gpuarr.tensor([1.0, 3.0])).mean
        tensor([0.2500, 0.7500])
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Dirichlet:
        new = self._get_checked_instance(Dirichlet, _instance)
        new.concentration = self.concentration.expand(tuple(batch_shape)
                                                      + tuple(self.event_shape))
        ExponentialFamily.__init__(new, tuple(batch_shape), self.event_shape,
                                   validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        g = standard_gamma(self.concentration.expand(shape))
        # tiny concentrations can underflow every draw of a row to 0: keep the ratio defined
        g = g.clamp(min=float(finfo(g.dtype).tiny))
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return xlogy(a - 1.0, value).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Tensor:
        """``(a - 1) / sum(a - 1)`` over the entries above 1; where every ``a_i < 1`` the
        density is unbounded at each vertex: the vertex of the largest ``a_i`` is returned."""
        a = self.concentration
        am1 = (a - 1).clamp(min=0.0)
        mode = am1 / am1.sum(-1, True)
        vertex = one_hot(a.detach().argmax(-1), a.shape[-1], a.dtype)
        return where((a < 1).all(-1, keepdim=True), vertex, mode)

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        con0 = a.sum(-1, True)
        return a * (con0 - a) / (con0.pow(2) * (con0 + 1))

    def entropy(self) -> Tensor:
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return (lgamma(a).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0)
                - ((a - 1.0) * digamma(a)).sum(-1))

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x):
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))
