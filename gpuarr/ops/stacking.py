"""Joining, splitting, tiling and reordering: ``cat``, ``stack``, ``split``, ``chunk``,
``unbind``, ``flip``, ``roll``, ``repeat``, ``repeat_interleave``, ``tril``/``triu``, ``diag``,
``diagonal``, ``meshgrid``...

``split``, ``chunk``, ``unbind``, ``diagonal`` and ``meshgrid`` return views (shared memory and
version counter), as torch does; the others copy. Dtypes of joined tensors are promoted by
torch's rules.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

from .. import _dtype as D
from .._autocast import state as _amp
from .._core.tensor import _device_mismatch
from .._creation import arange
from ._common import (
    Function,
    TensorBase,
    _make,
    _state,
    apply_joined,
    apply_raw,
    dims_arg,
    dtype_name,
    wrap_dim,
)
from ._registry import apply_inplace, mixin, register
from .conversion import clone
from .indexing import _index_select
from .shape import _view_nograd, expand, reshape

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack",
    "row_stack", "split", "chunk", "tensor_split", "unbind", "flip", "fliplr", "flipud", "roll",
    "repeat", "repeat_interleave", "tile", "tril", "triu", "diag", "diagonal", "diag_embed",
    "meshgrid", "atleast_1d", "atleast_2d", "atleast_3d",
]


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, TensorBase) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{type(tensors).__name__}"
        )
    out = list(tensors)
    for i, t in enumerate(out):
        if not isinstance(t, TensorBase):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    dev = out[0]._device if out else None
    for t in out:
        if t._device is not dev:
            raise _device_mismatch(dev, t._device)
    return out


def _promoted(tensors) -> D.dtype:
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = D.promote_types(dt, t.dtype)
    return dt


# --------------------------------------------------------------------------------------------
# cat / stack


class Cat(Function):
    _raw = True

    @staticmethod
    def forward(ctx, dim, np_dtype, skips, *arrays):
        ctx.dim, ctx.skips = dim, skips
        ctx.sizes = [0 if s else a.shape[dim] for a, s in zip(arrays, skips)]
        return Cat._compute(ctx.xp, dim, np_dtype, skips, *arrays)

    @staticmethod
    def _compute(xp, dim, np_dtype, skips, *arrays):
        parts = [a if a.dtype == np_dtype else a.astype(np_dtype)
                 for a, s in zip(arrays, skips) if not s]
        if not parts:
            return xp.zeros((0,), dtype=np_dtype)
        return xp.concatenate(parts, axis=dim)

    @staticmethod
    def backward(ctx, g):
        grads = [None, None, None]
        off = 0
        for i, (n, skip) in enumerate(zip(ctx.sizes, ctx.skips)):
            need = ctx.needs_input_grad[i + 3]
            if skip:
                grads.append(_make(ctx.xp.zeros((0,), dtype=g._data.dtype), g._device)
                             if need else None)
                continue
            grads.append(g.narrow(ctx.dim, off, n) if need else None)
            off += n
        return tuple(grads)


def _skipped(a) -> bool:
    """torch's legacy rule: 1-D empty tensors are ignored by cat, whatever the other shapes."""
    return a.ndim == 1 and a.shape[0] == 0


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim ``dim``; dtypes are promoted.

    Raises:
        RuntimeError: on 0-d tensors, or shapes that differ outside ``dim`` (torch's texts).

    Example:
        >>> gpuarr.cat([gpuarr.zeros(2, 3), gpuarr.ones(1, 3)]).shape
        gpuarr.Size([3, 3])
    """
    if _amp.on:
        return _amp.run("cat", cat, tensors, dim=dim)
    ts = _tensor_list(tensors, "cat")
    if not ts:
        raise ValueError("gpuarr.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    skips = tuple(_skipped(t._data) for t in ts)
    kept = [(i, t) for i, t in enumerate(ts) if not skips[i]]
    dt = _promoted(ts)
    d = 0
    if kept:
        ref = kept[0][1]
        nd = ref._data.ndim
        d = wrap_dim(dim, nd)
        rs = ref._data.shape
        for i, t in kept[1:]:
            s = t._data.shape
            if len(s) != nd:
                raise RuntimeError(
                    f"Tensors must have same number of dimensions: got {nd} and {len(s)}"
                )
            for a in range(nd):
                if a != d and s[a] != rs[a]:
                    raise RuntimeError(
                        f"Sizes of tensors must match except in dimension {d}. Expected size "
                        f"{rs[a]} but got size {s[a]} for tensor number {i} in the list."
                    )
    return apply_joined(Cat, ts, d, dt.np, skips)


concat = concatenate = cat


class Stack(Function):
    _raw = True

    @staticmethod
    def forward(ctx, dim, np_dtype, *arrays):
        ctx.dim = dim
        return Stack._compute(ctx.xp, dim, np_dtype, *arrays)

    @staticmethod
    def _compute(xp, dim, np_dtype, *arrays):
        return xp.stack([a if a.dtype == np_dtype else a.astype(np_dtype) for a in arrays],
                        axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None, None) + unbind(g, ctx.dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equally-shaped tensors along a new dim ``dim``; dtypes are promoted.

    Example:
        >>> gpuarr.stack([gpuarr.zeros(3), gpuarr.ones(3)], dim=1).shape
        gpuarr.Size([3, 2])
    """
    if _amp.on:
        return _amp.run("stack", stack, tensors, dim=dim)
    ts = _tensor_list(tensors, "stack")
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = ts[0]._data.shape
    for i, t in enumerate(ts[1:], 1):
        if t._data.shape != s0:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                f"{list(t.shape)} at entry {i}"
            )
    d = wrap_dim(dim, len(s0) + 1)
    return apply_joined(Stack, ts, d, _promoted(ts).np)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d becomes shape ``(1,)``); one tensor or a tuple."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (1-D ``(n,)`` becomes ``(1, n)``)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` -> ``(m, n, 1)``)."""
    return _atleast(tensors, 3)


def _atleast(tensors, n: int):
    single = len(tensors) == 1 and isinstance(tensors[0], TensorBase)
    ts = [tensors[0]] if single else list(
        tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors)
    out = []
    for t in ts:
        s = t._data.shape
        if len(s) >= n:
            out.append(t)
            continue
        if n == 1:
            new = (1,)
        elif n == 2:
            new = (1,) + (s or (1,))
        else:
            new = {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)]
        out.append(reshape(t, new))
    return out[0] if single else tuple(out)


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors).

    Example:
        >>> gpuarr.hstack([gpuarr.zeros(2, 1), gpuarr.ones(2, 2)]).shape
        gpuarr.Size([2, 3])
    """
    ts = _atleast(tuple(_tensor_list(tensors, "hstack")), 1)
    ts = ts if isinstance(ts, tuple) else (ts,)
    return cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0 after making every tensor at least 2-D (rows)."""
    ts = _atleast(tuple(_tensor_list(tensors, "vstack")), 2)
    return cat(ts if isinstance(ts, tuple) else (ts,), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Join along dim 2 after making every tensor at least 3-D (depth)."""
    ts = _atleast(tuple(_tensor_list(tensors, "dstack")), 3)
    return cat(ts if isinstance(ts, tuple) else (ts,), 2)


def column_stack(tensors) -> Tensor:
    """Join along dim 1, turning 0-d and 1-D tensors into columns first."""
    ts = _tensor_list(tensors, "column_stack")
    cols = [reshape(t, (t.numel(), 1)) if t._data.ndim <= 1 else t for t in ts]
    return cat(cols, 1)


# --------------------------------------------------------------------------------------------
# split / chunk / unbind (views)


class SplitWithSizes(Function):
    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim = dim
        return _pieces(x, dim, sizes)

    @staticmethod
    def _compute(xp, x, dim, sizes):
        return _pieces(x, dim, sizes)

    @staticmethod
    def backward(ctx, *grads):
        return cat(list(grads), ctx.dim), None, None


class Split(SplitWithSizes):
    """The same op for ``split(int)`` and ``chunk``, which torch records as SplitBackward0."""


def _pieces(arr, dim: int, sizes) -> tuple:
    out = []
    off = 0
    pre = (slice(None),) * dim
    for n in sizes:
        out.append(arr[pre + (slice(off, off + n), Ellipsis)])
        off += n
    return tuple(out)


def _split_sizes(input: Tensor, sizes: list, dim: int, cls: type = SplitWithSizes) -> tuple:
    return apply_raw(cls, input, dim, tuple(sizes))


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into pieces of ``split_size`` (the last may be smaller) or of the listed sizes
    along ``dim``. The pieces are views.

    Example:
        >>> [p.shape[0] for p in gpuarr.arange(10).split(3)]
        [3, 3, 3, 1]
        >>> [p.shape[0] for p in gpuarr.arange(10).split([2, 8])]
        [2, 8]
    """
    nd = tensor._data.ndim
    if nd == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, nd)
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [operator.index(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes):
            raise RuntimeError(
                "split_with_sizes expects split_sizes have only non-negative entries, but got "
                f"split_sizes={sizes}"
            )
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {d}), but got split_sizes={sizes}"
            )
        return _split_sizes(tensor, sizes, d)
    s = operator.index(split_size_or_sections)
    if s < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
    if s == 0 and n != 0:
        raise RuntimeError(
            f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
        )
    if n == 0:
        return _split_sizes(tensor, [0], d, Split)
    sizes = [s] * (n // s) + ([n % s] if n % s else [])
    return _split_sizes(tensor, sizes, d, Split)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` views of equal size (``ceil(n / chunks)``); fewer if ``n`` is
    small. Example: ``gpuarr.arange(10).chunk(4)`` gives sizes 3, 3, 3, 1."""
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    chunks = operator.index(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    size = (n + chunks - 1) // chunks
    if size == 0 and n == 0:
        return _split_sizes(input, [0] * chunks, d)
    return split(input, size, d)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``sections`` near-equal views (the first ``n % sections`` one longer), or at
    the listed indices (NumPy's ``array_split``)."""
    if input._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    if isinstance(indices_or_sections, (list, tuple)):
        bounds = [0]
        for i in indices_or_sections:
            i = operator.index(i)
            i = i + n if i < 0 else i
            bounds.append(min(max(i, bounds[-1]), n))
        bounds.append(n)
        return _split_sizes(input, [b - a for a, b in zip(bounds, bounds[1:])], d)
    k = operator.index(indices_or_sections)
    if k <= 0:
        raise RuntimeError(f"number of sections must be larger than 0, got {k}")
    q, r = divmod(n, k)
    return _split_sizes(input, [q + 1] * r + [q] * (k - r), d)


class Unbind(Function):
    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return _slices(x, dim)

    @staticmethod
    def _compute(xp, x, dim):
        return _slices(x, dim)

    @staticmethod
    def backward(ctx, *grads):
        return stack(list(grads), ctx.dim), None


def _slices(x, dim: int) -> tuple:
    pre = (slice(None),) * dim
    return tuple([x[pre + (i, Ellipsis)] for i in range(x.shape[dim])])


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim`` as a tuple of views (that dim removed).

    Example:
        >>> a, b = gpuarr.tensor([[1, 2], [3, 4]]).unbind(1)
        >>> a
        tensor([1, 3])
    """
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return apply_raw(Unbind, input, wrap_dim(dim, nd))


# --------------------------------------------------------------------------------------------
# flip / roll


def _dims_list(dims) -> tuple:
    if isinstance(dims, (list, tuple)):
        return tuple(dims)
    return (dims,)


def _flip_arr(xp, x, dims):
    if not dims or x.ndim == 0:
        return x.copy()
    key = [slice(None)] * x.ndim
    for d in dims:
        key[d] = slice(None, None, -1)
    return xp.ascontiguousarray(x[tuple(key)])


class Flip(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return _flip_arr(ctx.xp, x, dims)


    @staticmethod
    def backward(ctx, g):
        return _flip(g, ctx.dims), None


def _flip(x: Tensor, dims: tuple) -> Tensor:
    # measured: apply_raw here costs ~14% on a 16-element flip without grad
    if not (_state.enabled and x._rg):
        return _make(_flip_arr(x._device._xp(), x._data, dims), x._device)
    return Flip.apply(x, dims)


def flip(input: Tensor, *args, dims=None) -> Tensor:
    """A copy with the order of entries reversed along ``dims`` (ints, or one sequence).

    Example:
        >>> gpuarr.tensor([[1, 2], [3, 4]]).flip(0)
        tensor([[3, 4],
                [1, 2]])
        >>> gpuarr.flip(x, dims=(0, 1)).shape == x.shape
        True
    """
    if dims is None:
        dims = _dims_list(args[0]) if len(args) == 1 else args
    else:
        dims = _dims_list(dims)
    return _flip(input, dims_arg(list(dims), input._data.ndim) or ())


def fliplr(input: Tensor) -> Tensor:
    """Flip left-right (dim 1); needs at least 2 dims."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return _flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Flip up-down (dim 0); needs at least 1 dim."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return _flip(input, (0,))


def _roll_arr(xp, x, shifts, dims):
    if dims is None:
        return xp.roll(x.reshape(-1), shifts[0]).reshape(x.shape)
    return xp.roll(x, shifts, axis=dims)


class Roll(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return _roll_arr(ctx.xp, x, shifts, dims)

    _compute = staticmethod(_roll_arr)

    @staticmethod
    def backward(ctx, g):
        return _roll(g, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def _roll(x: Tensor, shifts: tuple, dims) -> Tensor:
    return apply_raw(Roll, x, shifts, dims)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift entries cyclically by ``shifts`` along ``dims`` (over the flattened tensor when
    ``dims`` is None).

    Example:
        >>> gpuarr.arange(5).roll(2)
        tensor([3, 4, 0, 1, 2])
    """
    sh = tuple(operator.index(s) for s in _dims_list(shifts))
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        return apply_raw(Roll, input, sh, None)
    ds = _dims_list(dims)
    if not sh:
        raise RuntimeError("`shifts` required")
    if len(sh) != len(ds):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(ds)}")
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return apply_raw(Roll, input, sh, tuple(wrap_dim(d, nd) for d in ds))


# --------------------------------------------------------------------------------------------
# repeat / tile / repeat_interleave


class Repeat(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, reps):
        padded = (1,) * (len(reps) - x.ndim) + x.shape
        ctx.in_shape, ctx.padded, ctx.reps = x.shape, padded, reps
        return ctx.xp.tile(x.reshape(padded), reps)


    @staticmethod
    def backward(ctx, g):
        # output dim i is reps[i] blocks of the input's size: sum over the block axes
        inter = []
        for r, s in zip(ctx.reps, ctx.padded):
            inter += [r, s]
        gs = g.reshape(tuple(inter)).sum(dim=tuple(range(0, 2 * len(ctx.reps), 2)))
        return gs.reshape(ctx.in_shape), None


def _int_args(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    return tuple(operator.index(a) for a in args)


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along each dim (``sizes`` may have more dims than
    ``input``: new leading dims are added). Always copies.

    Example:
        >>> a = gpuarr.arange(3.)
        >>> a[None, :].repeat(10, 1).shape
        gpuarr.Size([10, 3])
    """
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    reps = _int_args(sizes)
    s = input._data.shape
    if len(reps) < len(s):
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            "tensor"
        )
    padded = (1,) * (len(reps) - len(s)) + s
    out_shape = [r * n for r, n in zip(reps, padded)]
    for v in out_shape:
        if v < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {v}: {out_shape}")
    if not (_state.enabled and input._rg):  # measured: apply_raw costs ~11% on 16 elements
        xp = input._device._xp()
        return _make(xp.tile(input._data.reshape(padded), reps), input._device)
    return Repeat.apply(input, reps)


def tile(input: Tensor, dims) -> Tensor:
    """Like :func:`repeat`, but ``dims`` shorter than ``input.ndim`` is padded with leading 1s."""
    reps = _int_args((dims,))
    nd = input._data.ndim
    if len(reps) < nd:
        reps = (1,) * (nd - len(reps)) + reps
    return repeat(input, reps)


class RepeatInterleave(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, r, dim):
        ctx.in_shape, ctx.r, ctx.dim = x.shape, r, dim
        return ctx.xp.repeat(x, r, axis=dim)


    @staticmethod
    def backward(ctx, g):
        s = ctx.in_shape
        d = ctx.dim
        gs = g.reshape(s[:d] + (s[d], ctx.r) + s[d + 1:]).sum(dim=d + 1)
        return gs, None, None


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each entry ``repeats`` times (an int, or a tensor of per-entry counts) along
    ``dim`` (over the flattened tensor when ``dim`` is None). With only a tensor of counts,
    returns ``arange(len(counts))`` repeated by them.

    Example:
        >>> gpuarr.tensor([1, 2]).repeat_interleave(2)
        tensor([1, 1, 2, 2])
    """
    if repeats is None:
        counts = input
        if counts._data.dtype.kind not in "iu":
            raise NotImplementedError(
                f"\"repeat_interleave_{counts._device.type}\" not implemented for "
                f"'{dtype_name(counts.dtype)}'"
            )

        return repeat_interleave(arange(counts.numel(), device=counts.device), counts.reshape(-1),
                                 0)
    if dim is None:
        input = reshape(input, -1)
        d = 0
    else:
        d = wrap_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        input = reshape(input, 1)
    n = input._data.shape[d]
    if isinstance(repeats, TensorBase):
        if repeats._data.dtype.kind not in "iu":
            raise NotImplementedError(
                f"\"repeat_interleave_{repeats._device.type}\" not implemented for "
                f"'{dtype_name(repeats.dtype)}'"
            )
        if repeats._data.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats._data.ndim == 1 and repeats._data.size != 1:
            counts = [int(c) for c in repeats.tolist()]
            if len(counts) != n:
                raise RuntimeError(
                    "repeats must have the same size as input along dim, but got "
                    f"repeats.size(0) = {len(counts)} and input.size({d}) = {n}"
                )
            if any(c < 0 for c in counts):
                raise RuntimeError("repeats can not be negative")
            xp = input._device._xp()
            idx = xp.repeat(xp.arange(n), counts)
            return _index_select(input, d, idx)
        repeats = int(repeats.item())
        if repeats < 0:
            raise RuntimeError("repeats can not be negative")
    r = operator.index(repeats)
    if r < 0:
        raise RuntimeError("Repeats must be non-negative")
    if not (_state.enabled and input._rg):  # measured: apply_raw costs ~12% on 16 elements
        return _make(input._device._xp().repeat(input._data, r, axis=d), input._device)
    return RepeatInterleave.apply(input, r, d)


# --------------------------------------------------------------------------------------------
# tril / triu


def _tri_arr(xp, x, k: int, lower: bool):
    n, m = x.shape[-2:]
    keep = xp.tri(n, m, k, dtype=bool) if lower else ~xp.tri(n, m, k - 1, dtype=bool)
    return xp.where(keep, x, xp.zeros((), dtype=x.dtype))


class _Tri(Function):
    _raw = True
    _lower = True

    @classmethod
    def forward(cls, ctx, x, k):
        ctx.k = k
        return _tri_arr(ctx.xp, x, k, cls._lower)


    @classmethod
    def backward(cls, ctx, g):
        return _tri(g, ctx.k, cls._lower), None


class Tril(_Tri):
    _lower = True


class Triu(_Tri):
    _lower = False


def _tri(x: Tensor, k: int, lower: bool) -> Tensor:
    if x._data.ndim < 2:
        raise RuntimeError(
            f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions"
        )
    if not (_state.enabled and x._rg):  # measured: apply_raw costs ~12% on a 4x4 tril
        return _make(_tri_arr(x._device._xp(), x._data, k, lower), x._device)
    return (Tril if lower else Triu).apply(x, k)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (entries above ``diagonal`` set to zero).

    Example:
        >>> gpuarr.ones(3, 3).tril()
        tensor([[1., 0., 0.],
                [1., 1., 0.],
                [1., 1., 1.]])
    """
    return _tri(input, operator.index(diagonal), True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (entries below ``diagonal`` set to zero)."""
    return _tri(input, operator.index(diagonal), False)


def _tril_(self: Tensor, diagonal: int = 0) -> Tensor:

    return apply_inplace(self, tril, diagonal)


def _triu_(self: Tensor, diagonal: int = 0) -> Tensor:

    return apply_inplace(self, triu, diagonal)


# --------------------------------------------------------------------------------------------
# diagonal / diag / diag_embed


def _diag_view(xp, x, offset: int, d1: int, d2: int):
    """A writable view of the ``offset`` diagonal of dims ``d1``/``d2``, appended last."""
    n1, n2 = x.shape[d1], x.shape[d2]
    if offset >= 0:
        length = max(0, min(n1, n2 - offset))
    else:
        length = max(0, min(n1 + offset, n2))
    other = [i for i in range(x.ndim) if i not in (d1, d2)]
    shape = tuple(x.shape[i] for i in other) + (length,)
    strides = tuple(x.strides[i] for i in other) + (x.strides[d1] + x.strides[d2],)
    base = x
    if length:
        start = [slice(None)] * x.ndim
        if offset >= 0:
            start[d2] = slice(offset, None)
        else:
            start[d1] = slice(-offset, None)
        base = x[tuple(start)]
    return xp.lib.stride_tricks.as_strided(base, shape, strides)


class Diagonal(Function):
    _raw = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.in_shape, ctx.args = x.shape, (offset, d1, d2)
        return _diag_view(ctx.xp, x, offset, d1, d2)

    _compute = staticmethod(_diag_view)

    @staticmethod
    def backward(ctx, g):
        return (DiagonalScatter.apply(g, ctx.in_shape, *ctx.args),) + (None,) * 3


def _diag_scatter_arr(xp, g, shape: tuple, offset: int, d1: int, d2: int):
    out = xp.zeros(shape, dtype=g.dtype)
    _diag_view(xp, out, offset, d1, d2)[...] = g
    return out


class DiagonalScatter(Function):
    """Zeros of ``shape`` with ``g`` written on the (offset, d1, d2) diagonal."""

    _raw = True

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        return _diag_scatter_arr(ctx.xp, g, shape, offset, d1, d2)

    _compute = staticmethod(_diag_scatter_arr)

    @staticmethod
    def backward(ctx, gg):
        return (_diagonal(gg, *ctx.args), None) + (None,) * 3


def _diagonal(x: Tensor, offset: int, d1: int, d2: int) -> Tensor:
    return apply_raw(Diagonal, x, offset, d1, d2)


def _diag_dims(nd: int, dim1: int, dim2: int) -> tuple:
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset`` diagonal over ``dim1``/``dim2``, as a last dim (a view).

    Example:
        >>> gpuarr.arange(9).view(3, 3).diagonal()
        tensor([0, 4, 8])
    """
    d1, d2 = _diag_dims(input._data.ndim, dim1, dim2)
    return _diagonal(input, operator.index(offset), d1, d2)


def _diag_scatter(x: Tensor, shape: tuple, offset: int, d1: int, d2: int) -> Tensor:
    return apply_raw(DiagonalScatter, x, shape, offset, d1, d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (over ``dim1``/``dim2``) whose ``offset`` diagonal holds the last dim of
    ``input``.

    Example:
        >>> gpuarr.diag_embed(gpuarr.ones(2, 3)).shape
        gpuarr.Size([2, 3, 3])
    """
    nd = input._data.ndim + 1
    d1, d2 = _diag_dims(nd, dim1, dim2)
    offset = operator.index(offset)
    s = input._data.shape
    m = s[-1] + abs(offset)
    rest = iter(s[:-1])
    shape = tuple(m if i in (d1, d2) else next(rest) for i in range(nd))
    return _diag_scatter(input, shape, offset, d1, d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: a square matrix with ``input`` on the ``diagonal``-th diagonal.
    2-D input: a copy of that diagonal as 1-D.

    Example:
        >>> gpuarr.diag(gpuarr.tensor([1, 2]))
        tensor([[1, 0],
                [0, 2]])
    """
    nd = input._data.ndim
    k = operator.index(diagonal)
    if nd == 1:
        m = input._data.shape[0] + abs(k)
        return _diag_scatter(input, (m, m), k, 0, 1)
    if nd == 2:
        return clone(_diagonal(input, k, 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


# --------------------------------------------------------------------------------------------
# meshgrid


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors (views). ``indexing='ij'`` (default) gives shape
    ``(len(t0), len(t1), ...)``; ``'xy'`` swaps the first two dims (Cartesian, like NumPy).

    Example:
        >>> xs, ys = gpuarr.meshgrid(gpuarr.arange(3), gpuarr.arange(2), indexing='xy')
        >>> xs.shape
        gpuarr.Size([2, 3])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'gpuarr.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    ts = list(tensors)
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in ts:
        if not isinstance(t, TensorBase):
            raise TypeError(f"meshgrid(): expected Tensor, got {type(t).__name__}")
        if t._data.ndim > 1:
            raise RuntimeError(
                "gpuarr.meshgrid: Expected 0D or 1D tensor in the tensor list but got: "
                f"{t!r}"
            )
    for t in ts[1:]:
        if t._data.dtype != ts[0]._data.dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t._device is not ts[0]._device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    swap = indexing == "xy" and len(ts) >= 2
    order = list(range(len(ts)))
    if swap:
        order[0], order[1] = 1, 0
    # position of input i in the output dims
    pos = {src: i for i, src in enumerate(order)}
    shape = tuple(ts[src].numel() for src in order)
    out = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[pos[i]] = t.numel()
        if _state.enabled and t._rg:
            out.append(expand(t.view(tuple(view)), shape))
        else:  # always a view, as in torch (also for size-0 inputs)
            xp = t._device._xp()
            out.append(_view_nograd(t, xp.broadcast_to(t._data.reshape(view), shape)))
    return tuple(out)


register(__name__, {
    "split": split,
    "chunk": chunk,
    "tensor_split": tensor_split,
    "unbind": unbind,
    "flip": flip,
    "fliplr": fliplr,
    "flipud": flipud,
    "roll": roll,
    "repeat": repeat,
    "tile": tile,
    "repeat_interleave": repeat_interleave,
    "tril": tril,
    "triu": triu,
    "tril_": _tril_,
    "triu_": _triu_,
    "diagonal": diagonal,
    "diag": diag,
    "diag_embed": diag_embed,
})

StackingMethods = mixin("StackingMethods", __name__)
