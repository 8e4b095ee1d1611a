"""More elementwise math: logaddexp, hypot, fmax/fmin, logit, sinc, heaviside, gcd/lcm, ldexp/frexp
and torch's aliases and in-place spellings of the elementwise ops.
"""

from __future__ import annotations

from ._registry import mixin, register

__all__: list[str] = []

register(__name__, {})

ElementwiseExtraMethods = mixin("ElementwiseExtraMethods", __name__)
