"""Adaptive max pooling (functional forms).

Output cell ``i`` of a dim of size ``n`` pooled to ``o`` covers ``[floor(i*n/o),
ceil((i+1)*n/o))``, as torch chooses the windows (``_pool.adaptive_windows``). The forward
walks the window offsets in row-major order keeping a running maximum and its flat (H*W)
index: a larger value or a NaN takes over, so the first maximum wins and the last NaN, as in
torch's kernel. The backward adds each gradient at its maximum's index (a scatter-add in
Tensor ops, whose own backward is a gather, so second derivatives work).
"""

from __future__ import annotations

import operator

import numpy as np

from ..._creation import zeros
from ..._tensor import Tensor, _make
from ...autograd.function import Function
from ...ops._common import dtype_name
from ._pool import adaptive_windows

__all__ = ["adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices"]


class _AdaptiveMaxPool2d(Function):
    _raw = True
    _node_name = "AdaptiveMaxPool2DBackward0"

    @staticmethod
    def forward(ctx, x, oh, ow, holder):
        xp = ctx.xp
        n, c, h, w = x.shape
        hs, hl = adaptive_windows(h, oh)
        ws, wl = adaptive_windows(w, ow)
        if oh == 0 or ow == 0:
            out = xp.empty((n, c, oh, ow), dtype=x.dtype)
            idx = xp.zeros((n, c, oh, ow), dtype=np.int64)
        else:
            out = idx = None
            for a in range(int(hl.max())):
                rows = hs + np.minimum(a, hl - 1)  # clamped: a short window repeats its last
                for b in range(int(wl.max())):
                    cols = ws + np.minimum(b, wl - 1)
                    r, cc = xp.asarray(rows)[:, None], xp.asarray(cols)[None, :]
                    v = x[:, :, r, cc]
                    flat = r * w + cc
                    if out is None:
                        out = v.copy()
                        idx = xp.broadcast_to(flat, v.shape).copy()
                        continue
                    take = (v > out) | (v != v)
                    # a repeated (clamped) position is not a new candidate
                    valid = xp.asarray((a < hl)[:, None] & (b < wl)[None, :])
                    take &= valid
                    out = xp.where(take, v, out)
                    idx = xp.where(take, flat, idx)
        ctx.save_for_backward(idx)
        ctx.hw = (h, w)
        holder.append(idx)
        return out

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        h, w = ctx.hw
        n, c, oh, ow = g.shape
        m = n * c
        gi = zeros((m, h * w), dtype=g.dtype, device=g.device)
        gi = gi.scatter_add(1, idx.reshape(m, oh * ow), g.reshape(m, oh * ow))
        return gi.reshape(n, c, h, w), None, None, None


def _pool2d(input: Tensor, oh: int, ow: int):
    """Shared tail of the 1-D and 2-D forms: checks on the sizes and dtype, then the pool."""
    lead = tuple(input.shape[:-2])
    for v in (oh, ow):
        if v < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {v}: "
                               f"{list(lead + (oh, ow))}")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"adaptive_max_pool2d" not implemented for \'{dtype_name(input.dtype)}\'')
    x = input if input.ndim == 4 else input.unsqueeze(0)
    holder: list = []
    out = _AdaptiveMaxPool2d.apply(x, oh, ow, holder)
    idx = _make(holder[0], input._device)
    if input.ndim == 3:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return out, idx


def _check_nonempty(input: Tensor, name: str) -> None:
    for i in range(1, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(
                f"{name}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(input.shape)} with dimension {i} being empty")


def _check_input(input, name: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def output_size_of(input, output_size, n: int) -> tuple[int, ...]:
    """The ``n`` output sizes of an adaptive pool of ``input`` (an int for all, or a tuple
    whose None entries keep the input's size), checked in torch's order and words."""
    if not isinstance(input, Tensor):  # torch reads input.size() first
        raise AttributeError(f"'{type(input).__name__}' object has no attribute 'size'")
    if isinstance(output_size, (tuple, list)):
        if input.ndim <= len(output_size):
            raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
        size = [input.shape[input.ndim - len(output_size) + k] if v is None else v
                for k, v in enumerate(output_size)]
        if len(size) != n:
            raise RuntimeError(f"adaptive_max_pool{n}d(): internal error: output_size.size() "
                               f"must be {n}")
        return tuple(operator.index(v) for v in size)
    if isinstance(output_size, (int, np.integer)):
        return (operator.index(output_size),) * n
    raise TypeError(f"object of type '{type(output_size).__name__}' has no len()")


def adaptive_max_pool2d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """:func:`adaptive_max_pool2d` that always returns ``(output, indices)``.

    Example:
        >>> out, idx = F.adaptive_max_pool2d_with_indices(gpuarr.arange(16.).view(1, 4, 4), 2)
        >>> idx
        tensor([[[ 5,  7],
                 [13, 15]]])
    """
    oh, ow = output_size_of(input, output_size, 2)
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    _check_nonempty(input, "adaptive_max_pool2d")
    return _pool2d(input, oh, ow)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """2-D max pooling of (N, C, H, W) or (C, H, W) to a fixed output size.

    Args:
        input: a floating-point tensor.
        output_size: ``oh`` (for ``oh x oh``) or ``(oh, ow)``; a None keeps that input size.
        return_indices: also return the flat (H*W) index of every maximum (int64).

    Returns:
        The pooled tensor, or ``(output, indices)`` with ``return_indices``.

    Example:
        >>> F.adaptive_max_pool2d(gpuarr.arange(16.).view(1, 1, 4, 4), (1, 2))
        tensor([[[[13., 15.]]]])
    """
    out, idx = adaptive_max_pool2d_with_indices(input, output_size)
    return (out, idx) if return_indices else out


def adaptive_max_pool1d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """:func:`adaptive_max_pool1d` that always returns ``(output, indices)``.

    Example:
        >>> F.adaptive_max_pool1d_with_indices(gpuarr.tensor([[1., 3., 2., 0.]]), 2)[1]
        tensor([[1, 2]])
    """
    name = "adaptive_max_pool1d"
    _check_input(input, name)
    if isinstance(output_size, (tuple, list)):
        for k, v in enumerate(output_size):
            if not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name}(): argument 'output_size' (position 2) must be tuple "
                                f"of ints, but found element of type {type(v).__name__} at "
                                f"pos {k}")
        size = list(output_size)
    elif isinstance(output_size, (int, np.integer)):
        size = [output_size]
    else:
        raise TypeError(f"{name}(): argument 'output_size' (position 2) must be tuple of ints, "
                        f"not {type(output_size).__name__}")
    if len(size) != 1:
        raise RuntimeError(
            f"{name}() argument 'output_size' should contain one int (got {len(size)})")
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
            f"#1 'self' (while checking arguments for {name})")
    _check_nonempty(input, name)
    out, idx = _pool2d(input.unsqueeze(-2), 1, operator.index(size[0]))
    return out.squeeze(-2), idx.squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """1-D max pooling of (N, C, L) or (C, L) to a fixed length.

    Args:
        input: a floating-point tensor.
        output_size: the output length (an int or a one-int tuple).
        return_indices: also return the index (along L) of every maximum (int64).

    Returns:
        The pooled tensor, or ``(output, indices)`` with ``return_indices``.

    Example:
        >>> F.adaptive_max_pool1d(gpuarr.tensor([[1., 3., 2., 0.]]), 2)
        tensor([[3., 2.]])
    """
    out, idx = adaptive_max_pool1d_with_indices(input, output_size)
    return (out, idx) if return_indices else out
