"""The Wishart distribution ``Wishart(df, covariance_matrix= | precision_matrix= |
scale_tril=)`` over positive-definite matrices."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .._creation import arange, eye, tensor
from .._tensor import Size, Tensor
from ..linalg import cholesky, inv, slogdet
from ..ops.elementwise import where
from ..ops.random import randn
from ..ops.special import digamma
from . import constraints
from ._ops import finfo, is_all_true, solve_triangular
from .chi2 import Chi2
from .exp_family import ExponentialFamily
from .lkj_cholesky import _mvlgamma
from .utils import lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma ``sum_j digamma(x - j / 2)``, ``j < p``."""
    if not is_all_true(x > (p - 1) / 2):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    half = arange(p, dtype=x.dtype, device=x.device) / 2
    return digamma(x.unsqueeze(-1) - half).sum(-1)


def _cholesky_solve(b: Tensor, L: Tensor) -> Tensor:
    """``(L L^T)^-1 b`` for lower-triangular ``L``."""
    return solve_triangular(L.mT, solve_triangular(L, b), upper=True)


class Wishart(ExponentialFamily):
    """Wishart distribution with ``df`` degrees of freedom and scale matrix ``V`` given by
    ``covariance_matrix``, ``precision_matrix`` (``V^-1``) or ``scale_tril`` (Cholesky factor
    of ``V``): the distribution of ``sum_k x_k x_k^T`` with ``x_k ~ N(0, V)``.

    ``rsample`` uses the Bartlett decomposition (chi-squared diagonal, normal lower triangle),
    differentiable in ``df`` and the scale; samples that come out singular in floating point
    (likely when ``df < p``) are redrawn up to ``max_try_correction`` times.

    Raises:
        AssertionError: if not exactly one matrix parameter is given (as torch).
        ValueError: for a matrix below 2-d or ``df <= p - 1``.

    Example:
        >>> w = gpuarr.distributions.Wishart(gpuarr.tensor(5.0), gpuarr.eye(2))
        >>> w.mean
        tensor([[5., 0.],
                [0., 5.]])
    """

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self) -> dict:
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args: bool | None = None) -> None:
        given = [m is not None for m in (covariance_matrix, scale_tril, precision_matrix)]
        if sum(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        param = next(m for m in (covariance_matrix, precision_matrix, scale_tril)
                     if m is not None)
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if isinstance(df, numbers.Number):
            batch_shape = tuple(param.shape[:-2])
            self.df = tensor(float(df), dtype=param.dtype, device=param.device)
        else:
            batch_shape = np.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape))
            self.df = df.expand(batch_shape)
        event_shape = tuple(param.shape[-2:])
        p = event_shape[-1]
        if not is_all_true(self.df > p - 1):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        name = ("scale_tril" if scale_tril is not None else "covariance_matrix"
                if covariance_matrix is not None else "precision_matrix")
        setattr(self, name, param.expand(batch_shape + (-1, -1)))
        if not is_all_true(self.df >= p):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur "
                          "for ndim - 1 < df < ndim.", stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            inverse = inv(precision_matrix)
            self._unbroadcasted_scale_tril = cholesky(0.5 * (inverse + inverse.mT))
        self._dist_chi2 = self._chi2(self.df, batch_shape)

    def _chi2(self, df: Tensor, batch_shape) -> Chi2:
        """Chi2(df - i), i < p: the squared Bartlett diagonal."""
        p = self._event_shape[-1]
        lt = self._unbroadcasted_scale_tril
        offsets = arange(p, dtype=lt.dtype, device=lt.device).expand(tuple(batch_shape) + (-1,))
        return Chi2(df=df.unsqueeze(-1) - offsets)

    def expand(self, batch_shape, _instance=None) -> Wishart:
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = Size(tuple(batch_shape))
        cov_shape = tuple(batch_shape) + tuple(self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(tuple(batch_shape))
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        ExponentialFamily.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._dist_chi2 = new._chi2(new.df, batch_shape)
        new._validate_args = self._validate_args
        return new

    def _full(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._full())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        lt = self._unbroadcasted_scale_tril
        return (lt @ lt.mT).expand(self._full())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        lt = self._unbroadcasted_scale_tril
        identity = eye(self._event_shape[-1], dtype=lt.dtype, device=lt.device)
        return _cholesky_solve(identity, lt).expand(self._full())

    def _df_matrix(self) -> Tensor:
        return self.df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self) -> Tensor:
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """``(df - p - 1) V``; NaN where ``df <= p + 1`` (no mode inside the cone)."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = where(factor <= 0, math.nan, factor)
        return factor.reshape(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        v = self.covariance_matrix
        diag = v.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (v.pow(2) + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape) -> Tensor:
        p = self._event_shape[-1]
        eps = float(finfo(self._unbroadcasted_scale_tril.dtype).eps)
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=eps)
        lower = randn(tuple(sample_shape) + tuple(self._batch_shape) + (p, p),
                      dtype=diag.dtype, device=diag.device).tril(-1)
        chol = self._unbroadcasted_scale_tril @ (lower + diag.diag_embed())
        return chol @ chol.mT

    def rsample(self, sample_shape=(), max_try_correction=None) -> Tensor:
        # torch starts its retry loop from support.check(sample) without negating it (so it
        # redraws the good samples and warns); here the singular ones are redrawn
        max_try_correction = 10 if max_try_correction is None else max_try_correction
        sample_shape = tuple(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        singular = ~self.support.check(sample.detach())
        if not bool(singular.any()):
            return sample
        warnings.warn("Singular sample detected.", stacklevel=2)
        for _ in range(max_try_correction):
            redraw = self._bartlett_sampling(sample_shape)
            sample = where(singular.unsqueeze(-1).unsqueeze(-1), redraw, sample)
            singular = ~self.support.check(sample.detach())
            if not bool(singular.any()):
                break
        return sample

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        lt = self._unbroadcasted_scale_tril
        half_log_det = lt.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = _cholesky_solve(value, lt).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det) - _mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * slogdet(value).logabsdet - trace / 2)

    def entropy(self) -> Tensor:
        nu = self.df
        p = self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det) + _mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self) -> tuple:
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y) -> Tensor:
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-slogdet(-2 * x).logabsdet + _LOG_2 * p)
                + _mvlgamma(y + (p + 1) / 2, p))
