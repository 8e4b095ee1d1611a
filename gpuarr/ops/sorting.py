"""Sorting and selection by rank, with PyTorch's names, defaults, results and errors.

``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``, ``median``, ``nanmedian`` and
``unique``. Sorts are stable and NaN sorts as the largest value (as torch). The ops that return
values with their positions give ``return_types`` named tuples (``(values, indices)``); the
values are differentiable and send their gradient back to the picked positions (the shared
machinery lives in :mod:`gpuarr.ops.reduction`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..backends import of_module, sync_debug
from ._common import _make, wrap_dim
from ._registry import mixin, register
from .complex_ops import no_complex, not_implemented_for
from .reduction import (
    _VI,
    _check_nonempty,
    _dim1,
    _gather,
    _int64,
    _on_1d,
    _return_type,
    _select,
    _slice_along,
)

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "unique",
]

_RSort = _return_type("sort", _VI)
_RTopk = _return_type("topk", _VI)
_RKth = _return_type("kthvalue", _VI)
_RMedian = _return_type("median", _VI)
_RNanMedian = _return_type("nanmedian", _VI)


def _int_arg(op: str, v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(v).__name__}")
    return int(v)


# --------------------------------------------------------------------------------------------
# sort, argsort, msort, topk, kthvalue, median, nanmedian


def _argsort_arr(xp, x, axis: int, descending: bool):
    """Stable argsort along ``axis``; NaN counts as the largest value (as torch)."""

    bk = of_module(xp)

    def asc(a):
        return bk.argsort_stable(bk.sort_keys(a), axis=axis)

    if not descending:
        return asc(x).astype(_int64, copy=False)
    # stable descending: sort the reversed array ascending, then reverse and re-map positions
    n = x.shape[axis]
    idx = asc(xp.flip(x, axis))
    return ((n - 1) - xp.flip(idx, axis)).astype(_int64, copy=False)


def _no_complex_sort(input: Tensor, what: str) -> None:
    no_complex(input, f" {what} does not support complex dtypes on {input._device.type.upper()}")


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sort along ``dim``: ``return_types.sort(values, indices)``.

    The sort is always stable (equal elements keep their order); NaN sorts as the largest.

    Example:
        >>> gpuarr.tensor([3., 1., 2.]).sort(descending=True)
        gpuarr.return_types.sort(
        values=tensor([3., 2., 1.]),
        indices=tensor([0, 2, 1]))
    """
    _no_complex_sort(input, "Sort")
    nd = input._data.ndim
    d = _dim1("sort", dim, nd)
    if nd == 0:
        return _on_1d(lambda t: sort(t, 0, descending), input)
    idx = _argsort_arr(input._device._xp(), input._data, d, descending)
    return _RSort(_gather(input, idx, d, False, "Sort"), _make(idx, input._device))


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (int64); see :func:`sort`.

    Example:
        >>> gpuarr.tensor([3., 1., 2.]).argsort()
        tensor([1, 2, 0])
    """
    _no_complex_sort(input, "Sort")
    nd = input._data.ndim
    d = _dim1("argsort", dim, nd)
    if nd == 0:
        return _make(input._device._xp().zeros((), dtype=_int64), input._device)
    return _make(_argsort_arr(input._device._xp(), input._data, d, descending), input._device)


def msort(input: Tensor) -> Tensor:
    """Values sorted along dim 0.

    Example:
        >>> gpuarr.tensor([3, 1, 2]).msort()
        tensor([1, 2, 3])
    """
    return sort(input, 0).values


def _topk_idx(xp, x, k: int, axis: int, largest: bool):
    n = x.shape[axis]
    if of_module(xp).fast_partition and n > 64 and 0 < k and k * 8 < n:
        # select the k candidates in O(n) first, then sort only those
        kth = n - k if largest else k - 1
        part = xp.argpartition(x, kth, axis=axis)
        part = _slice_along(part, axis, slice(n - k, n) if largest else slice(0, k))
        order = _argsort_arr(xp, xp.take_along_axis(x, part, axis), axis, largest)
        return xp.take_along_axis(part, order, axis).astype(_int64, copy=False)
    return _slice_along(_argsort_arr(xp, x, axis, largest), axis, slice(0, k))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) elements along ``dim``.

    Args:
        input: the tensor.
        k: how many to return (0 <= k <= size of ``dim``).
        dim: the dim to select along.
        largest: largest (True) or smallest (False) elements.
        sorted: accepted for compatibility; results always come sorted.

    Returns:
        ``return_types.topk(values, indices)``.

    Raises:
        RuntimeError: "selected index k out of range" when k is negative or too large.

    Example:
        >>> gpuarr.tensor([1., 4., 2., 3.]).topk(2)
        gpuarr.return_types.topk(
        values=tensor([4., 3.]),
        indices=tensor([1, 3]))
    """
    _no_complex_sort(input, "topk")
    k = _int_arg("topk", k, "k")
    nd = input._data.ndim
    d = _dim1("topk", dim, nd)
    x = input._data
    n = x.shape[d] if nd else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if x.dtype == np.bool_:
        raise RuntimeError(f"topk does not support bool dtypes on {input._device.type.upper()}")
    if nd == 0:
        return _on_1d(lambda t: topk(t, 1, 0, largest), input)  # torch: even for k=0
    idx = _topk_idx(input._device._xp(), x, k, d, largest)
    return _RTopk(_gather(input, idx, d, False, "Topk"), _make(idx, input._device))


def _not_for_bool(op: str, input: Tensor) -> None:
    if input._data.dtype == np.bool_:
        raise NotImplementedError(
            f'"{op}_{input._device.type}" not implemented for \'Bool\'')


def _pick_sorted(rtype, op: str, input: Tensor, dim, keepdim: bool, pos):
    """values/indices of the element at sorted position ``pos(n)`` along ``dim``."""
    nd = input._data.ndim
    d = _dim1(op, dim, nd)
    if nd == 0:
        return _on_1d(lambda t: _pick_sorted(rtype, op, t, 0, keepdim, pos), input)
    x = input._data
    xp = input._device._xp()
    _check_nonempty(op, x, (d,))
    order = _argsort_arr(xp, x, d, False)
    idx = pos(xp, x, order, d)
    values = _gather(input, idx, d, not keepdim, rtype.__name__.capitalize())
    if not keepdim:
        idx = idx.reshape(idx.shape[:d] + idx.shape[d + 1:])
    return rtype(values, _make(idx, input._device))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (1-based) along ``dim``, with its index.

    Returns:
        ``return_types.kthvalue(values, indices)``.

    Raises:
        RuntimeError: when k is not in ``[1, size of dim]``.

    Example:
        >>> gpuarr.tensor([3., 1., 2.]).kthvalue(2).values
        tensor(2.)
    """
    no_complex(input, not_implemented_for("kthvalue_{dev}"), NotImplementedError)
    k = _int_arg("kthvalue", k, "k")
    _not_for_bool("kthvalue", input)
    nd = input._data.ndim
    d = _dim1("kthvalue", dim, nd)
    n = input._data.shape[d] if nd else 1
    if n and not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")

    def pos(xp, x, order, axis):
        return _slice_along(order, axis, slice(k - 1, k))

    return _pick_sorted(_RKth, "kthvalue", input, dim, keepdim, pos)


def _median_pos(xp, x, order, axis):
    n = x.shape[axis]
    idx = _slice_along(order, axis, slice((n - 1) // 2, (n - 1) // 2 + 1))
    if x.dtype.kind == "f":  # any NaN makes the median NaN: point at the first NaN
        nan = xp.isnan(x)
        has = nan.any(axis=axis, keepdims=True)
        first = xp.argmax(of_module(xp).sort_keys(nan), axis=axis, keepdims=True)
        first = first.astype(_int64, copy=False)
        idx = xp.where(has, first, idx)
    return idx


def _nanmedian_pos(xp, x, order, axis):
    if x.dtype.kind != "f":
        return _median_pos(xp, x, order, axis)
    c = (~xp.isnan(x)).sum(axis=axis, keepdims=True)
    k = xp.maximum((c - 1) // 2, 0).astype(_int64, copy=False)
    return xp.take_along_axis(order, k, axis)


def _median_all(op: str, input: Tensor, ignore_nan: bool) -> Tensor:
    x = input._data
    xp = input._device._xp()
    flat = x.reshape(-1)
    if flat.size == 0:
        out = xp.asarray(xp.nan).astype(x.dtype) if x.dtype.kind == "f" else xp.asarray(
            np.iinfo(x.dtype).min if x.dtype.kind in "iu" else 0, dtype=x.dtype)
        return _make(out, input._device)
    s = xp.sort(flat)  # NaN sorts last
    n = flat.size
    if x.dtype.kind == "f" and ignore_nan:
        c = (~xp.isnan(flat)).sum()
        out = s[xp.maximum((c - 1) // 2, 0)]
    else:
        out = s[(n - 1) // 2]
        if x.dtype.kind == "f":
            out = xp.where(xp.isnan(s[-1]), s[-1], out)
    return _select(input, xp.asarray(out, dtype=x.dtype), None, False, op.capitalize())


def median(input: Tensor, dim=None, keepdim: bool = False):
    """Median: the lower of the two middle values for an even count; NaN if any is NaN.

    Forms:
        ``median(input)``: of all elements (a 0-d tensor; NaN for an empty tensor);
        ``median(input, dim, keepdim=False)``: ``return_types.median(values, indices)``.

    Example:
        >>> gpuarr.tensor([4., 1., 3., 2.]).median()
        tensor(2.)
    """
    no_complex(input, not_implemented_for("median_{dev}"), NotImplementedError)
    _not_for_bool("median", input)
    if dim is None:
        return _median_all("median", input, False)
    return _pick_sorted(_RMedian, "median", input, dim, keepdim, _median_pos)


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """Median ignoring NaN (NaN only where every element is NaN); see :func:`median`.

    Example:
        >>> gpuarr.tensor([1., float('nan'), 3., 4.]).nanmedian()
        tensor(3.)
    """
    no_complex(input, not_implemented_for("median_{dev}"), NotImplementedError)
    _not_for_bool("nanmedian", input)
    if dim is None:
        return _median_all("nanmedian", input, True)
    return _pick_sorted(_RNanMedian, "median", input, dim, keepdim, _nanmedian_pos)


# --------------------------------------------------------------------------------------------
# unique


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements (or slices along ``dim``), in ascending order.

    Args:
        input: the tensor.
        sorted: accepted for compatibility; the result is always sorted.
        return_inverse: also return, for each input element (slice), its index in the result.
        return_counts: also return how often each unique value occurs.
        dim: find unique slices along this dim instead of unique elements.

    Returns:
        The unique tensor, or a tuple ``(output, inverse?, counts?)``. NaNs are all distinct,
        as in torch. Not differentiable.

    Example:
        >>> gpuarr.tensor([2, 1, 2, 3]).unique(return_counts=True)
        (tensor([1, 2, 3]), tensor([1, 2, 1]))
    """
    x = input._data
    xp = input._device._xp()
    dev = input._device
    sync_debug.check_array(x)  # the number of unique values is read to the host
    if dim is None:
        u, inv, cnt = xp.unique(x.reshape(-1), return_inverse=True, return_counts=True,
                                equal_nan=False)
        inv = inv.reshape(x.shape)
    else:
        if x.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        d = wrap_dim(dim, x.ndim)
        moved = xp.moveaxis(x, d, 0)
        n, rest = moved.shape[0], moved.shape[1:]
        if x.size == 0:
            if n != 0:
                raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so "
                                   "unique cannot be applied")
            if 0 in rest:
                raise RuntimeError("Number of zero sized dimensions is more than one, so unique "
                                   "cannot be applied ")
            u = x
            inv = xp.zeros((0,), dtype=_int64)
            cnt = xp.zeros((0,), dtype=_int64)
        else:
            u, inv, cnt = _unique_rows(xp, moved.reshape(n, -1))
            u = xp.moveaxis(u.reshape((-1,) + rest), 0, d)
    out = [_make(xp.ascontiguousarray(u), dev)]
    if return_inverse:
        out.append(_make(inv.astype(_int64, copy=False), dev))
    if return_counts:
        out.append(_make(cnt.astype(_int64, copy=False), dev))
    return out[0] if len(out) == 1 else tuple(out)


def _unique_rows(xp, rows):
    """Unique rows of a 2-D array in lexicographic order, with inverse and counts.

    A least-significant-column-first sequence of stable argsorts (a radix-style lexsort) that
    runs the same way on NumPy and CuPy.
    """
    n, m = rows.shape
    order = xp.arange(n)
    for c in range(m - 1, -1, -1):
        col = rows[order, c]
        order = order[_argsort_arr(xp, col, 0, False)]
    s = rows[order]
    new = xp.ones(n, dtype=bool)
    if n > 1:
        new[1:] = (s[1:] != s[:-1]).any(axis=1)
    inv = xp.empty(n, dtype=_int64)
    inv[order] = xp.cumsum(new) - 1
    starts = xp.nonzero(new)[0]
    cnt = xp.diff(xp.concatenate([starts, xp.asarray([n], dtype=starts.dtype)]))
    return s[new], inv, cnt


# --------------------------------------------------------------------------------------------
# Tensor methods


register(__name__, {name: globals()[name] for name in __all__})

SortingMethods = mixin("SortingMethods", __name__)
