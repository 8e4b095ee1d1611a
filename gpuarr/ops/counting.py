"""Counting ops: ``bincount`` and ``histc`` (integer counts and histograms; no gradients)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..backends import sync_debug
from ._common import _make, check_same_device, dtype_name
from ._registry import mixin, op

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["bincount", "histc"]


@op
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count how often each non-negative integer occurs in a 1-D tensor.

    Args:
        input: 1-D tensor of non-negative integers.
        weights: optional 1-D tensor of the same length; each occurrence adds its weight.
        minlength: smallest length of the result.

    Returns:
        int64 counts of length ``max(input.max() + 1, minlength)``, or the weights' dtype
        when ``weights`` is given.

    Example:
        >>> gpuarr.bincount(gpuarr.tensor([1, 1, 3]))
        tensor([0, 2, 0, 1])
    """
    d = input._data
    if d.dtype.kind not in "iu":
        raise NotImplementedError(
            f'"bincount_{input._device.type}" not implemented for \'{dtype_name(input.dtype)}\''
        )
    sync_debug.check_array(d)  # the values are checked, and the largest read, on the host
    if d.ndim != 1 or (d.size and bool((d < 0).any())):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    xp = input._device._xp()
    if weights is None or d.size == 0:  # torch gives int64 counts for an empty input, weighted too
        return _make(xp.bincount(d, minlength=minlength).astype(np.int64, copy=False),
                     input._device)
    check_same_device(input, weights)
    w = weights._data
    if w.shape != d.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dtype = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    counts = xp.bincount(d, weights=w.astype(np.float64), minlength=minlength)
    return _make(counts.astype(out_dtype, copy=False), input._device)


@op
def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Histogram with ``bins`` equal-width bins between ``min`` and ``max``.

    When ``min == max`` (both 0 by default), the data's own minimum and maximum are used.
    Elements outside the range are ignored; the last bin includes ``max``.

    Args:
        input: a floating point tensor (any shape; it is flattened).
        bins: number of bins.
        min, max: the range covered.

    Returns:
        A 1-D tensor of counts, in the input's dtype.

    Example:
        >>> gpuarr.histc(gpuarr.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    d = input._data
    if d.dtype.kind != "f":
        raise NotImplementedError(
            f'"histogram_{input._device.type}" not implemented for '
            f"'{dtype_name(input.dtype)}'"
        )
    if bins <= 0:
        raise RuntimeError("torch.histc: bins must be > 0")
    lo, hi = float(min), float(max)
    flat = d.reshape(-1)
    sync_debug.check_array(flat)  # the non-NaN count (and maybe the range) is read to the host
    finite = flat[~input._device._xp().isnan(flat)]
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and finite.size:  # an empty range (0, 0 by default) means the data's range
        lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:  # still empty: widen it by one on each side, as torch does
        lo, hi = lo - 1, hi + 1
    xp = input._device._xp()
    dt = d.dtype.type
    # Bin like torch, in the input's precision: linear interpolation between the outer edges
    # (no search against the inner edges), so elements on an inner edge land where torch's do.
    left, right = dt(lo), dt(hi)
    x = finite[(finite >= left) & (finite <= right)]
    pos = ((x - left) * dt(bins) / (right - left)).astype(np.int64)
    pos = xp.clip(pos, 0, bins - 1)  # the right edge itself belongs to the last bin
    counts = xp.bincount(pos, minlength=bins)
    return _make(counts.astype(d.dtype), input._device)


CountingMethods = mixin("CountingMethods", __name__)
