"""The chi-squared distribution ``Chi2(df)`` (``Gamma(df / 2, 1 / 2)``)."""

from __future__ import annotations

from .._tensor import Tensor
from . import constraints
from .gamma import Gamma

__all__ = ["Chi2"]


class Chi2(Gamma):
    """Chi-squared with ``df`` degrees of freedom: ``Gamma(concentration=df/2, rate=1/2)``.

    Example:
        >>> gpuarr.distributions.Chi2(gpuarr.tensor([4.0])).mean
        tensor([4.])
    """

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> Chi2:
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, new)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
