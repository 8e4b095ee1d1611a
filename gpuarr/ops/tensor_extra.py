"""Tensor methods that real programs call and the other op families do not cover.

* Python callbacks per element: ``apply_``, ``map_``, ``map2_`` (CPU tensors, as in torch);
* storage size and geometry in place: ``resize_``, ``resize_as_``, the deprecated ``resize`` /
  ``resize_as``, ``as_strided_``, ``new_empty_strided``;
* complex-number names on gpuarr's real dtypes: ``adjoint``, ``conj_physical`` (+ ``_``),
  ``real``, ``imag``, ``angle``;
* layout and memory facts: ``dim_order``, ``is_pinned``, ``record_stream`` and the
  ``is_xla``/``is_xpu``/``is_mps``/``is_ipu``/``is_vulkan``/``is_maia``/``is_mtia`` properties
  (always False: gpuarr's devices are the CPU and CUDA GPUs);
* ``cauchy_`` (a random fill through the device's generator) and ``module_load`` (what
  ``Module.load_state_dict`` calls when swapping parameters).

gpuarr has no storage object apart from a tensor's backend array. Where torch reinterprets a
tensor's storage (``resize_``, ``as_strided_``), gpuarr reads the tensor's elements in row-major
order, as :func:`gpuarr.as_strided` does: the same as torch for a contiguous tensor.
"""

from __future__ import annotations

import math
import numbers
import operator
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._core.tensor import TensorBase, _make, check_no_overlap
from .._device import CPU, as_device
from .._memory_format import (
    check_memory_format,
    is_contiguous_as,
    memory_format,
    memory_format_order,
    preserve_format,
    strided,
)
from .._random import Generator
from ..backends import cuda_backend
from ..cuda.streams import Event, Stream
from ._common import Function, _state, dtype_name
from ._out import _CPP_NAMES, write_out
from ._registry import apply_inplace, mixin, register
from .complex_ops import (
    Conj,
    angle_complex,
    conj_complex,
    imag_complex,
    real_complex,
)
from .elementwise import _unary, _ZeroGrad
from .misc_ops import _size_args
from .random import _fill_inplace, _gen
from .sampling import _sample_dtype
from .shape import transpose
from .shape_extra import as_strided
from .tensor_info import _check as _check_tensor
from .tensor_info import _root

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["adjoint", "conj_physical", "conj_physical_", "real", "imag", "angle", "resize_as_"]


# --------------------------------------------------------------------------------------------
# apply_, map_, map2_: a Python callable per element


def _as_double(obj) -> float:
    """``obj`` as a C double the way CPython's ``PyFloat_AsDouble`` reads it (``__float__``,
    else ``__index__``), with its errors ("must be real number, not str", "int too large to
    convert to float"); unlike ``float()`` it does not parse strings."""
    return math.ldexp(obj, 0)  # ldexp reads its first argument with PyFloat_AsDouble


def _int_store(info: np.iinfo) -> Callable:
    """How torch stores a callback's result into an integer tensor: a float is truncated, an
    integer (``__index__``) is range-checked; a negative int wraps into an unsigned dtype."""
    lo, hi, name = int(info.min), int(info.max), info.dtype.name
    overflow = f"value cannot be converted to type {name} without overflow"

    def store(obj):
        if isinstance(obj, float):
            if math.isnan(obj) or math.isinf(obj) or not lo <= int(obj) <= hi:
                raise RuntimeError(overflow)
            return int(obj)
        v = operator.index(obj)
        if not -(2**63) <= v < 2**63:  # torch unpacks the Python int as a C long long first
            raise ValueError("Overflow when unpacking long long")
        if lo == 0 and v < 0:  # unsigned: two's complement wrap, as C++ does
            if -v > hi:
                raise RuntimeError(overflow)
            return v + hi + 1
        if not lo <= v <= hi:
            raise RuntimeError(overflow)
        return v

    return store


def _bool_store(obj) -> bool:
    if isinstance(obj, (float, complex)):
        return bool(obj)
    return bool(operator.index(obj))


def _converters(dt: np.dtype) -> tuple[Callable, Callable]:
    """(load, store) for one element of a tensor of NumPy dtype ``dt``: load gives the Python
    number torch passes to the callback (float, int or bool), store checks and converts what
    the callback returned."""
    if dt.kind == "b":
        return bool, _bool_store
    if dt.kind in "iu":
        return int, _int_store(np.iinfo(dt))
    return float, _as_double  # floats: a double, rounded to the dtype on assignment


def _check_callback_inputs(op: str, self: Tensor, others: dict) -> None:
    """torch's checks of map_/map2_'s tensors, in its order: arguments, grad, types,
    device."""
    for pos, (name, o) in enumerate(others.items(), 1):
        _check_tensor(o, op, name, pos)
    if self._rg or any(o._rg for o in others.values()):
        raise RuntimeError(f"Can't call {op}() on Variable that requires grad. Use "
                           f"var.detach().{op}() instead.")
    for name, o in others.items():
        if o._device.type != self._device.type or o.dtype is not self.dtype:
            where = f"'{name}'" if op == "map_" else f"argument '{name}'"
            raise TypeError(f"{op}: expected {self.type()} for {where} (got {o.type()})")
    if any(t._device is not CPU for t in (self, *others.values())):
        raise TypeError(f"{op} is only implemented on CPU tensors")


def _expanded(self: Tensor, other: Tensor) -> Tensor:
    """``other`` broadcast to ``self``'s shape, with torch's expand_inplace errors."""
    if other._data.ndim > self._data.ndim:
        raise RuntimeError(
            f"expand({other.type()}{{{list(other.shape)}}}, size={list(self.shape)}): the "
            f"number of sizes provided ({self._data.ndim}) must be greater or equal to the "
            f"number of dimensions in the tensor ({other._data.ndim})")
    return other.expand(self.shape)


def _run_callback(self: Tensor, fn: Callable, others: tuple) -> Tensor:
    """Call ``fn`` on each element of ``self`` (and the matching elements of ``others``,
    already expanded to its shape) in row-major order, writing each result at once, as torch
    does: an exception leaves the elements before it updated."""
    check_no_overlap(self)
    dst = self._data
    arrays = (dst, *(o._data for o in others))
    loads = [_converters(a.dtype)[0] for a in arrays]
    store = _converters(dst.dtype)[1]
    try:
        with np.errstate(over="ignore"):  # a float overflowing the dtype becomes inf, as in C
            for idx in np.ndindex(dst.shape):
                dst[idx] = store(fn(*[ld(a[idx]) for ld, a in zip(loads, arrays)]))
    finally:
        self._bump_version()  # elements may have changed even if the callback raised
    return self


def apply_(self: Tensor, callable: Callable, /) -> Tensor:
    """Replace each element ``x`` by ``callable(x)``, in row-major order; CPU tensors only.

    The callback gets a Python float (floating dtypes), int or bool and must return a number;
    results are converted as torch converts them (a float into an integer tensor is truncated;
    out-of-range values raise). Slow by nature: one Python call per element.

    Args:
        callable: a function of one number returning a number.

    Returns:
        self.

    Raises:
        RuntimeError: ``self`` requires grad, or a result does not fit the dtype.
        TypeError: ``self`` is not on the CPU, or a result is not a number.

    Example:
        >>> gpuarr.tensor([1.0, 2.0]).apply_(lambda x: x * 10)
        tensor([10., 20.])
    """
    if self._rg:
        raise RuntimeError("Can't call apply_() on Variable that requires grad. Use "
                           "var.detach().apply_() instead.")
    if self._device is not CPU:
        raise TypeError("apply_ is only implemented on CPU tensors")
    return _run_callback(self, callable, ())


def map_(self: Tensor, other: Tensor, callable: Callable, /) -> Tensor:
    """Replace each element ``a`` of ``self`` by ``callable(a, b)``, ``b`` the matching element
    of ``other`` broadcast to ``self``'s shape; CPU tensors of one dtype only.

    Args:
        other: a tensor of ``self``'s dtype, broadcastable to ``self``'s shape.
        callable: a function of two numbers returning a number.

    Returns:
        self.

    Raises:
        RuntimeError: a tensor requires grad, or ``other`` does not broadcast to ``self``.
        TypeError: ``other``'s dtype differs, or a tensor is not on the CPU.

    Example:
        >>> gpuarr.ones(2, 2).map_(gpuarr.tensor([1.0, 2.0]), lambda a, b: a + b)
        tensor([[2., 3.],
                [2., 3.]])
    """
    _check_callback_inputs("map_", self, {"other": other})
    return _run_callback(self, callable, (_expanded(self, other),))


def map2_(self: Tensor, x: Tensor, y: Tensor, callable: Callable, /) -> Tensor:
    """Replace each element ``a`` of ``self`` by ``callable(a, b, c)``, ``b`` and ``c`` the
    matching elements of ``x`` and ``y`` broadcast to ``self``'s shape; CPU tensors only.

    Args:
        x: a tensor of ``self``'s dtype, broadcastable to ``self``'s shape.
        y: likewise.
        callable: a function of three numbers returning a number.

    Returns:
        self.

    Example:
        >>> gpuarr.zeros(2).map2_(gpuarr.ones(2), gpuarr.tensor([2.0, 3.0]), lambda a, b, c: b * c)
        tensor([2., 3.])
    """
    _check_callback_inputs("map2_", self, {"x": x, "y": y})
    return _run_callback(self, callable, (_expanded(self, x), _expanded(self, y)))


# --------------------------------------------------------------------------------------------
# resize_, resize_as_, resize, resize_as


def _resize_sizes(op: str, sizes: tuple) -> tuple:
    if not sizes:
        raise TypeError(f'{op}() missing 1 required positional arguments: "size"')
    size = _size_args(op, sizes)
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
    return size


def _laid_out(flat, size: tuple, order: tuple | None):
    """``flat`` (a 1-d array of ``prod(size)`` elements) viewed as ``size``, its elements in
    the memory order of a dense tensor laid out in axis ``order`` (None: row-major)."""
    if order is None:
        return flat.reshape(size)
    physical = flat.reshape(tuple(size[i] for i in order))
    return physical.transpose(tuple(order.index(i) for i in range(len(size))))


def _rebind(self: Tensor, arr, same_memory: bool) -> None:
    """Make ``arr`` the data of ``self``; a tensor given fresh memory stops being a view."""
    old = self._data
    self._data = arr
    if arr.shape != old.shape or arr.strides != old.strides or not same_memory:
        self._bump_version()  # the shared counter: tensors saved for backward see the edit
    if not same_memory:
        self._base = None
        self._version = [self._version_value()]  # no longer shared with the old base's views


def resize_(self: Tensor, *sizes, memory_format: memory_format | None = None) -> Tensor:
    """Change the shape of ``self`` in place to ``sizes``, keeping its first elements.

    The elements of ``self`` in row-major order are its "storage" (as for
    :func:`gpuarr.as_strided`): the resized tensor holds that storage's first
    ``prod(sizes)`` elements, laid out row-major (or in ``memory_format``). Shrinking a
    contiguous tensor keeps sharing its memory; growing allocates new memory whose new elements
    are zeros (torch leaves them uninitialised). With the same shape and no ``memory_format``
    nothing changes.

    Args:
        *sizes: ints, or one list/tuple/Size.
        memory_format: ``contiguous_format`` (row-major), ``channels_last`` (4-d) or
            ``channels_last_3d`` (5-d); ``preserve_format`` is refused, as in torch.

    Returns:
        self.

    Raises:
        RuntimeError: ``self`` requires grad ("cannot resize variables that require grad"),
            a negative size, or a format that does not fit the rank.

    Example:
        >>> gpuarr.arange(6.).resize_(2, 2)
        tensor([[0., 1.],
                [2., 3.]])
    """
    size = _resize_sizes("resize_", sizes)
    if self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    check_memory_format(memory_format, "resize_")
    if memory_format is preserve_format:
        raise RuntimeError("Unsupported memory formatPreserve")
    order = memory_format_order(memory_format, len(size))
    if memory_format is None and size == self._data.shape:
        return self
    data = self._data
    n = math.prod(size)
    shares = bool(data.flags.c_contiguous)
    flat = data.reshape(-1)  # a view when contiguous, else a copy in row-major order
    if n <= flat.size:
        flat = flat[:n]
    else:
        dev = self._device
        grown = dev._backend().zeros((n,), data.dtype, dev.index)
        grown[:flat.size] = flat
        flat, shares = grown, False
    _rebind(self, _laid_out(flat, size, order), shares)
    return self


def resize_as_(input: Tensor, the_template: Tensor,
               memory_format: memory_format | None = None) -> Tensor:
    """``input.resize_(the_template.size(), memory_format=memory_format)``: the shape of
    ``the_template`` (its dtype, device and layout do not matter).

    Example:
        >>> gpuarr.arange(6.).resize_as_(gpuarr.empty(3))
        tensor([0., 1., 2.])
    """
    _check_tensor(the_template, "resize_as_", "the_template")
    return resize_(input, the_template.shape, memory_format=memory_format)


class Resize(Function):
    """torch's deprecated out-of-place ``resize``: the same elements in a new shape; backward
    reshapes the gradient back (torch's ``ResizeBackward`` node)."""

    _raw = True
    _node_name = "ResizeBackward"

    @staticmethod
    def forward(ctx, x, size):
        ctx.in_shape = x.shape
        return ctx.xp.ascontiguousarray(x).reshape(size)

    @staticmethod
    def backward(ctx, g):
        return g.contiguous().view(ctx.in_shape), None


class _ResizeView(Resize):
    """:class:`Resize` of a contiguous tensor: the result shares its memory, as torch's."""

    _is_view = True
    _node_name = "ResizeBackward"


def _resize_copy(self: Tensor, size: tuple, op: str) -> Tensor:
    warnings.warn(f"non-inplace {op} is deprecated", UserWarning, stacklevel=3)
    n = math.prod(size)
    if n != self._data.size:
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, size))} ({n} elements in total), but the "
            f"given tensor has a size of {'x'.join(map(str, self.shape))} ({self._data.size} "
            "elements). autograd's resize can only change the shape of a given tensor, while "
            "preserving the number of elements. ")
    cls = _ResizeView if self._data.flags.c_contiguous else Resize
    return cls.apply(self, size)


def resize(self: Tensor, *sizes) -> Tensor:
    """Deprecated (torch warns): ``self``'s elements in shape ``sizes``, which must hold as
    many elements; shares memory with a contiguous ``self``. Differentiable.

    Example:
        >>> gpuarr.arange(6.).resize(2, 3).shape
        gpuarr.Size([2, 3])
    """
    return _resize_copy(self, _resize_sizes("resize", sizes), "resize")


def resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    """Deprecated (torch warns): ``self.resize(tensor.size())``."""
    _check_tensor(tensor, "resize_as", "tensor")
    return _resize_copy(self, tuple(tensor.shape), "resize_as")


# --------------------------------------------------------------------------------------------
# as_strided_, new_empty_strided


def as_strided_(self: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """Make ``self`` the view ``self.as_strided(size, stride, storage_offset)`` in place.

    As :func:`gpuarr.as_strided`, positions count ``self``'s elements in row-major order from
    its first one (torch counts from the start of the underlying storage; the same for a tensor
    that is not a view). Differentiable for non-leaf tensors.

    Returns:
        self.

    Example:
        >>> x = gpuarr.arange(6.); x.as_strided_((2, 2), (1, 2))
        tensor([[0., 2.],
                [1., 3.]])
    """
    grad = _state.enabled and self._rg
    if grad and self._gfn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation.")
    if grad and self._base is not None:
        raise RuntimeError(
            "gpuarr does not record in-place operations on views when gradients are needed; "
            "use the out-of-place op (x.as_strided(...)) or clone() first.")
    res = as_strided(self, size, stride, storage_offset)
    shares = res._data.base is not None and _root(res._data) is _root(self._data)
    _rebind(self, res._data, shares)
    if grad:
        self._gfn, self._output_nr = res._gfn, res._output_nr
    return self


def _storage_numel(size: tuple, stride: tuple) -> int:
    """Elements a buffer must hold for a tensor of ``size`` and ``stride`` (0 if empty)."""
    if 0 in size:
        return 0
    return 1 + sum((n - 1) * st for n, st in zip(size, stride))


def _empty_strided(size: tuple, stride: tuple, dt: D.dtype, dev, pin_memory: bool) -> Tensor:
    """An uninitialised tensor of ``size`` and ``stride`` on ``dev`` (in page-locked host
    memory with ``pin_memory``), with torch's checks of the geometry."""
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality "
                           f"of strides ({len(stride)})")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    n = _storage_numel(size, stride)
    if pin_memory:
        if dev is not CPU:
            raise RuntimeError("Only dense CPU tensors can be pinned")
        buf = _pinned_empty()((n,), dt.np)
        mark_pinned(buf)
    else:
        dev._backend().check_dtype(dt.np)
        buf = dev._backend().empty((n,), dt.np, dev.index)
    item = buf.itemsize
    arr = dev._xp().lib.stride_tricks.as_strided(buf, size, tuple(s * item for s in stride))
    return _make(arr, dev)


def new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None,
                      requires_grad: bool = False, layout=None,
                      pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose ``stride()`` is ``stride``, with this tensor's
    dtype and device unless given.

    Args:
        size: a list/tuple/Size of ints (not a bare int, as in torch).
        stride: one non-negative stride (in elements) per dimension.
        dtype: default this tensor's dtype.
        device: default this tensor's device.
        requires_grad: make the result a leaf that requires grad.
        layout: ``gpuarr.strided`` or None.
        pin_memory: allocate a CPU result in page-locked memory (needs a usable GPU).

    Returns:
        A new tensor whose values are whatever the memory held.

    Example:
        >>> gpuarr.ones(()).new_empty_strided((2, 3), (1, 2)).stride()
        (1, 2)
    """
    for name, pos, arg in (("size", 1, size), ("stride", 2, stride)):
        if not isinstance(arg, (list, tuple)):
            raise TypeError(f"new_empty_strided(): argument '{name}' (position {pos}) must be "
                            f"tuple of ints, not {type(arg).__name__}")
    if layout is not None and layout is not strided:
        raise RuntimeError(f"new_empty_strided: gpuarr supports only the strided layout, got "
                           f"{layout!r}")
    size = _size_args("new_empty_strided", (size,))
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
    stride = tuple(operator.index(s) for s in stride)
    dt = self.dtype if dtype is None else D.as_dtype(dtype)
    dev = self._device if device is None else as_device(device)
    out = _empty_strided(size, stride, dt, dev, pin_memory)
    return out.requires_grad_(True) if requires_grad else out


# --------------------------------------------------------------------------------------------
# complex-number names on real tensors: adjoint, conj_physical, real, imag, angle

_warned_adjoint_0d = False


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims: for gpuarr's real dtypes the transpose
    ``input.transpose(-2, -1)``, a view. A 0-d tensor is returned as is (torch warns once).

    Raises:
        RuntimeError: for a 1-d tensor.

    Example:
        >>> gpuarr.arange(6.).view(2, 3).adjoint().shape
        gpuarr.Size([3, 2])
    """
    global _warned_adjoint_0d
    _check_tensor(input, "adjoint")
    nd = input._data.ndim
    if nd == 1:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           "matrices. Got 1-D tensor.")
    if nd == 0:
        if not _warned_adjoint_0d:  # torch's TORCH_WARN_ONCE
            _warned_adjoint_0d = True
            warnings.warn("adjoint() is deprecated on 0-D tensors. Consider using x.conj().",
                          UserWarning, stacklevel=2)
        return input
    return transpose(input, -2, -1).conj()


class ConjPhysical(Function):
    """The complex conjugate written to memory: a copy on real dtypes. The in-place form
    records it (torch's ``ConjPhysicalBackward1`` node); the gradient passes through."""

    _raw = True
    _node_name = "ConjPhysicalBackward1"

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def conj_physical(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The complex conjugate, computed eagerly: ``input`` itself for gpuarr's real dtypes (as
    torch returns a real tensor unchanged), or a copy written into ``out``.

    Args:
        input: the tensor.
        out: optional tensor of ``input``'s dtype to write the result into.

    Example:
        >>> x = gpuarr.ones(2); gpuarr.conj_physical(x) is x
        True
    """
    _check_tensor(input, "conj_physical")
    if input._data.dtype.kind == "c":
        res = conj_complex(input)
        return res if out is None else write_out(res, out, "conj_physical")
    if out is None:
        return input
    if isinstance(out, TensorBase) and out.dtype is not input.dtype:
        raise RuntimeError(f"Found dtype {dtype_name(out.dtype)} but expected "
                           f"{dtype_name(input.dtype)}")
    return write_out(input, out, "conj_physical")


def _conj_physical_method(self: Tensor) -> Tensor:
    # torch's Tensor.conj_physical takes no out=
    return conj_complex(self) if self._data.dtype.kind == "c" else self


def conj_physical_(input: Tensor) -> Tensor:
    """In-place :func:`conj_physical`: no change to a real tensor's values; its version moves
    and, in a graph, it gets torch's ``ConjPhysicalBackward1`` node. Returns ``input``."""
    _check_tensor(input, "conj_physical_")
    if input._data.dtype.kind == "c":
        return apply_inplace(input, Conj.apply)
    return apply_inplace(input, ConjPhysical.apply)


def real(input: Tensor) -> Tensor:
    """The real part: a view of a complex tensor's real parts; ``input`` itself for real
    dtypes (as in torch).

    Example:
        >>> x = gpuarr.ones(2); gpuarr.real(x) is x
        True
    """
    _check_tensor(input, "real")
    if input._data.dtype.kind == "c":
        return real_complex(input)
    return input


def _no_imag() -> RuntimeError:
    return RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as a view.

    Raises:
        RuntimeError: for real tensors ("imag is not implemented for tensors with non-complex
            dtypes.").

    Example:
        >>> gpuarr.imag(gpuarr.tensor([1 + 2j]))
        tensor([2.])
    """
    _check_tensor(input, "imag")
    if input._data.dtype.kind == "c":
        return imag_complex(input)
    raise _no_imag()


def _set_real(self: Tensor, value) -> None:
    # ``x.real = v`` copies v (a tensor broadcast to x, or a number) into x's real parts (x
    # itself for a real x), as torch does
    if not isinstance(value, (TensorBase, bool, int, float)):
        raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
    real(self).copy_(value)


def _set_imag(self: Tensor, value) -> None:
    if self._data.dtype.kind != "c":
        raise _no_imag()
    if not isinstance(value, (TensorBase, bool, int, float)):
        raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
    imag_complex(self).copy_(value)


class Angle(_ZeroGrad):
    """The argument of a real number: pi for negative values, 0 otherwise, NaN kept; its
    gradient is zero everywhere (torch's ``angle_backward`` for real inputs)."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        # array * scalar of the array's kind keeps the array's dtype on NumPy and CuPy alike
        out = (x < 0).astype(x.dtype) * x.dtype.type(math.pi)
        return xp.where(xp.isnan(x), x, out)


def angle(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The elementwise angle (argument) of ``input``: pi where negative, 0 where zero or
    positive (also -0.0), NaN where NaN. Integer and bool inputs give the default float dtype.

    Args:
        input: a real tensor.
        out: optional tensor to write the result into.

    Example:
        >>> gpuarr.angle(gpuarr.tensor([-2.0, 0.0, 3.0]))
        tensor([3.1416, 0.0000, 0.0000])
    """
    if isinstance(input, TensorBase) and input._data.dtype.kind == "c":
        res = angle_complex(input)
    else:
        res = _unary(Angle, input)
    return res if out is None else write_out(res, out, "angle")


def _angle_method(self: Tensor) -> Tensor:
    return angle_complex(self) if self._data.dtype.kind == "c" else _unary(Angle, self)


# --------------------------------------------------------------------------------------------
# dim_order


def _prims_contiguous(shape: tuple, strides: tuple, axes: tuple) -> bool:
    """torch._prims_common's dense-layout test over ``axes`` (innermost first): size-1 dims
    are skipped, fewer than two elements is always dense."""
    if math.prod(shape) < 2:
        return True
    expected = 1
    for ax in axes:
        if shape[ax] == 1:
            continue
        if strides[ax] != expected:
            return False
        expected *= shape[ax]
    return True


def _order_compare(shape: tuple, strides: tuple, a: int, b: int) -> int:
    """torch's ``should_swap`` of dims ``a`` and ``b`` when sorting by stride: 1 swap, -1 keep,
    0 undecided."""

    def ge(x, y):
        return y == 0 or (x != 0 and (x >= y or x % y == 0))

    sa, sb = strides[a], strides[b]
    if sa == 0 or sb == 0:
        return 0
    if sa == sb:
        return 0 if ge(shape[b], shape[a]) else 1
    if ge(sb, sa):
        return -1
    return 1 if ge(sa, sb) else 0


def _physical_perm(shape: tuple, strides: tuple, check: bool) -> tuple[list, bool]:
    """torch._prims_common.compute_elementwise_output_logical_to_physical_perm for one tensor:
    the dims from outermost to innermost in memory, and whether that order is ambiguous."""
    nd = len(shape)
    if nd < 2:
        return list(range(nd)), False
    row_major = _prims_contiguous(shape, strides, tuple(reversed(range(nd))))
    channels_last = nd == 4 and _prims_contiguous(shape, strides, (1, 3, 2, 0))
    if row_major and not channels_last:
        return list(range(nd)), False
    if channels_last and not row_major:
        return [0, *range(2, nd), 1], False
    perm = list(reversed(range(nd)))
    for i in range(1, nd):  # insertion sort that leaves undecided pairs in place
        d1 = i
        for d0 in reversed(range(i)):
            c = _order_compare(shape, strides, perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    ambiguous = check and any(_order_compare(shape, strides, perm[i], perm[i + 1]) != -1
                              for i in range(nd - 1))
    return list(reversed(perm)), ambiguous


def dim_order(self: Tensor, *, ambiguity_check: bool | list = False) -> tuple:
    """The dims of ``self`` from outermost to innermost in memory (torch.Tensor.dim_order).

    Args:
        ambiguity_check: False: return one valid order. True: raise when the order is not
            unique (a size-1 dim or two equal strides). A list of memory formats: raise unless
            ``self`` is laid out in exactly one of them or its order is unique.

    Returns:
        A tuple of dims.

    Raises:
        TypeError: ``ambiguity_check`` is neither a bool nor a list of memory formats.
        RuntimeError: the order is ambiguous and a check was asked for.

    Example:
        >>> gpuarr.empty(2, 3, 5, 7, memory_format=gpuarr.channels_last).dim_order()
        (0, 2, 3, 1)
    """
    if not isinstance(ambiguity_check, bool) and not (
            isinstance(ambiguity_check, list)
            and all(isinstance(f, memory_format) for f in ambiguity_check)):
        raise TypeError("The ambiguity_check argument must be a bool or a list of memory "
                        "formats.")
    shape, strides = tuple(self.shape), self.stride()
    formats = ambiguity_check if isinstance(ambiguity_check, list) else []
    check_multiple = ambiguity_check if isinstance(ambiguity_check, bool) else True
    multiple = (any(a == b for a, b in zip(strides, strides[1:]))
                or any(s == 1 for s in shape))
    if check_multiple and multiple and \
            sum(is_contiguous_as(self, f) for f in formats) != 1:
        raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact "
                           "one of the given memory formats.")
    perm, ambiguous = _physical_perm(shape, strides, bool(ambiguity_check))
    if ambiguous:
        raise RuntimeError("The tensor does not have unique dim order.")
    return tuple(perm)


# --------------------------------------------------------------------------------------------
# pinned memory and streams

# The host arrays gpuarr allocated in page-locked memory (pin_memory, the DataLoader's pinning,
# new_empty_strided(pin_memory=True)), by id; an entry goes when its array does. NumPy cannot
# tell pinned memory from other host memory, so gpuarr remembers what it pinned.
_PINNED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def mark_pinned(arr) -> None:
    """Record that host array ``arr`` lives in page-locked memory (for :func:`is_pinned`)."""
    _PINNED[id(arr)] = arr


def _pinned_empty():
    """The CUDA backend's ``pinned_empty(shape, dtype)``; torch's error without a GPU."""
    try:
        return cuda_backend().pinned_empty
    except RuntimeError:
        raise RuntimeError("Cannot access accelerator device when none is available.") \
            from None


def is_pinned(self: Tensor, device=None) -> bool:
    """Whether this tensor's memory is page-locked host memory (made by
    :meth:`Tensor.pin_memory` or a DataLoader with ``pin_memory=True``); False for CUDA
    tensors.

    Args:
        device: deprecated (torch warns); needs a usable GPU.

    Example:
        >>> gpuarr.ones(2).is_pinned()
        False
    """
    if device is not None:
        warnings.warn("The argument 'device' of Tensor.is_pinned() is deprecated. Please do "
                      "not pass this argument.", DeprecationWarning, stacklevel=2)
        _pinned_empty()  # torch's error where there is no accelerator
    if self._device is not CPU:
        return False
    root = _root(self._data)
    return _PINNED.get(id(root)) is root


# (event, array) pairs: memory of freed tensors held until work queued on a stream that used
# them is done (record_stream)
_STREAM_HELD: list = []


def _release_held() -> None:
    _STREAM_HELD[:] = [(e, a) for e, a in _STREAM_HELD if not e.query()]


def _hold_until_done(arr, stream) -> None:
    """Finalizer of a tensor given to record_stream: keep its array until the work queued on
    ``stream`` so far has run."""
    _release_held()
    event = Event()
    event.record(stream)
    _STREAM_HELD.append((event, arr))


def record_stream(self: Tensor, stream) -> None:
    """Mark this CUDA tensor as used by ``stream``: when the tensor is freed, its memory is not
    handed to other arrays until the work queued on ``stream`` by then has finished (torch's
    caching-allocator contract, for tensors made on one stream and used on another).

    Args:
        stream: a :class:`gpuarr.cuda.Stream`.

    Raises:
        RuntimeError: ``stream`` is not a stream.
        NotImplementedError: on a CPU tensor, as torch.

    Example:
        >>> s = gpuarr.cuda.Stream()
        >>> with gpuarr.cuda.stream(s):
        ...     y = x * 2
        >>> x.record_stream(s)
    """
    if not isinstance(stream, Stream):
        raise RuntimeError(f"record_stream(): unknown parameter type: expected a "
                           f"gpuarr.cuda.Stream, got {type(stream).__name__}")
    if self._device.type != "cuda":
        raise NotImplementedError(
            f"Could not run 'aten::record_stream' with arguments from the "
            f"'{self._device.type.upper()}' backend: it is only available for CUDA tensors.")
    _release_held()
    fin = weakref.finalize(self, _hold_until_done, self._data, stream)
    fin.atexit = False  # at interpreter exit nothing is reused any more


# --------------------------------------------------------------------------------------------
# cauchy_, module_load


class Cauchy(Function):
    """Random values written over a tensor: no gradient flows to what the tensor held
    (torch's ``CauchyBackward0`` gives zeros)."""

    _raw = True

    @staticmethod
    def forward(ctx, x, values):
        return values.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return _make(g._device._xp().zeros_like(g._data), g._device), None


def _real_arg(op: str, name: str, v) -> float:
    if not isinstance(v, numbers.Real) and not (isinstance(v, TensorBase) and v.numel() == 1):
        raise TypeError(f"{op}(): argument '{name}' must be float, not {type(v).__name__}")
    return float(v)


def cauchy_(self: Tensor, median: float = 0, sigma: float = 1, *, generator=None) -> Tensor:
    """Fill with draws from the Cauchy distribution of location ``median`` and scale
    ``sigma`` (density ``sigma / (pi * ((x - median)**2 + sigma**2))``), by inverse transform
    of uniform draws from the device's generator (``generator=`` or the default one).

    Args:
        median: the location.
        sigma: the scale, > 0.
        generator: a :class:`gpuarr.Generator` on this tensor's device.

    Returns:
        self.

    Example:
        >>> gpuarr.empty(3).cauchy_(0.0, 2.0, generator=gpuarr.Generator().manual_seed(0))
    """
    median = _real_arg("cauchy_", "median", median)
    sigma = _real_arg("cauchy_", "sigma", sigma)
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError("cauchy_(): argument 'generator' must be gpuarr.Generator, not "
                        f"{type(generator).__name__}")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    if not self.is_floating_point():
        raise RuntimeError("Cauchy distribution is a continuous probability distribution. "
                           "dtype must be a floating point but you specified "
                           f"{_CPP_NAMES[self.dtype.name]}")
    u = _gen(generator, self._device)._backend_gen.random(
        self.shape, dtype=_sample_dtype(self._data.dtype))
    t = u.dtype.type
    values = self._device._xp().tan(t(math.pi) * (u - t(0.5))) * t(sigma) + t(median)
    if _state.enabled and self._rg:
        return apply_inplace(self, Cauchy.apply, values)
    return _fill_inplace(self, values)


def module_load(self: Tensor, other, assign: bool = False) -> Tensor:
    """How ``other`` (a state-dict value) becomes the new value of ``self`` (a parameter or
    buffer) when ``Module.load_state_dict`` swaps tensors: ``other.detach()`` with
    ``assign=True``, else ``self.copy_(other).detach()``. Always a new object.

    Example:
        >>> w = gpuarr.zeros(2)
        >>> w.module_load(gpuarr.ones(2))
        tensor([1., 1.])
    """
    if assign:
        return other.detach()
    return self.copy_(other).detach()


def _false(self) -> bool:
    """False: gpuarr tensors live on the CPU or a CUDA GPU, never on this backend."""
    return False


register(__name__, {
    "apply_": apply_,
    "map_": map_,
    "map2_": map2_,
    "resize_": resize_,
    "resize_as_": resize_as_,
    "resize": resize,
    "resize_as": resize_as,
    "as_strided_": as_strided_,
    "new_empty_strided": new_empty_strided,
    "adjoint": adjoint,
    "conj_physical": _conj_physical_method,
    "conj_physical_": conj_physical_,
    "real": property(real, _set_real),
    "imag": property(imag, _set_imag),
    "angle": _angle_method,
    "dim_order": dim_order,
    "is_pinned": is_pinned,
    "record_stream": record_stream,
    "cauchy_": cauchy_,
    "module_load": module_load,
    **{name: property(_false) for name in ("is_xla", "is_xpu", "is_mps", "is_ipu", "is_vulkan",
                                           "is_maia", "is_mtia")},
})

TensorExtraMethods = mixin("TensorExtraMethods", __name__)
