"""Distance layers: ``PairwiseDistance`` and ``CosineSimilarity``."""

from __future__ import annotations

from .._tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class PairwiseDistance(Module):
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dim (see
    :func:`gpuarr.nn.functional.pairwise_distance`).

    Args:
        p: the norm degree (may be negative). Stored as ``norm``, as torch does.
        eps: added to the differences.
        keepdim: keep the reduced dim.

    Example:
        >>> nn.PairwiseDistance(p=1)(gpuarr.randn(4, 8), gpuarr.randn(4, 8)).shape
        gpuarr.Size([4])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity of ``x1`` and ``x2`` along ``dim`` (see
    :func:`gpuarr.nn.functional.cosine_similarity`).

    Args:
        dim: the dim to reduce.
        eps: lower bound of each norm.

    Example:
        >>> nn.CosineSimilarity(dim=1)(gpuarr.randn(4, 8), gpuarr.randn(4, 8)).shape
        gpuarr.Size([4])
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
