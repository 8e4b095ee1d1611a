"""Copies, casts and device moves: ``to``, ``clone``, ``contiguous``, ``copy_``, ``fill_``."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._core.tensor import check_no_overlap
from .._creation import tensor
from .._device import CPU
from .._memory_format import (
    channels_last,
    channels_last_3d,
    check_memory_format,
    contiguous_format,
    is_contiguous_as,
    memory_format_order,
    preserve_format,
    relayout,
    strides_for,
)
from ._common import (
    Function,
    TensorBase,
    _make,
    _state,
    inplace_shape_error,
)
from ._registry import apply_inplace, mixin, register
from .elementwise import where

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["clone", "to_impl"]


class ToCopy(Function):
    """dtype cast and/or device move; the gradient goes back the same way."""

    _raw = True

    @staticmethod
    def forward(ctx, x, device, np_dtype, src_device):
        if x.dtype.kind == "c" and np_dtype is not None and np_dtype.kind != "c":
            warnings.warn("Casting complex values to real discards the imaginary part",
                          UserWarning, stacklevel=2)
            x = x.real  # (NumPy's own cast would warn with its ComplexWarning)
        if device is not None and device is not src_device:
            if device is CPU:
                arr = src_device._backend().to_host(x)
                if np_dtype is not None and arr.dtype != np_dtype:
                    arr = arr.astype(np_dtype)
            else:  # copied (and cast) on the target device
                arr = device._backend().asarray(x, dtype=np_dtype, index=device.index)
            return _make(arr, device)
        return x.astype(np_dtype)

    @staticmethod
    def backward(ctx, g):
        # the engine casts back to the input dtype; move back to the input's device here
        return g.to(ctx.device), None, None, None


def to_impl(x: Tensor, device, dtype, copy: bool) -> Tensor:
    """Implementation of :meth:`Tensor.to` after argument parsing."""
    same_dev = device is None or device is x._device
    if dtype is D.bfloat16:  # a backend without bfloat16 (CUDA) says so
        (x._device if same_dev else device)._backend().check_dtype(dtype.np)
    np_dt = None if dtype is None else dtype.np
    same_dt = np_dt is None or np_dt == x._data.dtype
    if same_dev and same_dt:
        return clone(x) if copy else x
    return ToCopy.apply(x, None if same_dev else device, np_dt, x._device)


class Clone(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input: Tensor, *, memory_format=preserve_format) -> Tensor:
    """A copy of ``input`` with its own memory (differentiable).

    Args:
        input: the tensor.
        memory_format: the copy's layout: ``preserve_format`` (default: a channels-last
            input stays channels-last, anything else is copied row-major),
            ``contiguous_format``, ``channels_last`` or ``channels_last_3d``.

    Example:
        >>> y = x.clone()
    """
    if memory_format is not preserve_format or not input._data.flags.c_contiguous:
        # the layout question only arises off the common path (a row-major clone)
        fmt = check_memory_format(memory_format, "clone")
        if fmt is preserve_format and input._data.ndim in (4, 5):
            fmt = _channels_last_of(input)
        if memory_format_order(fmt, input._data.ndim) is not None:
            return Relayout.apply(input, fmt)
    if not (_state.enabled and input._rg):
        input._device._xp()  # copy on the tensor's own device
        return _make(input._data.copy(), input._device)
    return Clone.apply(input)


def _channels_last_of(t: Tensor):
    """The channels-last format ``t`` is densely laid out in, else ``contiguous_format``."""
    fmt = channels_last if t._data.ndim == 4 else channels_last_3d
    return fmt if is_contiguous_as(t, fmt) else contiguous_format


def to_memory_format(t: Tensor, fmt) -> Tensor:
    """``t`` laid out in ``fmt`` as ``Tensor.to(memory_format=fmt)`` does it: unchanged when
    its strides already are that format's (torch's suggested format), else a copy."""
    order = memory_format_order(fmt, t._data.ndim)
    if order is None:
        return contiguous(t)
    if t.stride() == strides_for(tuple(t.shape), order):
        return t
    return Relayout.apply(t, fmt)


class Relayout(Function):
    """A copy laid out in a channels-last memory format; the gradient passes through."""

    _raw = True

    @staticmethod
    def forward(ctx, x, fmt):
        return relayout(x, ctx.device, fmt)

    @staticmethod
    def backward(ctx, g):
        return g, None


class Contiguous(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.ascontiguousarray(x)

    @staticmethod
    def backward(ctx, g):
        return g


def contiguous(self: Tensor, memory_format=contiguous_format) -> Tensor:
    """Self if already laid out in ``memory_format`` (row-major by default), else a copy that
    is.

    Args:
        memory_format: ``contiguous_format``, ``channels_last`` (4-d) or ``channels_last_3d``
            (5-d).

    Example:
        >>> x.t().contiguous().is_contiguous()
        True
    """
    if memory_format is contiguous_format or memory_format is None:
        if self._data.flags.c_contiguous:
            return self
        return Contiguous.apply(self)
    fmt = check_memory_format(memory_format, "contiguous")
    if fmt is preserve_format:
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    if is_contiguous_as(self, fmt) and memory_format_order(fmt, self._data.ndim) is not None:
        return self
    return Relayout.apply(self, fmt)


def _overwrite(dst: Tensor, src) -> Tensor:
    """``src`` (broadcast to ``dst``) as a graph op on ``dst``: the gradient goes to ``src``, and
    ``dst`` gets zero. Built on where(), not ``src + 0 * dst``, which would turn inf or nan in
    ``dst`` into nan."""
    keep = _make(dst._device._xp().ones((), dtype=bool), dst._device)
    return where(keep, src, dst)


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return tuple(np.broadcast_shapes(shape, target)) == tuple(target)
    except ValueError:
        return False


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast, moved across devices) into ``self``; returns self."""

    if not isinstance(src, TensorBase):
        src = tensor(src, device=self._device)

    def _copy(dst, s):
        s = s.to(device=dst._device, dtype=dst.dtype)
        if s.shape != dst.shape and not _broadcasts_to(s.shape, dst.shape):
            raise inplace_shape_error(dst.shape, s.shape)
        return _overwrite(dst, s)

    if src._device is not self._device and not (_state.enabled and (src._rg or self._rg)):
        src = src.to(device=self._device)
    if not (_state.enabled and (src._rg or self._rg)):
        check_no_overlap(self)
        try:
            self._device._xp().copyto(self._data, src._data.astype(self._data.dtype, copy=False))
        except ValueError:
            raise inplace_shape_error(self.shape, src.shape) from None
        self._bump_version()
        return self
    return apply_inplace(self, _copy, src)


def fill_(self: Tensor, value) -> Tensor:
    """Fill with ``value`` (a number or a one-element tensor); returns self."""
    if isinstance(value, TensorBase):
        if value.ndim != 0:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        if not (_state.enabled and (value._rg or self._rg)):
            value = value.item()
    if _state.enabled and (self._rg or isinstance(value, TensorBase)):

        def _fill(d, v):
            return _overwrite(d, v.to(d.dtype) if isinstance(v, TensorBase) else v)

        return apply_inplace(self, _fill, value)
    self._data[...] = D.checked_scalar(self._data.dtype, value)
    self._bump_version()
    return self


def zero_(self: Tensor) -> Tensor:
    """Fill with zeros; returns self."""
    return fill_(self, 0)


register(__name__, {
    "clone": clone,
    "contiguous": contiguous,
    "copy_": copy_,
    "fill_": fill_,
    "zero_": zero_,
})

ConversionMethods = mixin("ConversionMethods", __name__)
