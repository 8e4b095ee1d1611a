"""Reductions and scans, with PyTorch's names, defaults, dtype rules and errors.

* reductions over ``dim`` (None, an int or a tuple) with ``keepdim``: ``sum``, ``mean``,
  ``nansum``, ``nanmean``, ``prod``, ``var``, ``std``, ``var_mean``, ``std_mean``, ``amax``,
  ``amin``, ``aminmax``, ``logsumexp``, ``all``, ``any``, ``count_nonzero``, ``norm``;
* selections that also return where they found the value: ``max``/``min`` with a ``dim``
  (``(values, indices)`` results, like ``torch.return_types``), and ``argmax``, ``argmin``;
* scans along one ``dim``: ``cumsum``, ``cumprod``.

Sorting and rank selection (``sort``, ``topk``, ``median``, ``unique``...) live in
:mod:`gpuarr.ops.sorting`, which shares this module's helpers for picked values and named
results.

dtype rules follow torch: sums and products of integer/bool tensors are int64, ``argmax`` and
indices are int64, ``all``/``any`` give bool (uint8 for uint8 input), ``mean``/``var``/``std``/
``norm`` need floating input. float16/bfloat16 inputs accumulate in float32.

Gradients: values picked from the input (``max(dim)``, ``sort``, ``topk``, ``median(dim)``...)
send their gradient back to the picked positions; ``amax``/``amin`` and the no-``dim`` forms of
``max``/``min``/``median`` split it evenly among tied elements, as torch does. Every backward is
written with gpuarr Tensor ops, so double backward works.
"""

from __future__ import annotations

import builtins
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .. import return_types
from .._autocast import state as _amp
from .._core.grad_mode import is_grad_enabled
from ..backends import of_module, sync_debug
from ._common import (
    Function,
    TensorBase,
    _make,
    _state,
    apply_raw,
    dims_arg,
    dtype_name,
    wrap_dim,
)
from ._registry import mixin, register
from .complex_ops import no_complex, not_implemented_for
from .elementwise import abs as _abs
from .elementwise import exp as _exp
from .elementwise import isnan, maximum, minimum, sign, where

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "sum", "mean", "nansum", "nanmean", "prod", "var", "std", "var_mean", "std_mean",
    "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "logsumexp", "cumsum",
    "cumprod", "all", "any", "count_nonzero",
]

_int64 = np.int64


# --------------------------------------------------------------------------------------------
# named results


def _return_type(name: str, fields: tuple) -> type:
    """The named-tuple class ``gpuarr.return_types.<name>`` (one class per name, shared by
    every op that returns it); ``fields`` must be torch's field names for it."""
    cls = getattr(return_types, name)
    if cls._fields != tuple(fields):
        raise AssertionError(f"return_types.{name} has fields {cls._fields}, not {fields}")
    return cls


_VI = ("values", "indices")
_RMax = _return_type("max", _VI)
_RMin = _return_type("min", _VI)
_RAminmax = _return_type("aminmax", ("min", "max"))


# --------------------------------------------------------------------------------------------
# shared helpers


def _red_dims(input: Tensor, dim) -> tuple | None:
    """Normalise a reduction's ``dim``: None means every dim (also for ``()`` and 0-d input)."""
    nd = input._data.ndim
    if dim is None:
        return None
    axes = dims_arg(dim, nd)
    return None if (not axes or nd == 0) else axes


def _dim1(op: str, dim, ndim: int, name: str = "dim") -> int:
    """One int ``dim``, wrapped; TypeError like torch's argument parser for other types."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(dim).__name__}")
    return wrap_dim(int(dim), ndim)


def _restore(g: Tensor, in_shape: tuple, axes, keepdim: bool) -> Tensor:
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if axes is None:
        return g.reshape((1,) * len(in_shape)) if in_shape else g
    if keepdim:
        return g
    shape = list(in_shape)
    for a in axes:
        shape[a] = 1
    return g.reshape(tuple(shape))


def _restore_arr(a, in_shape: tuple, axes, keepdim: bool):
    """:func:`_restore` for a raw backend array."""
    if axes is None:
        return a.reshape((1,) * len(in_shape))
    if keepdim:
        return a
    shape = list(in_shape)
    for ax in axes:
        shape[ax] = 1
    return a.reshape(tuple(shape))


def _count(shape: tuple, axes) -> int:
    """Number of elements reduced into each output element."""
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axes)


def _acc(arr):
    """Accumulation dtype: float16/bfloat16 sums/means run in float32 (as torch), others
    natively."""
    return np.float32 if D.is_half_np(arr.dtype) else None


def _slice_along(arr, axis: int, sl: slice):
    return arr[(slice(None),) * axis + (sl,)]


def _check_nonempty(op: str, x, axes, all_msg: str | None = None, all_exc=RuntimeError,
                    sep: str = "():") -> None:
    """torch's errors for reductions without an identity over an empty range."""
    if axes is None:
        if x.size == 0:
            raise all_exc(all_msg or (
                f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."))
        return
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{op}{sep} Expected reduction dim {a} to have non-zero size.")


def _along_index(xp, idx, axis: int) -> tuple:
    """An advanced index that addresses ``idx`` positions along ``axis`` (put_along_axis)."""
    nd = idx.ndim
    ix = []
    for d in range(nd):
        if d == axis:
            ix.append(idx)
        else:
            shape = [1] * nd
            shape[d] = idx.shape[d]
            ix.append(xp.arange(idx.shape[d]).reshape(shape))
    return tuple(ix)


class _Gather(Function):
    """``take_along_axis(x, idx, axis)`` (then ``axis`` dropped when ``squeeze``); the backward
    scatters the gradient into the picked positions. Subclassed per op for grad_fn names."""

    _raw = True

    @staticmethod
    def forward(ctx, x, idx, axis, squeeze):
        ctx.in_shape, ctx.axis, ctx.squeeze = x.shape, axis, squeeze
        ctx.save_for_backward(idx)
        return _Gather._compute(ctx.xp, x, idx, axis, squeeze)

    @staticmethod
    def _compute(xp, x, idx, axis, squeeze):
        out = xp.take_along_axis(x, idx, axis)
        return out.reshape(out.shape[:axis] + out.shape[axis + 1:]) if squeeze else out

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        if ctx.squeeze:
            g = g.unsqueeze(ctx.axis)
        return _Scatter.apply(g, idx._data, ctx.in_shape, ctx.axis), None, None, None


class _Scatter(Function):
    """Zeros of ``shape`` with ``g`` written at ``idx`` along ``axis`` (indices unique)."""

    _raw = True

    @staticmethod
    def forward(ctx, g, idx, shape, axis):
        ctx.axis = axis
        ctx.save_for_backward(idx)
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        out[_along_index(ctx.xp, idx, axis)] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        (idx,) = ctx.saved_tensors
        return _Gather.apply(gg, idx._data, ctx.axis, False), None, None, None


_GATHERS = {n: type(n, (_Gather,), {}) for n in (
    "Max", "Min", "Sort", "Topk", "Kthvalue", "Median", "Nanmedian")}


def _gather(x: Tensor, idx, axis: int, squeeze: bool = False, op: str = "Sort") -> Tensor:
    """Differentiable ``take_along_axis`` of ``x`` with an index array."""
    return apply_raw(_GATHERS[op], x, idx, axis, squeeze)


class _Flip(Function):
    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return ctx.xp.flip(x, axis)

    @staticmethod
    def _compute(xp, x, axis):
        return xp.flip(x, axis)

    @staticmethod
    def backward(ctx, g):
        return _flip(g, ctx.axis), None


def _flip(t: Tensor, axis: int) -> Tensor:
    return apply_raw(_Flip, t, axis)


class _Select(Function):
    """An output made of input elements (amax, amin, max/min/median without dim).

    The gradient is split evenly among the elements equal to the output (NaN matches NaN), as
    torch's ``amax`` and ``evenly_distribute_backward``.
    """

    _raw = True

    @staticmethod
    def forward(ctx, x, out, axes, keepdim):
        ctx.axes, ctx.keepdim, ctx.in_shape = axes, keepdim, x.shape
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp = ctx.xp
        xd = x._data
        od = _restore_arr(out._data, ctx.in_shape, ctx.axes, ctx.keepdim)
        mask = xd == od
        if xd.dtype.kind in "fV":
            mask |= xp.isnan(xd) & xp.isnan(od)
        w = mask / mask.sum(axis=ctx.axes, keepdims=True)
        w = _make(w.astype(g._data.dtype, copy=False), x._device)
        return _restore(g, ctx.in_shape, ctx.axes, ctx.keepdim) * w, None, None, None


# torch numbers the all-elements forms of max/min 1 and those of median/nanmedian 0
_SELECTS = {n: type(n, (_Select,), {"_node_name": f"{n}Backward{int(n in ('Max', 'Min'))}"})
            for n in ("Amax", "Amin", "Max", "Min", "Median", "Nanmedian")}


def _select(x: Tensor, out, axes, keepdim: bool, op: str) -> Tensor:
    # the op is computed already (``out``): wrapping it is all a no-grad call does; apply_raw
    # here measured ~12% slower on max() of 16 elements
    if _state.enabled and x._rg and x._data.dtype.kind in "fV":
        return _SELECTS[op].apply(x, out, axes, keepdim)
    return _make(out, x._device)


def _on_1d(fn, input: Tensor):
    """Run a one-dim op ``fn(t)`` on a 0-d tensor as on shape (1,); give 0-d results back."""
    res = fn(input.reshape(1))
    if isinstance(res, tuple):
        return type(res)(*(r.reshape(()) for r in res))
    return res.reshape(())


def _not_float_error(op: str, t: Tensor) -> None:
    if t._data.dtype.kind not in "fVc":
        raise RuntimeError(
            f"{op}(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {dtype_name(t.dtype)}"
        )


# --------------------------------------------------------------------------------------------
# sum, mean, nansum, nanmean, prod


def _sum_arr(xp, x, axes, keepdim: bool, np_dtype):
    # the array's own method: the reduction xp.sum makes, without NumPy's dispatch wrapper
    # (a few microseconds per call, which a compiled step's bias gradients pay for)
    if np_dtype is None and D.is_half_np(x.dtype):
        # float16/bfloat16: accumulate in float32 and round once, as torch (NumPy's float16
        # and ml_dtypes' bfloat16 add.reduce round every partial sum to the half type)
        return x.sum(axis=axes, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
    if axes == (0,) and x.ndim == 2 and not keepdim and np_dtype is None and x.shape[0]:
        return of_module(xp).sum_axis0(x)  # a bias gradient: the backend's fastest form
    return x.sum(axis=axes, keepdims=keepdim, dtype=np_dtype)


def _mean_arr(xp, x, axes, keepdim: bool, np_dtype):
    if np_dtype is None and x.dtype.kind == "V":  # bfloat16: in float32, as _sum_arr
        return _mean_arr(xp, x, axes, keepdim, np.float32).astype(x.dtype)
    if x.size == 0:  # NaN, as torch, without NumPy's "Mean of empty slice" warning
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return xp.mean(x, axis=axes, keepdims=keepdim, dtype=np_dtype)
    return xp.mean(x, axis=axes, keepdims=keepdim, dtype=np_dtype)


class Sum(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, axes, keepdim, np_dtype):
        ctx.in_shape = x.shape
        ctx.axes, ctx.keepdim = axes, keepdim
        return _sum_arr(ctx.xp, x, axes, keepdim, np_dtype)

    _compute = staticmethod(_sum_arr)

    @staticmethod
    def backward(ctx, g):
        g = _restore(g, ctx.in_shape, ctx.axes, ctx.keepdim)
        return g.expand(ctx.in_shape), None, None, None


class SumDim(Sum):
    _node_name = "SumBackward1"  # torch's name for sum over given dims


class Mean(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, axes, keepdim, np_dtype):
        ctx.in_shape = x.shape
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.n = _count(x.shape, axes)
        return _mean_arr(ctx.xp, x, axes, keepdim, np_dtype)

    _compute = staticmethod(_mean_arr)

    @staticmethod
    def backward(ctx, g):
        g = _restore(g, ctx.in_shape, ctx.axes, ctx.keepdim)
        return (g / ctx.n).expand(ctx.in_shape), None, None, None


class MeanDim(Mean):
    _node_name = "MeanBackward1"  # torch's name for mean over given dims


def _reduce_args(input: Tensor, dim, dtype):
    axes = _red_dims(input, dim)
    np_dtype = None if dtype is None else D.as_dtype(dtype).np
    return axes, np_dtype


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
        keepdims: bool | None = None) -> Tensor:
    """Sum of elements, over all dims or over ``dim``.

    Args:
        input: the tensor.
        dim: int or tuple of ints to reduce (None: all).
        keepdim: keep reduced dims with size 1.
        dtype: accumulate and return in this dtype (ints and bools default to int64).
        keepdims: NumPy's spelling of ``keepdim``, which torch accepts too.

    Returns:
        The reduced tensor.

    Example:
        >>> gpuarr.ones(2, 3).sum(dim=1)
        tensor([3., 3.])
    """
    if _amp.on:
        return _amp.run("sum", sum, input, dim=dim, keepdim=keepdim, dtype=dtype, keepdims=keepdims)
    if keepdims is not None:
        keepdim = keepdims
    axes, np_dtype = _reduce_args(input, dim, dtype)
    if np_dtype is None and input._data.dtype.kind in "biu":
        np_dtype = np.int64
    return apply_raw(Sum if dim is None else SumDim, input, axes, keepdim, np_dtype)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
         keepdims: bool | None = None) -> Tensor:
    """Mean of elements (floating dtypes only, as torch); NaN over an empty range.

    Args:
        input: the tensor.
        dim: int or tuple of ints to reduce (None: all).
        keepdim: keep reduced dims with size 1.
        dtype: compute and return in this floating dtype.
        keepdims: NumPy's spelling of ``keepdim``, which torch accepts too.

    Raises:
        RuntimeError: for integer inputs without ``dtype``.

    Example:
        >>> gpuarr.tensor([[1., 2.], [3., 4.]]).mean(0)
        tensor([2., 3.])
    """
    if keepdims is not None:
        keepdim = keepdims
    axes, np_dtype = _reduce_args(input, dim, dtype)
    if np_dtype is not None and np.dtype(np_dtype).kind not in "fVc":
        raise RuntimeError(
            "mean(): could not infer output dtype. Optional dtype must be either a floating "
            f"point or complex dtype. Got: {dtype_name(dtype)}"
        )
    if np_dtype is None:
        _not_float_error("mean", input)
    return apply_raw(Mean if dim is None else MeanDim, input, axes, keepdim, np_dtype)


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum treating NaN as zero.

    Example:
        >>> gpuarr.tensor([1., float('nan'), 2.]).nansum()
        tensor(3.)
    """
    if input._data.dtype.kind in "fVc":
        input = where(isnan(input), 0.0, input)
    return sum(input, dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of the non-NaN elements (NaN where all are NaN).

    Raises:
        RuntimeError: for non-floating inputs.

    Example:
        >>> gpuarr.tensor([1., float('nan'), 3.]).nanmean()
        tensor(2.)
    """
    if input._data.dtype.kind not in "fVc":
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {dtype_name(input.dtype)}")
    if dtype is not None:
        input = input.to(dtype)
    keep = _make(~input._device._xp().isnan(input._data), input._device)
    with np.errstate(invalid="ignore", divide="ignore"):
        return nansum(input, dim, keepdim) / sum(keep, dim, keepdim)


class Prod(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, axis, keepdim, np_dtype):
        ctx.axis, ctx.keepdim, ctx.in_shape = axis, keepdim, x.shape
        # asarray: NumPy gives a scalar for a full reduction, and a saved output must be the
        # very array returned, so that backward sees it connected to the graph
        out = ctx.xp.asarray(ctx.xp.prod(x, axis=axis, keepdims=keepdim, dtype=np_dtype))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axes = None if ctx.axis is None else (ctx.axis,)
        g = _restore(g, ctx.in_shape, axes, ctx.keepdim)
        out = _restore(out, ctx.in_shape, axes, ctx.keepdim)
        sync_debug.check_array(x._data)  # as torch, zeros in the input are looked for on the host
        if not builtins.bool((x._data == 0).any()):
            return g * out / x, None, None, None
        # With zeros, out / x is undefined. d out / d x_k is the product of the elements
        # before k times the product of those after k: two exclusive running products. They
        # are exact polynomials, so their own gradient (double backward) is exact too.
        xs, ax = (x, ctx.axis) if ctx.axis is not None else (x.reshape(-1), 0)
        before = cumprod(_shift(xs, ax, 1.0, 1), ax)
        after = _flip(cumprod(_shift(_flip(xs, ax), ax, 1.0, 1), ax), ax)
        return g * (before * after).reshape(ctx.in_shape), None, None, None


class ProdDim(Prod):
    _node_name = "ProdBackward1"  # torch's name for the product over one dim


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of elements, over all dims or over one ``dim``.

    Args:
        input: the tensor.
        dim: one int dim (None: all).
        keepdim: keep the reduced dim with size 1.
        dtype: compute and return in this dtype (ints and bools default to int64).

    Returns:
        The reduced tensor (1 over an empty range). The gradient is exact with zeros.

    Example:
        >>> gpuarr.tensor([[1., 2.], [3., 4.]]).prod(1)
        tensor([ 2., 12.])
    """
    if _amp.on:
        return _amp.run("prod", prod, input, dim=dim, keepdim=keepdim, dtype=dtype)
    nd = input._data.ndim
    axis = None if dim is None else _dim1("prod", dim, nd)
    if nd == 0:
        axis = None
    np_dtype = None if dtype is None else D.as_dtype(dtype).np
    if np_dtype is None and input._data.dtype.kind in "biu":
        np_dtype = np.int64
    return apply_raw(Prod if dim is None else ProdDim, input, axis, keepdim, np_dtype)


# --------------------------------------------------------------------------------------------
# var, std


class Var(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, axes, correction, keepdim, take_sqrt):
        xp = ctx.xp
        ctx.axes, ctx.keepdim, ctx.in_shape = axes, keepdim, x.shape
        ctx.correction, ctx.take_sqrt = correction, take_sqrt
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = xp.var(x, axis=axes, ddof=correction, keepdims=keepdim, dtype=_acc(x))
            if take_sqrt:
                out = xp.sqrt(out)
        out = xp.asarray(out).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, out if take_sqrt else None)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = _restore(g, ctx.in_shape, ctx.axes, ctx.keepdim)
        if ctx.take_sqrt:
            # d std = d var / (2 std); torch defines it as 0 where std == 0
            s = _restore(out, ctx.in_shape, ctx.axes, ctx.keepdim)
            zero = s == 0
            g = where(zero, 0.0, g / (2 * where(zero, 1.0, s)))
        den = _count(ctx.in_shape, ctx.axes) - ctx.correction
        scale = 2.0 / den if den != 0 else math.inf
        centred = x - x.mean(None if ctx.axes is None else ctx.axes, keepdim=True)
        return g * scale * centred, None, None, None, None


class Std(Var):
    pass


def _var_args(op: str, input: Tensor, dim, unbiased, correction):
    if isinstance(dim, bool):  # var(input, unbiased) overload
        unbiased, dim = dim, None
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}() received an invalid combination of arguments: pass either "
                        "'unbiased' or 'correction', not both")
    if input._data.dtype.kind not in "fVc":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _red_dims(input, dim)
    if _count(input._data.shape, axes) - correction <= 0:
        warnings.warn(
            f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return axes, correction


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over ``dim``, dividing by ``N - correction``.

    Args:
        input: a floating tensor.
        dim: int or tuple of ints (None: all).
        unbiased: legacy flag: True is ``correction=1``, False is ``correction=0``.
        keepdim: keep reduced dims with size 1.
        correction: subtracted from the element count (default 1, Bessel's correction).

    Returns:
        The variance (NaN, with a warning, when ``N - correction <= 0``).

    Raises:
        RuntimeError: for integer/bool inputs.

    Example:
        >>> gpuarr.tensor([1., 2., 3., 4.]).var()
        tensor(1.6667)
    """
    axes, c = _var_args("var", input, dim, unbiased, correction)
    if input._data.dtype.kind == "c":  # E|z - mean|^2: the parts' variances add up
        return (apply_raw(Var, input.real, axes, c, keepdim, False)
                + apply_raw(Var, input.imag, axes, c, keepdim, False))
    return apply_raw(Var, input, axes, c, keepdim, False)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation over ``dim`` (square root of :func:`var`; same arguments).

    The gradient where the result is 0 is 0, as in torch.

    Example:
        >>> gpuarr.tensor([1., 2., 3., 4.]).std(correction=0)
        tensor(1.1180)
    """
    axes, c = _var_args("std", input, dim, unbiased, correction)
    if input._data.dtype.kind == "c":
        return var(input, dim, unbiased, keepdim, correction=correction).sqrt()
    return apply_raw(Std, input, axes, c, keepdim, True)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(var(input, ...), mean(input, ...))`` in one call.

    Example:
        >>> v, m = gpuarr.var_mean(gpuarr.tensor([1., 3.]))
    """
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return v, mean(input, None if isinstance(dim, bool) else dim, keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(std(input, ...), mean(input, ...))`` in one call.

    Example:
        >>> s, m = gpuarr.std_mean(gpuarr.tensor([1., 3.]))
    """
    s = std(input, dim, unbiased, keepdim, correction=correction)
    return s, mean(input, None if isinstance(dim, bool) else dim, keepdim)


# --------------------------------------------------------------------------------------------
# max, min, amax, amin, aminmax, argmax, argmin


def _extreme_dim(op: str, input: Tensor, dim, keepdim: bool):
    no_complex(input, f"{op}(): does not support complex input")
    nd = input._data.ndim
    d = _dim1(op, dim, nd)
    if nd == 0:
        return _on_1d(lambda t: _extreme_dim(op, t, 0, keepdim), input)
    x = input._data
    _check_nonempty(op, x, (d,))
    xp = input._device._xp()
    keys = of_module(xp).sort_keys(x)
    idx = (xp.argmax if op == "max" else xp.argmin)(keys, axis=d, keepdims=True)
    idx = idx.astype(_int64, copy=False)
    values = _gather(input, idx, d, not keepdim, op.capitalize())
    if not keepdim:
        idx = idx.reshape(idx.shape[:d] + idx.shape[d + 1:])
    return (_RMax if op == "max" else _RMin)(values, _make(idx, input._device))


_EXTREME_KERNELS = {"max": "max_all", "min": "min_all", "amax": "max_values_{dev}",
                    "amin": "min_values_{dev}"}


def _amax_like(op: str, input: Tensor, axes, keepdim: bool) -> Tensor:
    no_complex(input, not_implemented_for(_EXTREME_KERNELS[op]), NotImplementedError)
    x = input._data
    _check_nonempty(op, x, axes)
    xp = input._device._xp()
    out = (xp.max if op in ("max", "amax") else xp.min)(x, axis=axes, keepdims=keepdim)
    return _select(input, out, axes, keepdim, op.capitalize())


def _minmax(op: str, input: Tensor, dim, keepdim, other):
    if other is not None:
        if dim is not None:
            raise TypeError(f"{op}() received an invalid combination of arguments: 'dim' and "
                            "'other' cannot both be given")
        dim = other
    if isinstance(dim, TensorBase):
        return (maximum if op == "max" else minimum)(input, dim)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}() received an invalid combination of arguments: 'keepdim' "
                            "needs a 'dim'")
        return _amax_like(op, input, None, False)
    return _extreme_dim(op, input, dim, keepdim)


def max(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):
    """Maximum: of all elements, along ``dim`` with its position, or elementwise with a tensor.

    Forms:
        ``max(input)``: the largest element (NaN if any is NaN) as a 0-d tensor;
        ``max(input, dim, keepdim=False)``: ``return_types.max(values, indices)``, indices of
        the first maximum;
        ``max(input, other)``: :func:`maximum`.

    Raises:
        RuntimeError: ``max(input)`` of an empty tensor.
        IndexError: ``dim`` out of range or of size 0.

    Example:
        >>> gpuarr.tensor([[1., 5.], [7., 2.]]).max(1)
        gpuarr.return_types.max(
        values=tensor([5., 7.]),
        indices=tensor([1, 0]))
    """
    return _minmax("max", input, dim, keepdim, other)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other: Tensor | None = None):
    """Minimum: of all elements, along ``dim`` with its position, or elementwise with a tensor.

    See :func:`max` for the forms, results and errors.

    Example:
        >>> gpuarr.tensor([[1., 5.], [7., 2.]]).min(0).values
        tensor([1., 2.])
    """
    return _minmax("min", input, dim, keepdim, other)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (int or tuple; ``()`` is all dims), without indices.

    The gradient is split evenly among tied maxima.

    Raises:
        RuntimeError: over all dims of an empty tensor.
        IndexError: a reduced dim of size 0.

    Example:
        >>> gpuarr.tensor([[1., 5.], [7., 2.]]).amax(dim=(0, 1))
        tensor(7.)
    """
    return _amax_like("amax", input, _red_dims(input, dim), keepdim)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (int or tuple; ``()`` is all dims); see :func:`amax`.

    Example:
        >>> gpuarr.tensor([[1., 5.], [7., 2.]]).amin(1)
        tensor([1., 2.])
    """
    return _amax_like("amin", input, _red_dims(input, dim), keepdim)


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``return_types.aminmax(min, max)`` over one ``dim`` or all elements.

    Example:
        >>> gpuarr.tensor([3., 1., 2.]).aminmax()
        gpuarr.return_types.aminmax(
        min=tensor(1.),
        max=tensor(3.))
    """
    no_complex(input, not_implemented_for("aminmax_{dev}"), NotImplementedError)
    if dim is None:
        axes = None
    else:
        axes = (_dim1("aminmax", dim, input._data.ndim),)
        if input._data.ndim == 0:
            axes = None
    _check_nonempty("aminmax", input._data, axes, all_msg=(
        "aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
        "identity."), sep=":")
    lo = _amax_like("amin", input, axes, keepdim)
    hi = _amax_like("amax", input, axes, keepdim)
    return _RAminmax(lo, hi)


def _argext(op: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    no_complex(input, f"{op}(): does not support complex input")
    x = input._data
    if x.dtype == np.bool_:
        raise RuntimeError(f"{op}(): does not support bool input")
    xp = input._device._xp()
    f = xp.argmax if op == "argmax" else xp.argmin
    if dim is None:
        _check_nonempty(op, x, None, all_exc=IndexError, all_msg=(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0."))
        out = f(x.reshape(-1)).astype(_int64)
        if keepdim:
            out = out.reshape((1,) * x.ndim)
        return _make(out, input._device)
    d = _dim1(op, dim, x.ndim)
    if x.ndim == 0:
        return _make(xp.zeros((), dtype=_int64), input._device)
    _check_nonempty(op, x, (d,))
    return _make(f(x, axis=d, keepdims=keepdim).astype(_int64, copy=False), input._device)


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum, of the flattened tensor or along ``dim`` (int64).

    Raises:
        RuntimeError: for bool input.
        IndexError: for an empty tensor without ``dim``, or a ``dim`` of size 0.

    Example:
        >>> gpuarr.tensor([[1., 5.], [7., 2.]]).argmax()
        tensor(2)
    """
    return _argext("argmax", input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum; see :func:`argmax`.

    Example:
        >>> gpuarr.tensor([[1., 5.], [7., 2.]]).argmin(1)
        tensor([0, 1])
    """
    return _argext("argmin", input, dim, keepdim)


# --------------------------------------------------------------------------------------------
# logsumexp


class LogSumExp(Function):
    _raw = True
    _node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        xp = ctx.xp
        ctx.axes, ctx.keepdim, ctx.in_shape = axes, keepdim, x.shape
        acc = _acc(x)
        xa = x if acc is None else x.astype(acc)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if x.size == 0:
                out = xp.log(xp.sum(xp.exp(xa), axis=axes, keepdims=keepdim))
            else:
                # shift by the max so exp cannot overflow; an infinite max shifts by 0
                m = xp.max(xa, axis=axes, keepdims=True)
                m = xp.where(xp.isfinite(m), m, 0)
                out = xp.log(xp.sum(xp.exp(xa - m), axis=axes, keepdims=True)) + m
                if not keepdim:
                    out = out.reshape(_reduced_shape(x.shape, axes))
        out = xp.asarray(out).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = _restore(g, ctx.in_shape, ctx.axes, ctx.keepdim)
        out = _restore(out, ctx.in_shape, ctx.axes, ctx.keepdim)
        return g * _exp(x - out), None, None


def _reduced_shape(shape: tuple, axes) -> tuple:
    if axes is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input), dim))`` computed without overflow.

    Args:
        input: the tensor (integers are computed in the default float dtype).
        dim: int or tuple of ints to reduce (required, as in torch).
        keepdim: keep reduced dims with size 1.

    Returns:
        The reduced tensor (-inf over an empty range).

    Example:
        >>> gpuarr.tensor([1000., 1000.]).logsumexp(0)
        tensor(1000.6931)
    """
    if _amp.on:
        return _amp.run("logsumexp", logsumexp, input, dim, keepdim=keepdim)
    if input._data.dtype.kind not in "fV":
        input = input.to(D.get_default_dtype())
    return apply_raw(LogSumExp, input, _red_dims(input, dim), keepdim)


# --------------------------------------------------------------------------------------------
# cumsum, cumprod


class Cumsum(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, axis, np_dtype):
        ctx.axis = axis
        return ctx.xp.cumsum(x, axis=axis, dtype=np_dtype)

    @staticmethod
    def backward(ctx, g):
        return _rev_cumsum(g, ctx.axis), None, None


def _rev_cumsum(t: Tensor, axis: int) -> Tensor:
    """Sums from each position to the end of ``axis``."""
    return _flip(cumsum(_flip(t, axis), axis), axis)


class Cumprod(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, axis, np_dtype):
        ctx.axis = axis
        out = ctx.xp.cumprod(x, axis=axis, dtype=np_dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        axis = ctx.axis
        xp = ctx.xp
        zero = x._data == 0
        sync_debug.check_array(zero)  # as torch, zeros in the input are looked for on the host
        if not builtins.bool(zero.any()):
            return _rev_cumsum(g * y, axis) / x, None, None
        if is_grad_enabled():  # create_graph: a form whose own derivatives are exact
            return _cumprod_grad_dense(x, g, axis), None, None
        # dx_k = sum_{j>=k} g_j prod_{i<=j, i!=k} x_i. With z the first zero of a slice:
        # k < z: the usual revcumsum(g*y)/x (y_j = 0 for j >= z);
        # k == z: revcumsum(g * cumprod(x with x_z set to 1));  k > z: 0.
        zeros_before = xp.cumsum(zero, axis=axis) - zero
        dev = x._device
        before = _make((zeros_before == 0) & ~zero, dev)
        first = _make(zero & (zeros_before == 0), dev)
        part1 = _rev_cumsum(g * y, axis) / where(before, x, 1.0)
        part2 = _rev_cumsum(g * cumprod(where(first, 1.0, x), axis), axis)
        return where(before, part1, where(first, part2, 0.0)), None, None


def _cumprod_grad_dense(x: Tensor, g: Tensor, axis: int) -> Tensor:
    """cumprod's input gradient as ``sum_j [j >= k] g_j prod_{i<=j, i!=k} x_i`` built from an
    (n, n) matrix per slice: O(n^2), used only for double backward through inputs with zeros."""
    xp, dev = x._device._xp(), x._device
    n = x._data.shape[axis]
    xm, gm = x.movedim(axis, -1), g.movedim(axis, -1)
    rows = where(_make(xp.eye(n, dtype=bool), dev), 1.0, xm.unsqueeze(-2))  # x_k set to 1
    upper = _make(xp.triu(xp.ones((n, n), dtype=x._data.dtype)), dev)  # j >= k
    return (cumprod(rows, -1) * upper * gm.unsqueeze(-2)).sum(-1).movedim(-1, axis)


class _Shift(Function):
    """Shift by one along ``axis`` (``step`` 1: toward the end, -1: toward the start), filling
    the freed slot with ``fill``; its adjoint is the opposite shift filled with 0."""

    _raw = True

    @staticmethod
    def forward(ctx, x, axis, fill, step):
        ctx.axis, ctx.step = axis, step
        xp = ctx.xp
        n = x.shape[axis]
        edge = list(x.shape)
        edge[axis] = 1
        pad = xp.full(tuple(edge), fill, dtype=x.dtype)
        if step == 1:
            return xp.concatenate([pad, _slice_along(x, axis, slice(0, n - 1))], axis)
        return xp.concatenate([_slice_along(x, axis, slice(1, n)), pad], axis)

    @staticmethod
    def backward(ctx, g):
        return _shift(g, ctx.axis, 0.0, -ctx.step), None, None, None


def _shift(t: Tensor, axis: int, fill: float, step: int) -> Tensor:
    return apply_raw(_Shift, t, axis, fill, step)


def _scan(op: str, cls, input: Tensor, dim, dtype) -> Tensor:
    nd = input._data.ndim
    d = _dim1(op, dim, nd)
    np_dtype = None if dtype is None else D.as_dtype(dtype).np
    if np_dtype is None:
        k = input._data.dtype
        if k.kind in "biu":
            np_dtype = np.int64
        elif D.is_half_np(k):  # accumulate in float32, return float16/bfloat16 like torch
            return _scan(op, cls, input.to(D.float32), dim, None).to(input.dtype)
    if nd == 0:
        return _scan(op, cls, input.reshape(1), 0, dtype).reshape(())
    return apply_raw(cls, input, d, np_dtype)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim`` (integers and bools accumulate in int64).

    Example:
        >>> gpuarr.tensor([1, 2, 3]).cumsum(0)
        tensor([1, 3, 6])
    """
    if _amp.on:
        return _amp.run("cumsum", cumsum, input, dim, dtype=dtype)
    return _scan("cumsum", Cumsum, input, dim, dtype)


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``; its gradient is exact when the input has zeros.

    Example:
        >>> gpuarr.tensor([1., 2., 3.]).cumprod(0)
        tensor([1., 2., 6.])
    """
    if _amp.on:
        return _amp.run("cumprod", cumprod, input, dim, dtype=dtype)
    return _scan("cumprod", Cumprod, input, dim, dtype)


# --------------------------------------------------------------------------------------------
# all, any, count_nonzero


def _logical_reduce(fname: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    x = input._data
    xp = input._device._xp()
    out = getattr(xp, fname)(x, axis=_red_dims(input, dim), keepdims=keepdim)
    if x.dtype == np.uint8:  # torch keeps uint8 for uint8 input
        out = out.astype(np.uint8)
    return _make(xp.asarray(out), input._device)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element (over ``dim``) is nonzero; bool result (uint8 for uint8).

    Example:
        >>> gpuarr.tensor([[1, 0], [1, 1]]).all(1)
        tensor([False,  True])
    """
    return _logical_reduce("all", input, dim, keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where some element (over ``dim``) is nonzero; bool result (uint8 for uint8).

    Example:
        >>> gpuarr.tensor([[1, 0], [0, 0]]).any(1)
        tensor([ True, False])
    """
    return _logical_reduce("any", input, dim, keepdim)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of nonzero elements, over all dims or ``dim`` (int or tuple); int64.

    Example:
        >>> gpuarr.tensor([[0., 1.], [2., 3.]]).count_nonzero(0)
        tensor([1, 2])
    """
    xp = input._device._xp()
    out = xp.sum(input._data != 0, axis=_red_dims(input, dim), dtype=_int64)
    return _make(xp.asarray(out), input._device)


# --------------------------------------------------------------------------------------------
# norm


class Norm(Function):
    """Vector p-norm over ``axes`` (inf: max ``|x|``, -inf: min, 0: count of nonzeros), for
    both ``norm`` and ``gpuarr.linalg.vector_norm``; the gradient is torch's norm_backward."""

    _raw = True
    _node_name = "LinalgVectorNormBackward0"  # what torch records for norm and vector_norm

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        xp = ctx.xp
        ctx.p, ctx.axes, ctx.keepdim, ctx.in_shape = p, axes, keepdim, x.shape
        acc = _acc(x)
        a = xp.abs(x if acc is None else x.astype(acc))
        kw = {"axis": axes, "keepdims": keepdim}
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if p == 2:
                out = xp.sqrt(xp.sum(a * a, **kw))
            elif p == 1:
                out = xp.sum(a, **kw)
            elif p == math.inf:
                out = xp.max(a, **kw)
            elif p == -math.inf:
                out = xp.min(a, **kw)
            elif p == 0:
                out = xp.sum(a != 0, dtype=a.dtype, **kw)
            else:
                out = xp.sum(a ** p, **kw) ** (1.0 / p)
        out = xp.asarray(out).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        # torch's norm_backward, case by case, with masks instead of 0/0
        x, out = ctx.saved_tensors
        p = ctx.p
        g = _restore(g, ctx.in_shape, ctx.axes, ctx.keepdim)
        n = _restore(out, ctx.in_shape, ctx.axes, ctx.keepdim)
        if p == 0:  # piecewise constant: torch gives no gradient at all
            return None, None, None, None
        if p == 1:
            return g * sign(x), None, None, None
        if math.isinf(p):
            xp = ctx.xp
            mask = xp.abs(x._data) == n._data
            w = mask / mask.sum(axis=ctx.axes, keepdims=True)
            w = _make(w.astype(g._data.dtype, copy=False), x._device)
            return g * sign(x) * w, None, None, None
        nzero = n == 0
        n_safe = where(nzero, 1.0, n)
        if p == 2:
            return g * where(nzero, 0.0, x / n_safe), None, None, None
        ax = _abs(x)
        if p < 1:
            xzero = x == 0
            scaled = sign(x) * where(xzero, 0.0, where(xzero, 1.0, ax) ** (p - 1))
            return scaled * g * n ** (1 - p), None, None, None
        scaled = sign(x) * ax ** (p - 1) if p < 2 else x * ax ** (p - 2)
        return scaled * where(nzero, 0.0, g / n_safe ** (p - 1)), None, None, None


def _check_norm_nonempty(x, p: float, name: str, axes) -> None:
    """torch's errors for an inf or negative-order norm (no identity) over an empty range;
    ``name`` is ``p`` as the caller's error text spells it."""
    if not (math.isinf(p) or p < 0):
        return
    if axes is None and x.size == 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {name} norm on an empty "
                           "tensor because the operation does not have an identity")
    for a in axes or ():
        if x.shape[a] == 0:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {name} norm on the dimension {a}"
                "because this dimension is empty and the operation does not have an "
                "identity")


# --------------------------------------------------------------------------------------------
# Tensor methods


register(__name__, {
    "sum": sum, "mean": mean, "nansum": nansum, "nanmean": nanmean, "prod": prod,
    "var": var, "std": std, "max": max, "min": min, "amax": amax, "amin": amin,
    "aminmax": aminmax, "argmax": argmax, "argmin": argmin, "logsumexp": logsumexp,
    "cumsum": cumsum, "cumprod": cumprod, "all": all, "any": any,
    "count_nonzero": count_nonzero,
})

ReductionMethods = mixin("ReductionMethods", __name__)
