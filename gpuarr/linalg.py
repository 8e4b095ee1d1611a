"""``gpuarr.linalg``: torch.linalg's namespace over the decompositions in
:mod:`gpuarr.ops.decompositions` (norms, ``inv``, ``solve``, ``det``, ``slogdet``, ``svd``,
``eigh``, ``cholesky``, ``cross``, ``multi_dot``, ``vecdot``, ``matmul``) and the general
eigendecomposition (``eig``, ``eigvals``: complex results) in :mod:`gpuarr.ops.linalg_eig`.

Example:
    >>> gpuarr.linalg.det(gpuarr.eye(3))
    tensor(1.)
"""

from __future__ import annotations

from .ops import decompositions as _base
from .ops import decompositions_extra as _extra
from .ops import linalg_eig as _eig
from .ops.decompositions import *  # noqa: F403

# torch's result types under the names gpuarr.linalg has given them
from .ops.decompositions import EighResult as EighResult
from .ops.decompositions import SlogdetResult as SlogdetResult
from .ops.decompositions import SVDResult as SVDResult
from .ops.decompositions_extra import *  # noqa: F403
from .ops.linalg_eig import *  # noqa: F403
from .ops.linalg_eig import EigResult as EigResult

__all__ = [*_base.__all__, *_extra.__all__, *_eig.__all__]
