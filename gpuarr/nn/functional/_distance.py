"""``pairwise_distance`` and ``pdist``: p-norms of differences, built on ``vector_norm`` (so
both are differentiable, twice, on every device)."""

from __future__ import annotations

import numpy as np

from ..._tensor import Tensor, _make
from ...ops.decompositions import vector_norm
from ._utils import check_tensor

__all__ = ["pairwise_distance", "pdist"]


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dim of the broadcast inputs.

    Args:
        x1, x2: broadcastable tensors, ``(N, D)`` or ``(D,)`` typically.
        p: the norm degree (any number, negative, 0 and ``inf`` included).
        eps: added to every difference, so a negative ``p`` never divides by zero.
        keepdim: keep the reduced dim with size 1.

    Returns:
        ``(N,)`` (or ``()``) distances; ``(N, 1)`` with ``keepdim``.

    Example:
        >>> F.pairwise_distance(gpuarr.randn(4, 8), gpuarr.randn(4, 8))
    """
    check_tensor(x1, "x1", "pairwise_distance")
    check_tensor(x2, "x2", "pairwise_distance")
    # the innermost dim of the broadcast difference: either input may be the one broadcast
    d = x1 - x2 + eps
    return vector_norm(d, p, -1 if d.ndim else None, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The ``p``-norm distance between every pair of rows of ``input``.

    Args:
        input: ``(N, M)`` floating tensor.
        p: the norm degree, ``>= 0`` (``inf`` included).

    Returns:
        ``(N * (N - 1) / 2,)``: the distances of the pairs ``(i, j)``, ``i < j``, in row-major
        order (the upper triangle of the full distance matrix, without its diagonal).

    Example:
        >>> F.pdist(gpuarr.randn(5, 3)).shape
        gpuarr.Size([10])
    """
    check_tensor(input, "input", "pdist")
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if input._data.dtype.kind != "f":
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    # the pair indices depend on the shape only: built on the host, copied over once
    rows, cols = np.triu_indices(n, 1)
    dev = input._device
    i = _make(dev._xp().asarray(rows.astype(np.int64)), dev)
    j = _make(dev._xp().asarray(cols.astype(np.int64)), dev)
    diff = input.index_select(0, i) - input.index_select(0, j)
    if input.shape[1] == 0:  # every distance between empty rows is 0, whatever p (as torch)
        return diff.sum(1)
    return vector_norm(diff, p, 1)
