"""torch's top-level linear algebra not in matmul.py: cholesky, qr, svd, pinverse, matrix_power,
matrix_exp, lu, triangular_solve, addr, addbmm and the in-place matmul forms.
"""

from __future__ import annotations

from ._registry import mixin, register

__all__: list[str] = []

register(__name__, {})

LinalgExtraMethods = mixin("LinalgExtraMethods", __name__)
