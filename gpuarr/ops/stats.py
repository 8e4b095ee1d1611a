"""Statistics and scans: quantile/nanquantile, mode, logcumsumexp, cov/corrcoef, histogram, dist,
renorm, trapezoid, gradient.
"""

from __future__ import annotations

from ._registry import mixin, register

__all__: list[str] = []

register(__name__, {})

StatisticsMethods = mixin("StatisticsMethods", __name__)
