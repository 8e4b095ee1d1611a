"""Small helpers the distributions need that have no public gpuarr equivalent.

Everything else (``matmul``, ``linalg.cholesky``, ``logsumexp``, ``tril``, ``diagonal``,
``all`` / ``any``, ``argmax``, ``nn.functional.softplus``) comes from the public ops.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._creation import tensor
from .._tensor import Tensor, _make
from ..ops.decompositions import _solve
from ..ops.elementwise import where

__all__ = [
    "is_all_true", "max_item", "min_item", "solve_triangular", "one_hot", "take_last", "finfo",
]


def finfo(dtype: D.dtype) -> np.finfo:
    """NumPy's float info for a gpuarr float dtype (eps, tiny, min, max)."""
    return np.finfo(dtype.np)


def max_item(t: Tensor) -> float:
    """The largest element as a Python float (0.0 for an empty tensor); no gradient."""
    if t.numel() == 0:
        return 0.0
    return float(t._device._xp().max(t._data))


def min_item(t: Tensor) -> float:
    """The smallest element as a Python float (0.0 for an empty tensor); no gradient."""
    if t.numel() == 0:
        return 0.0
    return float(t._device._xp().min(t._data))


def is_all_true(t: Tensor) -> bool:
    """True if every element of a bool tensor is True (one device sync)."""
    return bool(t._device._xp().all(t._data))


def solve_triangular(a: Tensor, b: Tensor, *, upper: bool = False) -> Tensor:
    """Solve ``a @ x = b`` reading only the lower (or upper) triangle of ``a``.

    ``b`` is always a stack of matrices (..., n, k) (never reinterpreted as a batch of vectors,
    unlike ``linalg.solve``); batch dims broadcast. Differentiable in both: the gradient of
    ``a`` lands on the triangle that was read, through ``tril`` / ``triu``.
    """
    return _solve(a.triu() if upper else a.tril(), b)


def one_hot(idx: Tensor, num_classes: int, dtype: D.dtype) -> Tensor:
    """One-hot encoding of integer ``idx`` along a new last dim, as ``dtype`` (no gradient).

    Unlike ``nn.functional.one_hot`` an out-of-range index gives an all-zero row instead of
    an error (values are validated against the support beforehand, when validation is on).
    """
    xp = idx._device._xp()
    ar = xp.arange(num_classes)
    return _make((idx._data[..., None] == ar).astype(dtype.np), idx._device)


def take_last(x: Tensor, idx: Tensor) -> Tensor:
    """``x[..., idx]`` per batch element: ``x`` (..., K), integer ``idx`` (...), broadcast.

    Differentiable in ``x`` (the gradient lands on the picked entries only).
    """
    mask = one_hot(idx, x.shape[-1], D.bool)
    zero = tensor(0.0, dtype=x.dtype, device=x.device)
    return where(mask, x, zero).sum(-1)
