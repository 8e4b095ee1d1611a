"""Margin, embedding and likelihood losses beyond ``loss.py`` (modules over the functions
in :mod:`gpuarr.nn.functional._loss_extra`)."""

from __future__ import annotations

from collections.abc import Callable

from .._tensor import Tensor
from . import functional as F
from .distance import PairwiseDistance
from .loss import _Loss, _WeightedLoss

__all__ = [
    "MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
    "TripletMarginWithDistanceLoss", "PoissonNLLLoss", "GaussianNLLLoss",
    "MultiLabelSoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss",
]


class MarginRankingLoss(_Loss):
    """``max(0, -y * (x1 - x2) + margin)``: ``x1`` should rank above ``x2`` where ``y = 1``.

    Example:
        >>> nn.MarginRankingLoss(0.1)(gpuarr.randn(3), gpuarr.randn(3), gpuarr.tensor([1., -1, 1]))
    """

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``x`` where ``y = 1``, ``max(0, margin - x)`` where ``y = -1`` (``x``: a distance).

    Example:
        >>> nn.HingeEmbeddingLoss()(gpuarr.rand(4), gpuarr.tensor([1., -1, -1, 1]))
    """

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_embedding_loss(input, target, margin=self.margin,
                                      reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """``1 - cos(x1, x2)`` where ``y = 1``, ``max(0, cos(x1, x2) - margin)`` where ``y = -1``.

    Example:
        >>> nn.CosineEmbeddingLoss(0.2)(gpuarr.randn(3, 5), gpuarr.randn(3, 5),
        ...                             gpuarr.tensor([1., -1, 1]))
    """

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """``max(0, d(a, p) - d(a, n) + margin)`` with the ``p``-norm pairwise distance ``d``.

    Args:
        margin: > 0.
        p: the norm degree.
        eps: added to the differences.
        swap: use the smaller of ``d(a, n)`` and ``d(p, n)``.

    Example:
        >>> nn.TripletMarginLoss(margin=0.5)(gpuarr.randn(3, 4), gpuarr.randn(3, 4),
        ...                                  gpuarr.randn(3, 4))
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                 swap: bool = False, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError("TripletMarginLoss: expected margin to be greater than 0, got "
                             f"{margin} instead")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """Triplet margin loss with any distance (default :class:`PairwiseDistance`).

    Args:
        distance_function: ``(x1, x2) -> distances``; a Module becomes a submodule.
        margin: > 0.
        swap: use the smaller of ``d(a, n)`` and ``d(p, n)``.

    Example:
        >>> loss = nn.TripletMarginWithDistanceLoss(
        ...     distance_function=lambda x, y: 1 - F.cosine_similarity(x, y))
    """

    def __init__(self, *, distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
                 margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> None:
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise ValueError("TripletMarginWithDistanceLoss: expected margin to be greater "
                             f"than 0, got {margin} instead")
        self.distance_function = (distance_function if distance_function is not None
                                  else PairwiseDistance())
        self.margin = margin
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood (see :func:`gpuarr.nn.functional.poisson_nll_loss`).

    Args:
        log_input: the input is the log of the rate.
        full: add Stirling's approximation term.
        eps: keeps ``log(input + eps)`` finite when not ``log_input``.

    Example:
        >>> nn.PoissonNLLLoss()(gpuarr.randn(4), gpuarr.tensor([0., 2, 1, 5]))
    """

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None,
                 eps: float = 1e-8, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood with predicted variances (see
    :func:`gpuarr.nn.functional.gaussian_nll_loss`).

    Example:
        >>> nn.GaussianNLLLoss()(gpuarr.randn(4, 2), gpuarr.randn(4, 2), gpuarr.ones(4, 1))
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6,
                 reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-sample mean over classes of the logistic loss of logits against 0/1 labels.

    Example:
        >>> nn.MultiLabelSoftMarginLoss()(gpuarr.randn(2, 3), gpuarr.tensor([[1., 0, 1],
        ...                                                                  [0, 0, 1]]))
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss of scores against class indices.

    Args:
        p: 1 or 2.
        margin: the required gap.
        weight: ``(C,)`` per-class weights.

    Example:
        >>> nn.MultiMarginLoss()(gpuarr.randn(3, 4), gpuarr.tensor([0, 3, 1]))
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                 size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.ndim != 1:
            raise ValueError("MultiMarginLoss: expected weight to be None or 1D tensor, got "
                             f"{weight.ndim}D instead")
        self.p = p
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss; each target row lists its classes, ended by -1.

    Example:
        >>> nn.MultiLabelMarginLoss()(gpuarr.tensor([[0.1, 0.2, 0.4, 0.8]]),
        ...                           gpuarr.tensor([[3, 0, -1, 1]]))
        tensor(0.8500)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)
