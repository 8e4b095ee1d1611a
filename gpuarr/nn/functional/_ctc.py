"""ctc_loss: the Connectionist Temporal Classification loss (Graves et al., 2006).

The forward variable ``alpha`` and the backward variable ``beta`` are computed in log space
over the extended label sequence ``l'`` (a blank before, between and after the labels), for
the whole batch at once: one step per time frame, each step vectorised over the batch and
``l'``. The gradient with respect to the log-probabilities is torch's:
``exp(log_probs) - sum_{s: l'_s = c} exp(alpha + beta - log_probs + nll)``, which is the exact
gradient when ``log_probs`` come from a ``log_softmax`` (the first term is what flows back
through it). As torch's, it is not differentiable twice.
"""

from __future__ import annotations

import numpy as np

from ..._creation import tensor
from ..._tensor import Tensor
from ...autograd.function import Function
from ...backends import of_module
from ...ops._common import check_tensor, dtype_name
from ._utils import reduction_arg

__all__ = ["ctc_loss"]

_WHERE = " (while checking arguments for ctc_loss_allocate_outputs)"


def _lse(xp, *terms):
    """Elementwise log(sum(exp(terms))), -inf where every term is -inf."""
    m = terms[0]
    for t in terms[1:]:
        m = xp.maximum(m, t)
    ms = xp.where(xp.isfinite(m), m, m.dtype.type(0))
    total = xp.exp(terms[0] - ms)
    for t in terms[1:]:
        total = total + xp.exp(t - ms)
    return xp.log(total) + ms


def _shift(xp, a, k: int, fill):
    """``a`` moved ``k`` places along the last axis (right for k > 0), ``fill`` let in."""
    if abs(k) >= a.shape[-1]:
        return xp.full(a.shape, fill, a.dtype)
    pad = xp.full(a.shape[:-1] + (abs(k),), fill, a.dtype)
    if k > 0:
        return xp.concatenate([pad, a[..., :-k]], axis=-1)
    return xp.concatenate([a[..., -k:], pad], axis=-1)


class _CTCLoss(Function):
    """Per-sample negative log-likelihood; torch's ``_ctc_loss``."""

    _raw = True
    _node_name = "CtcLossBackward0"
    _next_args = (0,)  # torch's node lists only the log-probabilities

    @staticmethod
    def forward(ctx, lp, ext, bad, il, tl, zero_infinity):
        """``lp`` (T, N, C); ``ext`` (N, 2S+1) the extended labels (blank where padding);
        ``bad`` (N, 2S+1) where a label is outside [0, C); ``il``, ``tl`` (N,) lengths."""
        xp = ctx.xp
        T, N, _ = lp.shape
        S2 = ext.shape[1]
        ninf = lp.dtype.type(-np.inf)
        # the log-probability of each extended label at each frame (NaN for a bad label)
        lpe = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (T, N, S2)), axis=2)
        lpe = xp.where(bad[None], lp.dtype.type(np.nan), lpe)
        s = xp.arange(S2)
        # a label may be reached from two places back when it differs from the label there
        skip = (s % 2 == 1) & (s >= 3) & (ext != _shift(xp, ext, 2, -1))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            alpha = xp.full((T, N, S2), ninf, lp.dtype)
            alpha[0] = xp.where((s == 0) | ((s == 1) & (tl[:, None] > 0)), lpe[0], ninf)
            for t in range(1, T):
                prev = alpha[t - 1]
                two = xp.where(skip, _shift(xp, prev, 2, ninf), ninf)
                alpha[t] = _lse(xp, prev, _shift(xp, prev, 1, ninf), two) + lpe[t]
            # the paths end in the last label or the blank after it, at frame il - 1
            last = alpha[xp.maximum(il - 1, 0), xp.arange(N)]
            end = xp.take_along_axis(last, (2 * tl)[:, None], axis=1)[:, 0]
            end1 = xp.take_along_axis(last, xp.maximum(2 * tl - 1, 0)[:, None], axis=1)[:, 0]
            nll = -_lse(xp, end, xp.where(tl > 0, end1, ninf))
            # no frames: probability 1 for an empty target (-0, as torch), 0 otherwise
            nll = xp.where(il == 0, xp.where(tl == 0, lp.dtype.type(-0.0),
                                             lp.dtype.type(np.inf)), nll)
        ctx.state = (lpe, alpha, ext, skip, il, tl, nll, zero_infinity)
        ctx.save_for_backward(lp)
        if zero_infinity:
            return xp.where(nll == np.inf, lp.dtype.type(0), nll)
        return nll

    @staticmethod
    def backward(ctx, g):
        (lp,) = ctx.saved_tensors
        return _CTCLossGrad.apply(g, lp, ctx.state), None, None, None, None, None


def _beta(xp, lpe, skip, il, tl):
    """The backward variable: log-probability of finishing from (t, s), frame t included."""
    T, N, S2 = lpe.shape
    ninf = lpe.dtype.type(-np.inf)
    s = xp.arange(S2)
    ends = (s == 2 * tl[:, None]) | ((s == 2 * tl[:, None] - 1) & (tl[:, None] > 0))
    skip_from = _shift(xp, skip, -2, False)  # s + 2 may be reached from s
    beta = xp.full((T, N, S2), ninf, lpe.dtype)
    nxt = beta[0]
    for t in range(T - 1, -1, -1):
        two = xp.where(skip_from, _shift(xp, nxt, -2, ninf), ninf)
        rec = _lse(xp, nxt, _shift(xp, nxt, -1, ninf), two) + lpe[t]
        start = xp.where(ends, lpe[t], ninf)
        cur = xp.where((il == t + 1)[:, None], start,
                       xp.where((il > t + 1)[:, None], rec, ninf))
        beta[t] = cur
        nxt = cur
    return beta


class _CTCLossGrad(Function):
    """torch's ``_ctc_loss_backward``: the gradient with respect to the log-probabilities,
    scaled by the incoming gradient ``g`` (N,). It has no derivative itself (as torch's)."""

    _raw = True
    _node_name = "CtcLossBackwardBackward0"
    _next_args = (0, 1)

    @staticmethod
    def forward(ctx, g, lp, state):
        xp = ctx.xp
        lpe, alpha, ext, skip, il, tl, nll, zero_infinity = state
        T, N, C = lp.shape
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            beta = _beta(xp, lpe, skip, il, tl)
            # occupancy of each extended label, summed into its class (torch adds the same
            # terms in log space: exp(logsumexp(alpha + beta) + nll - lp))
            gamma = xp.exp(alpha + beta - lpe + nll[None, :, None])
            occ = xp.zeros((T, N, C), lp.dtype)
            key = tuple(xp.broadcast_to(a, gamma.shape) for a in (
                xp.arange(T)[:, None, None], xp.arange(N)[None, :, None], ext[None]))
            of_module(xp).add_at(occ, key, gamma)
            grad = xp.exp(lp) - occ
        live = (xp.arange(T)[:, None] < il[None, :])[..., None]  # frames within the input
        inf = xp.isinf(nll)[None, :, None]
        if zero_infinity:
            grad = xp.where(inf, lp.dtype.type(0), grad)
        else:  # torch's arithmetic gives NaN (-inf + inf) at every live frame
            grad = xp.where(inf & live, lp.dtype.type(np.nan), grad)
        grad = xp.where(live, grad, lp.dtype.type(0))
        return grad * g[None, :, None]

    @staticmethod
    def backward(ctx, gg):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")


def _lengths(v, name: str) -> list:
    """The lengths as host ints (torch reads them to the host too)."""
    if isinstance(v, Tensor):
        if v.dtype.is_floating_point or v._data.dtype.kind == "b":
            raise RuntimeError(f"{name} must be integral")
        return [int(x) for x in v.detach().cpu()._data.reshape(-1).tolist()]
    if isinstance(v, (list, tuple)) and all(
            isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in v):
        return [int(x) for x in v]
    raise TypeError(
        f"ctc_loss(): input_lengths and target_lengths must both be Tensors or both be "
        f"tuples of ints, but got {type(v).__name__} for {name}")


def _check(lp: Tensor, tg: Tensor, il: list, tl: list, blank: int) -> None:
    """torch's argument checks, in its order."""
    if lp.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {lp.ndim}-dimensional "
                           f"tensor for argument #1 'log_probs'{_WHERE}")
    if not 1 <= tg.ndim <= 2:
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {tg.ndim}-dimensional tensor "
                           f"for argument #2 'targets'{_WHERE}")
    _, N, C = lp.shape
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    if len(il) != N:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tl) != N:
        raise RuntimeError("target_lengths must be of size batch_size")
    for n in tl:
        if n < 0:
            raise RuntimeError("Expected target_lengths to have value at least 0, but got "
                               f"value {n}{_WHERE}")
    if tg.ndim == 1 and tg.shape[0] != sum(tl):
        raise RuntimeError(f"Expected tensor to have size {sum(tl)} at dimension 0, but got "
                           f"size {tg.shape[0]} for argument #2 'targets'{_WHERE}")
    if tg.ndim == 2 and tg.shape[1] < max(tl, default=0):
        raise RuntimeError(f"Expected tensor to have size at least {max(tl)} at dimension 1, "
                           f"but got size {tg.shape[1]} for argument #2 'targets'{_WHERE}")
    for n in il:
        if n < 0:
            raise RuntimeError("Expected input_lengths to have value at least 0, but got "
                               f"value {n}{_WHERE}")
        if n > lp.shape[0]:
            raise RuntimeError(f"Expected input_lengths to have value at most {lp.shape[0]}, "
                               f"but got value {n}{_WHERE}")


def _extended_labels(tg: Tensor, tl: list, C: int, blank: int):
    """(N, 2S+1) arrays on the targets' device: the extended label sequences (blank at even
    places and after each target's end) and where a label is outside [0, C)."""
    xp = tg._device._xp()
    N, S = len(tl), max(tl, default=0)
    tgt = tg._data.astype(np.int64)
    pos = xp.arange(S)
    if tg.ndim == 1:  # concatenated: sample n's labels start at the sum of the lengths before
        starts = tensor(np.cumsum([0] + tl[:-1]), device=tg.device)._data
        at = xp.minimum(starts[:, None] + pos[None, :], max(tgt.shape[0] - 1, 0))
        padded = tgt[at] if tgt.shape[0] else xp.zeros((N, S), np.int64)
    else:
        padded = tgt[:, :S]
    inside = pos[None, :] < tensor(tl, device=tg.device)._data[:, None]
    bad = inside & ((padded < 0) | (padded >= C))
    labels = xp.where(inside & ~bad, padded, blank)
    ext = xp.full((N, 2 * S + 1), blank, np.int64)
    ext[:, 1::2] = labels
    bad_ext = xp.zeros((N, 2 * S + 1), bool)
    bad_ext[:, 1::2] = bad
    return ext, bad_ext


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The Connectionist Temporal Classification loss.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities (``log_softmax`` output),
            float32 or float64.
        targets: (N, S) padded label sequences or all of them concatenated (1-D); unbatched:
            (S,). Labels are in [0, C) and not ``blank``.
        input_lengths: (N,) frames used per sample, a Tensor or a tuple/list of ints.
        target_lengths: (N,) labels per sample (the same kind as ``input_lengths``).
        blank: the blank label.
        reduction: 'none' (per-sample losses), 'mean' (each divided by its target length,
            then averaged) or 'sum'.
        zero_infinity: give impossible alignments (infinite loss) 0 loss and 0 gradient.

    Returns:
        The loss: 0-d, or (N,) for ``reduction='none'``.

    A label outside [0, C) gives its sample a NaN loss (torch reads out of bounds there).

    Example:
        >>> lp = gpuarr.randn(50, 16, 20).log_softmax(2).requires_grad_()
        >>> tg = gpuarr.randint(1, 20, (16, 30))
        >>> loss = F.ctc_loss(lp, tg, [50] * 16, [30] * 16)
        >>> loss.backward()
    """
    check_tensor(log_probs, "log_probs", "ctc_loss")
    check_tensor(targets, "targets", "ctc_loss")
    reduction_arg(reduction)
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):
        raise TypeError("ctc_loss(): input_lengths and target_lengths must both be Tensors or "
                        "both be tuples of ints")
    batched = log_probs.ndim == 3
    il = _lengths(input_lengths, "input_lengths")
    tl = _lengths(target_lengths, "target_lengths")
    if log_probs._data.dtype not in (np.float32, np.float64):
        raise NotImplementedError(  # torch's kernel name: ctc_loss_cpu / ctc_loss_cuda
            f"\"ctc_loss_{log_probs.device.type}\" not implemented for "
            f"'{dtype_name(log_probs.dtype)}'")
    if log_probs.numel() == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    lp = log_probs if batched else log_probs.unsqueeze(1)
    # unbatched (S,) targets read as one concatenated sequence; targets may live on another
    # device than the log-probabilities (torch moves them too)
    tg = targets if targets.device == log_probs.device else targets.to(log_probs.device)
    _check(lp, tg, il, tl, blank)
    dev = log_probs.device
    ext, bad = _extended_labels(tg, tl, lp.shape[2], blank)
    il_a = tensor(il, device=dev)._data
    tl_a = tensor(tl, device=dev)._data
    nll = _CTCLoss.apply(lp, ext, bad, il_a, tl_a, bool(zero_infinity))
    if reduction == "mean":
        den = tensor([max(n, 1) for n in tl], dtype=log_probs.dtype, device=dev)
        return (nll / den).mean()
    if reduction == "sum":
        return nll.sum()
    return nll if batched else nll.squeeze(0)

