"""More of torch.linalg: qr, lstsq, pinv, matrix_rank, matrix_power, matrix_exp, solve_triangular,
lu_factor, lu, lu_solve, cond and the *_ex forms.
"""

from __future__ import annotations

__all__: list[str] = []
