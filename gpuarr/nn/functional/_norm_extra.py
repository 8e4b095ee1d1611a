"""More normalisation: ``instance_norm``, ``rms_norm`` and ``cosine_similarity``.

``instance_norm`` reuses the raw per-axis normaliser of :mod:`._norm` (statistics per sample
and channel); ``rms_norm`` and ``cosine_similarity`` are compositions of differentiable Tensor
ops, so their gradients (and second derivatives) come from the autograd graph.
"""

from __future__ import annotations

from ..._autocast import state as _amp
from ..._dtype import finfo, float32
from ..._tensor import Tensor
from ...ops import elementwise as E
from ...ops.decompositions import vector_norm
from ...ops.shape import broadcast_tensors
from ._norm import _norm, batch_norm
from ._utils import check_tensor

__all__ = ["instance_norm", "rms_norm", "cosine_similarity"]


def _update_running_instance(rm: Tensor | None, rv: Tensor | None, mean, var, n: int,
                             momentum: float) -> None:
    """torch's running-statistics update for instance norm: the per-instance statistics
    averaged over the batch (unbiased variance), blended in with ``momentum``."""
    c = mean.shape[1]
    if rm is not None:
        d = rm._data
        m = mean.reshape(mean.shape[0], c).mean(axis=0)
        d *= d.dtype.type(1 - momentum)
        d += m.astype(d.dtype, copy=False) * d.dtype.type(momentum)
        rm._bump_version()
    if rv is not None:
        d = rv._data
        v = var.reshape(var.shape[0], c).mean(axis=0) * (n / (n - 1))
        d *= d.dtype.type(1 - momentum)
        d += v.astype(d.dtype, copy=False) * d.dtype.type(momentum)
        rv._bump_version()


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalisation: normalise each (sample, channel) of (N, C, *) input over its
    spatial dims, then apply an optional per-channel scale and shift.

    Args:
        input: (N, C, *) tensor with at least one spatial dim.
        running_mean, running_var: optional (C,) buffers; updated in place when
            ``use_input_stats`` (batch mean of the per-instance statistics, unbiased variance).
        weight, bias: optional (C,) affine parameters.
        use_input_stats: normalise with the input's statistics (else the running ones).
        momentum: running-statistics blend factor.
        eps: added to the variance.

    Returns:
        Tensor of ``input``'s shape.

    Example:
        >>> F.instance_norm(gpuarr.randn(2, 3, 8, 8))
    """
    check_tensor(input, "input", "instance_norm")
    if input.ndim < 3:
        raise ValueError(f"expected at least 3D input (got {input.ndim}D input)")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    n = 1
    for s in input.shape[2:]:
        n *= s
    if n <= 1:
        raise ValueError(
            "Expected more than 1 spatial element when training, got input size "
            f"{list(input.shape)}")
    axes = tuple(range(2, input.ndim))
    pshape = (1, c) + (1,) * (input.ndim - 2)
    track = running_mean is not None or running_var is not None
    holder: list | None = [] if track else None
    out = _norm(input, weight, bias, axes, pshape, eps, holder)
    if holder:
        mean, var = holder[0]
        _update_running_instance(running_mean, running_var, mean, var, n, momentum)
    return out


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Root-mean-square normalisation over the last ``len(normalized_shape)`` dims:
    ``x / sqrt(mean(x**2) + eps) * weight``.

    Args:
        input: tensor whose trailing dims equal ``normalized_shape``.
        normalized_shape: int or tuple of the trailing dims to normalise over.
        weight: optional scale of shape ``normalized_shape``.
        eps: added to the mean square; None means ``finfo(input.dtype).eps`` (as torch).

    Returns:
        Tensor of ``input``'s shape.

    Example:
        >>> F.rms_norm(gpuarr.randn(2, 5), (5,))
    """
    check_tensor(input, "input", "rms_norm")
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape [*, "
            f"{', '.join(str(s) for s in ns)}], but got input of size{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != ns:
        raise RuntimeError(
            f"Expected weight to be of same shape as normalized_shape, but got weight of "
            f"shape {list(weight.shape)} and normalized_shape = {list(ns)}")
    dt = input._data.dtype
    if eps is None:
        eps = finfo(input.dtype).eps if dt.kind in "fV" else finfo(float32).eps
    x = input
    half = dt.itemsize == 2 and dt.kind in "fV"  # float16, bfloat16
    if half:  # the statistics in float32, as torch
        x = input.to(float32)
    axes = tuple(range(input.ndim - k, input.ndim))
    ms = (x * x).mean(axes, keepdim=True) if axes else x * x
    out = x * E.rsqrt(ms + eps)
    if half:
        out = out.to(input.dtype)
    if weight is not None:
        out = out * weight
    return out


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine similarity of ``x1`` and ``x2`` along ``dim`` (torch's formula: each input is
    divided by its L2 norm clamped below at ``eps``, the clamp taking no gradient).

    Args:
        x1, x2: broadcastable tensors.
        dim: the dim to reduce.
        eps: lower bound of each norm.

    Returns:
        The broadcast shape without ``dim``.

    Example:
        >>> F.cosine_similarity(gpuarr.randn(4, 8), gpuarr.randn(4, 8))
    """
    if _amp.on:
        return _amp.run("cosine_similarity", cosine_similarity, x1, x2, dim=dim, eps=eps)
    check_tensor(x1, "x1", "cosine_similarity")
    check_tensor(x2, "x2", "cosine_similarity")
    a, b = broadcast_tensors(x1, x2)
    if a._data.dtype.kind not in "fV":
        a, b = a.to(float32), b.to(float32)

    def _normed(t: Tensor) -> Tensor:
        nrm = vector_norm(t, 2, dim, keepdim=True)
        nd = nrm.detach()
        return t / (nrm + (E.clamp(nd, min=eps) - nd))

    return (_normed(a) * _normed(b)).sum(dim)
