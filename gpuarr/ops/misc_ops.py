"""Torch surface that programs reach for and that fits no other op family.

* factories on a tensor: ``new_tensor``, ``new_zeros``, ``new_ones``, ``new_full``,
  ``new_empty`` (dtype and device default to the tensor's), and the legacy ``new``;
* fused-looking arithmetic: ``addcmul``, ``addcdiv`` (with ``value=``) and their in-place forms;
* ``copysign`` (gradient to ``input`` only, as torch), ``cummax`` / ``cummin`` (values and
  indices; the gradient goes to the index each output came from), ``diff`` (``n``, ``dim``,
  ``prepend``, ``append``);
* in-place reshaping: ``t_``, ``squeeze_``, ``unsqueeze_``, ``transpose_`` (``swapdims_``,
  ``swapaxes_``): the tensor takes the view's shape and strides, and records the view in the
  graph, as torch does.

Every op is written once against ``xp`` (NumPy or CuPy) or as a composition of gpuarr ops, so
gradients and double backward work on both devices.
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._autocast import state as _amp
from .._core.tensor import Size
from .._creation import empty, full, ones, tensor, zeros
from ._common import (
    Function,
    TensorBase,
    _make,
    broadcast_shapes,
    check_same_device,
    no_grad_needed,
    wrap_dim,
)
from ._registry import apply_inplace, mixin, register
from .elementwise import _Binary, _binary, _out, logical_xor
from .indexing import scatter_add
from .reduction import _on_1d, _return_type, _slice_along
from .shape import squeeze, t, transpose, unsqueeze
from .stacking import cat

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["addcmul", "addcdiv", "copysign", "cummax", "cummin", "diff"]


# --------------------------------------------------------------------------------------------
# new_* factories


def _is_int(x) -> bool:
    return (isinstance(x, numbers.Integral) and not isinstance(x, bool)) or (
        isinstance(x, TensorBase) and x._data.ndim == 0 and x._data.dtype.kind in "iu")


def _size_args(op: str, size: tuple) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` or ``f(Size)`` as a tuple, with torch's errors."""
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    elif len(size) == 1 and not _is_int(size[0]):
        raise TypeError(f"{op}(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size[0]).__name__}")
    for i, s in enumerate(size):
        if not _is_int(s):
            raise TypeError(f"{op}(): argument 'size' failed to unpack the object at pos {i + 1} "
                            f'with error "type must be tuple of ints,but got {type(s).__name__}"')
    return tuple(int(s) for s in size)


def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False,
               layout=None, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``, with this tensor's dtype and device unless
    given.

    Args:
        data: anything :func:`gpuarr.tensor` accepts.
        dtype: the result's dtype (default: this tensor's).
        device: the result's device (default: this tensor's).
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A new leaf tensor.

    Example:
        >>> gpuarr.zeros(2, dtype=gpuarr.float64).new_tensor([1, 2])
        tensor([1., 2.], dtype=gpuarr.float64)
    """
    if isinstance(data, TensorBase):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
            "rather than tensor.new_tensor(sourceTensor).", UserWarning, stacklevel=2)
    return tensor(data, dtype=self.dtype if dtype is None else dtype,
                  device=self._device if device is None else device, requires_grad=requires_grad)


def new(self: Tensor, *args, device=None) -> Tensor:
    """The legacy constructor on a tensor (``weight.new(2, 3).zero_()`` in older programs):
    a tensor with this tensor's dtype and device.

    ``new(2, 3)`` or ``new(Size([2, 3]))``: uninitialised, of that shape; ``new([1, 2])`` (any
    sequence, tuples too): that data; ``new()``: empty; ``new(t)``: ``t`` itself, detached
    (shared memory), which must have this tensor's dtype.

    Example:
        >>> gpuarr.zeros(2, dtype=gpuarr.float64).new([1, 2])
        tensor([1., 2.], dtype=gpuarr.float64)
    """
    dt = self.dtype
    dev = self._device if device is None else device
    if not args:
        return empty(0, dtype=dt, device=dev)
    if len(args) == 1:
        a = args[0]
        if isinstance(a, TensorBase):
            if a.dtype is not dt:
                raise TypeError(f"new(): expected a {dt.name} tensor (got {a.dtype.name})")
            return a.detach()
        if isinstance(a, Size):
            return empty(tuple(a), dtype=dt, device=dev)
        if _is_int(a):
            return empty(int(a), dtype=dt, device=dev)
        if isinstance(a, (numbers.Number, np.generic)) or not hasattr(a, "__len__"):
            raise TypeError(f"new(): data must be a sequence (got {type(a).__name__})")
        return tensor(a, dtype=dt, device=dev)
    for a in args:
        if not _is_int(a):
            raise TypeError("new(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(a).__name__}")
    return empty(tuple(int(a) for a in args), dtype=dt, device=dev)


def _new_like(fn, self: Tensor, size: tuple, dtype, device, requires_grad: bool, **kw) -> Tensor:
    return fn(size, dtype=self.dtype if dtype is None else dtype,
              device=self._device if device is None else device,
              requires_grad=requires_grad, **kw)


def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False,
              layout=None, pin_memory: bool = False) -> Tensor:
    """Zeros of ``size`` with this tensor's dtype and device unless given.

    Args:
        *size: ints, or one list/tuple/Size.
        dtype: default this tensor's dtype.
        device: default this tensor's device.
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A new tensor of zeros.

    Example:
        >>> gpuarr.ones(3).new_zeros(2, 2)
        tensor([[0., 0.],
                [0., 0.]])
    """
    return _new_like(zeros, self, _size_args("new_zeros", size), dtype, device, requires_grad)


def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False,
             layout=None, pin_memory: bool = False) -> Tensor:
    """Ones of ``size`` with this tensor's dtype and device unless given.

    Args:
        *size: ints, or one list/tuple/Size.
        dtype: default this tensor's dtype.
        device: default this tensor's device.
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A new tensor of ones.

    Example:
        >>> gpuarr.zeros(3, dtype=gpuarr.int32).new_ones(2)
        tensor([1, 1], dtype=gpuarr.int32)
    """
    return _new_like(ones, self, _size_args("new_ones", size), dtype, device, requires_grad)


def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False,
              layout=None, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` with this tensor's dtype and device unless given.

    Args:
        *size: ints, or one list/tuple/Size.
        dtype: default this tensor's dtype.
        device: default this tensor's device.
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A new tensor whose values are whatever the memory held.

    Example:
        >>> gpuarr.ones(3).new_empty(2).shape
        gpuarr.Size([2])
    """
    return _new_like(empty, self, _size_args("new_empty", size), dtype, device, requires_grad)


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None,
             requires_grad: bool = False, layout=None, pin_memory: bool = False) -> Tensor:
    """``size`` filled with ``fill_value``, with this tensor's dtype and device unless given.

    Args:
        size: a list/tuple/Size of ints (not a bare int, as in torch).
        fill_value: the value.
        dtype: default this tensor's dtype.
        device: default this tensor's device.
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A new filled tensor.

    Example:
        >>> gpuarr.zeros(1, dtype=gpuarr.int64).new_full((2,), 7.5)
        tensor([7, 7])
    """
    if not isinstance(size, (list, tuple)):
        raise TypeError("new_full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    dt = D.as_dtype(self.dtype if dtype is None else dtype)
    if dt.np.kind in "iu" and isinstance(fill_value, float):
        fill_value = int(fill_value)  # torch truncates a float fill for integer tensors
    return full(tuple(size), fill_value, dtype=dt,
                device=self._device if device is None else device, requires_grad=requires_grad)


# --------------------------------------------------------------------------------------------
# addcmul, addcdiv


def _need_tensor(op: str, name: str, pos: int, x) -> None:
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _addc_operands(op: str, input, tensor1, tensor2, value):
    """The three operands cast to their common dtype (shapes and devices checked as torch
    does), and ``value`` as torch applies it to that dtype."""
    for name, pos, x in (("input", 1, input), ("tensor1", 2, tensor1), ("tensor2", 3, tensor2)):
        _need_tensor(op, name, pos, x)
    check_same_device(input, tensor1, tensor2)
    broadcast_shapes(input._data.shape, tensor1._data.shape, tensor2._data.shape)
    dt = D.result_type(input, tensor1, tensor2)
    if op == "addcdiv" and not tensor1.is_floating_point() and not tensor2.is_floating_point():
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * gpuarr.trunc(tensor1 / tensor2))."
            "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    if dt is D.bool:
        raise NotImplementedError(f'"{op}_cpu_out" not implemented for \'Bool\'')
    if not isinstance(value, (numbers.Number, TensorBase)):
        raise TypeError(f"{op}(): argument 'value' must be Number, not {type(value).__name__}")
    if not dt.is_floating_point and isinstance(value, float):
        value = int(value)  # torch converts the scalar to the integer dtype (truncates)
    ops = tuple(x if x._data.dtype == dt.np else x.to(dt) for x in (input, tensor1, tensor2))
    return ops, value


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 * tensor2``, broadcast, in the three tensors' common dtype.

    Args:
        input: the tensor added to.
        tensor1: first factor.
        tensor2: second factor.
        value: scalar multiplier (truncated for integer dtypes, as torch does).
        out: optional tensor to write the result into.

    Returns:
        A new tensor (or ``out``).

    Example:
        >>> gpuarr.addcmul(gpuarr.ones(2), gpuarr.tensor([1., 2.]), gpuarr.tensor([3., 4.]),
        ...                value=0.5)
        tensor([2.5000, 5.0000])
    """
    if _amp.on and out is None:
        return _amp.run("addcmul", addcmul, input, tensor1, tensor2, value=value, out=out)
    (a, b, c), value = _addc_operands("addcmul", input, tensor1, tensor2, value)
    prod = (b * value if value != 1 else b) * c  # torch's order: (value * t1) * t2
    return _out(a + prod, out)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 / tensor2``, broadcast, in the three tensors' common dtype.

    Args:
        input: the tensor added to.
        tensor1: numerator.
        tensor2: denominator.
        value: scalar multiplier.
        out: optional tensor to write the result into.

    Returns:
        A new tensor (or ``out``).

    Raises:
        RuntimeError: when ``tensor1`` and ``tensor2`` are both integer tensors (torch's text).

    Example:
        >>> gpuarr.addcdiv(gpuarr.zeros(2), gpuarr.tensor([1., 2.]), gpuarr.tensor([4., 4.]),
        ...                value=2)
        tensor([0.5000, 1.0000])
    """
    if _amp.on and out is None:
        return _amp.run("addcdiv", addcdiv, input, tensor1, tensor2, value=value, out=out)
    (a, b, c), value = _addc_operands("addcdiv", input, tensor1, tensor2, value)
    quot = (b * value if value != 1 else b) / c  # torch's order: (value * t1) / t2
    return _out(a + quot, out)


def addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """In-place :func:`addcmul`; returns self.

    Example:
        >>> x = gpuarr.zeros(2); x.addcmul_(gpuarr.ones(2), gpuarr.ones(2), value=3)
        tensor([3., 3.])
    """
    return apply_inplace(self, addcmul, tensor1, tensor2, value=value)


def addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """In-place :func:`addcdiv`; returns self (the Adam update's shape).

    Example:
        >>> x = gpuarr.zeros(2); x.addcdiv_(gpuarr.ones(2), gpuarr.full((2,), 4.0), value=-1)
        tensor([-0.2500, -0.2500])
    """
    return apply_inplace(self, addcdiv, tensor1, tensor2, value=value)


# --------------------------------------------------------------------------------------------
# copysign


class Copysign(_Binary):
    _ufunc = "copysign"

    @staticmethod
    def forward(ctx, a, b):
        out = ctx.xp.copysign(a, b)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        xp = ctx.xp
        ad = a._data
        zero = ad == 0
        # d out / d a = out / a away from 0 (that is, +-1), and 0 at 0, as torch's
        # copysign_tensor_self_backward; a piecewise constant, so it carries no graph
        ratio = xp.where(zero, 0, out._data / xp.where(zero, 1, ad)).astype(g._data.dtype,
                                                                             copy=False)
        ga = g * _make(ratio, g._device) if ctx.needs_input_grad[0] else None
        gb = None
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            gb = _make(xp.zeros_like(g._data), g._device)  # torch: zeros for ``other``
        return ga, gb


def copysign(input: Tensor, other, *, out=None) -> Tensor:
    """``input``'s magnitudes with ``other``'s signs (floating result; integers promote to the
    default float dtype). The gradient flows to ``input`` only (0 where ``input`` is 0);
    ``other`` gets a zero gradient, as in torch.

    Args:
        input: magnitudes.
        other: a tensor or number giving the signs (signed zeros and NaN signs count).
        out: optional tensor to write the result into.

    Returns:
        A new floating tensor (or ``out``).

    Example:
        >>> gpuarr.copysign(gpuarr.tensor([1., -2., 3.]), -1)
        tensor([-1., -2., -3.])
    """
    if not isinstance(input, TensorBase) or not isinstance(other, (TensorBase, numbers.Number)):
        names = ", ".join("Tensor" if isinstance(x, TensorBase) else type(x).__name__
                          for x in (input, other))
        raise TypeError(
            f"copysign() received an invalid combination of arguments - got ({names}), but "
            "expected one of:\n * (Tensor input, Tensor other, *, Tensor out = None)\n"
            " * (Tensor input, Number other, *, Tensor out = None)\n")
    return _out(_binary(Copysign, input, other, fast_int=False, force_float=True), out)


def copysign_(self: Tensor, other) -> Tensor:
    """In-place :func:`copysign`; returns self (floating tensors only, as in torch)."""
    return apply_inplace(self, copysign, other)


# --------------------------------------------------------------------------------------------
# cummax, cummin

_RCummax = _return_type("cummax", ("values", "indices"))
_RCummin = _return_type("cummin", ("values", "indices"))


def _scan(xp, x, axis: int, fn):
    """Inclusive scan of ``x`` along ``axis`` with the binary ufunc ``fn`` (maximum/minimum),
    by doubling steps: log2(n) elementwise passes on either backend (CuPy's ufuncs have no
    ``accumulate`` for maximum/minimum)."""
    n = x.shape[axis]
    s = 1
    while s < n:
        tail = fn(_slice_along(x, axis, slice(s, n)), _slice_along(x, axis, slice(0, n - s)))
        x = xp.concatenate([_slice_along(x, axis, slice(0, s)), tail], axis)
        s *= 2
    return x


class _CumExtreme(Function):
    """Running max/min along ``axis``: (values, int64 indices of the latest extreme). The
    gradient of each value goes to the input element it came from (scatter-add)."""

    _raw = True
    _is_max = True

    @classmethod
    def forward(cls, ctx, x, axis):
        xp = ctx.xp
        fn = xp.maximum if cls._is_max else xp.minimum
        vals = _scan(xp, x, axis, fn)  # NaN propagates, as torch's
        # an element replaces the running extreme when it equals the new extreme (ties take
        # the later index, as torch's >= / <=), or when it is NaN
        update = x == vals
        if x.dtype.kind == "f":
            update |= xp.isnan(x)
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        pos = xp.arange(x.shape[axis], dtype=xp.int64).reshape(shape)
        idx = _scan(xp, xp.where(update, pos, 0), axis, xp.maximum)
        ctx.axis, ctx.in_shape = axis, x.shape
        ctx.save_for_backward(idx)
        ctx.mark_non_differentiable(idx)
        return vals, idx

    @staticmethod
    def backward(ctx, gv, gi):
        (idx,) = ctx.saved_tensors
        base = zeros(ctx.in_shape, dtype=gv.dtype, device=gv._device)
        return scatter_add(base, ctx.axis, idx, gv), None


class Cummax(_CumExtreme):
    _is_max = True


class Cummin(_CumExtreme):
    _is_max = False


def _cum_extreme(cls, rtype, input: Tensor, dim: int):
    _need_tensor(rtype.__name__, "input", 1, input)
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if nd == 0:
        return _on_1d(lambda x: _cum_extreme(cls, rtype, x, 0), input)
    vals, idx = cls.apply(input, d)
    return rtype(vals, idx)


def cummax(input: Tensor, dim: int):
    """Running maximum along ``dim``: ``return_types.cummax(values, indices)``.

    Ties take the later index; a NaN becomes the running maximum from where it appears (its
    index; each later NaN takes over). The gradient of each value goes to the element at its
    index.

    Args:
        input: any real or bool tensor.
        dim: the dim to scan.

    Returns:
        A named tuple of values (input's dtype) and int64 indices.

    Example:
        >>> gpuarr.cummax(gpuarr.tensor([1., 3., 2., 5.]), 0)
        gpuarr.return_types.cummax(
        values=tensor([1., 3., 3., 5.]),
        indices=tensor([0, 1, 1, 3]))
    """
    return _cum_extreme(Cummax, _RCummax, input, dim)


def cummin(input: Tensor, dim: int):
    """Running minimum along ``dim``: ``return_types.cummin(values, indices)`` (see
    :func:`cummax` for ties, NaN and gradients).

    Args:
        input: any real or bool tensor.
        dim: the dim to scan.

    Returns:
        A named tuple of values (input's dtype) and int64 indices.

    Example:
        >>> gpuarr.cummin(gpuarr.tensor([3, 1, 2]), 0).indices
        tensor([0, 1, 1])
    """
    return _cum_extreme(Cummin, _RCummin, input, dim)


# --------------------------------------------------------------------------------------------
# diff


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``out[i] = x[i + 1] - x[i]``, applied
    ``n`` times; bool tensors use logical xor).

    Args:
        input: a tensor with at least one dim.
        n: how many times to difference (0 gives a copy of the input, without ``prepend`` or
            ``append``, as torch; more than the length gives an empty result).
        dim: the dim to difference along.
        prepend: values joined before ``input`` along ``dim`` first (same number of dims).
        append: values joined after ``input`` along ``dim`` first (same number of dims).

    Returns:
        A tensor ``n`` shorter along ``dim`` (after joining).

    Example:
        >>> gpuarr.diff(gpuarr.tensor([1, 4, 9, 16]))
        tensor([3, 5, 7])
        >>> gpuarr.diff(gpuarr.tensor([1., 4., 9.]), prepend=gpuarr.tensor([0.]))
        tensor([1., 3., 5.])
    """
    _need_tensor("diff", "input", 1, input)
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, nd)
    parts = []
    for extra in (prepend, append):
        if extra is not None:
            _need_tensor("diff", "prepend" if extra is prepend else "append", 4, extra)
            if extra._data.ndim != nd:
                raise RuntimeError(
                    "diff expects prepend or append to be the same dimension as input")
            for i in range(nd):
                if i != d and extra._data.shape[i] != input._data.shape[i]:
                    raise RuntimeError(
                        "diff expects the shape of tensor to prepend or append to match that "
                        f"of input except along the differencing dimension; input.size({i}) = "
                        f"{input._data.shape[i]}, but got tensor.size({i}) = "
                        f"{extra._data.shape[i]}")
    if n == 0:  # torch gives the input back (a copy), whatever is joined
        return input.clone()
    if prepend is not None or append is not None:
        parts = [x for x in (prepend, input, append) if x is not None]
        input = cat(parts, d)
    length = input._data.shape[d]
    n = min(n, length)
    res = input
    for _ in range(n):
        length -= 1
        hi, lo = res.narrow(d, 1, length), res.narrow(d, 0, length)
        res = logical_xor(hi, lo) if res._data.dtype.kind == "b" else hi - lo
    return res


# --------------------------------------------------------------------------------------------
# in-place reshaping


def _meta_inplace(self: Tensor, fn, *args) -> Tensor:
    """Give ``self`` the shape and strides of the view ``fn(self, *args)`` (same memory), and
    make it that view's output in the graph."""
    grad = not no_grad_needed(self)
    if grad and self._gfn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation.")
    res = fn(self, *args)
    self._data = res._data
    if grad:
        self._gfn, self._output_nr = res._gfn, res._output_nr
    self._bump_version()
    return self


def t_(self: Tensor) -> Tensor:
    """In-place :meth:`t` (a tensor of at most 2 dims); returns self.

    Example:
        >>> x = gpuarr.zeros(2, 3); x.t_().shape
        gpuarr.Size([3, 2])
    """
    if self._data.ndim > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is "
                           f"{self._data.ndim}D")
    return _meta_inplace(self, t)


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place :meth:`transpose`; returns self.

    Example:
        >>> gpuarr.zeros(2, 3, 4).transpose_(0, 2).shape
        gpuarr.Size([4, 3, 2])
    """
    return _meta_inplace(self, transpose, dim0, dim1)


def squeeze_(self: Tensor, dim=None) -> Tensor:
    """In-place :meth:`squeeze` (all size-1 dims, or those in ``dim``); returns self.

    Example:
        >>> gpuarr.zeros(3, 1).squeeze_().shape
        gpuarr.Size([3])
    """
    return _meta_inplace(self, squeeze, dim)


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """In-place :meth:`unsqueeze`; returns self.

    Example:
        >>> gpuarr.zeros(3).unsqueeze_(0).shape
        gpuarr.Size([1, 3])
    """
    return _meta_inplace(self, unsqueeze, dim)


register(__name__, {
    "new": new, "new_tensor": new_tensor, "new_zeros": new_zeros, "new_ones": new_ones,
    "new_empty": new_empty, "new_full": new_full,
    "addcmul": addcmul, "addcdiv": addcdiv, "addcmul_": addcmul_, "addcdiv_": addcdiv_,
    "copysign": copysign, "copysign_": copysign_, "cummax": cummax, "cummin": cummin,
    "diff": diff, "t_": t_, "transpose_": transpose_, "swapdims_": transpose_,
    "swapaxes_": transpose_, "squeeze_": squeeze_, "unsqueeze_": unsqueeze_,
})

MiscMethods = mixin("MiscMethods", __name__)
