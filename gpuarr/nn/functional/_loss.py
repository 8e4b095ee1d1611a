"""Loss functions (functional forms).

``nll_loss`` is a raw Function that picks the target log-probabilities and scatters the
gradient back with a constant one-hot coefficient, so it is cheap and its backward is linear
in the incoming gradient (second derivatives work). ``cross_entropy`` is ``log_softmax`` +
``nll_loss`` (with torch's label-smoothing and probability-target rules). The binary losses
are raw Functions with torch's formulas (clamped logs, the stable logits form); the regression
losses are compositions of differentiable ops.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..._autocast import state as _amp
from ..._core.capture import raise_if
from ..._tensor import Size, Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...backends import sync_debug
from ...ops import elementwise as E
from ...ops._common import dtype_name
from ...ops.reduction import _mean_arr
from ._activation import log_softmax, softplus
from ._utils import apply_raw, check_tensor, legacy_reduction, reduce_loss

__all__ = [
    "nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "soft_margin_loss",
]


# --------------------------------------------------------------------------------------------
# negative log-likelihood


class NLLLoss(Function):
    _raw = True
    _node_name = "NllLossBackward0"
    _next_args = (0,)  # torch's node lists only the log-probabilities (not target, weight)

    @staticmethod
    def forward(ctx, logp, tgt, w, ignore_index, reduction, valid=None, safe=None):
        """``valid``, ``safe``: ``tgt != ignore_index`` and the targets with 0 in place of
        ignored ones, when the caller has them (from the target check); ``valid`` is
        :data:`_FUSED` when the caller found the backend's one-pass kernel applies."""
        xp = ctx.xp
        cax = 1 if logp.ndim >= 2 else 0
        ctx.cax, ctx.reduction = cax, reduction
        if valid is _FUSED:  # one pass (the CPU's C kernel), which checks the targets itself
            out, ctx.coef = ctx.device._backend().fused_nll(logp, tgt, ignore_index,
                                                            reduction == "mean")
            return out
        if valid is None:
            valid = tgt != ignore_index
            safe = xp.where(valid, tgt, tgt.dtype.type(0))  # the class to pick (0: ignored)
        if logp.ndim == 2:  # (N, C): plain fancy indexing, no index arrays to build
            at = (xp.arange(logp.shape[0]), safe)
            picked = logp[at]
        else:
            at = xp.expand_dims(safe, cax)
            picked = xp.take_along_axis(logp, at, axis=cax).reshape(tgt.shape)
        if w is not None:
            wt = xp.take(w, safe) * valid
        else:
            wt = valid.astype(logp.dtype)
        losses = -(picked * wt)
        if reduction == "none":
            out, scale = losses, wt
        elif reduction == "sum":
            out, scale = losses.sum(dtype=logp.dtype), wt
        else:
            den = wt.sum(dtype=logp.dtype)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = losses.sum(dtype=logp.dtype) / den  # nan when every target is ignored
                # torch's gradient: -w[t] / total weight at each target not ignored (nan for
                # a zero weight over a zero total), 0 at ignored ones. Chosen on the device:
                # reading den to the host would wait for the GPU (and fix a branch in a trace)
                if w is None:  # wt is 1 or 0 and den their count: only 0/0 needs mending
                    scale = wt / xp.maximum(den, 1)
                else:
                    scale = xp.where(valid, wt / den, logp.dtype.type(0))
        # d(loss)/d(logp): -scale at each target's class, 0 elsewhere (torch's scatter)
        coef = xp.zeros(logp.shape, logp.dtype)
        if logp.ndim == 2:
            coef[at] = -scale
        else:
            xp.put_along_axis(coef, at, -xp.expand_dims(scale, cax), axis=cax)
        ctx.coef = coef
        return xp.asarray(out, dtype=logp.dtype)

    @staticmethod
    def backward(ctx, g):
        coef = ctx.coef
        if ctx.reduction == "none":
            gd = g.unsqueeze(ctx.cax)
        else:
            gd = g
        none = (None,) * 6  # target, weight, ignore_index, reduction, valid, safe
        if not is_grad_enabled():
            return (_make(coef * gd._data, g._device), *none)
        return (gd * _make(coef, g._device), *none)


def _unbatched_target(input_ndim: int, target: Tensor) -> Tensor:
    """A ``(1,)`` class-index target for one unbatched ``(C,)`` input (``input_ndim`` 1), as
    the ``()`` target it stands for (torch accepts both); other targets as they are."""
    if input_ndim == 1 and target.ndim == 1 and target._data.dtype.kind in "iu":
        if target.shape[0] != 1:
            raise ValueError("For 1D input, 1D target must have size 1, but got target size: "
                             f"{target.shape[0]}")
        return target.reshape(())
    return target


def _check_nll_args(shape: tuple[int, ...], target: Tensor, weight: Tensor | None) -> int:
    """torch's errors for class-index ``target`` (and class ``weight``) against log
    probabilities or logits of ``shape``; returns the number of classes."""
    if target._data.dtype not in (np.int64, np.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {dtype_name(target.dtype)}")
    nd = len(shape)
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    if nd == 1:
        if target.ndim != 0:
            raise RuntimeError(
                "0D or 1D target tensor expected, multi-target not supported")
    elif target.ndim == 0 or shape[0] != target.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({shape[0]}) to match target batch_size "
            f"({target.shape[0] if target.ndim else 1})."
        )
    elif tuple(target.shape[1:]) != tuple(shape[2:]):
        want = [shape[0]] + list(shape[2:])
        raise RuntimeError(f"Expected target size {want}, got {list(target.shape)}")
    c = shape[1 if nd >= 2 else 0]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(
            f"weight tensor should be defined either for all {c} classes or no classes but got "
            f"weight tensor of shape: {list(weight.shape)}"
        )
    return c


_FUSED = object()  # NLLLoss's ``valid`` when its forward is the backend's fused kernel


def _fused_nll_ok(device, logp, tgt, w, reduction: str) -> bool:
    """Whether NLLLoss runs its forward as the backend's one fused call (unweighted, reduced,
    ``(N, C)`` arrays the backend takes)."""
    return (w is None and reduction != "none"
            and device._backend().can_fuse_nll(logp, tgt))


def _check_targets(target: Tensor, c: int, ignore_index: int):
    """Raise IndexError for a target outside ``[0, c)`` that is not ``ignore_index``.

    Returns:
        ``(valid, safe)``: the mask ``target != ignore_index`` and the targets with 0 in place
        of ignored ones (each a class to pick); ``(None, None)`` for an empty target.
    """
    t = target._data
    if t.size == 0:
        return None, None
    valid = t != ignore_index
    safe = target._device._xp().where(valid, t, t.dtype.type(0))
    # as unsigned, a negative target is huge: one maximum finds both ends of the range
    u = safe if safe.dtype.kind == "u" else safe.view(np.uint64)
    raise_if(u.max() >= c, _target_error, t, valid, c)
    return valid, safe


def _target_error(t, valid, c: int) -> IndexError:
    u = t if t.dtype.kind == "u" else t.view(np.uint64)
    first = int(t[(u >= c) & valid].reshape(-1)[0].item())
    return IndexError(f"Target {first} is out of bounds.")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices under log-probabilities ``input``.

    Args:
        input: ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)`` log-probabilities.
        target: int64 class indices, ``(N,)``, ``()`` or ``(N, d1, ...)``.
        weight: ``(C,)`` per-class weights.
        ignore_index: targets equal to this contribute nothing.
        reduction: 'mean' (weighted mean over non-ignored targets), 'sum' or 'none'.

    Example:
        >>> F.nll_loss(F.log_softmax(logits, 1), labels)
    """
    if _amp.on:
        return _amp.run("nll_loss", nll_loss, input, target, weight=weight,
                        size_average=size_average, ignore_index=ignore_index, reduce=reduce,
                        reduction=reduction)
    check_tensor(input, "input", "nll_loss")
    check_tensor(target, "target", "nll_loss")
    target = _unbatched_target(input.ndim, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    c = _check_nll_args(tuple(input.shape), target, weight)
    if _fused_nll_ok(input._device, input._data, target._data, weight, reduction):
        valid, safe = _FUSED, None
    else:
        valid, safe = _check_targets(target, c, ignore_index)
    w = weight
    if w is not None and w._data.dtype != input._data.dtype:
        w = w.to(input.dtype)
    if w is not None and w._rg:
        w = w.detach()
    return NLLLoss.apply(input, target, w, ignore_index, reduction, valid, safe)


# --------------------------------------------------------------------------------------------
# cross entropy


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits ``input`` and class indices or class probabilities.

    Args:
        input: logits ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``.
        target: int64 class indices (shape of input without the class dim), or float class
            probabilities with the same shape as ``input``.
        weight: ``(C,)`` per-class weights.
        ignore_index: index targets equal to this are skipped (index targets only).
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.

    Example:
        >>> F.cross_entropy(gpuarr.randn(4, 3), gpuarr.tensor([0, 2, 1, 1]))
    """
    if _amp.on:
        return _amp.run("cross_entropy", cross_entropy, input, target, weight=weight,
                        size_average=size_average, ignore_index=ignore_index, reduce=reduce,
                        reduction=reduction, label_smoothing=label_smoothing)
    check_tensor(input, "input", "cross_entropy")
    check_tensor(target, "target", "cross_entropy")
    target = _unbatched_target(input.ndim, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    cax = 1 if input.ndim >= 2 else 0
    logp = log_softmax(input, cax)
    if target._data.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape):
        return _ce_probs(logp, target, weight, ignore_index, reduction, label_smoothing, cax)
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0.0:
        return nll
    c = logp.shape[cax]
    xp = input._device._xp()
    valid_b = _make(target._data != ignore_index, input._device)
    if weight is not None:
        wshape = [1] * logp.ndim
        wshape[cax] = c
        smooth = -(logp * weight.to(logp.dtype).reshape(wshape)).sum(cax)
    else:
        smooth = -logp.sum(cax)
    # masked, not multiplied: ignored entries get an exact 0 gradient even if the mean is nan
    smooth = _keep_where(smooth, valid_b)
    if reduction == "mean":
        vd = valid_b._data
        if weight is not None:
            t = target._data
            wd = weight._data.astype(logp._data.dtype)
            den_arr = (xp.take(wd, xp.where(vd, t, 0)) * vd).sum()
        else:
            den_arr = vd.sum()
        # the quotient on the device, without reading den to the host (which would wait for
        # the GPU); a zero den divides as NaN, as torch's mean over no target
        den_t = _make(xp.where(den_arr != 0, den_arr, np.nan).astype(logp._data.dtype),
                      input._device)  # in the loss's dtype, as a Python float would be
        ret = smooth.sum() / den_t
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return nll * (1 - label_smoothing) + ret * (label_smoothing / c)


class _KeepWhere(Function):
    """``x`` where ``mask`` else 0; the gradient is exactly 0 off the mask (even for inf/nan
    incoming gradients, as torch's masked_fill)."""

    _raw = True

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return ctx.xp.where(mask, x, x.dtype.type(0))

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return _keep_where(g, mask), None


def _keep_where(x: Tensor, mask: Tensor) -> Tensor:
    return apply_raw(_KeepWhere, x, mask)


def _ce_probs(logp, target, weight, ignore_index, reduction, ls, cax) -> Tensor:
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    c = logp.shape[cax]
    if target.dtype != logp.dtype:
        target = target.to(logp.dtype)
    if ls > 0:
        target = target * (1 - ls) + ls / c
    prod = logp * target
    if weight is not None:
        wshape = [1] * logp.ndim
        wshape[cax] = c
        prod = prod * weight.to(logp.dtype).reshape(wshape)
    loss = -prod.sum(cax)
    if reduction == "mean":
        n = logp.numel() // c if c else 0
        return loss.sum() / n if n else loss.sum() * float("nan")
    return reduce_loss(loss, reduction)


# --------------------------------------------------------------------------------------------
# regression losses


def _warn_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({_size(target)}) that is different to the input size "
            f"({_size(input)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def _size(t: Tensor) -> str:
    return repr(Size(t.shape))


def _reduce_arr(ctx, loss, reduction: str):
    """``loss`` reduced as :func:`reduce_loss` would (the same backend calls), inside a loss
    Function's forward; remembers what :func:`_grad_scale` needs."""
    ctx.reduction = reduction
    if reduction == "mean":
        ctx.n = loss.size
        return _mean_arr(ctx.xp, loss, None, False, None)
    if reduction == "sum":
        return ctx.xp.sum(loss)
    return loss


def _grad_scale(ctx, g: Tensor) -> Tensor:
    """The elementwise-loss gradient that the reduction passes back (broadcasts as needed)."""
    return g / ctx.n if ctx.reduction == "mean" else g


def _fused_ok(input: Tensor, target) -> bool:
    """Whether a pointwise loss can run as one Function: same dtype and device (otherwise the
    composite form applies torch's promotion rules and device checks)."""
    return (isinstance(target, Tensor) and input._data.dtype == target._data.dtype
            and input._device is target._device and input._data.dtype.kind == "f")


class MseLoss(Function):
    """``(x - t) ** 2``, reduced: one graph node, as torch's MseLossBackward0. Backward
    recomputes ``x - t`` with Tensor ops, so second derivatives work."""

    _raw = True

    @staticmethod
    def forward(ctx, x, t, reduction):
        d = E._bcast_guard(ctx.xp.subtract, x, t)
        ctx.save_for_backward(x, t)
        return _reduce_arr(ctx, d * d, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        u = _grad_scale(ctx, g) * (x - t)
        gd = u + u  # the sum the composite d * d gives: exactly 2 * u
        return gd, (-gd if ctx.needs_input_grad[1] else None), None


class _HuberLike(Function):
    """smooth_l1 / huber on ``d = x - t``: quadratic where ``|d| < beta``, linear elsewhere
    (the forward formulas of the composite forms, in one node as torch records them)."""

    _raw = True
    _huber = False

    @classmethod
    def forward(cls, ctx, x, t, beta, reduction):
        xp = ctx.xp
        d = E._bcast_guard(xp.subtract, x, t)
        a = xp.abs(d)
        dt = d.dtype.type
        if beta == 0:
            loss = a
        elif cls._huber:
            loss = xp.where(a < beta, d * d * dt(0.5), (a - dt(0.5 * beta)) * dt(beta))
        else:
            loss = xp.where(a < beta, d * d * dt(0.5 / beta), a - dt(0.5 * beta))
        ctx.save_for_backward(x, t)
        ctx.beta = beta
        return _reduce_arr(ctx, loss, reduction)

    @classmethod
    def backward(cls, ctx, g):
        x, t = ctx.saved_tensors
        beta = ctx.beta
        gm = _grad_scale(ctx, g)
        d = x - t
        lin = gm * E.sign(d) if beta == 0 or not cls._huber else (gm * beta) * E.sign(d)
        if beta == 0:
            gd = lin
        else:
            u = (gm * (0.5 if cls._huber else 0.5 / beta)) * d
            gd = E.where(E.abs(d) < beta, u + u, lin)
        return gd, (-gd if ctx.needs_input_grad[1] else None), None, None


class SmoothL1Loss(_HuberLike):
    pass


class HuberLoss(_HuberLike):
    _huber = True


def _weighted(loss: Tensor, weight: Tensor | None, reduction: str, input: Tensor,
              mean_by_weight: bool = True) -> Tensor:
    if weight is None:
        return reduce_loss(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return reduce_loss(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2`` (optionally weighted).

    Example:
        >>> F.mse_loss(gpuarr.zeros(3), gpuarr.ones(3))
        tensor(1.)
    """
    if _amp.on:
        return _amp.run("mse_loss", mse_loss, input, target, size_average=size_average,
                        reduce=reduce, reduction=reduction, weight=weight)
    check_tensor(input, "input", "mse_loss")
    check_tensor(target, "target", "mse_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    _warn_size(input, target)
    if target._data.dtype.kind in "biu" and input._data.dtype.kind == "f":
        target = target.to(input.dtype)  # torch promotes an integer target: still one node
    if weight is None and _fused_ok(input, target):
        return MseLoss.apply(input, target, reduction)
    d = input - target
    return _weighted(d * d, weight, reduction, input)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|`` (optionally weighted)."""
    if _amp.on:
        return _amp.run("l1_loss", l1_loss, input, target, size_average=size_average, reduce=reduce,
                        reduction=reduction, weight=weight)
    check_tensor(input, "input", "l1_loss")
    check_tensor(target, "target", "l1_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    _warn_size(input, target)
    return _weighted(E.abs(input - target), weight, reduction, input)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - beta / 2`` (``d = input -
    target``)."""
    if _amp.on:
        return _amp.run("smooth_l1_loss", smooth_l1_loss, input, target, size_average=size_average,
                        reduce=reduce, reduction=reduction, beta=beta)
    check_tensor(input, "input", "smooth_l1_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _warn_size(input, target)
    if _fused_ok(input, target):
        return SmoothL1Loss.apply(input, target, float(beta), reduction)
    d = input - target
    a = E.abs(d)
    if beta == 0:
        return reduce_loss(a, reduction)
    loss = E.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return reduce_loss(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta * (|d| - delta / 2)``."""
    if _amp.on:
        return _amp.run("huber_loss", huber_loss, input, target, reduction=reduction, delta=delta,
                        weight=weight)
    check_tensor(input, "input", "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _warn_size(input, target)
    if weight is None and _fused_ok(input, target):
        return HuberLoss.apply(input, target, float(delta),
                               legacy_reduction(None, None, reduction))
    d = input - target
    a = E.abs(d)
    loss = E.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    # torch averages the weighted Huber loss over elements (not over the weights)
    return _weighted(loss, weight, legacy_reduction(None, None, reduction), input, False)


# --------------------------------------------------------------------------------------------
# binary losses


class BinaryCrossEntropy(Function):
    _raw = True
    _next_args = (0, 1)  # torch's node lists input and target

    @staticmethod
    def forward(ctx, x, t, w, reduction):
        xp = ctx.xp
        dt = x.dtype.type
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = xp.maximum(xp.log(x), dt(-100))
            l1x = xp.maximum(xp.log1p(-x), dt(-100))
        loss = -(t * lx + (dt(1) - t) * l1x)
        if w is not None:
            loss *= w
        ctx.save_for_backward(x, t, w)
        return _reduce_arr(ctx, loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = gt = None
        g = _grad_scale(ctx, g)
        gw = g if w is None else g * w
        if nig[0]:
            gx = gw * (x - t) / E.clamp((1 - x) * x, min=1e-12)
        if nig[1]:
            gt = gw * (E.log1p(-x) - E.log(x))
        return gx, gt, None, None


def _check_same_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({_size(target)}) that is different to the input size "
            f"({_size(input)}) is deprecated. Please ensure they have the same size."
        )


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``-w * (t * log(x) + (1 - t) * log(1 - x))`` with logs clamped at -100 (as torch).

    Args:
        input: probabilities in [0, 1].
        target: same shape as input.
        weight: broadcast against input.
    """
    if _amp.on:
        return _amp.run("binary_cross_entropy", binary_cross_entropy, input, target, weight=weight,
                        size_average=size_average, reduce=reduce, reduction=reduction)
    check_tensor(input, "input", "binary_cross_entropy")
    check_tensor(target, "target", "binary_cross_entropy")
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_same_size(input, target)
    d = input._data
    if d.size:  # torch checks on the device; gpuarr on the host (a wait)
        sync_debug.check_array(d)
    if d.size and bool(((d < 0) | (d > 1)).any()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    t = target if target.dtype == input.dtype else target.to(input.dtype)
    w = weight
    if w is not None:
        w = w.to(input.dtype).detach().expand(input.shape)
    return BinaryCrossEntropy.apply(input, t, w, reduction)


class BCEWithLogits(Function):
    _raw = True
    _node_name = "BinaryCrossEntropyWithLogitsBackward0"
    _next_args = (0, 1)  # torch's node lists input and target

    @staticmethod
    def forward(ctx, x, t, w, pw, reduction):
        xp = ctx.xp
        dt = x.dtype.type
        # softplus(-x) = max(-x, 0) + log1p(exp(-|x|)): no overflow for any x
        sp = xp.maximum(-x, dt(0)) + xp.log1p(xp.exp(-xp.abs(x)))
        lw = dt(1) if pw is None else dt(1) + (pw - dt(1)) * t
        loss = (dt(1) - t) * x + lw * sp
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, t, w, pw)
        return _reduce_arr(ctx, loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, w, pw = ctx.saved_tensors
        nig = ctx.needs_input_grad
        g = _grad_scale(ctx, g)
        gw = g if w is None else g * w
        gx = gt = None
        if nig[0]:
            lw = 1 if pw is None else (pw - 1) * t + 1
            gx = gw * ((1 - t) - E.sigmoid(-x) * lw)
        if nig[1]:
            # d/dt = -x + (pw - 1) * softplus(-x)
            sp = E.clamp(-x, min=0) + E.log1p(E.exp(-E.abs(x)))
            gt = gw * (-x) if pw is None else gw * ((pw - 1) * sp - x)
        return gx, gt, None, None, None


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross entropy in one numerically stable step.

    Args:
        input: logits.
        target: same shape as input, values in [0, 1].
        weight: broadcast against input.
        pos_weight: weight of positive examples, broadcast along the last dim (classes).
    """
    if _amp.on:
        return _amp.run("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits, input,
                        target, weight=weight, size_average=size_average, reduce=reduce,
                        reduction=reduction, pos_weight=pos_weight)
    check_tensor(input, "input", "binary_cross_entropy_with_logits")
    check_tensor(target, "target", "binary_cross_entropy_with_logits")
    reduction = legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({_size(target)}) must be the same as input size ({_size(input)})")
    t = target if target.dtype == input.dtype else target.to(input.dtype)
    w = None if weight is None else weight.to(input.dtype).detach()
    pw = None if pos_weight is None else pos_weight.to(input.dtype).detach()
    return BCEWithLogits.apply(input, t, w, pw, reduction)


# --------------------------------------------------------------------------------------------
# others


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with ``input`` as log-probabilities.

    Args:
        reduction: 'none', 'sum', 'mean' (over all elements) or 'batchmean' (sum / batch
            size, the mathematically correct KL).
        log_target: ``target`` holds log-probabilities too.
    """
    if _amp.on:
        return _amp.run("kl_div", kl_div, input, target, size_average=size_average, reduce=reduce,
                        reduction=reduction, log_target=log_target)
    if reduction == "batchmean":
        red = "batchmean"
    else:
        red = legacy_reduction(size_average, reduce, reduction)
        if red == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the "
                "support size.'batchmean' divides only by the batch size, and aligns with the "
                "KL div math definition.'mean' will be changed to behave the same as "
                "'batchmean' in the next major release.",
                UserWarning,
                stacklevel=2,
            )
    if log_target:
        loss = E.exp(target) * (target - input)
    else:
        zero = target == 0
        safe_t = E.where(zero, 1.0, target)
        loss = E.where(zero, 0.0, target * (E.log(safe_t) - input))
    if red == "batchmean":
        n = input.shape[0] if input.ndim else 1
        return loss.sum() / n
    return reduce_loss(loss, red)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * input))`` for targets in {-1, 1}."""
    if _amp.on:
        return _amp.run("soft_margin_loss", soft_margin_loss, input, target,
                        size_average=size_average, reduce=reduce, reduction=reduction)
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(softplus(-target * input), reduction)
