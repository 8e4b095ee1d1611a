"""The multivariate normal distribution ``MultivariateNormal(loc, covariance_matrix= |
precision_matrix= | scale_tril=)``."""

from __future__ import annotations

import math

import numpy as np

from .._creation import eye
from .._tensor import Tensor
from ..linalg import cholesky, inv
from ..ops.random import randn
from . import constraints
from ._ops import solve_triangular
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]


def _batch_mv(bmat: Tensor, bvec: Tensor) -> Tensor:
    """Matrix-vector products with broadcast batch dims: (..., n, n) x (..., n) -> (..., n)."""
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(L: Tensor, x: Tensor) -> Tensor:
    """``x^T (L L^T)^-1 x`` for a lower-triangular factor ``L``; batch dims broadcast."""
    y = solve_triangular(L, x.unsqueeze(-1))
    return (y * y).sum((-2, -1))


def _half_log_det(L: Tensor) -> Tensor:
    """``log det(L L^T) / 2`` for a lower-triangular factor ``L`` with a positive diagonal."""
    return L.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _sym(a: Tensor) -> Tensor:
    return 0.5 * (a + a.transpose(-2, -1))


class MultivariateNormal(Distribution):
    """Multivariate normal with mean vector ``loc`` and one of: a positive-definite
    ``covariance_matrix``, a positive-definite ``precision_matrix``, or a lower-triangular
    ``scale_tril`` with positive diagonal (covariance ``scale_tril @ scale_tril.mT``).

    All computations use the Cholesky factor; ``rsample`` is ``loc + L @ eps`` and is
    differentiable in ``loc`` and in whichever matrix was given.

    Example:
        >>> m = gpuarr.distributions.MultivariateNormal(gpuarr.zeros(2), gpuarr.eye(2))
        >>> m.sample()          # e.g. tensor([-0.2102, -0.5429])
        >>> m.entropy()
        tensor(2.8379)
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args: bool | None = None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        name, mat = next((n, m) for n, m in zip(
            ("scale_tril", "covariance_matrix", "precision_matrix"),
            (scale_tril, covariance_matrix, precision_matrix)) if m is not None)
        if mat.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        if mat.shape[-1] != mat.shape[-2] or mat.shape[-1] != loc.shape[-1]:
            raise ValueError(
                f"{name} must be square with the size of loc's last dim, got {name} of shape "
                f"{tuple(mat.shape)} and loc of shape {tuple(loc.shape)}"
            )
        batch_shape = np.broadcast_shapes(tuple(mat.shape[:-2]), tuple(loc.shape[:-1]))
        setattr(self, name, mat.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = cholesky(_sym(inv(precision_matrix)))

    def expand(self, batch_shape, _instance=None) -> MultivariateNormal:
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = tuple(batch_shape)
        ev = tuple(self.event_shape)
        new.loc = self.loc.expand(batch_shape + ev)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(batch_shape + ev + ev))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _full(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._full())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return (L @ L.transpose(-2, -1)).expand(self._full())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        n = L.shape[-1]
        linv = solve_triangular(L, eye(n, dtype=L.dtype, device=L.device))
        return (linv.transpose(-2, -1) @ linv).expand(self._full())

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        v = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return v.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        eps = randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        L = self._unbroadcasted_scale_tril
        m = _batch_mahalanobis(L, value - self.loc)
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + m) - _half_log_det(L)

    def entropy(self) -> Tensor:
        k = self._event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi))
        h = h + _half_log_det(self._unbroadcasted_scale_tril)
        return h if len(self._batch_shape) == 0 else h.expand(tuple(self._batch_shape))
