"""In-place writes through views, recorded for autograd (torch's ``CopySlices``).

``h[:, :2].relu_()``, ``v = h.view(-1); v.add_(1)`` or ``nn.ReLU(inplace=True)`` after an op
whose result is a view change the memory of the view's base. With a graph to record, the base
takes a new history: its old value outside the view's region, and the in-place op's result
inside it. Its node (:class:`CopySlices`) sends the incoming gradient to the old base with the
region zeroed, and the region alone to the op's result, whose own node leads back, through
the view's old history, to the old base. The view becomes a view of the new base
(``AsStridedBackward0``).

The region is found from the arrays' addresses: a view's elements sit at fixed offsets in its
base's memory. That works whenever the base is dense in some order of its axes (every tensor
gpuarr makes is); for anything else the write raises an error that says how to avoid it.

The base's other views that take part in the graph follow it too (torch regenerates their
histories when they are next used; here they are rebuilt at the write): a base with a history
keeps weak references to its views for that. Views that did not require grad (of a base that
had none before the write) keep none.
"""

from __future__ import annotations

import math

import numpy as np

from .._core.function import Function
from .._core.tensor import TensorBase, _make

__all__ = ["check_view_write", "stand_in", "rebase_history", "VIEW_WRITE_UNSUPPORTED"]

VIEW_WRITE_UNSUPPORTED = (
    "gpuarr can't record this in-place operation on a view for autograd (its base's memory is "
    "not one dense block); use the out-of-place op (e.g. `y = y + 1` instead of `y += 1`) or "
    "clone() first."
)


def _ptr(a) -> int:
    """The address of array ``a``'s first element (NumPy or CuPy)."""
    return a.ctypes.data if hasattr(a, "ctypes") else a.data.ptr


class _Region:
    """Where a view's elements sit among its base's: the base's axes in memory order
    (outermost first), and the view's shape, element strides and element offset in that
    order's flat layout."""

    __slots__ = ("perm", "inv", "lay_shape", "base_shape", "shape", "strides", "offset")

    def __init__(self, perm, base_shape, shape, strides, offset) -> None:
        self.perm = tuple(perm)
        self.inv = tuple(sorted(range(len(perm)), key=perm.__getitem__))
        self.base_shape = tuple(base_shape)
        self.lay_shape = tuple(base_shape[k] for k in perm)
        self.shape, self.strides, self.offset = tuple(shape), tuple(strides), offset

    def _flat(self, xp, a, copy: bool = False):
        """A base-shaped array as a 1-d array in the base's memory order (a copy with
        ``copy``; else possibly ``a``'s own memory)."""
        t = a.transpose(self.perm)
        return (t.copy(order="C") if copy else xp.ascontiguousarray(t)).reshape(-1)

    def _index(self, xp):
        """The positions of the view's elements in the flat memory-order layout (an index
        array of the view's shape, built on the device: plain indexing, which a compiled
        step records like any other call)."""
        idx = xp.full(self.shape, self.offset, dtype=np.int64)
        for k, (n, st) in enumerate(zip(self.shape, self.strides)):
            if n > 1 and st:
                step = [1] * len(self.shape)
                step[k] = n
                idx = idx + xp.arange(0, n * st, st, dtype=np.int64).reshape(step)
        return idx

    def take(self, xp, a):
        """The region of base-shaped ``a``, as a fresh array of the view's shape."""
        return self._flat(xp, a)[self._index(xp)]

    def put(self, xp, a, v, dtype=None):
        """A base-shaped copy of ``a`` (zeros of ``dtype`` when None) with the region set
        to ``v``."""
        flat = (xp.zeros(math.prod(self.base_shape), dtype) if a is None
                else self._flat(xp, a, copy=True))
        flat[self._index(xp)] = v
        return flat.reshape(self.lay_shape).transpose(self.inv)


def _region_of(view, base) -> _Region | None:
    """The region of ``base``'s memory that array ``view`` addresses; None when it can't be
    told (another dtype, negative strides, a base with gaps in its memory)."""
    item = base.itemsize
    if view.dtype != base.dtype or any(s < 0 for s in base.strides + view.strides):
        return None
    perm = sorted(range(base.ndim), key=lambda k: -base.strides[k])
    expect = item
    for k in reversed(perm):  # dense in that order: each axis steps over the ones inside it
        if base.shape[k] != 1 and base.strides[k] != expect:
            return None
        expect *= base.shape[k]
    off = _ptr(view) - _ptr(base) if view.size else 0
    if off % item or any(s % item for s in view.strides):
        return None
    last = off + sum((n - 1) * s for n, s in zip(view.shape, view.strides)) if view.size else 0
    if off < 0 or last >= max(base.nbytes, 1):  # not in the base's memory: not its view
        return None
    return _Region(perm, base.shape, view.shape, [s // item for s in view.strides], off // item)


class _RegionOp(Function):
    """One of the three linear maps between a base-shaped array and its view's region:
    ``"take"`` (the region, view-shaped), ``"put"`` (base-shaped zeros with the region set
    to the input) and ``"zero"`` (a copy with the region zeroed). Each one's backward is its
    adjoint: take and put swap, zero is its own."""

    _raw = True
    _adjoint = {"take": "put", "put": "take", "zero": "zero"}

    @staticmethod
    def forward(ctx, a, region, how):
        ctx.region, ctx.how = region, how
        if how == "take":
            return region.take(ctx.xp, a)
        if how == "put":
            return region.put(ctx.xp, None, a, a.dtype)
        return region.put(ctx.xp, a, 0)

    @staticmethod
    def backward(ctx, gg):
        return _RegionOp.apply(gg, ctx.region, _RegionOp._adjoint[ctx.how]), None, None


class CopySlices(Function):
    """The base after an in-place op through a view wrote ``res`` into the view's region
    (the caller has written the data; forward hands the base's array on)."""

    _raw = True
    _node_name = "CopySlices"

    @staticmethod
    def forward(ctx, base, res, region):
        ctx.region = region
        return base

    @staticmethod
    def backward(ctx, g):
        gb = _RegionOp.apply(g, ctx.region, "zero") if ctx.needs_input_grad[0] else None
        gr = _RegionOp.apply(g, ctx.region, "take") if ctx.needs_input_grad[1] else None
        return gb, gr, None


class _RegionView(Function):
    """The written view as a view of its base's new value (its array is the view's own)."""

    _raw = True
    _is_view = True
    _node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, base, region, view):
        ctx.region = region
        return view

    @staticmethod
    def backward(ctx, g):
        return _RegionOp.apply(g, ctx.region, "put"), None, None


def check_view_write(view: TensorBase) -> _Region:
    """Raise torch's errors for an in-place write through ``view`` that autograd forbids: a
    view of a leaf that requires grad, a view made in no-grad mode of a base that requires
    grad, one of several views returned by one op (split, chunk, unbind).

    Returns:
        The view's region of its base's memory, for :func:`rebase_history`.
    """
    base = view._base
    if base._rg and base._gfn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place "
            "operation.")
    if base._rg and not view._rg:
        raise RuntimeError(
            "A view was created in no_grad mode and is being modified inplace with grad mode "
            "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
            "You can clarify your code by moving both the view and the inplace either both "
            "inside the no_grad block (if you don't want the inplace to be tracked) or both "
            "outside (if you want the inplace to be tracked).")
    node = view._gfn
    if node is not None and node._fn._is_view and len(node._out_meta) > 1:
        name = node.name().removesuffix("Backward0")
        raise RuntimeError(
            f"Output {view._output_nr} of {name} is a view and is being modified inplace. "
            "This view is the output of a function that returns multiple views. Such "
            "functions do not allow the output views to be modified inplace. You should "
            "replace the inplace operation by an out-of-place one.")
    region = _region_of(view._data, base._data)
    if region is None:
        raise RuntimeError(VIEW_WRITE_UNSUPPORTED)
    return region


def stand_in(t: TensorBase) -> TensorBase:
    """A copy of ``t``'s values that stands where ``t`` stands in the graph: the input of an
    in-place op run out of place before its result is written back into ``t``."""
    old = _make(t._data.copy(), t._device)
    old._rg, old._gfn, old._output_nr = t._rg, t._gfn, t._output_nr
    return old


def rebase_history(view: TensorBase, res: TensorBase, region: _Region) -> None:
    """Give ``view``'s base and ``view`` the history of an in-place op whose result ``res``
    has just been written into ``view``'s memory (see the module's docstring); ``region``
    is what :func:`check_view_write` returned for ``view``."""
    base = view._base
    if res._data.dtype != view._data.dtype:
        res = res.to(view.dtype)
    new = CopySlices.apply(base, res, region)
    base._gfn, base._output_nr, base._rg = new._gfn, new._output_nr, new._rg
    views = list(base.__dict__.get("_views", ()))  # (following a view registers one more)
    _follow(view, base, region)
    for ref in views:  # the base's other views that take part in the graph
        other = ref()
        if other is not None and other is not view and other._rg:
            _follow(other, base, _region_of(other._data, base._data))


def _follow(view: TensorBase, base: TensorBase, region: _Region | None) -> None:
    """Make ``view`` a view of ``base``'s current value in the graph."""
    if region is None:
        return
    again = _RegionView.apply(base, region, view._data)
    view._gfn, view._output_nr, view._rg = again._gfn, again._output_nr, again._rg
