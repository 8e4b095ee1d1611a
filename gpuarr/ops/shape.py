"""View ops: ``view``, ``reshape``, ``expand``, ``transpose``, ``permute``, ``squeeze``...

Views share memory (and the version counter) with their input, like PyTorch's. ``view`` refuses
layouts it cannot express without a copy and points at ``reshape``.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from ._common import Function, _make, _state, broadcast_shapes, wrap_dim
from ._registry import mixin, register

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "reshape", "view", "expand", "broadcast_to", "broadcast_tensors", "squeeze", "unsqueeze",
    "flatten", "unflatten", "transpose", "swapaxes", "swapdims", "permute", "t", "narrow",
    "movedim", "moveaxis", "ravel", "expand_as", "view_as", "reshape_as",
]


def _infer_shape(shape, numel: int, op: str) -> tuple:
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


class _Reshape(Function):
    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class View(_Reshape):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        out = x.view()
        try:
            out.shape = shape  # raises instead of copying when strides do not allow a view
        except AttributeError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return out


class Reshape(_Reshape):
    _is_view = True
    _node_name = "ViewBackward0"  # torch's reshape records a view (or a copy and a view)


# the same op under the names torch's graph shows for these calls
class Unsqueeze(Reshape):
    pass


class Squeeze(Reshape):
    pass


class SqueezeDim(Reshape):
    _node_name = "SqueezeBackward1"


class SqueezeDims(Reshape):
    _node_name = "SqueezeBackward2"


def _shape_args(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return tuple(args[0])
    return tuple(int(a) for a in args)


def view(self: Tensor, *shape) -> Tensor:
    """A view with a new shape (no copy); one dim may be -1.

    Raises:
        RuntimeError: if the memory layout cannot be viewed that way (use :func:`reshape`).

    Example:
        >>> gpuarr.arange(100).view((10, 10)).shape
        gpuarr.Size([10, 10])
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, list, tuple)):
        dt = D.as_dtype(shape[0])
        if dt.itemsize != self._data.itemsize:
            raise RuntimeError("view(dtype) with a different element size is not supported")
        return _make(self._data.view(dt.np), self._device)
    shp = _infer_shape(_shape_args(shape), self._data.size, "view")
    if not (_state.enabled and self._rg):
        return _view_nograd(self, View.forward(_Tmp, self._data, shp))
    return View.apply(self, shp)


class _TmpCtx:
    pass


_Tmp = _TmpCtx()


def _view_nograd(base: Tensor, arr) -> Tensor:
    t = _make(arr, base._device)
    t._version = base._shared_version()
    t._base = base if base._base is None else base._base
    return t


def reshape(input: Tensor, *shape) -> Tensor:
    """A tensor with the same data and a new shape: a view when possible, else a copy."""
    shp = _infer_shape(_shape_args(shape), input._data.size, "reshape")
    if shp == input._data.shape:
        return input
    return _reshape(input, shp, Reshape)


def _reshape(input: Tensor, shp: tuple, cls: type) -> Tensor:
    """``input`` reshaped to ``shp`` (not its shape); ``cls`` names the graph node."""
    if not (_state.enabled and input._rg):
        src = input._data
        if input._device.type == "cpu":
            try:  # a view when the strides allow it, else NumPy says so and we copy
                return _view_nograd(input, np.reshape(src, shp, copy=False))
            except ValueError:
                return _make(src.reshape(shp), input._device)
        arr = src.reshape(shp)
        if arr.data.ptr == src.data.ptr:  # CuPy: a copy never starts at the same address
            return _view_nograd(input, arr)
        return _make(arr, input._device)
    if not _viewable(input._data, shp):
        # as torch: a copy first, then a view of it (so the result never claims, as a view,
        # memory it does not share with ``input``: an in-place write through it must not
        # rewrite ``input``'s history)
        input = input.contiguous()
    return cls.apply(input, shp)


def _viewable(arr, shp: tuple) -> bool:
    """Whether ``arr`` can take shape ``shp`` without a copy (NumPy and CuPy refuse a shape
    assignment that would need one)."""
    if arr.flags.c_contiguous:
        return True
    v = arr.view()
    try:
        v.shape = shp
    except AttributeError:
        return False
    return True


def view_as(self: Tensor, other: Tensor) -> Tensor:
    """``self.view(other.shape)``."""
    return view(self, other.shape)


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    """``self.reshape(other.shape)``."""
    return reshape(self, other.shape)


def ravel(input: Tensor) -> Tensor:
    """A flattened 1-D tensor (a view when possible)."""
    return reshape(input, -1)


class Expand(Function):
    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None  # the engine sums broadcast dims back to the input's shape


def expand(self: Tensor, *sizes) -> Tensor:
    """A broadcast view with singleton dims repeated (-1 keeps a dim); no copy.

    Example:
        >>> gpuarr.tensor([[1], [2]]).expand(2, 3)
    """
    sizes = _shape_args(sizes)
    nd = self._data.ndim
    if len(sizes) < nd:
        raise RuntimeError(
            f"expand(gpuarr.{self.dtype.name}{{{list(self.shape)}}}, size={list(sizes)}): the "
            "number of sizes provided must be greater or equal to the number of dimensions in "
            "the tensor"
        )
    lead = len(sizes) - nd
    shape = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                    "non-existing dimension 0"
                )
            shape.append(s)
            continue
        cur = self._data.shape[i - lead]
        if s == -1:
            s = cur
        elif cur != 1 and s != cur:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(self.shape)}"
            )
        shape.append(s)
    shape = tuple(shape)
    if shape == self._data.shape:
        return self if not (_state.enabled and self._rg) else Expand.apply(self, shape)
    if not (_state.enabled and self._rg):
        return _view_nograd(self, self._device._xp().broadcast_to(self._data, shape))
    return Expand.apply(self, shape)


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    """``self.expand(other.shape)``."""
    return expand(self, other.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    """Broadcast ``input`` to ``size`` (a view)."""
    return expand(input, tuple(size))


def broadcast_tensors(*tensors) -> tuple:
    """Broadcast tensors against each other; returns views of a common shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


class Permute(Function):
    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        inv = [0] * len(ctx.axes)
        for i, a in enumerate(ctx.axes):
            inv[a] = i
        return permute(g, inv), None


class Transpose(Permute):
    pass


class _TFn(Permute):
    _node_name = "TBackward0"


def _permute(x: Tensor, axes: tuple, cls: type = Permute) -> Tensor:
    if not (_state.enabled and x._rg):
        return _view_nograd(x, x._data.transpose(axes))
    return cls.apply(x, axes)


def permute(input: Tensor, *dims) -> Tensor:
    """A view with dimensions reordered.

    Example:
        >>> gpuarr.zeros(2, 3, 4).permute(2, 0, 1).shape
        gpuarr.Size([4, 2, 3])
    """
    dims = _shape_args(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    axes = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(axes)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permute(input, axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with ``dim0`` and ``dim1`` swapped."""
    return _transpose(input, dim0, dim1, Transpose)


def _transpose(input: Tensor, dim0: int, dim1: int, cls: type) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        return input
    d0, d1 = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    axes = list(range(nd))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return _permute(input, tuple(axes), cls)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dims."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return _transpose(input, 0, 1, _TFn) if input._data.ndim == 2 else input


def _T(self: Tensor) -> Tensor:
    nd = self._data.ndim
    return _permute(self, tuple(range(nd - 1, -1, -1))) if nd >= 2 else self


def _mT(self: Tensor) -> Tensor:
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


def _H(self: Tensor) -> Tensor:
    nd = self._data.ndim
    if nd not in (0, 2):
        hint = " For batches of matrices, consider using tensor.mH" if nd > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {nd}-D "
                           f"tensor.{hint}")
    return _T(self).conj()


def _mH(self: Tensor) -> Tensor:
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mH is only supported on matrices or batches of matrices. "
                           f"Got {self._data.ndim}-D tensor.")
    return transpose(self, -2, -1).conj()


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims from ``source`` positions to ``destination`` positions (a view)."""
    nd = input._data.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError("movedim: Invalid source or destination dims: source and destination "
                           "must have the same number of dims")
    src = [wrap_dim(s, nd) for s in src]
    dst = [wrap_dim(d, nd) for d in dst]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _permute(input, tuple(order))


moveaxis = movedim


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove size-1 dims (all, or only those in ``dim``)."""
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
        cls = Squeeze
    else:
        dims = dim if isinstance(dim, (list, tuple)) else (dim,)
        dd = {wrap_dim(d, len(shape)) for d in dims}
        new = tuple(s for i, s in enumerate(shape) if not (i in dd and s == 1))
        cls = SqueezeDims if isinstance(dim, (list, tuple)) else SqueezeDim
    return _reshape(input, new, cls) if new != shape else _alias(input, cls)


def _alias(x: Tensor, cls: type = Reshape) -> Tensor:
    if _state.enabled and x._rg:
        return cls.apply(x, x._data.shape)
    return _view_nograd(x, x._data.view())


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (a view)."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd + 1)
    shape = input._data.shape
    return _reshape(input, shape[:d] + (1,) + shape[d:], Unsqueeze)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input._data.shape
    n = 1
    for v in shape[s:e + 1]:
        n *= v
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1)."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    shape = input._data.shape
    inner = _infer_shape(tuple(sizes), shape[d], "unflatten")
    return reshape(input, shape[:d] + inner + shape[d + 1:])


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A view of ``length`` elements of dim ``dim`` from ``start``."""
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    size = input._data.shape[d]
    start, length = operator.index(start), operator.index(length)
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    idx = [slice(None)] * nd
    idx[d] = slice(start, start + length)
    return input[tuple(idx)]


register(__name__, {
    "view": view,
    "view_as": view_as,
    "reshape": reshape,
    "reshape_as": reshape_as,
    "ravel": ravel,
    "expand": expand,
    "expand_as": expand_as,
    "broadcast_to": broadcast_to,
    "squeeze": squeeze,
    "unsqueeze": unsqueeze,
    "flatten": flatten,
    "unflatten": unflatten,
    "transpose": transpose,
    "swapaxes": transpose,
    "swapdims": transpose,
    "permute": permute,
    "t": t,
    "T": property(_T),
    "mT": property(_mT),
    "H": property(_H),
    "mH": property(_mH),
    "narrow": narrow,
    "movedim": movedim,
    "moveaxis": movedim,
})

ShapeMethods = mixin("ShapeMethods", __name__)
