"""The LKJ distribution over Cholesky factors of correlation matrices, ``LKJCholesky``."""

from __future__ import annotations

import math

import numpy as np

from .._creation import arange, tensor
from .._tensor import Size, Tensor
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import where
from ..ops.random import randn
from ..ops.special import lgamma
from ..ops.stacking import cat
from . import constraints
from ._ops import finfo
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


def _mvlgamma(a: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma ``log Gamma_p(a)``."""
    total = p * (p - 1) / 4 * math.log(math.pi)
    for j in range(p):
        total = total + lgamma(a - j / 2)
    return total


class LKJCholesky(Distribution):
    """LKJ distribution over lower Cholesky factors ``L`` of ``dim`` x ``dim`` correlation
    matrices ``L L^T`` (Lewandowski, Kurowicka and Joe, 2009): density proportional to
    ``det(L L^T)^(concentration - 1)``. Samples use the onion method (Beta marginals and
    uniform directions). Row ``k`` draws its squared norm from ``Beta(k / 2, ...)`` as in the
    paper; torch uses ``Beta(k - 1/2, ...)``, which is the same only for ``k = 1``, so its
    samples for ``dim >= 3`` are not LKJ distributed (their correlations' marginals are off).

    Raises:
        ValueError: if ``dim < 2``.

    Example:
        >>> l = gpuarr.distributions.LKJCholesky(3, 0.5).sample()
        >>> (l @ l.mT).diagonal()
        tensor([1., 1., 1.])
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(
                f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        c = self.concentration
        marginal_conc = c + 0.5 * (self.dim - 2)
        offset = arange(self.dim - 1, dtype=c.dtype, device=c.device)
        offset = cat([offset.new_zeros((1,)), offset])
        # row k >= 1 (offset k - 1): squared norm ~ Beta(k / 2, marginal - (k - 1) / 2)
        self._beta = Beta(0.5 * offset + 0.5, marginal_conc.unsqueeze(-1) - 0.5 * offset)
        super().__init__(c.shape, (dim, dim), validate_args)

    def expand(self, batch_shape, _instance=None) -> LKJCholesky:
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.dim = self.dim
        new.concentration = self.concentration.expand(tuple(batch_shape))
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()) -> Tensor:
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            shape = tuple(self._extended_shape(sample_shape))
            u = randn(shape, dtype=y.dtype, device=y.device).tril(-1)
            # row 0 has no below-diagonal entries: its direction is 0, not 0 / 0
            first_row = tensor(np.arange(self.dim)[:, None] == 0, device=y.device)
            norm = where(first_row, 1.0, (u * u).sum(-1, keepdim=True).sqrt())
            w = y.sqrt() * (u / norm)
            tiny = float(finfo(w.dtype).tiny)
            diag = (1 - (w * w).sum(-1)).clamp(min=tiny).sqrt()
            return w + diag.diag_embed()

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = arange(2, self.dim + 1, dtype=self.concentration.dtype,
                       device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalize = (0.5 * dm1 * math.log(math.pi) + _mvlgamma(alpha - 0.5, dm1)
                     - lgamma(alpha) * dm1)
        return unnormalized - normalize
