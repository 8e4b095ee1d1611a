"""``linear_cross_entropy``: a linear layer followed by cross entropy, optionally chunked.

The reference path is ``cross_entropy(linear(input, linear_weight, linear_bias), target)``,
composed of gpuarr's own differentiable ops. With ``options`` (a
:class:`~gpuarr.nn.LinearCrossEntropyOptions`) the loss runs as one Function that walks the
batch in chunks of ``batch_chunk_size`` rows: the ``(N, C)`` logits never exist at once, only
one ``(chunk, C)`` block, in forward and again (recomputed) in backward. This is what makes
the op worth having for a large vocabulary head.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ... import jit
from ..._core.capture import raise_if
from ..._tensor import Tensor
from ...autograd.function import Function
from ...ops._common import dtype_name, float_dtype_check, opmath, round_back
from ...ops.stacking import cat
from ._activation import softmax
from ._linear import linear
from ._loss import _check_nll_args, _unbatched_target, cross_entropy
from ._utils import check_tensor

if TYPE_CHECKING:
    from ..linear_cross_entropy import LinearCrossEntropyOptions

__all__ = ["linear_cross_entropy"]

_OP = "linear_cross_entropy"
_CHUNKED_REDUCTIONS = ("mean", "sum", "none")
# the C++ scalar names torch's matmul dtype-mismatch message uses
_CPP_NAMES = {"Float": "float", "Double": "double", "Half": "c10::Half",
              "BFloat16": "c10::BFloat16"}


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: LinearCrossEntropyOptions | None = None,
) -> Tensor:
    r"""Cross entropy between ``linear(input, linear_weight, linear_bias)`` and ``target``.

    Equivalent to::

        logits = linear(input, linear_weight, linear_bias)   # (N, C, *out_features)
        loss = cross_entropy(logits, target, weight=weight, reduction=reduction,
                             ignore_index=ignore_index, label_smoothing=label_smoothing)

    with ``ignore_index=None`` meaning -100 for class-index targets (and not allowed to be set
    for probability targets). A ``linear_weight`` of shape ``(C, d1, ..., dK, in_features)``
    gives K-dimensional logits ``(N, C, d1, ..., dK)``.

    Args:
        input: ``(in_features,)`` or ``(N, in_features)`` samples.
        linear_weight: ``(C, in_features)`` or ``(C, d1, ..., dK, in_features)``.
        target: int64 class indices ``()``, ``(N,)`` or ``(N, d1, ..., dK)``; or float class
            probabilities shaped like the logits.
        linear_bias: ``(C, d1, ..., dK)`` bias of the linear projection, or None.
        weight: ``(C,)`` per-class rescaling weights, or None.
        reduction: 'mean', 'sum' or 'none'.
        ignore_index: class-index target value that contributes nothing (None: -100).
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.
        options: None for the reference path, or a ``LinearCrossEntropyOptions`` for the
            chunked path (2-D weight, int64 targets, no label smoothing; anything else warns
            and runs the reference path).

    Returns:
        The loss: a scalar, or per sample (``()``, ``(N,)``, ``(N, d1, ..., dK)``) for
        ``reduction='none'``.

    Example:
        >>> x = gpuarr.randn(8, 16, requires_grad=True)
        >>> w = gpuarr.randn(1000, 16, requires_grad=True)
        >>> y = gpuarr.randint(0, 1000, (8,))
        >>> loss = F.linear_cross_entropy(x, w, y, options=nn.LinearCrossEntropyOptions(
        ...     batch_chunk_size=4))
        >>> loss.backward()
    """
    for t, name in ((input, "input"), (linear_weight, "linear_weight"), (target, "target")):
        check_tensor(t, name, _OP)
    logits_shape, out_features = _check_shapes(input, linear_weight, linear_bias)
    # as torch (and cross_entropy): a float target shaped like the logits holds probabilities
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index

    if options is not None:
        tracing = jit.is_tracing()
        is_long = target._data.dtype == np.int64
        if (out_features or reduction not in _CHUNKED_REDUCTIONS or label_smoothing != 0.0
                or not is_long or tracing):
            warnings.warn(
                "linear_cross_entropy: ``options`` ignored; chunked path needs "
                "reduction in {'mean','sum','none'}, label_smoothing == 0, target.dtype"
                " == int64, out_features == (). Got "
                f"reduction={reduction!r}, label_smoothing={label_smoothing}, "
                f"target.dtype={target.dtype}, out_features={tuple(out_features)}"
                f", tracing={tracing}"
                f", linear_bias.shape="
                f"{tuple(linear_bias.shape) if linear_bias is not None else None}.",
                stacklevel=2,
            )
        else:
            return _chunked(input, linear_weight, target, linear_bias, weight, reduction,
                            ignore_index, options)

    _check_dtypes(input, linear_weight, linear_bias)
    if out_features:  # F.linear takes a 2-D weight: flatten (C, d1.., F), unflatten the logits
        flat = math.prod(out_features, start=linear_weight.shape[0])
        linear_weight = linear_weight.reshape(flat, input.shape[-1])
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(flat)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)


def _check_shapes(input: Tensor, linear_weight: Tensor, linear_bias: Tensor | None):
    """torch's shape checks; returns ``(logits shape, out_features)``."""
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(
            f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    num_batches = tuple(input.shape[:-1])
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), "
            f"got {in_features} and {linear_weight.shape[-1]}, respectively")
    num_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None:
        check_tensor(linear_bias, "linear_bias", _OP)
        if tuple(linear_bias.shape) != (num_classes, *out_features):
            raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, "
                               f"got {tuple(linear_bias.shape)}")
    if out_features and not num_batches:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}")
    return (*num_batches, num_classes, *out_features), out_features


def _check_dtypes(input: Tensor, linear_weight: Tensor, linear_bias: Tensor | None,
                  mixed: bool = False) -> None:
    """torch's matmul dtype errors. ``mixed``: the chunked path's mixed precision (float16 /
    bfloat16 input accumulated in float32), where torch takes parameters of another dtype."""
    a, b = dtype_name(input.dtype), dtype_name(linear_weight.dtype)
    if a != b and not (mixed and linear_weight.is_floating_point()):
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{_CPP_NAMES.get(a, a)} != {_CPP_NAMES.get(b, b)}")
    if linear_bias is not None and linear_bias.dtype not in (input.dtype, linear_weight.dtype):
        raise RuntimeError("self and mat2 must have the same dtype, but got "
                           f"{dtype_name(linear_bias.dtype)} and {a}")


# --------------------------------------------------------------------------------------------
# the chunked path


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
             options) -> Tensor:
    """Check what the reference path would check, resolve the chunk size, run the op."""
    float_dtype_check(input, _OP)
    batched = input.ndim == 2
    n = input.shape[0] if batched else 1
    num_classes, in_features = linear_weight.shape
    if weight is not None:
        check_tensor(weight, "weight", _OP)
    # cross_entropy's target and class-weight errors, against the logits' shape
    logits_shape = (n, num_classes) if batched else (num_classes,)
    target = _unbatched_target(len(logits_shape), target)
    _check_nll_args(logits_shape, target, weight)
    if not batched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    _check_target_range(target, num_classes, ignore_index)
    opts = options._adjust(num_batches=n, in_features=in_features, num_classes=num_classes,
                           dtype=input.dtype, device=input.device)
    _check_acc_dtype(input.dtype, opts.acc_dtype)
    _check_dtypes(input, linear_weight, linear_bias, mixed=opts.acc_dtype != input.dtype)
    # class weights are constants, as in cross_entropy
    cw = None if weight is None else weight.detach()
    out = _ChunkedLinearCrossEntropy.apply(input, linear_weight, linear_bias, target, cw,
                                           ignore_index, reduction, opts.batch_chunk_size)
    return out if batched else out.squeeze(0)


def _check_target_range(target: Tensor, num_classes: int, ignore_index: int) -> None:
    """IndexError for a target outside ``[0, C)`` that is not ``ignore_index``, as the
    reference path gives (torch syncs on this check as well)."""
    t = target._data
    if t.size == 0:
        return
    bad = ((t < 0) | (t >= num_classes)) & (t != ignore_index)
    raise_if(bad.any(), _target_error, t, bad)


def _target_error(t, bad) -> IndexError:
    first = int(t[bad].reshape(-1)[0].item())
    return IndexError(f"Target {first} is out of bounds.")


def _check_acc_dtype(dtype, acc_dtype) -> None:
    """torch's rule: an ``acc_dtype`` other than the input's only as float32 for halves."""
    half = dtype.is_floating_point and dtype.itemsize == 2
    if acc_dtype != dtype and not (half and acc_dtype.itemsize == 4
                                   and acc_dtype.is_floating_point):
        raise RuntimeError(
            "linear_cross_entropy supports float32 acc_dtype with float16/bfloat16 inputs, "
            f"but got {acc_dtype} acc_dtype and {dtype} inputs.")


class _ChunkedLinearCrossEntropy(Function):
    """Cross entropy of ``x @ w.T + b`` (2-D ``x``, index targets), ``chunk`` rows at a time.

    Forward keeps only per-row values (``(N,)``); backward recomputes each chunk's logits from
    the saved ``x``, ``w``, ``b`` with Tensor ops, so it too holds one ``(chunk, C)`` block at a
    time, ``retain_graph`` needs nothing kept, and ``create_graph`` gives second derivatives.
    float16/bfloat16 are computed in float32 and rounded once.
    """

    _raw = True
    _node_name = "LinearCrossEntropyBackward0"
    _next_args = (0, 1, 2)

    @staticmethod
    def forward(ctx, x, w, b, tgt, cw, ignore_index, reduction, chunk):
        xp = ctx.xp
        xc, half = opmath(x)
        ct = xc.dtype
        wc = w.astype(ct, copy=False)
        bc = None if b is None else b.astype(ct, copy=False)
        valid = tgt != ignore_index
        safe = xp.where(valid, tgt, tgt.dtype.type(0))  # the class to pick (0: ignored rows)
        # per-row loss weight: w[target], 0 on ignored rows
        rw = valid.astype(ct) if cw is None else xp.take(cw.astype(ct), safe) * valid
        nll = xp.empty(x.shape[0], ct)  # logsumexp(z) - z[target] per row
        for s in range(0, x.shape[0], chunk):
            nll[s:s + chunk] = _chunk_nll(xp, xc[s:s + chunk], wc, bc, safe[s:s + chunk])
        losses = nll * rw
        if reduction == "none":
            out, scale = losses, rw
        elif reduction == "sum":
            out, scale = losses.sum(), rw
        else:
            den = rw.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                # a zero total weight gives nan, on the device (no host read of den); as in
                # cross_entropy, ignored rows get an exact 0 gradient even then
                out = losses.sum() / xp.where(den != 0, den, ct.type(np.nan))
                scale = xp.where(valid, rw / den, ct.type(0))
        ctx.save_for_backward(x, w, b, safe, scale)
        ctx.chunk = chunk
        return round_back(xp.asarray(out, dtype=ct), half)

    @staticmethod
    def backward(ctx, g):
        x, w, b, safe, scale = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        ct = scale.dtype  # the compute dtype (float32 for halves)
        # d loss / d logits[n] = coef[n] * (softmax(logits[n]) - onehot(target[n]))
        coef = scale * g.to(ct)
        xc, wc = x.to(ct), w.to(ct)
        bc = None if b is None else b.to(ct)
        gx_parts, gw, gb = [], None, None
        for s in range(0, x.shape[0], ctx.chunk):
            xs, ts, cs = xc[s:s + ctx.chunk], safe[s:s + ctx.chunk], coef[s:s + ctx.chunk]
            c2 = cs.unsqueeze(1)
            dz = softmax(linear(xs, wc, bc), 1) * c2  # the softmax part of d loss / d logits
            if need_x:  # minus the one-hot part: coef * w[target]
                gx_parts.append(dz @ wc - c2 * wc.index_select(0, ts))
            if need_w:
                step = (dz.mT @ xs).index_add(0, ts, -(c2 * xs))
                gw = step if gw is None else gw + step
            if need_b:
                step = dz.sum(0).index_add(0, ts, -cs)
                gb = step if gb is None else gb + step
        gx = gwo = gbo = None
        if need_x:
            gx = cat(gx_parts, 0).to(x.dtype) if gx_parts else x.new_zeros(x.shape)
        if need_w:
            gwo = w.new_zeros(w.shape) if gw is None else gw.to(w.dtype)
        if need_b:
            gbo = b.new_zeros(b.shape) if gb is None else gb.to(b.dtype)
        return gx, gwo, gbo, None, None, None, None, None


def _chunk_nll(xp, x, w, b, tgt):
    """``logsumexp(z) - z[target]`` for each row of ``z = x @ w.T + b`` (one chunk)."""
    z = x @ w.T
    if b is not None:
        z += b
    z -= z.max(axis=1, keepdims=True)  # softmax stability
    picked = xp.take_along_axis(z, tgt[:, None], axis=1)[:, 0]
    return xp.log(xp.exp(z).sum(axis=1)) - picked
