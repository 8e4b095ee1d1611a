"""Layouts and memory formats: ``gpuarr.strided``, ``contiguous_format``, ``channels_last``,
``channels_last_3d``, ``preserve_format``, and the stride arithmetic of the channels-last
layouts, shared by the factories (``empty(..., memory_format=)``), ``Tensor.contiguous/clone/to``
and ``is_contiguous``.

It sits below the op layer (it needs only the backends), so the factories can use it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._dtype import repr_module

if TYPE_CHECKING:
    from ._tensor import Tensor

__all__ = ["layout", "strided", "memory_format", "contiguous_format", "channels_last",
           "channels_last_3d", "preserve_format", "check_memory_format", "memory_format_order",
           "strides_for", "relayout", "is_contiguous_as"]


# --------------------------------------------------------------------------------------------
# layouts and memory formats: named singletons, compared by identity as torch's are


class _Named:
    """A named singleton constant (``gpuarr.strided``, ``gpuarr.channels_last``)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"{repr_module[0]}.{self._name}"

    def __reduce__(self):
        return self._name  # pickles as the module-level constant: identity survives


class layout(_Named):
    """The type of a tensor's memory layout. gpuarr has one: :data:`strided` (dense arrays with
    per-dimension strides), which ``Tensor.layout`` reports.

    Example:
        >>> gpuarr.ones(2).layout
        gpuarr.strided
    """

    __slots__ = ()


class memory_format(_Named):
    """The type of the memory-format constants ``contiguous_format`` (row-major),
    ``channels_last`` (NHWC strides of a 4-d NCHW tensor), ``channels_last_3d`` (NDHWC strides of
    a 5-d tensor) and ``preserve_format`` (keep the input's layout).

    Example:
        >>> gpuarr.empty(2, 3, 4, 5, memory_format=gpuarr.channels_last).stride()
        (60, 1, 15, 3)
    """

    __slots__ = ()


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# memory format -> (the rank it needs, the dimension order of its strides, from largest to 1)
_ORDERS = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def check_memory_format(fmt, op: str):
    """Raise torch's TypeError unless ``fmt`` is None or a :class:`memory_format`; returns it."""
    if fmt is not None and not isinstance(fmt, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be torch.memory_format, not "
                        f"{type(fmt).__name__}")
    return fmt


def memory_format_order(fmt, ndim: int) -> tuple | None:
    """The axis order (outermost first) whose C-order layout is ``fmt`` for an ``ndim``-d
    tensor, or None for row-major; torch's RuntimeError when ``ndim`` does not fit ``fmt``."""
    if fmt not in _ORDERS:
        return None
    rank, order = _ORDERS[fmt]
    if ndim != rank:
        name = "channels_last" if rank == 4 else "channels_last_3d"
        raise RuntimeError(f"required rank {rank} tensor to use {name} format")
    return order


def strides_for(shape: tuple, order: tuple) -> tuple:
    """Element strides of a dense tensor of ``shape`` laid out in axis ``order``, computed as
    torch does (sizes of 1 count as 1, so a channels-last tensor with C == 1 keeps strides that
    say so)."""
    st = [0] * len(shape)
    acc = 1
    for ax in reversed(order):
        st[ax] = acc
        acc *= max(shape[ax], 1)
    return tuple(st)


def relayout(arr, dev, fmt):
    """A fresh backend array equal to ``arr`` (on device ``dev``) whose strides are those of a
    dense ``fmt`` layout (channels-last formats), or None when ``fmt`` is row-major (None,
    contiguous_format, preserve_format). For ``Tensor.contiguous(memory_format=...)``-style
    copies and the factories' ``memory_format=``; RuntimeError for a rank ``fmt`` cannot take.
    """
    order = memory_format_order(fmt, arr.ndim)
    if order is None:
        return None
    # a new C-order buffer of the permuted shape (re-using an existing array would keep whatever
    # strides NumPy/CuPy gave its size-1 dimensions), viewed back in the logical order
    buf = dev._backend().empty(tuple(arr.shape[i] for i in order), arr.dtype, dev.index)
    out = buf.transpose(tuple(order.index(i) for i in range(arr.ndim)))
    dev._xp().copyto(out, arr)
    return out


def is_contiguous_as(t: Tensor, fmt) -> bool:
    """``t.is_contiguous(memory_format=fmt)`` as torch defines it: the strides are those of a
    dense ``fmt`` layout, ignoring dimensions of size 1 (whose stride means nothing)."""
    order = _ORDERS.get(fmt, (None, None))[1]
    if order is None:  # contiguous_format / preserve_format: row-major
        return bool(t._data.flags.c_contiguous)
    if t.ndim != len(order):
        return False
    want = strides_for(tuple(t.shape), order)
    return all(s == 1 or a == b for s, a, b in zip(t.shape, t.stride(), want))
