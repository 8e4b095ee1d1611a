"""More shape and indexing ops: rot90, h/v/dsplit, the *_scatter ops, index_put, masked_scatter,
put, unfold, as_strided, searchsorted/bucketize, isin, tril/triu_indices, cartesian_prod,
combinations, block_diag, cdist.

Views and storage: ``Tensor.unfold`` and ``as_strided`` return views (shared memory and version
counter), as torch's do. gpuarr has no storage object apart from a tensor's array, so
``as_strided`` addresses the input's elements in row-major order (its "storage" starts at the
input's first element): for a contiguous tensor this is torch's behaviour, a non-contiguous one
is made contiguous first (a copy, as ``x.contiguous().as_strided(...)``).

Most ops here are compositions of gpuarr's differentiable ops (index_add, gather, setitem,
cat...), so their gradients and double gradients come from those; ``unfold``, ``as_strided``
and ``cdist`` have their own ``Function``.
"""

from __future__ import annotations

import itertools
import math
import operator
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._core.tensor import Size
from .._creation import arange, tensor, zeros
from ..backends import of_module
from ._common import (
    Function,
    TensorBase,
    _make,
    apply_raw,
    as_tensor_arg,
    check_same_device,
    check_tensor,
    dtype_name,
    wrap_dim,
)
from ._common import (
    broadcast_shapes as _bshapes,
)
from ._out import write_out
from ._registry import apply_inplace, mixin, register
from .conversion import clone
from .decompositions import cross as _linalg_cross
from .elementwise import where
from .indexing import (
    IndexBackward,
    _adv_result_shape,
    _first_bad,
    _parse,
    masked_fill,
    select,
)
from .indexing_extra import scatter_reduce
from .shape import (
    _alias,
    expand,
    movedim,
    narrow,
    permute,
    reshape,
    squeeze,
    t,
    transpose,
    unsqueeze,
    view,
)
from .stacking import (
    _diag_dims,
    _diag_scatter,
    _diagonal,
    cat,
    chunk,
    diag,
    flip,
    meshgrid,
    split,
    stack,
    tensor_split,
    unbind,
)

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "as_strided", "rot90", "hsplit", "vsplit", "dsplit", "split_with_sizes", "unsafe_split",
    "unsafe_chunk", "unsafe_split_with_sizes", "diagflat", "slice_scatter", "select_scatter",
    "diagonal_scatter", "as_strided_scatter", "index_put", "index_put_", "masked_scatter",
    "put", "unique_consecutive", "block_diag", "cartesian_prod", "combinations",
    "tril_indices", "triu_indices", "unravel_index", "searchsorted", "bucketize", "isin",
    "broadcast_shapes", "vander", "narrow_copy", "index_reduce", "cdist", "cross",
    "nonzero_static",
    "alias_copy", "as_strided_copy", "detach_copy", "diagonal_copy", "expand_copy",
    "permute_copy", "select_copy", "slice_copy", "split_copy", "split_with_sizes_copy",
    "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy", "unfold_copy",
    "unsqueeze_copy", "view_copy",
]


def _ints(args) -> tuple:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))`` as a tuple of Python ints."""
    if len(args) == 1 and isinstance(args[0], (list, tuple, Size)):
        args = args[0]
    return tuple(operator.index(a) for a in args)


# --------------------------------------------------------------------------------------------
# unfold: sliding windows as a view


def _unfold_arr(xp, x, dim: int, size: int, step: int):
    """Windows of ``size`` every ``step`` along ``dim`` (a new last dim), as a strided view."""
    if x.ndim == 0:
        return x.reshape(1)[:size]
    n = x.shape[dim]
    nw = (n - size) // step + 1
    st = x.strides
    shape = x.shape[:dim] + (nw,) + x.shape[dim + 1:] + (size,)
    strides = st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


class Unfold(Function):
    """``x.unfold(dim, size, step)``: a view; backward adds each window back (index_add)."""

    _raw = True
    _is_view = True
    _node_name = "UnfoldBackward0"

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.args = (x.shape, dim, size, step)
        return _unfold_arr(ctx.xp, x, dim, size, step)

    _compute = staticmethod(_unfold_arr)

    @staticmethod
    def backward(ctx, g):
        return _unfold_backward(g, *ctx.args), None, None, None


def _unfold_backward(g: Tensor, in_shape: tuple, dim: int, size: int, step: int) -> Tensor:
    """Zeros of ``in_shape`` with every window of ``g`` added where it was read from; built
    from index_add, whose own backward (index_select) gives the double backward."""
    shp = in_shape or (1,)
    nw = (shp[dim] - size) // step + 1
    if not in_shape:
        g = g.reshape(1, size)
    gm = movedim(g, -1, dim + 1).reshape(shp[:dim] + (nw * size,) + shp[dim + 1:])
    dev = g._device
    idx = (arange(nw, device=dev) * step).unsqueeze(1) + arange(size, device=dev)
    out = zeros(shp, dtype=g.dtype, device=dev).index_add(dim, idx.reshape(-1), gm)
    return out.reshape(in_shape)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All slices of length ``size`` along ``dimension``, ``step`` apart, as a new last dim
    (a view, as in torch).

    Args:
        dimension: the dim to slide along.
        size: the window length.
        step: the distance between window starts (> 0).

    Returns:
        A view of shape ``shape[:d] + ((n - size) // step + 1,) + shape[d+1:] + (size,)``.

    Example:
        >>> gpuarr.arange(5.).unfold(0, 2, 2)
        tensor([[0., 1.],
                [2., 3.]])
    """
    nd = self._data.ndim
    d = wrap_dim(dimension, max(nd, 1))
    size, step = operator.index(size), operator.index(step)
    n = self._data.shape[d] if nd else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return apply_raw(Unfold, self, d, size, step)


# --------------------------------------------------------------------------------------------
# as_strided


def _strided_index(size: tuple, stride: tuple, offset: int, device) -> Tensor:
    """The flat (row-major) positions that ``as_strided(size, stride, offset)`` reads."""
    idx = tensor(offset, dtype=D.int64, device=device)
    for k, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[k] = n
        idx = idx + (arange(n, device=device) * s).reshape(shape)
    return idx.expand(size) if size else idx


def _as_strided_arr(xp, x, size, stride, offset):
    flat = x.reshape(-1)
    byte = tuple(s * x.itemsize for s in stride)
    return xp.lib.stride_tricks.as_strided(flat[offset:], size, byte)


class AsStrided(Function):
    """``x.as_strided(size, stride, offset)`` on a contiguous ``x``: a view. Backward adds
    ``g`` at the positions read (index_add), as torch's as_strided_backward does."""

    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, size, stride, offset):
        ctx.args = (x.shape, size, stride, offset)
        return _as_strided_arr(ctx.xp, x, size, stride, offset)

    _compute = staticmethod(_as_strided_arr)

    @staticmethod
    def backward(ctx, g):
        in_shape, size, stride, offset = ctx.args
        idx = _strided_index(size, stride, offset, g._device).reshape(-1)
        n = math.prod(in_shape)
        gx = zeros(n, dtype=g.dtype, device=g._device).index_add(0, idx, g.reshape(-1))
        return gx.reshape(in_shape), None, None, None


def _check_strided(x: Tensor, size, stride, storage_offset) -> tuple:
    """torch's checks of an as_strided geometry against ``x``'s elements (its storage)."""
    size = tuple(operator.index(s) for s in size)
    stride = tuple(operator.index(s) for s in stride)
    offset = 0 if storage_offset is None else operator.index(storage_offset)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    item = x._data.itemsize
    need = 0 if 0 in size else item * (offset + 1 + sum((n - 1) * s
                                                       for n, s in zip(size, stride)))
    have = x._data.size * item
    if need > have:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
            f"and itemsize {item} requiring a storage size of {need} are out of bounds for "
            f"storage of size {have}"
        )
    return size, stride, offset


def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s elements with the given ``size`` and ``stride`` (in elements),
    starting ``storage_offset`` elements in.

    gpuarr's "storage" is the input's elements in row-major order; a non-contiguous input is
    made contiguous first (a copy), where torch would address its underlying storage.

    Args:
        input: the tensor to view.
        size: the shape of the result.
        stride: the step, in elements, of each dim.
        storage_offset: the first element read (default 0).

    Returns:
        A view (gradients flow back to ``input``; overlapping reads add up).

    Example:
        >>> gpuarr.arange(6.).as_strided((2, 2), (1, 2))
        tensor([[0., 2.],
                [1., 3.]])
    """
    size, stride, offset = _check_strided(input, size, stride, storage_offset)
    if not input._data.flags.c_contiguous:
        input = input.contiguous()
    return apply_raw(AsStrided, input, size, stride, offset)


def as_strided_scatter(input: Tensor, src: Tensor, size, stride,
                       storage_offset: int | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input.as_strided(size, stride,
    storage_offset)`` (see :func:`as_strided` for how positions are addressed).

    Example:
        >>> gpuarr.as_strided_scatter(gpuarr.zeros(4), gpuarr.ones(2), (2,), (2,))
        tensor([1., 0., 1., 0.])
    """
    check_tensor(src, "src", "as_strided_scatter")
    size, stride, offset = _check_strided(input, size, stride, storage_offset)
    _check_scatter_src(src, size)
    idx = _strided_index(size, stride, offset, input._device).reshape(-1)
    flat = input.reshape(-1).index_copy(0, idx, src.to(input.dtype).reshape(-1))
    return flat.reshape(input.shape)


# --------------------------------------------------------------------------------------------
# searchsorted / bucketize / isin


def _search_rows(xp, seq, vals, side: str):
    """``searchsorted`` of ``vals`` (..., m) in the sorted last dim of ``seq`` (n,) or (..., n).

    One vectorised binary search over all values at once (``log2(n)`` steps of gather and
    compare), with torch's comparisons: step right while ``not seq[mid] >= x`` (left) or
    ``not seq[mid] > x`` (right), so NaNs, in ``seq`` or in ``vals``, land where torch puts
    them (NumPy's ``searchsorted`` orders NaN differently).
    """
    n = seq.shape[-1]
    lo = xp.zeros(vals.shape, dtype=np.int64)
    hi = xp.full(vals.shape, n, dtype=np.int64)
    if n == 0 or vals.size == 0:
        return lo
    for _ in range(n.bit_length()):
        mid = (lo + hi) // 2
        at = xp.minimum(mid, n - 1)
        v = seq[at] if seq.ndim == 1 else xp.take_along_axis(seq, at, -1)
        right = ~(v >= vals) if side == "left" else ~(v > vals)
        active = lo < hi
        lo = xp.where(active & right, mid + 1, lo)
        hi = xp.where(active & ~right, mid, hi)
    return lo


def _search_checks(seq: Tensor, vals: Tensor, sorter) -> None:
    if sorter is not None:
        if sorter._data.dtype != np.int64:
            raise RuntimeError("gpuarr.searchsorted(): sorter must be a tensor of long dtype but "
                               f"got dtype {dtype_name(sorter.dtype)}")
        if sorter.shape != seq.shape:
            raise RuntimeError(
                "gpuarr.searchsorted(): boundary and sorter must have the same size, but got "
                f"boundary tensor {list(seq.shape)}and got sorter tensor {list(sorter.shape)}")
    if vals._data.ndim == 0 and seq._data.ndim != 1:
        raise RuntimeError(
            "gpuarr.searchsorted(): input value can be a scalar only when boundaries tensor "
            f"dimension is 1, but we got boundaries tensor dim({seq._data.ndim}) and input "
            f"value's dim(0) numel(1)")
    if seq._data.ndim == 0:
        raise RuntimeError("gpuarr.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if seq._data.ndim != 1 and (seq._data.ndim != vals._data.ndim
                                or seq.shape[:-1] != vals.shape[:-1]):
        raise RuntimeError(
            "gpuarr.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")


def _check_search_out(out, out_int32: bool) -> None:
    if out is None:
        return
    want = np.int32 if out_int32 else np.int64
    if not isinstance(out, TensorBase) or out._data.dtype != want:
        got = dtype_name(out.dtype) if isinstance(out, TensorBase) else type(out).__name__
        raise RuntimeError(
            "gpuarr.searchsorted(): output tensor's dtype is wrong, it can only be Int(int32) or "
            "Long(int64) depending on whether out_int32 flag is True, but we got output "
            f"tensor's dtype {got} and out_int32 flag is {out_int32}")


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, out=None,
                 sorter: Tensor | None = None) -> Tensor:
    """Indices at which ``input``'s values would be inserted into the innermost dim of
    ``sorted_sequence`` to keep it sorted.

    Args:
        sorted_sequence: 1-D, or N-D whose leading N-1 dims match ``input``'s; sorted along
            its last dim (unless ``sorter`` sorts it). Not checked, as in torch.
        input: the values (a tensor, or a number with a 1-D ``sorted_sequence``).
        out_int32: return int32 instead of int64.
        right / side: ``right=True`` or ``side='right'`` gives the last suitable index.
        sorter: int64 indices that sort ``sorted_sequence`` along its last dim.

    Returns:
        An int64 (int32) tensor of ``input``'s shape.

    Example:
        >>> gpuarr.searchsorted(gpuarr.tensor([1, 3, 5]), gpuarr.tensor([3, 6]))
        tensor([1, 3])
    """
    check_tensor(sorted_sequence, "sorted_sequence", "searchsorted")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"gpuarr.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("gpuarr.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    vals = as_tensor_arg(input, sorted_sequence)
    check_same_device(sorted_sequence, vals, sorter)
    _search_checks(sorted_sequence, vals, sorter)
    _check_search_out(out, out_int32)
    dt = D.result_type(sorted_sequence, input)
    if dt == D.bool:
        raise NotImplementedError(
            f'"searchsorted_out_{sorted_sequence._device.type}" not implemented for \'Bool\'')
    xp = sorted_sequence._device._xp()
    seq = sorted_sequence._data.astype(dt.np, copy=False)
    if sorter is not None:
        n = seq.shape[-1]
        if _first_bad(xp, sorter._data, n, False) is not None:
            raise RuntimeError("gpuarr.searchsorted(): sorter index out of range")
        seq = xp.take_along_axis(seq, sorter._data, -1)
    res = _search_rows(xp, seq, vals._data.astype(dt.np, copy=False),
                       "right" if right else "left")
    res = tensor_from(res.astype(np.int32 if out_int32 else np.int64), sorted_sequence)
    return res if out is None else write_out(res, out, "searchsorted", grad_check=False)


def tensor_from(arr, like: Tensor) -> Tensor:
    """A fresh tensor on ``like``'s device holding backend array ``arr``."""
    return _make(arr, like._device)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out=None) -> Tensor:
    """The bucket of each value of ``input`` given the 1-D sorted ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=False``) or
    ``boundaries[i-1] <= x < boundaries[i]`` (``right=True``).

    Example:
        >>> gpuarr.bucketize(gpuarr.tensor([2, 3, 6]), gpuarr.tensor([1, 3, 5]))
        tensor([1, 1, 3])
    """
    check_tensor(boundaries, "boundaries", "bucketize")
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False,
         out=None) -> Tensor:
    """Whether each value of ``elements`` occurs in ``test_elements`` (either may be a number).

    Args:
        elements: the values to look up.
        test_elements: the values to look for.
        assume_unique: both hold unique values (a faster path; same result).
        invert: return the negation.

    Returns:
        A bool tensor of ``elements``' shape.

    Example:
        >>> gpuarr.isin(gpuarr.tensor([1, 2, 3]), gpuarr.tensor([2, 5]))
        tensor([False,  True, False])
    """
    if not isinstance(elements, TensorBase) and not isinstance(test_elements, TensorBase):
        raise TypeError(
            "isin() received an invalid combination of arguments - got "
            f"({type(elements).__name__}, {type(test_elements).__name__}), but expected one of:"
            "\n * (Tensor elements, Tensor test_elements, *, bool assume_unique = False, bool "
            "invert = False, Tensor out = None)\n * (Number element, Tensor test_elements, *, "
            "bool assume_unique = False, bool invert = False, Tensor out = None)\n * (Tensor "
            "elements, Number test_element, *, bool assume_unique = False, bool invert = False, "
            "Tensor out = None)\n")
    like = elements if isinstance(elements, TensorBase) else test_elements
    dt = D.result_type(elements, test_elements)
    if any(isinstance(v, bool) or (isinstance(v, TensorBase) and v._data.dtype == np.bool_)
           for v in (elements, test_elements)):
        raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    e = as_tensor_arg(elements, like)
    te = as_tensor_arg(test_elements, like)
    check_same_device(e, te)
    xp = like._device._xp()
    res = xp.isin(e._data.astype(dt.np, copy=False), te._data.astype(dt.np, copy=False),
                  assume_unique=assume_unique, invert=invert)
    res = tensor_from(xp.asarray(res, dtype=np.bool_).reshape(e.shape), e)
    return res if out is None else write_out(res, out, "isin", rule="exact")


# --------------------------------------------------------------------------------------------
# index creation: tril/triu_indices, unravel_index, combinations, cartesian_prod


def _tri_indices(row: int, col: int, offset: int, dtype, device, lower: bool) -> Tensor:
    name = "tril_indices" if lower else "triu_indices"
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    dt = D.as_dtype(dtype) if dtype is not None else D.int64
    if dt.is_floating_point or dt == D.bool:
        raise NotImplementedError(f'"{name}" not implemented for \'{dtype_name(dt)}\'')
    fn = np.tril_indices if lower else np.triu_indices
    r, c = fn(row, offset, col)  # host ints: shape and order depend only on the arguments
    return tensor(np.stack([r, c]).astype(dt.np).reshape(2, -1), device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """Row and column indices of the lower triangle (at and below diagonal ``offset``) of a
    ``row x col`` matrix, as a ``(2, N)`` tensor in row-major order.

    Example:
        >>> gpuarr.tril_indices(2, 2)
        tensor([[0, 1, 1],
                [0, 0, 1]])
    """
    return _tri_indices(row, col, offset, dtype, device, True)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """Row and column indices of the upper triangle (at and above diagonal ``offset``) of a
    ``row x col`` matrix, as a ``(2, N)`` tensor in row-major order.

    Example:
        >>> gpuarr.triu_indices(2, 2)
        tensor([[0, 0, 1],
                [0, 1, 1]])
    """
    return _tri_indices(row, col, offset, dtype, device, False)


def unravel_index(indices: Tensor, shape) -> tuple:
    """Turn flat indices into one index tensor per dim of ``shape`` (row-major); values out of
    range wrap around as in torch.

    Example:
        >>> gpuarr.unravel_index(gpuarr.tensor([4, 7]), (2, 4))
        (tensor([1, 1]), tensor([0, 3]))
    """
    if not isinstance(indices, TensorBase) or indices._data.dtype.kind not in "iu":
        what = indices.dtype if isinstance(indices, TensorBase) else type(indices).__name__
        raise TypeError(f"expected 'indices' to be integer dtype, but got {what}")
    shape = (shape,) if isinstance(shape, int) else tuple(operator.index(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    if 0 in shape:
        raise RuntimeError("unravel_index: a dim of 'shape' is 0, so no index fits in it")
    idx = indices.to(D.int64)
    out = []
    div = 1
    for s in reversed(shape):
        out.append(idx.div(div, rounding_mode="floor").remainder(s))
        div *= s
    return tuple(reversed(out))


def _vector(x: Tensor) -> None:
    if x._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(x.shape)}")


def cartesian_prod(*tensors) -> Tensor:
    """The Cartesian product of 1-D tensors, one row per combination (``itertools.product``).

    Example:
        >>> gpuarr.cartesian_prod(gpuarr.tensor([1, 2]), gpuarr.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    for x in tensors:
        check_tensor(x, "tensors", "cartesian_prod")
        _vector(x)
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """All length-``r`` combinations of the entries of 1-D ``input`` (``itertools
    .combinations`` or, with ``with_replacement``, ``combinations_with_replacement``), one per
    row.

    Example:
        >>> gpuarr.combinations(gpuarr.tensor([1, 2, 3]))
        tensor([[1, 2],
                [1, 3],
                [2, 3]])
    """
    _vector(input)
    r = operator.index(r)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty((0,))
    n = input._data.shape[0]
    comb = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    # which entries each row takes depends only on n and r: host ints, as torch's mask does
    idx = np.array(list(comb(range(n), r)), dtype=np.int64).reshape(-1, r)
    sel = tensor(idx.reshape(-1), device=input._device)
    return input.index_select(0, sel).reshape(idx.shape)


# --------------------------------------------------------------------------------------------
# splits and rotations


def _hvd_split(input: Tensor, sections, dim: int, name: str, need: int) -> tuple:
    nd = input._data.ndim
    if nd < need:
        raise RuntimeError(f"gpuarr.{name} requires a tensor with at least {need} dimension, but "
                           f"got a tensor with {nd} dimensions!")
    if not isinstance(sections, (list, tuple)):
        k = operator.index(sections)
        n = input._data.shape[dim]
        if k == 0 or n % k:
            raise RuntimeError(f"gpuarr.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {n} is not divisible by the split_size "
                               f"{k}!")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dim 1 (dim 0 for 1-D tensors) into equal parts or at the given indices.

    Example:
        >>> [p.shape for p in gpuarr.hsplit(gpuarr.ones(2, 4), 2)]
        [gpuarr.Size([2, 2]), gpuarr.Size([2, 2])]
    """
    return _hvd_split(input, indices_or_sections, 0 if input._data.ndim == 1 else 1, "hsplit",
                      1)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dim 0 (needs at least 2 dims) into equal parts or at the given indices.

    Example:
        >>> [p.shape for p in gpuarr.vsplit(gpuarr.ones(4, 2), [1])]
        [gpuarr.Size([1, 2]), gpuarr.Size([3, 2])]
    """
    return _hvd_split(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dim 2 (needs at least 3 dims) into equal parts or at the given indices.

    Example:
        >>> [p.shape for p in gpuarr.dsplit(gpuarr.ones(1, 2, 4), 2)]
        [gpuarr.Size([1, 2, 2]), gpuarr.Size([1, 2, 2])]
    """
    return _hvd_split(input, indices_or_sections, 2, "dsplit", 3)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Split into views of the listed sizes along ``dim`` (they must add up to its length).

    Example:
        >>> [p.shape[0] for p in gpuarr.arange(5).split_with_sizes([2, 3])]
        [2, 3]
    """
    return split(input, list(split_sizes), dim)


def unsafe_split(input: Tensor, split_size, dim: int = 0) -> tuple:
    """:func:`split` (torch's variant skips view bookkeeping; gpuarr's pieces are views)."""
    return split(input, split_size, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """:func:`chunk` (torch's variant skips view bookkeeping; gpuarr's pieces are views)."""
    return chunk(input, chunks, dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """:func:`split_with_sizes` (see :func:`unsafe_split`)."""
    return split_with_sizes(input, split_sizes, dim)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by ``k`` quarter turns in the plane of ``dims``, from the first dim towards the
    second (a copy).

    Example:
        >>> gpuarr.rot90(gpuarr.tensor([[1, 2], [3, 4]]))
        tensor([[2, 4],
                [1, 3]])
    """
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = wrap_dim(dims[0], nd), wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    if not isinstance(k, (int, np.integer)):
        raise TypeError(f"rot90(): argument 'k' (position 2) must be int, not "
                        f"{type(k).__name__}")
    k = operator.index(k) % 4
    if k == 1:
        return flip(input, d1).transpose(d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(input, d0).transpose(d0, d1)
    return clone(input)


# --------------------------------------------------------------------------------------------
# *_scatter: a copy with a view's positions replaced


def _check_scatter_src(src: Tensor, slice_shape) -> None:
    if tuple(src.shape) != tuple(slice_shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(slice_shape)}")


def _write_copy(input: Tensor, key: tuple, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` written at basic index ``key`` (differentiable)."""
    out = clone(input)
    out[key] = src.to(input.dtype)
    return out


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1, *, out=None) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input[..., start:end:step, ...]`` (on
    dim ``dim``).

    Example:
        >>> gpuarr.slice_scatter(gpuarr.zeros(4), gpuarr.ones(2), start=1, end=3)
        tensor([0., 1., 1., 0.])
    """
    check_tensor(src, "src", "slice_scatter")
    d = wrap_dim(dim, max(input._data.ndim, 1))
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    key = (slice(None),) * d + (slice(start, end, step),)
    _check_scatter_src(src, input._data[key].shape)
    res = _write_copy(input, key, src)
    return res if out is None else write_out(res, out, "slice_scatter")


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input.select(dim, index)``.

    Example:
        >>> gpuarr.select_scatter(gpuarr.zeros(2, 2), gpuarr.ones(2), 0, 1)
        tensor([[0., 0.],
                [1., 1.]])
    """
    check_tensor(src, "src", "select_scatter")
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    n = input._data.shape[d]
    index = operator.index(index)
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    key = (slice(None),) * d + (index,)
    _check_scatter_src(src, input._data[key].shape)
    return _write_copy(input, key, src)


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input.diagonal(offset, dim1, dim2)``.

    Example:
        >>> gpuarr.diagonal_scatter(gpuarr.zeros(2, 2), gpuarr.ones(2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    check_tensor(src, "src", "diagonal_scatter")
    d1, d2 = _diag_dims(input._data.ndim, dim1, dim2)
    offset = operator.index(offset)
    _check_scatter_src(src, _diagonal(input.detach(), offset, d1, d2).shape)
    shape = tuple(input.shape)
    placed = _diag_scatter(src.to(input.dtype), shape, offset, d1, d2)
    ones = src.detach().new_ones(src.shape, dtype=D.bool)
    mask = _diag_scatter(ones, shape, offset, d1, d2)
    return where(mask, placed, input)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened ``input`` on diagonal ``offset``.

    Example:
        >>> gpuarr.diagflat(gpuarr.tensor([[1, 2]]))
        tensor([[1, 0],
                [0, 2]])
    """
    return diag(input.reshape(-1), offset)


# --------------------------------------------------------------------------------------------
# index_put / put / masked_scatter / index_reduce


def _index_tuple(indices) -> tuple:
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' (position 2) must be tuple of Tensors, "
                        f"not {type(indices).__name__}")
    for i, x in enumerate(indices):
        if not isinstance(x, TensorBase):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                            f"{type(x).__name__}")
    return tuple(indices)


def _put_target(input: Tensor, key: tuple, values: Tensor):
    """The parsed ``key``, the shape it selects from, and ``values`` checked (strictly, with no
    leading 1s dropped, as torch's index_put) to broadcast to the indexing result."""
    k = _parse(input, key)
    view_shape = input._data[k.basic].shape
    tshape = tuple(_adv_result_shape(input._device._xp(), view_shape, k)) \
        if k.adv is not None else tuple(view_shape)
    vs = tuple(values.shape)
    ok = len(vs) <= len(tshape) and all(v in (1, w) for v, w in zip(vs[::-1], tshape[::-1]))
    if not ok:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vs)} cannot be "
                           f"broadcast to indexing result of shape {list(tshape)}")
    return k, view_shape, tshape


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``values`` written (or, with ``accumulate``, added, duplicates
    adding up) at ``input[indices]``, ``indices`` a tuple of index or mask tensors.

    Args:
        input: the tensor to copy.
        indices: a tuple of int64/int32/bool tensors, as in ``input[indices]``.
        values: broadcast to the indexing result; ``input``'s dtype.
        accumulate: add instead of write.

    Example:
        >>> gpuarr.zeros(3).index_put((gpuarr.tensor([0, 0]),), gpuarr.tensor(1.),
        ...                           accumulate=True)
        tensor([2., 0., 0.])
    """
    key = _index_tuple(indices)
    check_tensor(values, "values", "index_put")
    if values._data.dtype != input._data.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{dtype_name(input.dtype)} for the destination and {dtype_name(values.dtype)} for "
            "the source.")
    if not key:
        raise RuntimeError("index_put(): at least one index tensor is needed")
    k, view_shape, tshape = _put_target(input, key, values)
    if accumulate:
        v = values.expand(tshape) if tuple(values.shape) != tshape else values
        # IndexBackward: zeros with v added at the index (duplicates add up); its backward
        # reads the index again, so the double backward is there too
        return input + IndexBackward.apply(v, tuple(input.shape), k, view_shape)
    out = clone(input)
    out[key] = values
    return out


def index_put_(self: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place :func:`index_put`; returns self."""
    return apply_inplace(self, index_put, indices, values, accumulate)


def _put_checks(input: Tensor, index: Tensor, source: Tensor) -> None:
    check_tensor(index, "index", "put")
    check_tensor(source, "source", "put")
    if index._data.dtype != np.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{dtype_name(index.dtype)}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {dtype_name(input.dtype)} and source.dtype = "
                           f"{dtype_name(source.dtype)}")
    if index._data.size != source._data.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source._data.size}, "
                         f"index.numel() = {index._data.size}")
    check_same_device(input, index, source)
    n = input._data.size
    if n == 0 and index._data.size:
        raise IndexError("put_(): Tried to put elements into an empty tensor")
    bad = _first_bad(input._device._xp(), index._data, n, True)
    if bad is not None:
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or added) at the flat positions ``index``
    (``input`` read as 1-D; negative indices count from the end).

    Example:
        >>> gpuarr.zeros(2, 2).put(gpuarr.tensor([0, -1]), gpuarr.tensor([1., 2.]))
        tensor([[1., 0.],
                [0., 2.]])
    """
    _put_checks(input, index, source)
    flat = input.reshape(-1)
    idx = index.reshape(-1)
    src = source.reshape(-1)
    if accumulate:
        res = index_put(flat, (idx,), src, accumulate=True)
    else:
        res = clone(flat)
        res[idx] = src
    return res.reshape(input.shape)


def put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """In-place :func:`put`; returns self."""
    return apply_inplace(self, put, index, source, accumulate)


def _masked_scatter_checks(input: Tensor, mask: Tensor, source: Tensor) -> None:
    check_tensor(mask, "mask", "masked_scatter")
    check_tensor(source, "source", "masked_scatter")
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {dtype_name(mask.dtype)}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{dtype_name(input.dtype)} and {dtype_name(source.dtype)}")
    check_same_device(input, mask, source)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` (broadcast with ``mask``) whose entries where ``mask`` is True are
    filled, in row-major order, with the first entries of ``source``.

    Example:
        >>> gpuarr.zeros(4).masked_scatter(gpuarr.tensor([True, False, True, False]),
        ...                                gpuarr.tensor([1., 2., 3., 4.]))
        tensor([1., 0., 2., 0.])
    """
    _masked_scatter_checks(input, mask, source)
    shape = _bshapes(tuple(input.shape), tuple(mask.shape))
    x = input.expand(shape)
    m = mask.expand(shape)
    # the source entry each position takes: its rank among the True positions
    pos = m.reshape(-1).cumsum(0) - 1
    count = int(pos[-1].item()) + 1 if pos._data.size else 0  # torch checks this on the host
    n = source._data.size
    if count > n:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    if n == 0:
        return clone(x)
    picked = source.reshape(-1).take(pos.clamp(min=0)).reshape(shape)
    return where(m, picked, x)


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place :func:`masked_scatter` (``mask`` must broadcast to ``self``'s shape)."""
    check_tensor(mask, "mask", "masked_scatter_")
    if mask._data.ndim > self._data.ndim:
        kind = "CUDA" if self._device.type == "cuda" else "CPU"
        raise RuntimeError(
            f"expand({kind}{dtype_name(mask.dtype)}Type{{{list(mask.shape)}}}, "
            f"size={list(self.shape)}): the number "
            f"of sizes provided ({self._data.ndim}) must be greater or equal to the number of "
            f"dimensions in the tensor ({mask._data.ndim})")
    return apply_inplace(self, masked_scatter, mask.expand(self.shape), source)


_INDEX_REDUCES = ("prod", "mean", "amax", "amin")


def _index_reduce_checks(input: Tensor, d: int, index: Tensor, source: Tensor) -> None:
    """torch's checks for index_reduce, in its order."""
    if index._data.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: "
                         f"{index._data.ndim} with type: {dtype_name(index.dtype)} and size: "
                         f"{list(index.shape)}")
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError("index_reduce_(): Expected dtype int32/int64 for index but got: "
                           f"{dtype_name(index.dtype)}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_reduce_(): self ({dtype_name(input.dtype)}) and source "
                           f"({dtype_name(source.dtype)}) must have the same scalar type")
    sd = source._data.ndim
    if not (d == 0 or d < sd):
        raise RuntimeError(f"index_reduce_(): Indexing dim {d} is out of bounds of the source "
                           f"tensor with dim {sd}")
    n = index._data.size
    size = source.shape[d] if sd else 1
    if n != size:
        raise RuntimeError(f"index_reduce_(): Number of indices ({n}) should be equal to "
                           f"source.size(dim): ({size}), for dim: {d}")
    rest_x = [s for i, s in enumerate(input.shape) if i != d]
    rest_s = [s for i, s in enumerate(source.shape) if i != d]
    if rest_x != rest_s:
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(input.shape)} "
                           f"source.shape = {list(source.shape)}")
    n_in = input.shape[d] if input._data.ndim else 1
    if _first_bad(input._device._xp(), index._data, n_in, False) is not None:
        raise IndexError("index out of range in self")


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True, out=None) -> Tensor:
    """A copy of ``input`` with the slices of ``source`` reduced (``'prod'``, ``'mean'``,
    ``'amax'``, ``'amin'``) into the slices at ``index`` along ``dim``.

    Args:
        input: the tensor to reduce into.
        dim: the dim ``index`` addresses.
        index: 1-D int64/int32 positions, one per slice of ``source`` along ``dim``.
        source: the slices to reduce.
        reduce: the reduction.
        include_self: whether ``input``'s own values take part.

    Example:
        >>> gpuarr.ones(3).index_reduce(0, gpuarr.tensor([0, 0]), gpuarr.tensor([2., 3.]),
        ...                             'prod')
        tensor([6., 1., 1.])
    """
    if reduce not in _INDEX_REDUCES:
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    check_tensor(index, "index", "index_reduce")
    check_tensor(source, "source", "index_reduce")
    check_same_device(input, index, source)
    nd = input._data.ndim
    d = wrap_dim(dim, max(nd, 1))
    _index_reduce_checks(input, d, index, source)
    # index_reduce is scatter_reduce with the index spread over each source slice
    src = source if source._data.ndim else source.reshape(1)
    x = input if nd else input.reshape(1)
    shape = [1] * src._data.ndim
    shape[d] = index._data.size
    full = index.to(D.int64).reshape(shape).expand(src.shape)
    res = scatter_reduce(x, d, full, src, reduce, include_self=include_self)
    res = res.reshape(input.shape)
    return res if out is None else write_out(res, out, "index_reduce")


def index_reduce_(self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    """In-place :func:`index_reduce`; returns self."""
    return apply_inplace(self, index_reduce, dim, index, source, reduce,
                         include_self=include_self)


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (all dims equal for more than 2 dims) with ``fill_value``, in
    place. For a tall 2-D matrix, ``wrap=True`` restarts the diagonal every ``cols + 1`` rows
    (NumPy's ``fill_diagonal``).

    Example:
        >>> gpuarr.zeros(2, 2).fill_diagonal_(5.)
        tensor([[5., 0.],
                [0., 5.]])
    """
    shape = tuple(self.shape)
    nd = len(shape)
    if nd < 2:
        raise RuntimeError("dimensions must larger than 1")
    if nd > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    mask = np.zeros(shape, dtype=bool)  # which entries, from the shape alone: host-side
    n = min(shape)
    if nd == 2 and wrap and shape[0] > shape[1] + 1:
        flat = mask.reshape(-1)
        flat[::shape[1] + 1] = True
    else:
        mask[(np.arange(n),) * nd] = True
    m = tensor(mask, device=self._device)
    return apply_inplace(self, masked_fill, m, fill_value)


# --------------------------------------------------------------------------------------------
# unique_consecutive (data-dependent shape: reads the group count from the device)


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """Collapse runs of equal consecutive entries (or slices along ``dim``) to one.

    Args:
        input: the tensor.
        return_inverse: also return, per entry (slice), the index of its run.
        return_counts: also return the length of each run.
        dim: compare slices along this dim (default: the flattened tensor).

    Returns:
        The values; with either flag a tuple ``(values, inverse?, counts?)``.

    Example:
        >>> gpuarr.unique_consecutive(gpuarr.tensor([1, 1, 2, 1]), return_counts=True)
        (tensor([1, 2, 1]), tensor([2, 1, 1]))
    """
    xp = input._device._xp()
    x = input._data
    if dim is None:
        n = x.size
        flat = x.reshape(-1)
        change = flat[1:] != flat[:-1]
    else:
        if x.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        d = wrap_dim(dim, x.ndim)
        n = x.shape[d]
        if x.size == 0 and n != 0:
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so "
                               "unique cannot be applied")
        rows = xp.moveaxis(x, d, 0).reshape(n, x.size // n if n else 0)
        change = (rows[1:] != rows[:-1]).any(axis=1)
    # a run starts at entry 0 and wherever an entry differs from the one before
    starts = xp.concatenate([xp.ones(min(n, 1), dtype=np.bool_), change])
    group = xp.cumsum(starts.astype(np.int64)) - 1
    first = of_module(xp).nonzero(starts)[0].astype(np.int64)  # data-dependent size: a sync
    if dim is None:
        values = tensor_from(flat[first], input)
    else:
        values = input.detach().index_select(d, tensor_from(first, input))
    res = [values]
    if return_inverse:
        res.append(tensor_from(group.reshape(x.shape) if dim is None else group, input))
    if return_counts:
        bounds = xp.concatenate([first, xp.full(1, n, dtype=np.int64)])
        res.append(tensor_from(bounds[1:] - bounds[:-1], input))
    return res[0] if len(res) == 1 else tuple(res)


# --------------------------------------------------------------------------------------------
# block_diag, vander, sum_to_size, broadcast_shapes, nonzero_static, narrow_copy


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix from 0-, 1- or 2-D tensors (0-D: 1x1, 1-D: one row); dtypes
    are promoted.

    Example:
        >>> gpuarr.block_diag(gpuarr.tensor([[1, 2]]), gpuarr.tensor(3))
        tensor([[1, 2, 0],
                [0, 0, 3]])
    """
    mats = []
    for i, x in enumerate(tensors):
        check_tensor(x, "tensors", "block_diag")
        if x._data.ndim > 2:
            raise RuntimeError(f"gpuarr.block_diag: Input tensors must have 2 or fewer dimensions."
                               f" Input {i} has {x._data.ndim} dimensions")
        mats.append(x.reshape(1, -1) if x._data.ndim < 2 else x)
    if not mats:
        return zeros(1, 0)
    check_same_device(*mats)
    dt = D.result_type(*mats) if len(mats) > 1 else mats[0].dtype
    dev = mats[0]._device
    width = sum(m.shape[1] for m in mats)
    rows = []
    left = 0
    for m in mats:
        r, c = m.shape
        parts = [zeros(r, left, dtype=dt, device=dev), m.to(dt),
                 zeros(r, width - left - c, dtype=dt, device=dev)]
        rows.append(cat(parts, 1))
        left += c
    return cat(rows, 0)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of 1-D ``x``: columns ``x**(N-1), ..., x, 1`` (reversed with
    ``increasing``); integer and bool inputs give int64.

    Example:
        >>> gpuarr.vander(gpuarr.tensor([1, 2, 3]))
        tensor([[1, 1, 1],
                [4, 2, 1],
                [9, 3, 1]])
    """
    if x._data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x._data.shape[0] if N is None else operator.index(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dt = x.dtype if (x.is_floating_point() or x.dtype == D.int64) else D.int64
    xx = x.to(dt)
    cols = [xx.new_ones((x.shape[0], min(n, 1)))]
    if n > 1:  # torch builds the powers with cumprod: the same values and gradients
        cols.append(xx.unsqueeze(1).expand(x.shape[0], n - 1).cumprod(1))
    res = cat(cols, 1)
    return res if increasing else flip(res, 1)


def sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum ``self`` down to ``size``, which it must be expandable from (broadcasting undone).

    Example:
        >>> gpuarr.ones(2, 3).sum_to_size(1, 3)
        tensor([[2., 2., 2.]])
    """
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    size = _ints(size)
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != shape[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)
    res = self.sum(dim=dims, keepdim=True) if dims else self
    return res.reshape(size) if lead else res


def broadcast_shapes(*shapes) -> Size:
    """The shape tensors of ``shapes`` broadcast to (ints count as 1-D shapes).

    Example:
        >>> gpuarr.broadcast_shapes((2, 1), (3,))
        gpuarr.Size([2, 3])
    """
    norm = [(s,) if isinstance(s, int) else tuple(operator.index(v) for v in s) for s in shapes]
    for s in norm:
        if any(v < 0 for v in s):
            raise ValueError("Attempting to broadcast a dimension with negative length!")
    out = [1] * max((len(s) for s in norm), default=0)
    for k, s in enumerate(norm):
        for i in range(1, len(s) + 1):
            if out[-i] == 1:
                out[-i] = s[-i]
            elif s[-i] != 1 and s[-i] != out[-i]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {s[-i]} at {-i}! Mismatching"
                    f" argument at index {k} had {s}; but expected shape should be "
                    f"broadcastable to {out}")
    return Size(out)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1, out=None) -> Tensor:
    """The indices of the first ``size`` non-zero entries, as an ``(size, ndim)`` int64
    tensor padded with ``fill_value``: a fixed shape, so no device sync.

    Example:
        >>> gpuarr.nonzero_static(gpuarr.tensor([0, 3, 0, 4]), size=3)
        tensor([[ 1],
                [ 3],
                [-1]])
    """
    size = operator.index(size)
    if isinstance(fill_value, (float, bool)) or not isinstance(fill_value, (int, np.integer)):
        raise TypeError("nonzero_static(): argument 'fill_value' must be int, not "
                        f"{type(fill_value).__name__}")
    if size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    xp = input._device._xp()
    x = input._data
    flat = x.reshape(-1) != 0
    rank = xp.cumsum(flat.astype(np.int64)) - 1
    # each kept entry goes to row `rank`; the others land in a spare last row, dropped below
    dest = xp.where(flat & (rank < size), rank, size)
    slot = xp.full(size + 1, -1, dtype=np.int64)
    slot[dest] = xp.arange(flat.shape[0], dtype=np.int64)
    slot = slot[:size]
    cols = []
    div = 1
    for s in reversed(x.shape):
        cols.append((slot // div) % s)
        div *= s
    cols.reverse()
    nd = x.ndim
    res = xp.stack(cols, axis=1) if cols else xp.zeros((size, 0), dtype=np.int64)
    res = xp.where(slot[:, None] < 0, np.int64(fill_value), res) if nd else res
    res = tensor_from(res.reshape(size, nd).astype(np.int64), input)
    return res if out is None else write_out(res, out, "nonzero_static", rule="exact")


def narrow_copy(input: Tensor, dim: int, start: int, length: int, *, out=None) -> Tensor:
    """A copy of ``input.narrow(dim, start, length)`` (``start`` may be negative).

    Example:
        >>> gpuarr.narrow_copy(gpuarr.arange(5), 0, 1, 2)
        tensor([1, 2])
    """
    # torch's narrow_copy checks the length before narrow's checks would
    if input._data.ndim and operator.index(length) < 0:
        n = input._data.shape[wrap_dim(dim, input._data.ndim)]
        start = operator.index(start)
        start = start + n if -n <= start < 0 else start
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    res = clone(narrow(input, dim, start, length))
    return res if out is None else write_out(res, out, "narrow_copy")


# --------------------------------------------------------------------------------------------
# cdist


_CDIST_MODES = (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def _cdist_direct(xp, a, b, p: float):
    diff = xp.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == 0:
        return (diff != 0).sum(-1).astype(a.dtype)
    if p == 1:
        return diff.sum(-1)
    if p == 2:
        return xp.sqrt((diff * diff).sum(-1))
    if math.isinf(p):
        if diff.shape[-1] == 0:
            return xp.zeros(diff.shape[:-1], dtype=a.dtype)
        return diff.max(-1)
    return (diff ** p).sum(-1) ** (1.0 / p)


def _cdist_mm(xp, a, b):
    """torch's _euclidean_dist: |a|^2 + |b|^2 - 2 a.b by one matmul, clamped at 0."""
    an = (a * a).sum(-1, keepdims=True)
    bn = (b * b).sum(-1, keepdims=True)
    a_ = xp.concatenate([a * -2, an, xp.ones_like(an)], -1)
    b_ = xp.concatenate([b, xp.ones_like(bn), bn], -1)
    res = a_ @ xp.swapaxes(b_, -1, -2)
    return xp.sqrt(xp.maximum(res, 0))


class Cdist(Function):
    """p-norm distances between the rows of ``x1`` and ``x2`` (batches already broadcast).
    Backward is torch's _cdist_backward (subgradient 0 where a distance is 0), written with
    gpuarr ops so that it can be differentiated again."""

    _raw = True

    @staticmethod
    def forward(ctx, x1, x2, p, use_mm):
        ctx.p = p
        res = _cdist_mm(ctx.xp, x1, x2) if use_mm else _cdist_direct(ctx.xp, x1, x2, p)
        ctx.save_for_backward(x1, x2, res)
        return res

    @staticmethod
    def backward(ctx, g):
        x1, x2, res = ctx.saved_tensors
        p = ctx.p
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        dist = res.unsqueeze(-1)
        zero = dist == 0
        if p == 0:
            term = diff * 0
        elif p == 1:
            term = diff.sign()
        elif p == 2:
            term = diff / dist.masked_fill(zero, 1)
        elif math.isinf(p):
            term = diff.sign() * (diff.abs() == dist)
        else:
            ad = diff.abs()
            safe = ad.masked_fill(ad == 0, 1)
            term = diff.sign() * (safe / dist.masked_fill(zero, 1)) ** (p - 1)
            term = term.masked_fill(ad == 0, 0)
        term = term.masked_fill(zero, 0) * g.unsqueeze(-1)
        g1 = term.sum(-2) if ctx.needs_input_grad[0] else None
        g2 = -term.sum(-3) if ctx.needs_input_grad[1] else None
        return g1, g2, None, None


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str | None = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2``
    (..., R, M); batch dims broadcast.

    Args:
        x1, x2: float tensors with at least 2 dims and the same last dim.
        p: the norm's order (>= 0; ``inf`` allowed).
        compute_mode: for ``p=2``, whether distances come from one matrix product (faster,
            less exact): ``'use_mm_for_euclid_dist_if_necessary'`` (when P or R > 25),
            ``'use_mm_for_euclid_dist'`` or ``'donot_use_mm_for_euclid_dist'``.

    Returns:
        A (..., P, R) tensor.

    Example:
        >>> gpuarr.cdist(gpuarr.tensor([[0., 0.]]), gpuarr.tensor([[3., 4.]]))
        tensor([[5.]])
    """
    check_tensor(x1, "x1", "cdist")
    check_tensor(x2, "x2", "cdist")
    for name, x in (("X1", x1), ("X2", x2)):
        if x._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{x._data.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    for name, x in (("X1", x1), ("X2", x2)):
        if not x.is_floating_point():
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{dtype_name(x.dtype)}")
    if x1._data.dtype != x2._data.dtype:
        raise RuntimeError(f"expected scalar type {dtype_name(x1.dtype)} but found "
                           f"{dtype_name(x2.dtype)}")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    p = float(p)
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    check_same_device(x1, x2)
    batch = _bshapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    a = x1.expand(batch + tuple(x1.shape[-2:]))
    b = x2.expand(batch + tuple(x2.shape[-2:]))
    P, R = x1.shape[-2], x2.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode in (None, "use_mm_for_euclid_dist_if_necessary") and (P > 25 or R > 25)))
    return Cdist.apply(a, b, p, use_mm)


# --------------------------------------------------------------------------------------------
# cross with torch.cross's dim=None rule


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out=None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (other dims broadcast). Without ``dim``
    (deprecated, with torch's warning) the first dim of size 3 is used.

    Example:
        >>> gpuarr.cross(gpuarr.tensor([1., 0., 0.]), gpuarr.tensor([0., 1., 0.]), dim=0)
        tensor([0., 0., 1.])
    """
    if dim is None:
        warnings.warn(
            "Using gpuarr.cross without specifying the dim arg is deprecated.\nPlease either "
            "pass the dim explicitly or simply use gpuarr.linalg.cross.\nThe default value of "
            "dim will change to agree with that of linalg.cross in a future release.",
            UserWarning, stacklevel=2)
        sizes = tuple(input.shape)
        dim = next((i for i, s in enumerate(sizes) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    res = _linalg_cross(input, other, dim=dim)
    return res if out is None else write_out(res, out, "linalg_cross")


# --------------------------------------------------------------------------------------------
# *_copy: the view ops' results as fresh tensors (torch's functionalization variants). Each
# takes the view op's arguments plus ``out=``; e.g. ``gpuarr.t_copy(x)`` is ``x.t().clone()``.


def _copied(res, out, name: str):
    res = tuple(clone(r) for r in res) if isinstance(res, tuple) else clone(res)
    return res if out is None else write_out(res, out, name)


def alias_copy(input: Tensor, *, out=None) -> Tensor:
    """A copy of ``input`` (torch's ``alias`` without the aliasing)."""
    return _copied(_alias(input), out, "alias_copy")


def as_strided_copy(input: Tensor, size, stride, storage_offset: int | None = None, *,
                    out=None) -> Tensor:
    """A copy of :func:`as_strided`'s result."""
    return _copied(as_strided(input, size, stride, storage_offset), out, "as_strided_copy")


def detach_copy(input: Tensor, *, out=None) -> Tensor:
    """A copy of ``input.detach()`` (no gradient)."""
    return _copied(input.detach(), out, "detach_copy")


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1, *,
                  out=None) -> Tensor:
    """A copy of ``input.diagonal(offset, dim1, dim2)``."""
    return _copied(input.diagonal(offset, dim1, dim2), out, "diagonal_copy")


def expand_copy(input: Tensor, size, *, implicit: bool = False, out=None) -> Tensor:
    """A copy of ``input.expand(size)``."""
    return _copied(expand(input, tuple(size)), out, "expand_copy")


def permute_copy(input: Tensor, dims, *, out=None) -> Tensor:
    """A copy of ``input.permute(dims)``."""
    return _copied(permute(input, tuple(dims)), out, "permute_copy")


def select_copy(input: Tensor, dim: int, index: int, *, out=None) -> Tensor:
    """A copy of ``input.select(dim, index)``."""
    return _copied(select(input, dim, index), out, "select_copy")


def slice_copy(input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
               step: int = 1, *, out=None) -> Tensor:
    """A copy of ``input[..., start:end:step]`` on dim ``dim``."""
    d = wrap_dim(dim, max(input._data.ndim, 1))
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    return _copied(input[(slice(None),) * d + (slice(start, end, step),)], out, "slice_copy")


def split_copy(input: Tensor, split_size, dim: int = 0, *, out=None) -> tuple:
    """Copies of ``input.split(split_size, dim)``."""
    return _copied(split(input, split_size, dim), out, "split_copy")


def split_with_sizes_copy(input: Tensor, split_sizes, dim: int = 0, *, out=None) -> tuple:
    """Copies of ``input.split_with_sizes(split_sizes, dim)``."""
    return _copied(split_with_sizes(input, split_sizes, dim), out, "split_with_sizes_copy")


def squeeze_copy(input: Tensor, dim=None, *, out=None) -> Tensor:
    """A copy of ``input.squeeze(dim)``."""
    return _copied(squeeze(input, dim), out, "squeeze_copy")


def t_copy(input: Tensor, *, out=None) -> Tensor:
    """A copy of ``input.t()``."""
    return _copied(t(input), out, "t_copy")


def transpose_copy(input: Tensor, dim0: int, dim1: int, *, out=None) -> Tensor:
    """A copy of ``input.transpose(dim0, dim1)``."""
    return _copied(transpose(input, dim0, dim1), out, "transpose_copy")


def unbind_copy(input: Tensor, dim: int = 0, *, out=None) -> tuple:
    """Copies of ``input.unbind(dim)``."""
    return _copied(unbind(input, dim), out, "unbind_copy")


def unfold_copy(input: Tensor, dimension: int, size: int, step: int, *, out=None) -> Tensor:
    """A copy of ``input.unfold(dimension, size, step)``."""
    return _copied(unfold(input, dimension, size, step), out, "unfold_copy")


def unsqueeze_copy(input: Tensor, dim: int, *, out=None) -> Tensor:
    """A copy of ``input.unsqueeze(dim)``."""
    return _copied(unsqueeze(input, dim), out, "unsqueeze_copy")


def view_copy(input: Tensor, size, *, out=None) -> Tensor:
    """A copy of ``input.view(size)`` (``size`` a shape or a dtype); as torch's, it also
    works where the layout would not allow a view."""
    if isinstance(size, (list, tuple, Size)):
        return _copied(reshape(input, tuple(size)), out, "view_copy")
    return _copied(view(input, size), out, "view_copy")


def _method(fn):
    """``fn`` as a Tensor method: torch's Tensor methods take no ``out=``."""

    def method(self, *args, **kwargs):
        if "out" in kwargs:
            raise TypeError(f"{fn.__name__}() got an unexpected keyword argument 'out'")
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__qualname__ = "Tensor." + fn.__name__
    method.__doc__ = fn.__doc__
    return method


register(__name__, {
    "unfold": unfold,
    "as_strided": as_strided,
    "rot90": rot90,
    "hsplit": hsplit,
    "vsplit": vsplit,
    "dsplit": dsplit,
    "split_with_sizes": split_with_sizes,
    "unsafe_split": unsafe_split,
    "unsafe_chunk": unsafe_chunk,
    "unsafe_split_with_sizes": unsafe_split_with_sizes,
    "diagflat": diagflat,
    "slice_scatter": _method(slice_scatter),
    "select_scatter": select_scatter,
    "diagonal_scatter": diagonal_scatter,
    "as_strided_scatter": as_strided_scatter,
    "index_put": index_put,
    "index_put_": index_put_,
    "masked_scatter": masked_scatter,
    "masked_scatter_": masked_scatter_,
    "put": put,
    "put_": put_,
    "unique_consecutive": unique_consecutive,
    "sum_to_size": sum_to_size,
    "fill_diagonal_": fill_diagonal_,
    "narrow_copy": _method(narrow_copy),
    "index_reduce": _method(index_reduce),
    "index_reduce_": index_reduce_,
    "cross": _method(cross),
    "nonzero_static": _method(nonzero_static),
})

ShapeExtraMethods = mixin("ShapeExtraMethods", __name__)
