"""Normalisation: batch_norm, layer_norm, group_norm.

All three share one raw Function: normalise over ``axes`` with the biased variance, then apply
an optional per-feature scale and shift. The usual backward runs on saved arrays (``xhat`` and
``1/std``); when a graph is being built (``create_graph=True``) it recomputes the statistics
from the input with Tensor ops, so second derivatives are exact.
"""

from __future__ import annotations

import numpy as np

from ..._autocast import state as _amp
from ..._tensor import Size, Tensor, _make
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...ops import elementwise as E
from ._utils import check_tensor

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _sum_keep(a, axes):
    return a.sum(axis=axes, keepdims=True)


class NormAffine(Function):
    """``(x - mean) / sqrt(var + eps) * w + b`` with statistics over ``axes``.

    ``pshape`` is the shape the (flat) weight and bias are viewed as to broadcast against x.
    ``holder`` receives (mean, biased var) arrays for running-statistics updates.
    """

    _raw = True

    @staticmethod
    def forward(ctx, x, w, b, axes, pshape, eps, holder):
        xp = ctx.xp
        x_in, w_in = x, w
        half = x.dtype.itemsize == 2 and x.dtype.kind in "fV"  # float16, bfloat16
        if half:  # statistics and the affine map in float32, as torch (float16 overflows)
            x = x.astype(np.float32)
            w = None if w is None else w.astype(np.float32)
            b = None if b is None else b.astype(np.float32)
        t = x.dtype.type
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        invstd = t(1) / xp.sqrt(var + t(eps))
        xhat = xc
        xhat *= invstd
        if holder is not None:
            holder.append((mean, var))
        if w is not None:
            out = xhat * w.reshape(pshape)
            if b is not None:
                out += b.reshape(pshape)
        else:
            out = xhat + b.reshape(pshape) if b is not None else xhat.copy()
        ctx.save_for_backward(x_in, w_in, xhat, invstd)
        ctx.axes, ctx.pshape, ctx.eps = axes, pshape, eps
        ctx.b_shape = None if b is None else b.shape
        return out.astype(x_in.dtype) if half else out

    @staticmethod
    def backward(ctx, g):
        x, w, xhat, invstd = ctx.saved_tensors
        axes, pshape = ctx.axes, ctx.pshape
        nig = ctx.needs_input_grad
        paxes = tuple(i for i in range(g.ndim) if _bcast_axis(i, g.ndim, pshape))
        if not is_grad_enabled():
            return _backward_arrays(g, w, xhat, invstd, axes, pshape, paxes, nig, ctx.b_shape)
        # building a graph: recompute the statistics from x so the result depends on x
        n = 1
        for a in axes:
            n *= x.shape[a]
        mean = x.sum(axes, keepdim=True) / n
        xc = x - mean
        var = (xc * xc).sum(axes, keepdim=True) / n
        inv = E.rsqrt(var + ctx.eps)
        xh = xc * inv
        gxh = g if w is None else g * w.reshape(pshape)
        gx = gw = gb = None
        if nig[0]:
            m1 = gxh.sum(axes, keepdim=True) / n
            m2 = (gxh * xh).sum(axes, keepdim=True) / n
            gx = (gxh - m1 - xh * m2) * inv
        if nig[1]:
            gw = (g * xh).sum(paxes).reshape(w.shape) if paxes else (g * xh).reshape(w.shape)
        if nig[2]:
            gb = g.sum(paxes).reshape(ctx.b_shape) if paxes else g.reshape(ctx.b_shape)
        return gx, gw, gb, None, None, None, None


def _bcast_axis(i: int, ndim: int, pshape) -> bool:
    """Whether dim ``i`` of the input is broadcast (size 1 or absent) in ``pshape``."""
    j = i - (ndim - len(pshape))
    return j < 0 or pshape[j] == 1


def _backward_arrays(g, w, xhat, invstd, axes, pshape, paxes, nig, b_shape):
    xp = g._device._xp()
    gd, xh = g._data, xhat._data
    if gd.dtype != xh.dtype:
        gd = gd.astype(xh.dtype)  # float16 grads: the float32 statistics' precision
    t = gd.dtype.type
    n = 1
    for a in axes:
        n *= gd.shape[a]
    dev = g._device
    gx = gw = gb = None
    # sums over the parameter-broadcast dims: the weight and bias grads
    gsum = gd.sum(axis=paxes) if paxes else gd
    gxhs = (gd * xh).sum(axis=paxes) if paxes else gd * xh
    if nig[0]:
        wd = None if w is None else w._data.reshape(pshape)
        if paxes == tuple(axes):
            # batch norm: the statistics run over the same dims, reuse the sums above
            m1 = gsum.reshape(pshape)
            m2 = gxhs.reshape(pshape)
            if wd is not None:
                m1 = m1 * wd
                m2 = m2 * wd
        else:
            gxh0 = gd if wd is None else gd * wd
            m1 = _sum_keep(gxh0, axes)
            m2 = _sum_keep(gxh0 * xh, axes)
        r = gd * t(n) if wd is None else gd * (wd * t(n))
        r -= m1
        r -= xh * m2
        r *= invstd._data / t(n)
        gx = _make(r, dev)
    if nig[1]:
        gw = _make(xp.ascontiguousarray(gxhs).reshape(w.shape), dev)
    if nig[2]:
        gb = _make(xp.ascontiguousarray(gsum).reshape(b_shape), dev)
    return gx, gw, gb, None, None, None, None


class BatchNormAffine(NormAffine):
    _node_name = "NativeBatchNormBackward0"  # torch's node: input, weight, bias
    _next_args = (0, 1, 2)


class LayerNormAffine(NormAffine):
    _node_name = "NativeLayerNormBackward0"
    _next_args = (0, 1, 2)


def _norm(x, w, b, axes, pshape, eps, holder=None, cls: type = NormAffine) -> Tensor:
    """Normalise ``x`` (``cls``: the NormAffine subclass that names the graph node)."""
    if b is not None and w is not None and b.shape != w.shape:
        raise RuntimeError("weight and bias must have the same shape")
    return cls.apply(x, w, b, tuple(axes), tuple(pshape), float(eps), holder)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over the channel dim (1) of (N, C, *) input.

    In training mode the batch statistics normalise the input (biased variance) and the
    running statistics, when given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch`` (unbiased variance for
    ``running_var``). In eval mode the running statistics are used.

    Example:
        >>> F.batch_norm(x, None, None, training=True)
    """
    check_tensor(input, "input", "batch_norm")
    if input.ndim < 2:
        raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")
    c = input.shape[1]
    pshape = (1, c) + (1,) * (input.ndim - 2)
    axes = (0,) + tuple(range(2, input.ndim))
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.numel() != c:
            raise RuntimeError(
                f"running_mean should contain {c} elements not {t.numel()}"
                if name.startswith("running") else
                f"{name} should contain {c} elements not {t.numel()}"
            )
    if training:
        size = input.numel() // c if c else 0
        if size <= 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{_torch_size(input.shape)}"
            )
        holder: list | None = [] if running_mean is not None or running_var is not None \
            else None
        out = _norm(input, weight, bias, axes, pshape, eps, holder, BatchNormAffine)
        if holder:
            mean, var = holder[0]
            _update_running(running_mean, running_var, mean, var, size, momentum)
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    rm = running_mean if running_mean.dtype == input.dtype else running_mean.to(input.dtype)
    rv = running_var if running_var.dtype == input.dtype else running_var.to(input.dtype)
    inv = E.rsqrt(rv + eps)
    scale = inv if weight is None else weight * inv
    shift = -rm * scale if bias is None else bias - rm * scale
    return input * scale.reshape(pshape) + shift.reshape(pshape)


def _torch_size(shape) -> str:
    return repr(Size(shape))


def _update_running(rm, rv, mean, var, n: int, momentum: float) -> None:
    m = momentum
    if rm is not None:
        d = rm._data
        upd = mean.reshape(-1).astype(d.dtype, copy=False)
        d *= d.dtype.type(1 - m)
        d += upd * d.dtype.type(m)
        rm._bump_version()
    if rv is not None:
        d = rv._data
        unbiased = var.reshape(-1) * (n / (n - 1))
        d *= d.dtype.type(1 - m)
        d += unbiased.astype(d.dtype, copy=False) * d.dtype.type(m)
        rv._bump_version()


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims, then scale and shift.

    Example:
        >>> F.layer_norm(gpuarr.randn(2, 5), (5,))
    """
    if _amp.on:
        return _amp.run("layer_norm", layer_norm, input, normalized_shape, weight=weight, bias=bias,
                        eps=eps)
    check_tensor(input, "input", "layer_norm")
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != ns or input.ndim < k:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape [*, "
            f"{', '.join(str(s) for s in ns)}], but got input of size{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t.shape)} and normalized_shape = {list(ns)}"
            )
    axes = tuple(range(input.ndim - k, input.ndim))
    return _norm(input, weight, bias, axes, ns, eps, None, LayerNormAffine)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise channels in ``num_groups`` groups (statistics per sample and group)."""
    if _amp.on:
        return _amp.run("group_norm", group_norm, input, num_groups, weight=weight, bias=bias,
                        eps=eps)
    check_tensor(input, "input", "group_norm")
    if input.ndim < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(input.shape)} and num_groups={num_groups}"
        )
    s = 1
    for d in input.shape[2:]:
        s *= d
    x4 = input.reshape(n, num_groups, c // num_groups, s)
    out = _norm(x4, weight, bias, (2, 3), (1, num_groups, c // num_groups, 1), eps)
    return out.reshape(input.shape)

