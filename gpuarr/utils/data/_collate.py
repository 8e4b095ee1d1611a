"""Batch collation: ``default_collate`` and ``default_convert``."""

from __future__ import annotations

import collections.abc as cabc

import numpy as np

from ..._creation import tensor
from ..._dtype import float64
from ..._tensor import Tensor, _make
from ...ops.stacking import stack
from .dataset import (
    Subset,
    TensorDataset,
)

# --------------------------------------------------------------------------------------------
# collation

_COLLATE_ERR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}"
)


def _stack(tensors: list[Tensor]) -> Tensor:
    """Stack tensors along a new dim 0 (differentiable, torch's dtype promotion)."""

    return stack(tensors, 0)


def _array_dtype_ok(arr: np.ndarray) -> bool:
    return arr.dtype.kind not in "SaUO"


def default_convert(data):
    """Turn NumPy arrays / scalars inside ``data`` into tensors, without batching (what the
    DataLoader applies to samples when ``batch_size=None``)."""

    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return tensor(data) if _array_dtype_ok(data) else data
    if isinstance(data, np.generic) and _array_dtype_ok(np.asarray(data)):
        return tensor(data)
    if isinstance(data, cabc.Mapping):
        return _remap(data, default_convert)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, cabc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data


def _remap(mapping, fn):
    try:
        return type(mapping)({k: fn(v) for k, v in mapping.items()})
    except TypeError:  # a mapping type that cannot be built from a dict
        return {k: fn(v) for k, v in mapping.items()}


def default_collate(batch: list):
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate``.

    * tensors are stacked along a new first dimension; NumPy arrays likewise, as tensors;
    * Python floats become a float64 tensor, ints an int64 tensor, bools a bool tensor,
      NumPy scalars a tensor of their dtype; strings stay a list;
    * dicts are collated key by key, named tuples field by field; tuples and lists are
      transposed and collated position by position (a list comes back).

    Raises:
        RuntimeError: the samples' sequences have different lengths, or tensors differ in shape.
        TypeError: an element type it cannot batch.

    Example:
        >>> default_collate([{'x': gpuarr.ones(2), 'y': 0}, {'x': gpuarr.zeros(2), 'y': 1}])
        {'x': tensor([[1., 1.], [0., 0.]]), 'y': tensor([0, 1])}
    """

    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray):
        if not _array_dtype_ok(elem):
            raise TypeError(_COLLATE_ERR.format(elem.dtype))
        return _stack([tensor(b) for b in batch])
    if isinstance(elem, np.generic):
        if not _array_dtype_ok(np.asarray(elem)):
            raise TypeError(_COLLATE_ERR.format(elem.dtype))
        return tensor(np.asarray(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):  # bools included: they become a bool tensor
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, cabc.Mapping):
        return _collate_mapping(elem, batch)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        it = iter(batch)
        size = len(next(it))
        if not all(len(e) == size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(_COLLATE_ERR.format(type(elem)))


def _collate_mapping(elem, batch):
    out = {key: default_collate([d[key] for d in batch]) for key in elem}
    if type(elem) is dict:
        return out
    try:
        return type(elem)(out)
    except TypeError:
        return out


def _int_indices(indices) -> np.ndarray | None:
    """``indices`` as an int64 array, or None when they are not all integers (floats, bools,
    objects): plain indexing then raises torch's IndexError instead of truncating 2.7 to 2."""
    try:
        arr = np.asarray(indices)
    except Exception:
        return None
    if arr.ndim != 1 or (arr.dtype.kind not in "iu" and arr.size):
        return None
    return arr.astype(np.int64, copy=False)


def _fast_tensor_batch(dataset, indices: list[int]):
    """The batch ``default_collate([dataset[i] for i in indices])`` would give, by one fancy
    index per tensor, when ``dataset`` is a TensorDataset (possibly under Subsets) holding no
    tensor that requires grad; None otherwise."""
    idx = _int_indices(indices)
    while isinstance(dataset, Subset) and idx is not None:
        sub = _int_indices(dataset.indices)
        if sub is None:
            return None
        if len(idx):
            if idx.max() >= len(sub) or idx.min() < -len(sub):
                return None  # let plain indexing raise its IndexError
            idx = sub[idx]
        dataset = dataset.dataset
    if idx is None:
        return None
    if type(dataset) is not TensorDataset or any(t._rg for t in dataset.tensors):
        return None
    n = len(dataset)
    if len(idx) and (idx.max() >= n or idx.min() < -n):
        return None  # let plain indexing raise its IndexError
    out = []
    for t in dataset.tensors:
        dev_idx = t._device._backend().asarray(idx, index=t._device.index)
        out.append(_make(t._data[dev_idx], t._device))
    return out


