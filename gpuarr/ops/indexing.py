"""Indexing: ``t[key]``, ``t[key] = value``, gather / scatter, masks, ``nonzero``.

``t[key]`` follows PyTorch. Ints, slices (positive steps), ``None`` and ``...`` give a view that
shares memory and the version counter with ``t``; integer or bool tensors / lists ("advanced"
indices) give a copy. Ints are applied before advanced indices, as torch does, so
``x[0, :, [1, 2]]`` has shape ``(3, 2)`` where NumPy would give ``(2, 3)``.

The backward of any index scatters the gradient into zeros; duplicate indices accumulate
(``numpy.add.at`` / ``cupyx.scatter_add``). Every backward is written with differentiable ops,
so double backward works.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._autocast import state as _amp
from .._core.engine import _sum_to
from .._core.tensor import _device_mismatch
from .._device import CPU
from ..backends import of_module, sync_debug
from ._common import (
    Function,
    TensorBase,
    _make,
    _state,
    apply_raw,
    broadcast_error,
    broadcast_shapes,
    dtype_name,
    no_grad_needed,
    wrap_dim,
)
from ._registry import apply_inplace, mixin, register
from ._view_inplace import check_view_write, rebase_history, stand_in
from .shape import _view_nograd

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "index_select", "gather", "scatter", "scatter_add", "masked_fill", "masked_select",
    "take_along_dim", "take", "nonzero", "argwhere", "index_add", "select",
]

_SCALARS = (int, float, complex, bool, np.number, np.bool_)
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))
_MASK_DTYPES = (np.dtype(np.bool_), np.dtype(np.uint8))

_ZERO_DIM_INT = (
    "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ "
    "to convert a 0-dim tensor to a number"
)
_BAD_TENSOR = "tensors used as indices must be long, int, byte or bool tensors"


# --------------------------------------------------------------------------------------------
# backend helpers


_UNSIGNED = {np.dtype(np.int64): np.uint64, np.dtype(np.int32): np.uint32}


def _first_bad(xp, idx, n: int, allow_negative: bool):
    """An index value outside the valid range of a dim of size ``n``, or None."""
    if idx.size == 0:
        return None
    sync_debug.check_array(idx)  # read on the host (torch checks on the device, without a wait)
    # one reduction: shifted into [0, span) and viewed unsigned, negatives become huge
    span = 2 * n if allow_negative else n
    shifted = idx + n if allow_negative else idx
    u = _UNSIGNED.get(shifted.dtype)
    if u is not None and int(shifted.view(u).max()) < span:
        return None
    lo, hi = of_module(xp).minmax(idx)
    if hi >= n:
        return hi
    if lo < (-n if allow_negative else 0):
        return lo
    return None


def _add_at(xp, out, key, values) -> None:
    """``out[key] += values`` where duplicate positions in ``key`` all add up."""
    of_module(xp).add_at(out, key, values)


def _dim_arange(xp, shape: tuple, axis: int):
    """``arange(shape[axis])`` shaped to broadcast along ``axis`` of an array of ``shape``."""
    r = [1] * len(shape)
    r[axis] = shape[axis]
    return xp.arange(shape[axis]).reshape(r)


def _full_index(xp, idx, dim: int) -> tuple:
    """The advanced-index tuple that addresses ``out[..., idx[i], ...]`` for every position ``i``
    of ``idx`` (``idx`` gives the coordinate along ``dim``; other coordinates are ``i``'s own)."""
    return tuple(idx if a == dim else _dim_arange(xp, idx.shape, a) for a in range(idx.ndim))


def _prefix(shape: tuple) -> tuple:
    """Basic key selecting the leading ``shape`` block of a larger array."""
    return tuple(slice(0, s) for s in shape)


def _to_device_array(self: Tensor, arr):
    """Host array ``arr`` moved to ``self``'s device."""
    if self._device is CPU:
        return arr
    return self._device._backend().asarray(arr, index=self._device.index)


# --------------------------------------------------------------------------------------------
# key parsing


def _seq_as_tuple(seq) -> bool:
    """torch's (and old NumPy's) rule: a short list holding slices, None, ``...``, tensors or
    sequences is a tuple of indices, not one index tensor."""
    if len(seq) >= 32:
        return False
    for k in seq:
        if k is None or k is Ellipsis or isinstance(
                k, (slice, TensorBase, list, tuple, np.ndarray)):
            return True
    return False


def _slice_int(v):
    if v is None:
        return None
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(
            "slice indices must be integers or None or have an __index__ method"
        ) from None


def _norm_slice(s: slice) -> slice:
    step = _slice_int(s.step)
    if step is not None:
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if step < 0:
            raise ValueError("step must be greater than zero")
    return slice(_slice_int(s.start), _slice_int(s.stop), step)


def _classify(k, self: Tensor):
    """One index item as ``(kind, payload)``: int, slice, none, ell, index (int array) or
    mask (bool array), arrays already on ``self``'s device."""
    if k is None:
        return "none", None
    if k is Ellipsis:
        return "ell", None
    cls = k.__class__
    if cls is int:
        return "int", k
    if cls is slice:
        return "slice", _norm_slice(k)
    if isinstance(k, TensorBase):
        arr = k._data
        if k._device is not self._device:
            if k._device is not CPU:
                if self._device is CPU:
                    raise RuntimeError(
                        "indices should be either on cpu or on the same device as the indexed "
                        f"tensor ({self._device})"
                    )
                raise _device_mismatch(self._device, k._device)
            arr = _to_device_array(self, arr)  # torch accepts CPU indices for CUDA tensors
        dt = arr.dtype
        if dt in _MASK_DTYPES:
            if arr.ndim == 0:
                sync_debug.check_array(arr)
                return "bool0", bool(arr)
            return "mask", (arr if dt == np.bool_ else arr.astype(np.bool_), dt != np.bool_)
        if dt in _INDEX_DTYPES:
            if arr.ndim == 0:
                sync_debug.check_array(arr)
                return "int", int(arr)
            return "index", arr
        raise IndexError(_BAD_TENSOR)
    if isinstance(k, (bool, np.bool_)):
        return "pybool", bool(k)
    if isinstance(k, (int, np.integer)):
        return "int", int(k)
    if isinstance(k, (list, tuple, np.ndarray)):
        arr = np.asarray(k)
        if arr.dtype == object:
            raise IndexError(_BAD_TENSOR)
        if arr.dtype in _MASK_DTYPES:
            if arr.ndim == 0:
                return "pybool", bool(arr)
            byte = arr.dtype != np.bool_
            return "mask", (_to_device_array(self, arr.astype(np.bool_)), byte)
        if arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and isinstance(k, np.ndarray)):
            raise IndexError(_BAD_TENSOR)
        arr = arr.astype(np.int64)  # torch turns index lists into int64 (floats truncated)
        if arr.ndim == 0:
            return "int", int(arr)
        return "index", _to_device_array(self, arr)
    if isinstance(k, slice):
        return "slice", _norm_slice(k)
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
        f"indices (got {type(k).__name__})"
    )


class _Key:
    """A parsed index: a NumPy basic key (a view) and an optional advanced key applied to it.

    Attributes:
        basic: tuple of ints / slices / None, ending with ``...`` so the result is an array.
        adv: None, or a tuple of full slices and index arrays applied to ``x[basic]``. A lone
            bool mask stays a bool array (one slot covering the mask's dims), which NumPy and
            CuPy index faster than its ``nonzero`` arrays.
        trivial: the basic key selects ``x`` itself (only full slices).
        counts: (index tensors, bool masks, Python bools, any byte mask): setitem's dtype rules.
    """

    __slots__ = ("basic", "adv", "trivial", "counts", "cast_ok", "_int_adv")

    def __init__(self, basic, adv=None, trivial=False, counts=(0, 0, 0, False)) -> None:
        self.basic, self.adv, self.trivial, self.counts = basic, adv, trivial, counts
        self.cast_ok = True
        self._int_adv = None

    def int_adv(self, xp) -> tuple:
        """``adv`` with bool masks replaced by their ``nonzero`` index arrays."""
        if self._int_adv is None:
            out = []
            for a in self.adv:
                if a.__class__ is not slice and a.dtype == np.bool_:
                    out.extend(of_module(xp).nonzero(a))
                else:
                    out.append(a)
            self._int_adv = tuple(out)
        return self._int_adv


def _too_many(ndim: int, kind: str) -> IndexError:
    if ndim == 0 and kind == "int":
        return IndexError(_ZERO_DIM_INT)
    if ndim == 0 and kind == "slice":
        return IndexError("slice() cannot be applied to a 0-dim tensor.")
    return IndexError(f"too many indices for tensor of dimension {ndim}")


_FAST_BASIC = (int, slice)


def _basic_only(key) -> bool:
    """True for a key of Python ints, slices with positive int (or no) steps, None and ``...``:
    NumPy indexes those exactly like torch (out-of-range cases are re-checked on error)."""
    for k in (key if key.__class__ is tuple else (key,)):
        c = k.__class__
        if c is slice:
            st = k.step
            if st is not None and (st.__class__ is not int or st <= 0):
                return False
        elif c is not int and k is not None and k is not Ellipsis:
            return False
    return True


def _expand_ellipses(items: list, free: int, consumed: int) -> tuple:
    """torch 2.13's rule for several ``...`` in one index: each one skips the ``free`` dims
    (ndim minus the dims the other items use), so each becomes ``free`` full slices; the
    ellipses after the last other item do nothing. Items pushed past the last dim then raise
    the usual too-many-indices error. Returns (items, dims consumed)."""
    last = max((i for i, (kind, _) in enumerate(items) if kind != "ell"), default=-1)
    out: list = []
    for i, it in enumerate(items):
        if it[0] != "ell":
            out.append(it)
        elif i < last and free > 0:
            out.extend([("slice", slice(None))] * free)
            consumed += free
    return out, consumed


def _parse(self: Tensor, key) -> _Key:
    if key.__class__ is not tuple:
        key = tuple(key) if isinstance(key, list) and _seq_as_tuple(key) else (key,)
    items = [_classify(k, self) for k in key]
    shape = self._data.shape
    ndim = len(shape)
    consumed = 0
    n_ell = n_idx = n_mask = n_pyb = 0
    byte = False
    for kind, p in items:
        if kind in ("int", "slice"):
            consumed += 1
        elif kind == "index":
            consumed += 1
            n_idx += 1
        elif kind == "mask":
            consumed += p[0].ndim
            n_mask += 1
            byte = byte or p[1]
        elif kind == "ell":
            n_ell += 1
        elif kind == "pybool":
            n_pyb += 1
        elif kind == "bool0":
            n_idx += 1
    if n_ell > 1:
        items, consumed = _expand_ellipses(items, ndim - consumed, consumed)
        n_ell = 0
    xp = self._device._xp()
    # a lone mask goes to the backend's fastest mask index (NumPy: the mask itself)
    lone_mask = n_mask == 1 and n_idx == 0 and n_pyb == 0
    basic: list = []
    adv: list = []  # (position in the view, index array, size of the indexed dim, check bounds)
    out_shape: list = []
    src = 0
    trivial = True
    for kind, p in items:
        if kind == "none":
            basic.append(None)
            out_shape.append(1)
            trivial = False
            continue
        if kind == "ell":
            fill = max(ndim - consumed, 0)
            basic.extend([slice(None)] * fill)
            out_shape.extend(shape[src:src + fill])
            src += fill
            continue
        if kind == "pybool" or kind == "bool0":
            # a Python / 0-d bool adds a dim of size 1 (True) or 0 (False), like NumPy
            basic.append(None)
            adv.append((len(out_shape), xp.zeros((1 if p else 0,), dtype=np.int64), 1, False))
            out_shape.append(1)
            trivial = False
            continue
        if kind == "mask":
            p = p[0]
        width = p.ndim if kind == "mask" else 1
        if src + width > ndim:
            raise _too_many(ndim, kind)
        n = shape[src]
        if kind == "int":
            if not -n <= p < n:
                raise IndexError(f"index {p} is out of bounds for dimension {src} with size {n}")
            basic.append(p)
            src += 1
            trivial = False
        elif kind == "slice":
            basic.append(p)
            out_shape.append(len(range(*p.indices(n))))
            src += 1
            if not (p.start in (None, 0) and (p.stop is None or p.stop >= n)
                    and p.step in (None, 1)):
                trivial = False
        elif kind == "index":
            basic.append(slice(None))
            adv.append((len(out_shape), p, n, True))
            out_shape.append(n)
            src += 1
        else:  # bool mask over `width` dims
            ms = p.shape
            for j in range(width):
                if ms[j] != shape[src + j]:
                    cur = list(out_shape) + list(shape[src:])
                    raise IndexError(
                        f"The shape of the mask {list(ms)} at index {j} does not match the shape "
                        f"of the indexed tensor {cur} at index {len(out_shape) + j}"
                    )
            basic.extend([slice(None)] * width)
            keys = of_module(xp).mask_key(p) if lone_mask else of_module(xp).nonzero(p)
            for j, k in enumerate(keys):
                adv.append((len(out_shape) + j, k, shape[src + j], False))
            out_shape.extend(shape[src:src + width])
            src += width
    basic.append(Ellipsis)
    counts = (n_idx, n_mask, n_pyb, byte)
    if not adv:
        return _Key(tuple(basic), None, trivial, counts)
    for ordinal, (_, arr, n, check) in enumerate(adv):
        bad = _first_bad(xp, arr, n, True) if check else None
        if bad is not None:
            raise IndexError(f"index {bad} is out of bounds for dimension {ordinal} with size {n}")
    if len(adv) > 1:
        try:
            np.broadcast_shapes(*(e[1].shape for e in adv))
        except ValueError:
            shapes = ", ".join(str(list(e[1].shape)) for e in adv)
            raise IndexError(
                "shape mismatch: indexing tensors could not be broadcast together with shapes "
                f"{shapes}"
            ) from None
    akey = [slice(None)] * (adv[-1][0] + 1)
    for pos, arr, _, _ in adv:
        akey[pos] = arr
    return _Key(tuple(basic), tuple(akey), trivial, counts)


def _adv_result_shape(xp, view_shape: tuple, k: _Key) -> tuple:
    """Shape of ``view[k.adv]`` (NumPy/torch rule: adjacent index arrays stay in place,
    separated ones move to the front)."""
    adv = k.int_adv(xp)
    pos = [i for i, a in enumerate(adv) if a.__class__ is not slice]
    bshape = tuple(np.broadcast_shapes(*(adv[i].shape for i in pos)))
    rest = tuple(s for i, s in enumerate(view_shape) if i not in pos)
    if pos == list(range(pos[0], pos[-1] + 1)):
        return tuple(view_shape[:pos[0]]) + bshape + tuple(view_shape[pos[-1] + 1:])
    return bshape + rest


# --------------------------------------------------------------------------------------------
# getitem


class Slice(Function):
    """Basic indexing (ints, slices, None): a view."""

    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.in_shape = x.shape
        ctx.key = key
        return x[key.basic]

    @staticmethod
    def _compute(xp, x, key):
        return x[key.basic]

    @staticmethod
    def backward(ctx, g):
        return IndexBackward.apply(g, ctx.in_shape, ctx.key, None), None


# Basic indexing is one op here; torch applies the key's items one by one, and its graph ends
# in the node of the last item that does something. These name ours after that node.
class Select(Slice):
    pass


class _SliceUnsqueeze(Slice):
    _node_name = "UnsqueezeBackward0"


class _SliceAlias(Slice):
    _node_name = "AliasBackward0"


def _slice_node(basic: tuple, shape: tuple, lone_slice: bool) -> type:
    """The Slice class named as torch's last indexing node for basic key ``basic`` on
    ``shape``: an int selects, None unsqueezes, a slice short of its whole dim slices; whole
    slices and ``...`` do nothing (a lone slice key still slices, as in torch)."""
    span = len(shape) - sum(1 for k in basic if k is not None and k is not Ellipsis)
    cls = None
    dim = 0
    for k in basic:
        if k is None:
            cls = _SliceUnsqueeze
        elif k is Ellipsis:
            dim += span
        else:
            if k.__class__ is not slice:
                cls = Select
            elif k.indices(shape[dim]) != (0, shape[dim], 1):
                cls = Slice
            dim += 1
    if cls is None:
        cls = Slice if lone_slice else _SliceAlias
    return cls


class Index(Function):
    """Advanced indexing (index arrays, masks): a copy."""

    _raw = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.in_shape = x.shape
        ctx.key = key
        view = x[key.basic]
        ctx.view_shape = view.shape
        return view[key.adv]

    @staticmethod
    def _compute(xp, x, key):
        return x[key.basic][key.adv]

    @staticmethod
    def backward(ctx, g):
        return IndexBackward.apply(g, ctx.in_shape, ctx.key, ctx.view_shape), None


class IndexBackward(Function):
    """Zeros of the input's shape with ``g`` put (accumulated) at the index."""

    _raw = True

    @staticmethod
    def forward(ctx, g, in_shape, key, view_shape):
        ctx.key = key
        xp = ctx.xp
        out = xp.zeros(in_shape, dtype=g.dtype)
        if key.adv is None:
            out[key.basic] = g
            return out
        if key.trivial:
            _add_at(xp, out[key.basic], key.int_adv(xp), g)
            return out
        # scatter into a contiguous buffer, then place it: safe for any backend's views
        tmp = xp.zeros(view_shape, dtype=g.dtype)
        _add_at(xp, tmp, key.int_adv(xp), g)
        out[key.basic] = tmp
        return out

    @staticmethod
    def backward(ctx, gg):
        return _apply_key(gg, ctx.key), None, None, None


def _apply_key(x: Tensor, key: _Key) -> Tensor:
    """``x[key]`` for a parsed key, recording autograd when needed."""
    if key.adv is None:
        return apply_raw(_slice_node(key.basic, x._data.shape, False), x, key)
    return apply_raw(Index, x, key)


def getitem(self: Tensor, key) -> Tensor:
    """``self[key]`` with torch's semantics (see the module docstring).

    Raises:
        IndexError: out-of-range or unsupported indices, with torch's messages.
        ValueError: negative slice steps ("step must be greater than zero").

    Example:
        >>> a = gpuarr.arange(3.)
        >>> a[None].shape, a[:, None].shape, a[[0, 2]]
        (gpuarr.Size([1, 3]), gpuarr.Size([3, 1]), tensor([0., 2.]))
    """
    if key.__class__ is int:  # the hot path: t[i]
        d = self._data
        if d.ndim == 0:
            raise IndexError(_ZERO_DIM_INT)
        n = d.shape[0]
        if not -n <= key < n:
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size {n}")
        if not (_state.enabled and self._rg):
            return _view_nograd(self, d[key, ...])
        return Select.apply(self, _Key((key, Ellipsis)))
    if _basic_only(key):
        # fast path: NumPy/CuPy index these exactly like torch; errors get torch's text below
        basic = key + (Ellipsis,) if key.__class__ is tuple else (key, Ellipsis)
        if Ellipsis in basic[:-1]:
            basic = basic[:-1]
        try:
            if not (_state.enabled and self._rg):
                return _view_nograd(self, self._data[basic])
            cls = _slice_node(basic, self._data.shape, key.__class__ is slice)
            return cls.apply(self, _Key(basic))
        except (IndexError, TypeError):
            pass  # _parse raises the torch error
    return _apply_key(self, _parse(self, key))


# --------------------------------------------------------------------------------------------
# setitem

def _scalar_for(d: np.dtype, value):
    """``value`` as a NumPy scalar of dtype ``d``; RuntimeError on overflow, like torch."""
    return D.checked_scalar(d, value)


def _fit_value_shape(value: Tensor | None, vshape: tuple, tshape: tuple, advanced: bool):
    """``vshape`` with leading 1s dropped as torch does, checked to broadcast to ``tshape``."""
    vs = tuple(vshape)
    while len(vs) > len(tshape) and vs[0] == 1:
        vs = vs[1:]
    ok = len(vs) <= len(tshape) and all(
        v == 1 or v == t for v, t in zip(vs[::-1], tshape[::-1])
    )
    if ok:
        return vs
    if advanced:
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(vshape)} cannot be broadcast to "
            f"indexing result of shape {list(tshape)}"
        )
    if len(vs) > len(tshape):
        raise RuntimeError(
            f"expand({value.type()}{{{list(vs)}}}, size={list(tshape)}): the number of sizes "
            f"provided ({len(tshape)}) must be greater or equal to the number of dimensions in "
            f"the tensor ({len(vs)})"
        )
    off = len(tshape) - len(vs)
    for i in range(len(vs) - 1, -1, -1):
        v, t = vs[i], tshape[off + i]
        if v != 1 and v != t:
            raise RuntimeError(
                f"The expanded size of the tensor ({t}) must match the existing size ({v}) at "
                f"non-singleton dimension {off + i}.  Target sizes: {list(tshape)}.  Tensor "
                f"sizes: {list(vs)}"
            )
    raise AssertionError("unreachable")


def _write(view, adv, src) -> None:
    if adv is None:
        view[...] = src
    else:
        view[adv] = src


class IndexPut(Function):
    """``x[key] = v`` recorded in the graph; ``forward`` writes into ``x``'s memory."""

    _raw = True

    @staticmethod
    def forward(ctx, x, v, key, vshape):
        ctx.key = key
        ctx.vshape = vshape
        ctx.v_orig_shape = getattr(v, "shape", None)
        if ctx.v_orig_shape is not None and v.shape != vshape:
            v = v.reshape(vshape)
        _write(x[key.basic], key.adv, v)
        return x

    @staticmethod
    def backward(ctx, g):
        key = ctx.key
        gx = ZeroAt.apply(g, key) if ctx.needs_input_grad[0] else None
        gv = None
        if ctx.needs_input_grad[1]:
            gv = _sum_to(_apply_key(g, key), ctx.vshape)
            if gv.shape != ctx.v_orig_shape:
                gv = gv.reshape(ctx.v_orig_shape)
        return gx, gv, None, None


class ZeroAt(Function):
    """A copy of ``g`` with zeros at the index (self-adjoint)."""

    _raw = True

    @staticmethod
    def forward(ctx, g, key):
        ctx.key = key
        out = g.copy()
        _write(out[key.basic], key.adv, 0)
        return out

    @staticmethod
    def backward(ctx, gg):
        return ZeroAt.apply(gg, ctx.key), None




def setitem(self: Tensor, key, value) -> None:
    """``self[key] = value``: a number or a tensor, broadcast and cast to ``self``'s dtype.

    Works for every index kind ``__getitem__`` takes and bumps the version counter. With
    autograd on, it is recorded (``self`` must not be a leaf that requires grad).

    Raises:
        RuntimeError: shape mismatch, overflow, or an in-place write on a leaf requiring grad.
        TypeError: for values that are neither numbers nor tensors.

    Example:
        >>> x = gpuarr.zeros(2, 3)
        >>> x[:, 0] = gpuarr.tensor([1., 2.])
        >>> x[x > 1] = -1
    """
    if key is False:
        return  # torch: `x[False] = v` writes nothing
    k = _parse(self, key)
    d = self._data
    is_t = isinstance(value, TensorBase)
    on_cpu = not is_t or value._device is CPU
    if is_t:
        if value._device is not self._device:
            if value._device is CPU:
                value = value.to(self._device)  # torch copies CPU values across
            else:
                raise _device_mismatch(self._device, value._device)
        vshape = value._data.shape
    elif isinstance(value, _SCALARS):
        value = _scalar_for(d.dtype, value)
        vshape = ()
    else:
        raise TypeError(f"can't assign a {_type_name(value)} to a {self.type()}")
    view = d[k.basic]
    if k.adv is not None and key is not True:  # `x[True] = v` is a plain (casting) copy
        _check_put(self, k, value if is_t else None, on_cpu)
    vs = ()
    if is_t and vshape:  # a scalar or 0-d value fits any target
        tshape = view.shape if k.adv is None else _adv_result_shape(
            self._device._xp(), view.shape, k)
        vs = _fit_value_shape(value, vshape, tshape, k.adv is not None)
    if k.adv is not None and is_t and value._data.dtype != d.dtype and not k.cast_ok:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{dtype_name(self.dtype)} for the destination and {dtype_name(value.dtype)} for "
            "the source."
        )
    if not (_state.enabled and (self._rg or (is_t and value._rg))):
        if is_t:
            src = value._data
            if src.dtype != d.dtype:
                src = src.astype(d.dtype)
            if vs != vshape:
                src = src.reshape(vs)
        else:
            src = value
        _write(view, k.adv, src)
        self._bump_version()
        return
    if self._base is not None:  # through a view: write into a stand-in, then rebase
        region = check_view_write(self)
        old = stand_in(self)
        setitem(old, key, value)
        self._device._xp().copyto(d, old._data)
        rebase_history(self, old, region)
        self._bump_version()
        return
    if self._rg and self._gfn is None:
        raise RuntimeError(
            ("a leaf Variable" if k.trivial else "a view of a leaf Variable")
            + " that requires grad is being used in an in-place operation."
        )
    if is_t and value._data.dtype != d.dtype:
        value = value.to(self.dtype)
    res = IndexPut.apply(self, value, k, vs)
    self._gfn, self._output_nr, self._rg = res._gfn, res._output_nr, res._rg
    self._bump_version()


def _check_put(self: Tensor, k: _Key, value: Tensor | None, on_cpu: bool) -> None:
    """torch's rules for advanced-index writes: a single bool mask with a one-element CPU value
    is a ``masked_fill_`` (which casts, and refuses byte masks); anything else needs the value's
    dtype to match."""
    n_idx, n_mask, n_pyb, byte = k.counts
    n_idx += n_pyb  # inside a tuple, a Python bool is an index tensor for torch
    if n_idx == 0 and n_mask == 1 and on_cpu and (value is None or value._data.size == 1):
        if byte:
            raise RuntimeError(
                "masked_fill_ only supports boolean masks, but got mask with dtype unsigned char"
            )
        k.cast_ok = True
    else:
        k.cast_ok = False


def _type_name(v) -> str:
    t = type(v)
    mod = t.__module__
    return t.__name__ if mod == "builtins" else f"{mod.split('.')[0]}.{t.__name__}"


# --------------------------------------------------------------------------------------------
# select / index_select / take


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, with that dim removed (a view).

    Example:
        >>> gpuarr.arange(6).view(2, 3).select(1, 0)
        tensor([0, 3])
    """
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    index = operator.index(index)
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}"
        )
    key = _Key((slice(None),) * d + (index, Ellipsis))
    return _apply_key(input, key)


def _check_index_dtype(index: Tensor, msg: str) -> None:
    if not isinstance(index, TensorBase):
        raise TypeError(f"{msg.split('(')[0]}(): argument 'index' must be Tensor, not "
                        f"{type(index).__name__}")
    if index._data.dtype not in _INDEX_DTYPES:
        raise RuntimeError(msg)


def _same_device(input: Tensor, *others) -> None:
    for o in others:
        if isinstance(o, TensorBase) and o._device is not input._device:
            raise _device_mismatch(input._device, o._device)


class IndexSelect(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, dim, idx):
        ctx.in_shape, ctx.dim, ctx.idx = x.shape, dim, idx
        return ctx.xp.take(x, idx, axis=dim)

    @staticmethod
    def _compute(xp, x, dim, idx):
        return xp.take(x, idx, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return IndexAddZeros.apply(g, ctx.in_shape, ctx.dim, ctx.idx), None, None


class IndexAddZeros(Function):
    """Zeros of ``shape`` with slices of ``g`` added at ``idx`` along ``dim``."""

    _raw = True

    @staticmethod
    def forward(ctx, g, shape, dim, idx):
        ctx.dim, ctx.idx = dim, idx
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        _add_at(ctx.xp, out, (slice(None),) * dim + (idx,), g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return _index_select(gg, ctx.dim, ctx.idx), None, None, None


def _index_select(x: Tensor, dim: int, idx) -> Tensor:
    return apply_raw(IndexSelect, x, dim, idx)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Entries of ``input`` along ``dim`` at the positions in the 1-D ``index``.

    Example:
        >>> gpuarr.arange(6).view(2, 3).index_select(1, gpuarr.tensor([2, 0]))
        tensor([[2, 0],
                [5, 3]])
    """
    _check_index_dtype(index, "index_select(): Expected dtype int32 or int64 for index")
    _same_device(input, index)
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    idx = index._data.reshape(-1)
    if nd == 0:
        if _first_bad(index._device._xp(), idx, 1, False) is not None:
            raise IndexError("index out of range in self")
        return index_select(input.reshape(1), 0, index).reshape(())
    n = input._data.shape[d]
    bad = _first_bad(input._device._xp(), idx, n, False)
    if bad is not None:
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
    return apply_raw(IndexSelect, input, d, idx)


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` viewed as 1-D, read at ``index`` (result has ``index``'s shape).

    Example:
        >>> gpuarr.tensor([[4, 3], [5, 6]]).take(gpuarr.tensor([0, 3]))
        tensor([4, 6])
    """
    if not isinstance(index, TensorBase):
        raise TypeError(f"take(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != np.int64:
        raise RuntimeError(
            f"take(): Expected a long tensor for index, but got {dtype_name(index.dtype)}"
        )
    _same_device(input, index)
    n = input.numel()
    bad = _first_bad(input._device._xp(), index._data, n, True)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    flat = input.reshape(-1)
    return _apply_key(flat, _Key((Ellipsis,), (index._data,), True))


# --------------------------------------------------------------------------------------------
# gather / scatter


def _gather_checks(input: Tensor, dim: int, index: Tensor, op: str) -> int:
    _check_index_dtype(index, f"{op}(): Expected dtype int32/int64 for index")
    _same_device(input, index)
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if max(index._data.ndim, 1) != max(nd, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    return d


def _gather_arr(xp, x, dim: int, idx):
    if x.ndim == 0 or idx.ndim == 0:  # torch treats 0-d as 1-d here
        x1 = x.reshape(x.shape or (1,))
        return _gather_arr(xp, x1, dim, idx.reshape(idx.shape or (1,))).reshape(idx.shape)
    # index smaller than input outside `dim` reads the leading block, as torch allows
    return x[_full_index(xp, idx, dim)]


class Gather(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, dim, idx):
        ctx.in_shape, ctx.dim, ctx.idx = x.shape, dim, idx
        return _gather_arr(ctx.xp, x, dim, idx)

    _compute = staticmethod(_gather_arr)

    @staticmethod
    def backward(ctx, g):
        return _gather_adjoint(g, ctx.in_shape, ctx.dim, ctx.idx), None, None


def _gather_adjoint(g: Tensor, shape: tuple, dim: int, idx) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``idx`` along ``dim``: gather's backward, through
    the one scatter-add (:class:`ScatterAdd`), so its double backward is a gather again."""
    xp = g._device._xp()
    zeros = _make(xp.zeros(shape, dtype=g._data.dtype), g._device)
    if not (_state.enabled and g._rg):
        _scatter_arr(xp, zeros._data, dim, idx, g._data, "add")
        return zeros
    return ScatterAdd.apply(zeros, g, dim, idx)


def _gather(x: Tensor, dim: int, idx) -> Tensor:
    return apply_raw(Gather, x, dim, idx)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` (for ``dim=1``); shape of ``index``.

    ``index`` has ``input``'s number of dims and may be smaller than ``input`` outside ``dim``.

    Example:
        >>> logp = gpuarr.tensor([[0.1, 0.9], [0.8, 0.2]])
        >>> logp.gather(1, gpuarr.tensor([[1], [0]]))
        tensor([[0.9000],
                [0.8000]])
    """
    d = _gather_checks(input, dim, index, "gather")
    xs, ishape = input._data.shape or (1,), index._data.shape or (1,)
    for a, (s, i) in enumerate(zip(xs, ishape)):
        if a != d and i > s:
            raise RuntimeError(
                f"Size does not match at dimension {a} expected index {list(ishape)} to be no "
                f"larger than self {list(xs)} apart from dimension {d}"
            )
    idx = index._data
    bad = _first_bad(input._device._xp(), idx, xs[d], False)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {xs[d]}")
    return apply_raw(Gather, input, d, idx)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Values of ``input`` at ``indices`` along ``dim`` (NumPy's ``take_along_axis``); the two
    are broadcast against each other outside ``dim``. Without ``dim``, both are flattened.

    Example:
        >>> x = gpuarr.tensor([[10., 30., 20.]])
        >>> x.take_along_dim(x.argsort(dim=1), dim=1)
    """
    if not isinstance(indices, TensorBase) or indices._data.dtype != np.int64:
        got = (dtype_name(indices.dtype) if isinstance(indices, TensorBase)
               else type(indices).__name__)
        raise RuntimeError(
            f"gpuarr.take_along_dim(): dtype of indices should be Long but got {got}"
        )
    _same_device(input, indices)
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    nd = input._data.ndim
    if nd != indices._data.ndim:
        raise RuntimeError(
            "gpuarr.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {nd} dimensions for input, and {indices._data.ndim} dimensions "
            "for indices"
        )
    d = wrap_dim(dim, nd)
    if nd == 0:
        return gather(input, d, indices)
    s_in, s_ix = list(input.shape), list(indices.shape)
    a, b = s_in.copy(), s_ix.copy()
    a[d] = b[d] = 1

    common = list(broadcast_shapes(tuple(a), tuple(b)))
    ti, tx = common.copy(), common.copy()
    ti[d], tx[d] = s_in[d], s_ix[d]
    if tuple(ti) != tuple(s_in):
        input = input.expand(ti)
    if tuple(tx) != tuple(s_ix):
        indices = indices.expand(tx)
    return gather(input, d, indices)


def _scatter_checks(self: Tensor, dim: int, index: Tensor, src, op: str) -> int:
    _check_index_dtype(index, f"{op}(): Expected dtype int32/int64 for index")
    _same_device(self, index, src)
    nd = self._data.ndim
    d = wrap_dim(dim, nd)
    ind = max(index._data.ndim, 1)
    if ind != max(nd, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if isinstance(src, TensorBase):
        if max(src._data.ndim, 1) != ind:
            raise RuntimeError("Index tensor must have the same number of dimensions as src "
                               "tensor")
        if src._data.dtype != self._data.dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    if index._data.size == 0:
        return d
    xs = self._data.shape or (1,)
    ish = index._data.shape or (1,)
    ss = (src._data.shape or (1,)) if isinstance(src, TensorBase) else None
    too_big = any(a != d and i > s for a, (i, s) in enumerate(zip(ish, xs)))
    if ss is not None and any(i > s for i, s in zip(ish, ss)):
        too_big = True
    if too_big:
        tail = f" and to be no larger size than src {list(ss)}" if ss is not None else ""
        raise RuntimeError(
            f"Expected index {list(index.shape)} to be no larger than self {list(self.shape)} "
            f"apart from dimension {d}{tail}"
        )
    bad = _first_bad(self._device._xp(), index._data, xs[d], False)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {xs[d]}")
    return d


def _scatter_arr(xp, out, dim: int, idx, src, reduce):
    """Scatter into ``out`` in place. ``src`` is an array (read in ``idx``'s leading block) or
    a scalar; ``reduce`` is None, 'add' or 'multiply'."""
    if out.ndim == 0:
        out = out.reshape(1)  # a view: writes reach the 0-d array
    if idx.ndim == 0:
        idx = idx.reshape(1)
    if idx.size == 0:
        return
    key = _full_index(xp, idx, dim)
    is_arr = hasattr(src, "ndim") and not isinstance(src, np.generic)
    if is_arr:
        src = src.reshape(src.shape or (1,) * idx.ndim)[_prefix(idx.shape)]
    if reduce is None:
        out[key] = src
    elif reduce == "add":
        _add_at(xp, out, key, xp.broadcast_to(xp.asarray(src, dtype=out.dtype), idx.shape))
    else:
        of_module(xp).multiply_at(out, key, src)


class Scatter(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, src, dim, idx):
        ctx.dim, ctx.idx = dim, idx
        return Scatter._compute(ctx.xp, x, src, dim, idx)

    @staticmethod
    def _compute(xp, x, src, dim, idx):
        out = x.copy()
        _scatter_arr(xp, out, dim, idx, src, None)
        return out

    @staticmethod
    def backward(ctx, g):
        d, idx = ctx.dim, ctx.idx
        gx = Scatter.apply(g, 0.0, d, idx) if ctx.needs_input_grad[0] else None
        gs = None
        if ctx.needs_input_grad[1]:
            gs = _gather(g, d, idx)
        return gx, gs, None, None


class ScatterAdd(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, src, dim, idx):
        ctx.dim, ctx.idx = dim, idx
        return ScatterAdd._compute(ctx.xp, x, src, dim, idx)

    @staticmethod
    def _compute(xp, x, src, dim, idx):
        out = x.copy()
        _scatter_arr(xp, out, dim, idx, src, "add")
        return out

    @staticmethod
    def backward(ctx, g):
        gs = _gather(g, ctx.dim, ctx.idx) if ctx.needs_input_grad[1] else None
        return g, gs, None, None


def _scatter_src_arg(src, value):
    if src is None and value is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    return value if src is None else src


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with values from ``src`` (a tensor or a number) written at
    ``index`` along ``dim``: ``out[i][index[i][j]] = src[i][j]`` (``dim=1``).

    Args:
        reduce: None (write), ``'add'`` or ``'multiply'`` (combine with the existing value).

    Example:
        >>> gpuarr.zeros(2, 3).scatter(1, gpuarr.tensor([[0], [2]]), 1.0)  # one-hot
        tensor([[1., 0., 0.],
                [0., 0., 1.]])
    """
    src = _scatter_src_arg(src, value)
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    d = _scatter_checks(input, dim, index, src, "scatter")
    idx = index._data
    is_t = isinstance(src, TensorBase)
    s = src if is_t else _scalar_for(input._data.dtype, src)
    if reduce != "multiply":
        return _scatter_src(Scatter if reduce is None else ScatterAdd, input, s, d, idx)
    if not no_grad_needed(input, src):
        raise RuntimeError("the derivative of scatter with reduce='multiply' is not implemented")
    out = input._data.copy()
    _scatter_arr(input._device._xp(), out, d, idx, s._data if is_t else s, reduce)
    return _make(out, input._device)


def _scatter_src(fn, input: Tensor, src, d: int, idx) -> Tensor:
    """Run a scatter Function; ``src`` is first cut to ``idx``'s block (a view) so that its
    gradient (gathered from the output) has ``src``'s shape after zero padding."""
    if isinstance(src, TensorBase) and src._data.ndim and src._data.shape != idx.shape:
        block = _apply_key(src, _Key(_prefix(idx.shape) + (Ellipsis,)))
        return fn.apply(input, block, d, idx)
    if isinstance(src, TensorBase) and src._data.ndim == 0 and idx.ndim:
        src = src.reshape((1,) * idx.ndim)
    return fn.apply(input, src, d, idx)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; duplicates add up.

    Example:
        >>> gpuarr.zeros(3).scatter_add(0, gpuarr.tensor([0, 0, 2]), gpuarr.ones(3))
        tensor([2., 0., 1.])
    """
    if _amp.on:
        return _amp.run("scatter_add", scatter_add, input, dim, index, src)
    if not isinstance(src, TensorBase):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not {type(src).__name__}")
    d = _scatter_checks(input, dim, index, src, "scatter")
    return _scatter_src(ScatterAdd, input, src, d, index._data)


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None,
             reduce: str | None = None) -> Tensor:
    """In-place :func:`scatter`; returns self."""
    src = _scatter_src_arg(src, value)
    if not no_grad_needed(self, src):
        return apply_inplace(self, scatter, dim, index, src, reduce=reduce)
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    d = _scatter_checks(self, dim, index, src, "scatter")
    s = src._data if isinstance(src, TensorBase) else _scalar_for(self._data.dtype, src)
    _scatter_arr(self._device._xp(), self._data, d, index._data, s, reduce)
    self._bump_version()
    return self


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place :func:`scatter_add`; returns self."""
    if not no_grad_needed(self, src):
        return apply_inplace(self, scatter_add, dim, index, src)
    if not isinstance(src, TensorBase):
        raise TypeError(f"scatter_add_(): argument 'src' must be Tensor, not "
                        f"{type(src).__name__}")
    d = _scatter_checks(self, dim, index, src, "scatter")
    _scatter_arr(self._device._xp(), self._data, d, index._data, src._data, "add")
    self._bump_version()
    return self


# --------------------------------------------------------------------------------------------
# index_add


def _index_add_checks(self: Tensor, dim: int, index: Tensor, source: Tensor) -> int:
    if not isinstance(source, TensorBase):
        raise TypeError(f"index_add(): argument 'source' must be Tensor, not "
                        f"{type(source).__name__}")
    if not isinstance(index, TensorBase) or index._data.dtype not in _INDEX_DTYPES:
        got = dtype_name(index.dtype) if isinstance(index, TensorBase) else type(index).__name__
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: {got}")
    _same_device(self, index, source)
    nd = self._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.ndim > 1:
        raise IndexError(
            f"index_add_(): Index is supposed to be a vector, but got dim: {index._data.ndim} "
            f"with type: {dtype_name(index.dtype)} and size: {list(index.shape)}"
        )
    if source._data.dtype != self._data.dtype:
        raise RuntimeError(
            f"index_add_(): self ({dtype_name(self.dtype)}) and source "
            f"({dtype_name(source.dtype)}) must have the same scalar type"
        )
    xs, ss = self._data.shape or (1,), source._data.shape or (1,)
    if len(xs) != len(ss) or any(a != d and x != s for a, (x, s) in enumerate(zip(xs, ss))):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(self.shape)} source.shape = {list(source.shape)}"
        )
    n_idx = index._data.size
    if n_idx != ss[d]:
        raise RuntimeError(
            f"index_add_(): Number of indices ({n_idx}) should be equal to source.size(dim): "
            f"({ss[d]}), for dim: {d}"
        )
    bad = _first_bad(self._device._xp(), index._data, xs[d], False)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {xs[d]}")
    return d


class IndexAdd(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, src, dim, idx, alpha):
        ctx.dim, ctx.idx, ctx.alpha = dim, idx, alpha
        out = x.copy()
        shp = out.shape or (1,)
        _add_at(ctx.xp, out.reshape(shp), (slice(None),) * dim + (idx,),
                (src * alpha if alpha != 1 else src).reshape(src.shape or (1,)))
        return out

    @staticmethod
    def backward(ctx, g):
        gs = None
        if ctx.needs_input_grad[1]:
            g1 = g.reshape(g.shape or (1,))
            gs = _index_select(g1, ctx.dim, ctx.idx)
            if ctx.alpha != 1:
                gs = gs * ctx.alpha
        return g, gs, None, None, None


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` slices added at ``index`` along ``dim``.

    Example:
        >>> gpuarr.zeros(3, 2).index_add(0, gpuarr.tensor([0, 0, 2]), gpuarr.ones(3, 2))
        tensor([[2., 2.],
                [0., 0.],
                [1., 1.]])
    """
    d = _index_add_checks(input, dim, index, source)
    return IndexAdd.apply(input, source, d, index._data.reshape(-1), alpha)


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """In-place :func:`index_add`; returns self."""
    if not no_grad_needed(self, source):
        return apply_inplace(self, index_add, dim, index, source, alpha=alpha)
    d = _index_add_checks(self, dim, index, source)
    xp = self._device._xp()
    src = source._data * alpha if alpha != 1 else source._data
    shp = self._data.shape or (1,)
    target = self._data.reshape(shp)
    _add_at(xp, target, (slice(None),) * d + (index._data.reshape(-1),), src.reshape(src.shape
                                                                                     or (1,)))
    self._bump_version()
    return self


# --------------------------------------------------------------------------------------------
# masks

_CPP_NAMES = {
    "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double",
    "int8": "signed char",
    "int16": "short int", "int32": "int", "int64": "long int", "uint8": "unsigned char",
}


def _mask_arg(mask, op: str) -> Tensor:
    if not isinstance(mask, TensorBase):
        raise TypeError(f"{op}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        if op == "masked_select":
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        raise RuntimeError(
            "masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{_CPP_NAMES[mask.dtype.name]}"
        )
    return mask


class MaskedFill(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        xp = ctx.xp
        v = value.astype(x.dtype) if hasattr(value, "dtype") else x.dtype.type(value)
        try:
            return xp.where(mask, v, x)
        except ValueError:
            raise broadcast_error(x.shape, mask.shape) from None

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        gx = masked_fill(g, mask, 0.0) if ctx.needs_input_grad[0] else None
        gv = masked_fill(g, ~mask, 0.0).sum() if ctx.needs_input_grad[2] else None
        return gx, None, gv


def _fill_value(input: Tensor, value):
    if isinstance(value, TensorBase):
        if value._data.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        if value._device is not input._device:
            if value._device is CPU:
                return value.to(input._device)
            raise _device_mismatch(input._device, value._device)
        return value
    if not isinstance(value, _SCALARS):
        raise TypeError(f"masked_fill(): argument 'value' must be Number, not "
                        f"{type(value).__name__}")
    return _scalar_for(input._data.dtype, value)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a number or 0-d tensor) where the bool ``mask`` is True;
    ``mask`` broadcasts against ``input``.

    Example:
        >>> scores.masked_fill(~causal, float('-inf'))
    """
    mask = _mask_arg(mask, "masked_fill")
    _same_device(input, mask)
    if not _bcastable(input._data.shape, mask._data.shape):
        raise broadcast_error(mask._data.shape, input._data.shape)
    return MaskedFill.apply(input, mask, _fill_value(input, value))


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place :func:`masked_fill` (``mask`` must broadcast to ``self``'s shape)."""
    mask = _mask_arg(mask, "masked_fill")
    _same_device(self, mask)
    value = _fill_value(self, value)
    shape = np.broadcast_shapes(self._data.shape, mask._data.shape) if _bcastable(
        self._data.shape, mask._data.shape) else None
    if shape is None:
        raise broadcast_error(self._data.shape, mask._data.shape)
    if tuple(shape) != self._data.shape:
        raise RuntimeError(
            f"output with shape {list(self.shape)} doesn't match the broadcast shape "
            f"{list(shape)}"
        )
    if not no_grad_needed(self, value):
        return apply_inplace(self, masked_fill, mask, value)
    xp = self._device._xp()
    v = value._data.astype(self._data.dtype) if isinstance(value, TensorBase) else value
    xp.copyto(self._data, v, casting="unsafe", where=mask._data)
    self._bump_version()
    return self


def _bcastable(a: tuple, b: tuple) -> bool:
    return all(x == y or x == 1 or y == 1 for x, y in zip(a[::-1], b[::-1]))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """A 1-D tensor of the entries of ``input`` where ``mask`` is True (both broadcast).

    Example:
        >>> x = gpuarr.tensor([1., -2., 3.])
        >>> x.masked_select(x > 0)
        tensor([1., 3.])
    """
    mask = _mask_arg(mask, "masked_select")
    _same_device(input, mask)
    if not _bcastable(input._data.shape, mask._data.shape):
        raise broadcast_error(mask._data.shape, input._data.shape)
    shape = tuple(np.broadcast_shapes(input._data.shape, mask._data.shape))
    x = input if input._data.shape == shape else input.expand(shape)
    m = mask._data if mask._data.shape == shape else input._device._xp().broadcast_to(
        mask._data, shape)
    if not shape:
        x, m = x.reshape(1), m.reshape(1)
    xp = input._device._xp()
    return _apply_key(x, _Key((Ellipsis,), of_module(xp).mask_key(m), True))


# --------------------------------------------------------------------------------------------
# nonzero


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero entries: an ``(n, ndim)`` int64 tensor, or with
    ``as_tuple=True`` a tuple of ``ndim`` 1-D tensors (one per dim).

    Example:
        >>> gpuarr.tensor([[0, 1], [2, 0]]).nonzero()
        tensor([[0, 1],
                [1, 0]])
    """
    xp = input._device._xp()
    d = input._data
    dev = input._device
    sync_debug.check_array(d)  # the count is read to the host
    if as_tuple:
        arrs = xp.nonzero(d.reshape(1) if d.ndim == 0 else d)
        return tuple(_make(a.astype(np.int64, copy=False), dev) for a in arrs)
    if d.ndim == 0:
        n = 1 if bool(d) else 0
        return _make(xp.zeros((n, 0), dtype=np.int64), dev)
    return _make(xp.argwhere(d).astype(np.int64, copy=False), dev)


def argwhere(input: Tensor) -> Tensor:
    """Same as ``nonzero(input)``: an ``(n, ndim)`` tensor of indices of non-zero entries."""
    return nonzero(input)


register(__name__, {
    "__getitem__": getitem,
    "__setitem__": setitem,
    "select": select,
    "index_select": index_select,
    "take": take,
    "gather": gather,
    "take_along_dim": take_along_dim,
    "scatter": scatter,
    "scatter_": scatter_,
    "scatter_add": scatter_add,
    "scatter_add_": scatter_add_,
    "index_add": index_add,
    "index_add_": index_add_,
    "masked_fill": masked_fill,
    "masked_fill_": masked_fill_,
    "masked_select": masked_select,
    "nonzero": nonzero,
    "argwhere": argwhere,
})

IndexingMethods = mixin("IndexingMethods", __name__)
