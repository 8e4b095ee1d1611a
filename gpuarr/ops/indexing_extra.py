"""More scatter-style indexing: ``scatter_reduce``, ``index_fill`` and ``index_copy`` (and
their in-place forms), attached to Tensor by :func:`_install` as the other ops modules do.

``scatter_reduce`` runs on the backend's scatter primitives (``add_at``, ``multiply_at``,
``maximum_at``, ``minimum_at``); its backward follows torch's formulas (ties of amax/amin
share the gradient evenly, prod handles zeros exactly) written with differentiable ops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._autocast import state as _amp
from ..backends import of_module
from ._common import Function, TensorBase, _make, dtype_name, no_grad_needed, wrap_dim
from ._registry import apply_inplace, mixin, register
from .elementwise import where
from .indexing import (
    _apply_key,
    _first_bad,
    _full_index,
    _Key,
    _prefix,
    _same_device,
    _scalar_for,
    _scatter_checks,
)

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["scatter_reduce", "index_fill", "index_copy"]

_REDUCES = ("sum", "prod", "mean", "amax", "amin")


# --------------------------------------------------------------------------------------------
# scatter_reduce


def _init_value(dtype: np.dtype, reduce: str):
    """The identity written at scattered positions when ``include_self=False``."""
    if reduce in ("sum", "mean"):
        return dtype.type(0)
    if reduce == "prod":
        return dtype.type(1)
    if dtype.kind == "f":
        return dtype.type(-np.inf if reduce == "amax" else np.inf)
    if dtype.kind == "b":
        return np.bool_(reduce == "amin")
    info = np.iinfo(dtype)
    return dtype.type(info.min if reduce == "amax" else info.max)


def _scatter_reduce_arr(xp, x, dim: int, idx, src, reduce: str, include_self: bool):
    """The forward on arrays: a new array."""
    out = x.copy()
    o1 = out.reshape(out.shape or (1,))
    i1 = idx.reshape(idx.shape or (1,))
    if i1.size == 0:
        return out
    key = _full_index(xp, i1, dim)
    s = src.reshape(src.shape or (1,) * i1.ndim)[_prefix(i1.shape)]
    be = of_module(xp)
    if not include_self:
        o1[key] = _init_value(out.dtype, reduce)
    if reduce in ("sum", "mean"):
        be.add_at(o1, key, s)
        if reduce == "mean":
            cnt = xp.ones(o1.shape, dtype=np.int64)
            if not include_self:
                cnt[key] = 0
            be.add_at(cnt, key, xp.ones(i1.shape, dtype=np.int64))
            cnt = xp.maximum(cnt, 1)
            if out.dtype.kind == "f":
                o1[...] = o1 / cnt.astype(out.dtype)
            else:
                o1[...] = xp.floor_divide(o1, cnt.astype(out.dtype))
    elif reduce == "prod":
        be.multiply_at(o1, key, s)
    elif reduce == "amax":
        be.maximum_at(o1, key, s)
    else:
        be.minimum_at(o1, key, s)
    return out


class ScatterReduce(Function):
    """``x.scatter_reduce(dim, idx, src, reduce, include_self)``; ``src`` already cut to the
    index's block."""

    _raw = True

    @staticmethod
    def forward(ctx, x, src, dim, idx, reduce, include_self):
        out = _scatter_reduce_arr(ctx.xp, x, dim, idx, src, reduce, include_self)
        ctx.dim, ctx.idx, ctx.reduce, ctx.include_self = dim, idx, reduce, include_self
        ctx.out = out
        ctx.save_for_backward(x, src)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src = ctx.saved_tensors
        d, reduce, inc = ctx.dim, ctx.reduce, ctx.include_self
        index = _make(ctx.idx, g._device)
        result = _make(ctx.out, g._device)
        gx, gs = _scatter_reduce_grads(g, x, src, d, index, reduce, inc, result)
        if not inc:
            gx = gx.scatter(d, index, 0.0)
        nig = ctx.needs_input_grad
        return (gx if nig[0] else None), (gs if nig[1] else None), None, None, None, None


def _scatter_reduce_grads(g, x, src, d, index, reduce, inc, result):
    """torch's ``scatter_reduce_backward`` (before the ``include_self=False`` masking)."""
    if reduce == "sum":
        return g, g.gather(d, index)
    if reduce == "mean":
        n = (x.new_ones(x.shape) if inc else x.new_zeros(x.shape)).scatter_add(
            d, index, src.new_ones(src.shape))
        n = n.masked_fill(n == 0, 1)
        return g / n, g.gather(d, index) / n.gather(d, index)
    if reduce == "prod":
        masked_self = x.masked_fill(x == 0, 1)
        msr = masked_self.scatter_reduce(d, index, src, "prod", include_self=inc)
        gx = g * msr / masked_self
        src_zero = src == 0
        nz = x.new_zeros(x.shape).scatter_add(d, index, src_zero.to(x.dtype)).gather(d, index)
        single = src_zero & (nz == 1)
        masked_src = src.masked_fill(single, 1)
        msrc_res = x.scatter_reduce(d, index, masked_src, "prod", include_self=inc)

        gs = where(single, (g * msrc_res).gather(d, index),
                   (g * result).gather(d, index) / src.masked_fill(src_zero, 1))
        return gx, gs
    value = result.gather(d, index)
    self_is = (x == result).to(x.dtype)
    src_is = (src == value).to(x.dtype)
    n = self_is.scatter_add(d, index, src_is)  # as torch: self ties count even when excluded
    dist = g / n.masked_fill(n == 0, 1)
    return self_is * dist, src_is * dist.gather(d, index)


def _reduce_checks(input: Tensor, dim: int, index: Tensor, src, reduce: str) -> int:
    if not isinstance(src, TensorBase):
        raise TypeError(f"scatter_reduce(): argument 'src' must be Tensor, not "
                        f"{type(src).__name__}")
    if reduce not in _REDUCES:
        raise RuntimeError(
            "reduce argument must be either sum, prod, mean, amax or amin, got " + str(reduce))
    return _scatter_checks(input, dim, index, src, "scatter_reduce")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """A copy of ``input`` with every ``src`` value reduced into position ``index`` along
    ``dim`` (``out[i][index[i][j]] = reduce(out[i][index[i][j]], src[i][j])`` for ``dim=1``).

    Args:
        dim: the scatter dim.
        index: int64/int32 tensor with ``input``'s number of dims.
        src: values, at least ``index``'s size.
        reduce: 'sum', 'prod', 'mean', 'amax' or 'amin'.
        include_self: whether ``input``'s own values at scattered positions take part.

    Returns:
        The reduced tensor (``input``'s shape). Integer 'mean' rounds down, as torch.

    Example:
        >>> gpuarr.zeros(3).scatter_reduce(0, gpuarr.tensor([0, 0, 2]),
        ...                                gpuarr.tensor([1., 3., 5.]), "amax")
        tensor([3., 0., 5.])
    """
    d = _reduce_checks(input, dim, index, src, reduce)
    idx = index._data
    if not no_grad_needed(input, src):
        if src._data.ndim and src._data.shape != idx.shape:
            src = _apply_key(src, _Key(_prefix(idx.shape) + (Ellipsis,)))
        return ScatterReduce.apply(input, src, d, idx, reduce, bool(include_self))
    out = _scatter_reduce_arr(input._device._xp(), input._data, d, idx, src._data, reduce,
                              bool(include_self))
    return _make(out, input._device)


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place :func:`scatter_reduce`; returns self."""
    return apply_inplace(self, scatter_reduce, dim, index, src, reduce,
                         include_self=include_self)


# --------------------------------------------------------------------------------------------
# index_fill / index_copy


def _vector_index(self: Tensor, dim: int, index: Tensor, op: str) -> tuple:
    """(wrapped dim, flat index array) after torch's checks."""
    if not isinstance(index, TensorBase):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != np.int64:
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got "
                           f"{dtype_name(index.dtype)}")
    _same_device(self, index)
    if index._data.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    nd = self._data.ndim
    d = wrap_dim(dim, nd)
    n = (self._data.shape or (1,))[d]
    idx = index._data.reshape(-1)
    bad = _first_bad(self._device._xp(), idx, n, True)
    if bad is not None:
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")
    idx = idx % n if idx.size else idx
    return d, idx


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value``.

    Args:
        dim: the dim to index.
        index: 1-D (or 0-d) int64 tensor; negative values count from the end.
        value: a number or a 0-d tensor (differentiable).

    Returns:
        Tensor of ``input``'s shape and dtype.

    Example:
        >>> gpuarr.ones(2, 3).index_fill(1, gpuarr.tensor([0, 2]), -1.0)
        tensor([[-1.,  1., -1.],
                [-1.,  1., -1.]])
    """
    d, idx = _vector_index(input, dim, index, "index_fill_")
    xp = input._device._xp()
    shape = input._data.shape or (1,)
    mask = xp.zeros(shape[d], dtype=np.bool_)
    if idx.size:
        mask[idx] = True
    bshape = [1] * len(shape)
    bshape[d] = shape[d]
    mask_t = _make(mask.reshape(bshape).reshape(bshape if input._data.ndim else ()),
                   input._device)
    if isinstance(value, TensorBase):
        if value._data.ndim != 0:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s).")
        _same_device(input, value)

        v = value if value._data.dtype == input._data.dtype else value.to(input.dtype)
        return where(mask_t, v, input)
    return input.masked_fill(mask_t, _scalar_for(input._data.dtype, value))


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """In-place :func:`index_fill`; returns self."""
    return apply_inplace(self, index_fill, dim, index, value)


class IndexCopy(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, src, dim, idx):
        ctx.dim, ctx.idx = dim, idx
        out = x.copy()
        o1 = out.reshape(out.shape or (1,))
        o1[(slice(None),) * dim + (idx,)] = src.reshape(src.shape or (1,))
        return out

    @staticmethod
    def backward(ctx, g):
        index = _make(ctx.idx, g._device)
        gx = gs = None
        if ctx.needs_input_grad[0]:
            gx = index_fill(g, ctx.dim, index, 0.0)
        if ctx.needs_input_grad[1]:
            gs = g.reshape(g.shape or (1,)).index_select(ctx.dim, index)
        return gx, gs, None, None


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the slices of ``source`` written at ``index`` along ``dim``
    (``out[..., index[i], ...] = source[..., i, ...]``; duplicate indices: one of them wins).

    Args:
        dim: the dim to index.
        index: 1-D (or 0-d) int64 tensor.
        source: ``input``'s shape except ``len(index)`` along ``dim``.

    Returns:
        Tensor of ``input``'s shape.

    Example:
        >>> gpuarr.zeros(3, 2).index_copy(0, gpuarr.tensor([2, 0]), gpuarr.ones(2, 2))
        tensor([[1., 1.],
                [0., 0.],
                [1., 1.]])
    """
    if _amp.on:
        return _amp.run("index_copy", index_copy, input, dim, index, source)
    if not isinstance(source, TensorBase):
        raise TypeError(f"index_copy(): argument 'source' must be Tensor, not "
                        f"{type(source).__name__}")
    d, idx = _vector_index(input, dim, index, "index_copy_")
    _same_device(input, source)
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"index_copy_(): self and source expected to have the same dtype, but got (self) "
            f"{dtype_name(input.dtype)} and (source) {dtype_name(source.dtype)}")
    xs, ss = input._data.shape or (1,), source._data.shape or (1,)
    if len(xs) != len(ss) or any(a != d and x != s for a, (x, s) in enumerate(zip(xs, ss))) \
            or ss[d] != idx.size:
        raise RuntimeError(
            f"index_copy_(): Source/destination tensor must have same slice shapes. "
            f"Destination slice shape: {list(input.shape)} at dimension {d} and source slice "
            f"shape: {list(source.shape)} at dimension {d}.")
    if not no_grad_needed(input, source):
        if input._data.ndim == 0:  # 0-d: run on (1,)-shaped views
            return IndexCopy.apply(input.reshape(1), source.reshape(1), d, idx).reshape(())
        return IndexCopy.apply(input, source.reshape(ss), d, idx)
    xp = input._device._xp()
    out = input._data.copy()
    o1 = out.reshape(xs)
    o1[(slice(None),) * d + (idx,)] = xp.asarray(source._data).reshape(ss)
    return _make(out, input._device)


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """In-place :func:`index_copy`; returns self."""
    return apply_inplace(self, index_copy, dim, index, source)


register(__name__, {
    "scatter_reduce": scatter_reduce,
    "scatter_reduce_": scatter_reduce_,
    "index_fill": index_fill,
    "index_fill_": index_fill_,
    "index_copy": index_copy,
    "index_copy_": index_copy_,
})

IndexingExtraMethods = mixin("IndexingExtraMethods", __name__)
