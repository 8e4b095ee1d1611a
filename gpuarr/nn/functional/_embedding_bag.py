"""``embedding_bag``."""

from __future__ import annotations

import warnings

import numpy as np

from ..._core.capture import raise_if
from ..._creation import zeros
from ..._tensor import Tensor, _make
from ...autograd import no_grad
from ._misc import _renorm_rows, _type_name
from ._utils import check_tensor

__all__ = ["embedding_bag"]

_MODES = ("sum", "mean", "max")


def _indices_type_error(t: Tensor) -> RuntimeError:
    return RuntimeError(
        "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
        f"Long, Int; but got {_type_name(t)} instead (while checking arguments for "
        "embedding_bag)"
    )


def _bag_error(offsets, last, n: int, idx, limit, num: int, is_max: bool) -> Exception:
    """The first of torch's checks that the offsets or indices fail, in torch's order."""
    offsets = np.asarray(offsets.get() if hasattr(offsets, "get") else offsets)
    idx = np.asarray(idx.get() if hasattr(idx, "get") else idx)
    if offsets.size and offsets[0] != 0:
        return RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
            f"from position 0. However, got {int(offsets[0])}"
        )
    if offsets.size and int(offsets[-1]) > n:
        return RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                            f"offsets[-1] of {int(offsets[-1])}")
    if offsets.size and offsets.min() < 0:
        return IndexError("index out of range in self")
    if offsets.size > 1 and (np.diff(offsets) < 0).any():
        return RuntimeError("embedding_bag: offsets has to be a non-decreasing sequence")
    end = min(int(limit), n)
    bad = np.nonzero((idx[:end] < 0) | (idx[:end] >= num))[0]
    i = int(bad[0])
    if is_max:
        return RuntimeError("embedding_bag: Expected idx >= 0 && idx < num_embeddings but found "
                            f"idx to be {int(idx[i])}")
    return RuntimeError(f"Index {i} of input takes value {int(idx[i])} which is not in the "
                        f"valid range [0, {num})")


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of rows of ``weight``, without building the
    ``(N, embedding_dim)`` lookups of every bag separately.

    Args:
        input: integer indices; ``(B, L)`` for ``B`` bags of ``L`` indices each, or ``(N,)``
            holding all the bags one after another, with ``offsets``.
        weight: ``(num_embeddings, embedding_dim)`` floating table.
        offsets: ``(B,)`` start of each bag in a 1-D ``input`` (``(B + 1,)`` with
            ``include_last_offset``, the last entry ending the last bag).
        max_norm: if given, the rows looked up are renormalised in place to at most this
            ``norm_type``-norm.
        mode: ``'sum'``, ``'mean'`` or ``'max'`` (elementwise maximum).
        per_sample_weights: same shape as ``input``; scales each looked-up row (``'sum'`` only).
        padding_idx: indices equal to it are left out of their bag (not counted by ``'mean'``).

    Returns:
        ``(B, embedding_dim)``; an empty bag gives zeros.

    Example:
        >>> w = gpuarr.arange(6.).reshape(3, 2)
        >>> F.embedding_bag(gpuarr.tensor([0, 2, 1]), w, gpuarr.tensor([0, 2]), mode='sum')
        tensor([[4., 6.],
                [2., 3.]])
    """
    check_tensor(input, "input", "embedding_bag")
    check_tensor(weight, "weight", "embedding_bag")
    if weight._data.dtype == np.int64 and input.is_floating_point():
        warnings.warn(
            "Argument order of nn.functional.embedding_bag was changed. Usage "
            "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
            "`embedding_bag(input, weight, ...)`.", stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, "
            f"then it must have the same shape as the input ({input.shape})"
        )
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        if input.shape[1] == 0:
            raise RuntimeError("step must be nonzero")
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq and sparse are not supported")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    for t in (input, offsets):
        if t is not None and t._data.dtype not in (np.int32, np.int64):
            raise _indices_type_error(t)
    if not weight.is_floating_point():
        raise RuntimeError(
            "Expected tensor for argument #1 'weight' to have one of the following scalar "
            f"types: Half, BFloat16, Float, Double; but got {_type_name(weight)} instead "
            "(while checking arguments for embedding_bag)"
        )
    if per_sample_weights is not None and per_sample_weights.dtype != weight.dtype:
        raise RuntimeError(
            "Expected tensor for argument #1 'weight' to have the same type as tensor for "
            f"argument #1 'per_sample_weights'; but type {_type_name(weight)} does not equal "
            f"{_type_name(per_sample_weights)} (while checking arguments for embedding_bag)"
        )
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, -{num} "
                               f"through {num - 1}, but got {padding_idx}")
        if padding_idx < 0:
            padding_idx += num

    xp = weight._device._xp()
    idx = input._data.reshape(-1)
    n = idx.shape[0]
    if input.ndim == 2:
        # fixed-length bags: valid offsets by construction, nothing past the last bag
        nbags = input.shape[0]
        bag = xp.arange(n, dtype=np.int64) // input.shape[1]
        live = xp.ones(n, dtype=bool)
        if n:
            u = idx.view(f"u{idx.dtype.itemsize}")
            raise_if(u.max() >= num, _bag_error, xp.zeros(1, np.int64), 0, n, idx, n, num,
                     mode == "max")
    else:
        off = offsets._data.astype(np.int64, copy=False)
        if include_last_offset:
            if off.shape[0] < 1:
                raise RuntimeError("include_last_offset: number of offset should be at least 1")
            starts, end = off[:-1], off[-1]
        else:
            starts, end = off, n
        nbags = starts.shape[0]
        pos = xp.arange(n, dtype=np.int64)
        bag = xp.searchsorted(starts, pos, side="right") - 1
        live = (pos < end) & (bag >= 0)
        if off.shape[0]:
            # one host read for all of torch's checks of the offsets and the indices
            bad = (off[0] != 0) | (off[-1] > n) | (off.min() < 0)
            if off.shape[0] > 1:
                bad = bad | (off[1:] < off[:-1]).any()
            if n:
                u = xp.where(live, idx, 0).view(f"u{idx.dtype.itemsize}")
                bad = bad | (u.max() >= num)
            raise_if(bad, _bag_error, off, off[-1], n, idx, end, num, mode == "max")
    if max_norm is not None:
        _renorm_rows(weight, idx, float(max_norm), float(norm_type))
    if padding_idx is not None:
        live = live & (idx != padding_idx)
    # what a bag leaves out (padding, past the last offset) goes to an extra row, dropped below
    bag = _make(xp.where(live, bag, nbags).astype(np.int64), weight._device)
    safe = _make(xp.where(live, idx, 0).astype(np.int64), weight._device)
    rows = weight.index_select(0, safe)
    d = weight.shape[1]
    if mode == "max":
        out = zeros(nbags + 1, d, dtype=weight.dtype, device=weight.device)
        out = out.scatter_reduce(0, bag[:, None].expand(n, d), rows, "amax", include_self=False)
        return out[:nbags]
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[:, None]
    out = zeros(nbags + 1, d, dtype=weight.dtype, device=weight.device).index_add(0, bag, rows)
    out = out[:nbags]
    if mode == "mean":
        with no_grad():
            count = zeros(nbags + 1, dtype=weight.dtype, device=weight.device)
            count = count.index_add(0, bag, _make(live.astype(weight._data.dtype),
                                                   weight._device))[:nbags]
        out = out / count.clamp(min=1)[:, None]
    return out
