"""Margin, embedding and likelihood losses (functional forms).

Each loss is a composition of differentiable ops with torch's formula, so gradients (and
second derivatives) follow from the ops on every device. Checks of target *values* (class
indices in range) run through ``raise_if``, as the other losses' do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..._core.capture import raise_if
from ..._creation import ones_like
from ..._tensor import Size, Tensor, _make
from ...autograd.function import Function
from ...ops import elementwise as E
from ...ops._common import dtype_name
from ._activation import logsigmoid
from ._distance import pairwise_distance
from ._utils import apply_raw, check_tensor, legacy_reduction, reduce_loss

__all__ = [
    "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
    "triplet_margin_loss", "triplet_margin_with_distance_loss", "poisson_nll_loss",
    "gaussian_nll_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
    "multilabel_margin_loss",
]


def _size(t: Tensor) -> str:
    return repr(Size(t.shape))


def _check_reduction_only(size_average, reduce, reduction: str) -> str:
    """The reduction of the losses torch computes in Python, which reject an unknown one with
    ``'<reduction> is not valid'`` (not the usual message)."""
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return reduction


# --------------------------------------------------------------------------------------------
# pairwise ranking / embedding losses


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``: ranks ``input1`` above ``input2``
    where ``target`` is 1, below where it is -1.

    Args:
        input1, input2, target: broadcastable tensors with the same number of dims.
        margin: the required gap.
        reduction: 'mean', 'sum' or 'none'.

    Example:
        >>> F.margin_ranking_loss(gpuarr.randn(3), gpuarr.randn(3), gpuarr.tensor([1., -1, 1]))
    """
    check_tensor(input1, "input1", "margin_ranking_loss")
    check_tensor(input2, "input2", "margin_ranking_loss")
    check_tensor(target, "target", "margin_ranking_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {_size(input1)}, input2: {_size(input2)}, target: {_size(target)} ")
    loss = E.clamp(-target * (input1 - input2) + margin, min=0)
    return reduce_loss(loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1 (``input``
    is usually a distance).

    Torch's exact rule, for any target value: ``input`` counts where ``target != -1``, the
    hinge where ``target != 1`` (both for a target that is neither).

    Example:
        >>> F.hinge_embedding_loss(gpuarr.rand(4), gpuarr.tensor([1., -1, -1, 1]))
    """
    check_tensor(input, "input", "hinge_embedding_loss")
    check_tensor(target, "target", "hinge_embedding_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    hinge = E.where(target != 1, E.clamp(margin - input, min=0), 0.0)
    loss = hinge + E.where(target != -1, input, 0.0)
    return reduce_loss(loss, reduction)


_COS_EPS = 1e-12  # added to each squared norm (torch's constant)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where it
    is -1 (0 for any other target).

    Args:
        input1, input2: ``(N, D)`` (with a ``(N,)`` target) or ``(D,)`` (with a ``()``
            target); broadcastable.
        target: 1 or -1 per pair.
        margin: in [-1, 1]; 0 to 0.5 is typical.

    Example:
        >>> F.cosine_embedding_loss(gpuarr.randn(3, 5), gpuarr.randn(3, 5),
        ...                         gpuarr.tensor([1., -1, 1]))
    """
    check_tensor(input1, "input1", "cosine_embedding_loss")
    check_tensor(input2, "input2", "cosine_embedding_loss")
    check_tensor(target, "target", "cosine_embedding_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    td = target.ndim
    if td not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if td == 1 and (input1.ndim != 2 or input2.ndim != 2):
        raise RuntimeError(
            "1D target tensor expects 2D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}.")
    if td == 0 and (input1.ndim != 1 or input2.ndim != 1):
        raise RuntimeError(
            "0D target tensor expects 1D input tensors, but found inputs with sizes "
            f"{list(input1.shape)} and {list(input2.shape)}.")
    dot = (input1 * input2).sum(td)
    sq1 = (input1 * input1).sum(td) + _COS_EPS
    sq2 = (input2 * input2).sum(td) + _COS_EPS
    cos = dot / E.sqrt(sq1 * sq2)
    pos = E.where(target == 1, 1 - cos, 0.0)
    neg = E.where(target == -1, E.clamp(cos - margin, min=0), 0.0)
    return reduce_loss(pos + neg, reduction)


# --------------------------------------------------------------------------------------------
# triplet losses


def _check_triplet_dims(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not a == p == n:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs")


def _triplet(dist_pos: Tensor, dist_neg: Tensor, dist_swap: Tensor | None, margin: float,
             reduction: str) -> Tensor:
    if dist_swap is not None:
        # Balntas et al.'s swap: the harder of the two negatives' distances
        dist_neg = E.minimum(dist_neg, dist_swap)
    return reduce_loss(E.clamp(margin + dist_pos - dist_neg, min=0), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the ``p``-norm pairwise distance.

    Args:
        anchor, positive, negative: ``(N, D)`` or ``(D,)``, broadcastable, same number of
            dims.
        margin: > 0.
        p: the norm degree of the distance.
        eps: added to the differences (see :func:`pairwise_distance`).
        swap: use ``min(d(a, n), d(p, n))`` as the negative distance.

    Example:
        >>> a, p, n = gpuarr.randn(3, 4), gpuarr.randn(3, 4), gpuarr.randn(3, 4)
        >>> F.triplet_margin_loss(a, p, n, margin=0.5)
    """
    check_tensor(anchor, "anchor", "triplet_margin_loss")
    check_tensor(positive, "positive", "triplet_margin_loss")
    check_tensor(negative, "negative", "triplet_margin_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    dist_swap = pairwise_distance(positive, negative, p, eps) if swap else None
    return _triplet(dist_pos, dist_neg, dist_swap, margin, reduction)


def triplet_margin_with_distance_loss(
        anchor: Tensor, positive: Tensor, negative: Tensor, *,
        distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
        margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """:func:`triplet_margin_loss` with any distance ``distance_function(x1, x2)`` (default
    :func:`pairwise_distance`).

    Example:
        >>> dist = lambda x, y: 1 - F.cosine_similarity(x, y)
        >>> F.triplet_margin_with_distance_loss(a, p, n, distance_function=dist)
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    dist = pairwise_distance if distance_function is None else distance_function
    dist_pos = dist(anchor, positive)
    dist_neg = dist(anchor, negative)
    dist_swap = dist(positive, negative) if swap else None
    return _triplet(dist_pos, dist_neg, dist_swap, margin, reduction)


# --------------------------------------------------------------------------------------------
# likelihood losses


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood of ``target`` counts.

    ``exp(input) - target * input`` when ``log_input`` (``input`` is the log-rate), else
    ``input - target * log(input + eps)``; with ``full``, Stirling's approximation of
    ``log(target!)`` is added where ``target > 1``.

    Example:
        >>> F.poisson_nll_loss(gpuarr.randn(4), gpuarr.tensor([0., 2, 1, 5]))
    """
    check_tensor(input, "input", "poisson_nll_loss")
    check_tensor(target, "target", "poisson_nll_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    if log_input:
        loss = E.exp(input) - target * input
    else:
        loss = input - target * E.log(input + eps)
    if full:
        stirling = target * E.log(target) - target + 0.5 * E.log(2 * math.pi * target)
        loss = loss + E.where(target <= 1, 0.0, stirling)
    return reduce_loss(loss, reduction)


class _ClampNoGrad(Function):
    """``max(x, lo)`` whose gradient is the identity: torch clamps the variance in place
    under ``no_grad``, so the clamp is invisible to autograd."""

    _raw = True

    @staticmethod
    def forward(ctx, x, lo):
        return ctx.xp.maximum(x, x.dtype.type(lo))

    @staticmethod
    def backward(ctx, g):
        return g, None


def _negative_var_error() -> ValueError:
    return ValueError("var has negative entry/entries")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Gaussian negative log-likelihood ``0.5 * (log(var) + (input - target)**2 / var)``.

    Args:
        input: the expectations.
        target: samples, broadcastable against ``input``.
        var: positive variances: the shape of ``input``, that shape without its last dim, or
            broadcastable to it with exactly one dim of size 1; or a float for all.
        full: add the constant ``0.5 * log(2 * pi)``.
        eps: lower clamp of ``var`` (the clamp passes gradients through unchanged).

    Example:
        >>> F.gaussian_nll_loss(gpuarr.randn(4, 2), gpuarr.randn(4, 2), gpuarr.ones(4, 1))
    """
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    else:
        check_tensor(var, "var", "gaussian_nll_loss")
        raise_if((var._data < 0).any(), _negative_var_error)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)  # one variance per row: broadcast along the last dim
        elif not (input.ndim == var.ndim and sum(
                v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = apply_raw(_ClampNoGrad, var, eps)
    d = input - target
    loss = 0.5 * (E.log(var) + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


# --------------------------------------------------------------------------------------------
# multi-class and multi-label margin losses


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Per-sample mean over classes of the binary logistic loss of ``input`` (logits) against
    ``target`` (0 or 1 per class), optionally weighted per class.

    Args:
        input: ``(N, C)`` or ``(C,)`` logits (the classes are the last dim).
        target: same shape as input.
        weight: broadcast against the per-class losses.

    Returns:
        ``(N,)`` with ``reduction='none'``, else a scalar.

    Example:
        >>> F.multilabel_soft_margin_loss(gpuarr.randn(2, 3), gpuarr.tensor([[1., 0, 1],
        ...                                                                  [0, 0, 1]]))
    """
    check_tensor(input, "input", "multilabel_soft_margin_loss")
    check_tensor(target, "target", "multilabel_soft_margin_loss")
    reduction = _check_reduction_only(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return reduce_loss(loss, reduction)


def _check_class_input(input: Tensor, op: str) -> tuple[int, int]:
    """``(nframe, dim)`` of a ``()``, ``(C,)`` or ``(N, C)`` input with ``C > 0``."""
    nd = input.ndim
    if not ((nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for \'{dtype_name(input.dtype)}\'')
    if nd <= 1:
        return 1, (input.shape[0] if nd else 1)
    return input.shape[0], input.shape[1]


def _check_long(t: Tensor) -> None:
    if t._data.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found {dtype_name(t.dtype)}")


def _index(arr, like: Tensor) -> Tensor:
    return _make(arr, like._device)


def _target_range_error() -> RuntimeError:
    return RuntimeError("target out of range")


def _mean_or_zero(loss: Tensor, reduction: str, nframe: int) -> Tensor:
    # torch's mean over no sample is 0 here (not nan, as the other losses' empty means)
    if reduction == "mean" and nframe == 0:
        return loss.sum()
    return reduce_loss(loss, reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: per sample, ``sum_{i != y} w[y] * max(0, margin - x[y] +
    x[i]) ** p / C``.

    Args:
        input: ``(N, C)``, ``(C,)`` or ``()`` scores.
        target: int64 class indices, ``(N,)`` (or ``()`` / ``(1,)`` for an unbatched input).
        p: 1 or 2.
        margin: the required gap between the target's score and the others'.
        weight: ``(C,)`` per-class weights (of the target class), the input's dtype.

    Returns:
        With ``reduction='none'``, a loss of ``target``'s shape.

    Example:
        >>> F.multi_margin_loss(gpuarr.randn(3, 4), gpuarr.tensor([0, 3, 1]))
    """
    check_tensor(input, "input", "multi_margin_loss")
    check_tensor(target, "target", "multi_margin_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    nframe, dim = _check_class_input(input, "multi_margin_loss_cpu_kernel")
    if target.ndim > 1 or target.numel() != nframe:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{nframe}], but got "
            f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    if weight is not None and weight.numel() != dim:
        raise RuntimeError(
            f"inconsistent weight size, expected {dim} but got {list(weight.shape)}")
    _check_long(target)
    if weight is not None and weight._data.dtype != input._data.dtype:
        raise RuntimeError(f"expected scalar type {dtype_name(input.dtype)} but found "
                           f"{dtype_name(weight.dtype)}")
    xp = input._device._xp()
    t = target._data.reshape(nframe)
    if t.size:
        raise_if(((t < 0) | (t >= dim)).any(), _target_range_error)
    x = input.reshape(nframe, dim)
    tcol = _index(t.reshape(nframe, 1), input)
    z = E.clamp(margin - x.gather(1, tcol) + x, min=0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.detach()[_index(t, input)].reshape(nframe, 1)
    others = _index(xp.arange(dim).reshape(1, dim) != t.reshape(nframe, 1), input)
    loss = E.where(others, z, 0.0).sum(1) / dim
    return _mean_or_zero(loss.reshape(target.shape), reduction, nframe)


def _multilabel_target_error() -> RuntimeError:
    return RuntimeError("argument #2 'target' is out of range")


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: per sample, ``sum_{j in targets, i not in targets} max(0, 1 -
    (x[j] - x[i])) / C``.

    Args:
        input: ``(N, C)``, ``(C,)`` or ``()`` scores.
        target: int64, the input's shape: each row lists its target classes, ended by the
            first -1 (the entries after it are ignored but must lie in ``[-1, C)``).

    Returns:
        With ``reduction='none'``, ``(N,)`` (or ``()`` for an unbatched input).

    Example:
        >>> F.multilabel_margin_loss(gpuarr.tensor([[0.1, 0.2, 0.4, 0.8]]),
        ...                          gpuarr.tensor([[3, 0, -1, 1]]))
        tensor(0.8500)
    """
    check_tensor(input, "input", "multilabel_margin_loss")
    check_tensor(target, "target", "multilabel_margin_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    nframe, dim = _check_class_input(input, "multilabel_margin_loss_forward_out_frame")
    if input.ndim <= 1:
        ok = target.ndim <= 1 and target.numel() == dim
    else:
        ok = target.ndim == 2 and tuple(target.shape) == (nframe, dim)
    if not ok:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    _check_long(target)
    xp = input._device._xp()
    t = target._data.reshape(nframe, dim)
    if t.size:
        raise_if(((t < -1) | (t >= dim)).any(), _multilabel_target_error)
    # a row's targets are its entries before the first -1
    listed = xp.cumprod(t != -1, axis=1).astype(bool)
    safe = xp.where(listed, t, 0)
    is_target = ((safe[:, :, None] == xp.arange(dim)) & listed[:, :, None]).any(1)
    x = input.reshape(nframe, dim)
    xt = x.gather(1, _index(safe, input))
    # z[n, j, i]: the hinge of listed target j against class i
    z = E.clamp(1 - xt.unsqueeze(2) + x.unsqueeze(1), min=0)
    pairs = _index(listed[:, :, None] & ~is_target[:, None, :], input)
    loss = E.where(pairs, z, 0.0).sum((1, 2)) / dim
    if input.ndim <= 1:
        loss = loss.reshape(())
    return _mean_or_zero(loss, reduction, nframe)
