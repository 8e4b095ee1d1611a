"""``gpuarr.utils.data``: datasets, samplers and the ``DataLoader``, with PyTorch's API.

* :class:`Dataset` (map-style: ``__getitem__`` + ``__len__``), :class:`IterableDataset`,
  :class:`TensorDataset`, :class:`Subset`, :class:`ConcatDataset`, :func:`random_split`.
* Samplers: :class:`SequentialSampler`, :class:`RandomSampler` (seeded by a
  :class:`gpuarr.Generator` or the default generator), :class:`SubsetRandomSampler`,
  :class:`BatchSampler`.
* :class:`DataLoader` batches samples with :func:`default_collate`, which stacks tensors,
  NumPy arrays and numbers into gpuarr tensors and keeps tuples / lists / dicts structured.

With ``num_workers > 0`` batches are loaded in worker processes, as in torch: in sampler order,
``prefetch_factor`` batches ahead per worker, each worker seeded (see :func:`get_worker_info`),
with ``timeout``, crash and exception reporting, ``persistent_workers``, ``pin_memory`` and a
choice of ``multiprocessing_context`` (the machinery lives in ``gpuarr.utils._worker``).

Example:
    >>> ds = TensorDataset(gpuarr.randn(100, 3), gpuarr.arange(100))
    >>> loader = DataLoader(ds, batch_size=32, shuffle=True,
    ...                     generator=gpuarr.Generator().manual_seed(0))
    >>> for x, y in loader:
    ...     pass  # x: [32, 3] float32, y: [32] int64 (the last batch holds 4)
    >>> for x, y in DataLoader(ds, batch_size=32, num_workers=2):
    ...     pass  # the same batches, loaded by two worker processes
"""

from __future__ import annotations

import bisect
import collections.abc as cabc
import math
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.context import BaseContext
from typing import Any

import numpy as np

from .._random import Generator
from .._tensor import Tensor, _make
from ._worker import (
    WorkerInfo,
    _MultiProcessingIter,
    _pinned_allocator,
    get_worker_info,
    pin_memory,
)

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
    "DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo",
]


# --------------------------------------------------------------------------------------------
# datasets


class Dataset:
    """A map-style dataset: subclasses implement ``__getitem__(index)`` and ``__len__()``.

    ``ds1 + ds2`` concatenates two datasets (a :class:`ConcatDataset`).

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self): return 10
        ...     def __getitem__(self, i): return gpuarr.tensor(float(i * i))
    """

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses implement ``__iter__``.

    A :class:`DataLoader` over it batches the samples in the order they come; it takes no
    sampler and no ``shuffle``.
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        raise TypeError("IterableDataset does not support concatenation with '+'")


def _index_tensor(t: Tensor, index):
    """``t[index]``; the backend array is indexed directly when no gradient is involved."""
    if t._rg or not isinstance(index, (int, np.integer)):
        return t[index]
    return _make(t._data[index], t._device)


class TensorDataset(Dataset):
    """A dataset of tensors that share their first dimension: sample ``i`` is
    ``tuple(t[i] for t in tensors)``.

    Args:
        *tensors: tensors with the same size of dimension 0.

    Raises:
        ValueError: the first dimensions differ.

    Example:
        >>> ds = TensorDataset(gpuarr.randn(10, 3), gpuarr.arange(10))
        >>> x, y = ds[0]
    """

    def __init__(self, *tensors: Tensor) -> None:
        if any(not isinstance(t, Tensor) for t in tensors):
            raise TypeError("TensorDataset expects gpuarr Tensors")
        if any(t.ndim == 0 for t in tensors):
            raise ValueError("TensorDataset needs tensors with at least one dimension")
        if any(tensors[0].shape[0] != t.shape[0] for t in tensors):
            raise ValueError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(_index_tensor(t, index) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: the whole dataset.
        indices: indices into it (a sequence of ints).
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other.

    Args:
        datasets: the datasets (not iterable-style ones).
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        start = 0 if k == 0 else self.cumulative_sizes[k - 1]
        return self.datasets[k][idx - start]


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split a dataset at random into non-overlapping subsets of the given lengths.

    Args:
        dataset: the dataset to split.
        lengths: sizes of the parts, or fractions summing to 1 (rounded down, the remainder
            handed out one by one from the first part on, as torch does).
        generator: the random source of the permutation (default: gpuarr's default
            generator, so ``gpuarr.manual_seed`` makes it reproducible).

    Returns:
        One :class:`Subset` per length.

    Raises:
        ValueError: the lengths do not add up to ``len(dataset)``, or a fraction is out of
            [0, 1].

    Example:
        >>> train, test = random_split(ds, [0.8, 0.2], generator=gpuarr.Generator().manual_seed(0))
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = _randperm(sum(lengths), generator)
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out


def _randperm(n: int, generator: Generator | None) -> list[int]:
    from ..ops.random import randperm

    dev = generator.device if generator is not None else None
    return randperm(n, generator=generator, device=dev).tolist()


# --------------------------------------------------------------------------------------------
# samplers


class Sampler:
    """Base class of samplers: iterables over dataset indices (or lists of indices)."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _seeded_generator(generator: Generator | None) -> Generator:
    """``generator``, or a fresh one seeded from the default generator (as torch does, so
    that ``gpuarr.manual_seed`` fixes the order and every epoch gets a new one)."""
    if generator is not None:
        return generator
    from ..ops.random import randint

    seed = int(randint(0, 2**62, ()).item())
    return Generator().manual_seed(seed)


class RandomSampler(Sampler):
    """Indices in random order (a new permutation each pass), or drawn with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices with replacement.
        num_samples: how many indices to give (default ``len(data_source)``).
        generator: the random source (default: a generator seeded from gpuarr's default one
            at the start of each pass).
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                "num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        g = _seeded_generator(self.generator)
        if self.replacement:
            from ..ops.random import randint

            left = self.num_samples
            while left > 0:
                k = min(32, left)
                yield from randint(0, n, (k,), generator=g, device=g.device).tolist()
                left -= k
            return
        for _ in range(self.num_samples // n):
            yield from _randperm(n, g)
        yield from _randperm(n, g)[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in random order.

    Args:
        indices: the indices to sample from.
        generator: the random source (default: gpuarr's default generator).
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _randperm(len(self.indices), self.generator):
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: an iterable of indices.
        batch_size: indices per batch.
        drop_last: drop the last batch when it is smaller than ``batch_size``.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"drop_last should be a boolean value, but got drop_last={drop_last}"
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# --------------------------------------------------------------------------------------------
# collation

_COLLATE_ERR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}"
)


def _stack(tensors: list[Tensor]) -> Tensor:
    """Stack tensors along a new dim 0 (differentiable, torch's dtype promotion)."""
    from ..ops.stacking import stack

    return stack(tensors, 0)


def _array_dtype_ok(arr: np.ndarray) -> bool:
    return arr.dtype.kind not in "SaUO"


def default_convert(data):
    """Turn NumPy arrays / scalars inside ``data`` into tensors, without batching (what the
    DataLoader applies to samples when ``batch_size=None``)."""
    from .._creation import tensor

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
    from .._creation import tensor

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
        from .._dtype import float64

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


# --------------------------------------------------------------------------------------------
# fetching one batch (in the main process or in a worker)


def _short(indices: list) -> str:
    """A batch of indices for an error message (at most 16 shown)."""
    if len(indices) <= 16:
        return repr(list(indices))
    head = ", ".join(repr(i) for i in indices[:16])
    return f"[{head}, ... ({len(indices)} indices)]"


class _MapFetcher:
    """Makes the batch of a list of indices of a map-style dataset; remembers what it was doing
    so that a worker can say which sample failed."""

    iterable = False

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self._fast = collate_fn is default_collate and auto_collation
        self._getitems = getattr(dataset, "__getitems__", None)
        self._stage = ""
        self._batch: Any = None
        self._cur: Any = None

    def fetch(self, index):
        ds = self.dataset
        if not self.auto_collation:
            self._stage, self._batch = "one", index
            sample = ds[index]
            self._stage = "convert"
            return self.collate_fn(sample)
        index = list(index)
        self._batch = index
        if self._fast and index:
            self._stage = "many"
            batch = _fast_tensor_batch(ds, index)
            if batch is not None:
                return batch
        if self._getitems is not None:
            self._stage = "many"
            samples = self._getitems(index)
        else:
            self._stage = "each"
            samples = []
            for i in index:
                self._cur = i
                samples.append(ds[i])
        self._stage = "collate"
        return self.collate_fn(samples)

    def describe(self) -> str:
        """What the last :meth:`fetch` was doing (for the error message of a worker)."""
        b = self._batch
        if self._stage == "one":
            return f"While loading dataset index {b!r}."
        if self._stage == "convert":
            return f"While converting the sample of dataset index {b!r}."
        if self._stage == "many":
            return f"While loading dataset indices {_short(b)}."
        if self._stage == "each":
            return f"While loading dataset index {self._cur!r} (batch indices {_short(b)})."
        if self._stage == "collate":
            return f"While collating the samples of dataset indices {_short(b)}."
        return ""


class _IterFetcher:
    """Pulls the next batch out of an iterable-style dataset (``iter(dataset)`` is called when
    the fetcher is made); raises StopIteration at the end, as torch's fetcher does."""

    iterable = True

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable,
                 drop_last: bool) -> None:
        self._it = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, batch_size: int | None):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self._it))
        data = []
        for _ in range(batch_size):
            try:
                data.append(next(self._it))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < batch_size):
            raise StopIteration
        return self.collate_fn(data)

    def describe(self) -> str:
        return ""


def _make_fetcher(dataset, iterable: bool, auto_collation: bool, collate_fn: Callable,
                  drop_last: bool):
    cls = _IterFetcher if iterable else _MapFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# --------------------------------------------------------------------------------------------
# the loader


def _cpu_count() -> int | None:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


class DataLoader:
    """Iterate over a dataset in batches, in this process or in worker processes.

    Args:
        dataset: a map-style :class:`Dataset` (anything with ``__getitem__``/``__len__``) or
            an :class:`IterableDataset`.
        batch_size: samples per batch (default 1); None turns batching off (samples come one
            by one, converted by :func:`default_convert`).
        shuffle: reshuffle the indices at every epoch (a :class:`RandomSampler`).
        sampler: where the indices come from (excludes ``shuffle``).
        batch_sampler: yields whole lists of indices (excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``).
        num_workers: worker processes that load batches (0: load in this process). Each worker
            gets lists of indices from this process and sends back collated batches; batches
            come back in sampler order. An IterableDataset is copied into every worker (shard
            it with :func:`get_worker_info`, as in torch).
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        pin_memory: copy the CPU tensors of each batch into page-locked host memory, which
            makes the later copy to the GPU faster; without CUDA it warns (as torch does) and
            does nothing.
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a batch from the workers before raising
            ``RuntimeError('DataLoader timed out after ... seconds')`` (0: wait forever; needs
            ``num_workers > 0``).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after it is
            seeded and before it loads anything.
        multiprocessing_context: ``'fork'``, ``'spawn'``, ``'forkserver'`` or a
            ``multiprocessing`` context (default: multiprocessing's default start method).
            ``'spawn'`` and ``'forkserver'`` pickle the dataset, ``collate_fn`` and
            ``worker_init_fn``, so those must be importable module-level objects.
        generator: :class:`gpuarr.Generator` that drives the shuffling and draws the workers'
            base seed; the same seed gives the same order. Default: gpuarr's default
            generator (so ``gpuarr.manual_seed`` fixes both).
        prefetch_factor: batches each worker loads ahead (default 2 with workers; must stay
            None without).
        persistent_workers: keep the workers (and their dataset copies) alive between epochs.
        pin_memory_device: deprecated, as in torch: the current accelerator is used.

    Every new iterator draws one int64 base seed from ``generator`` (or the default
    generator), after the sampler's first draw. Worker ``i`` seeds Python's ``random`` and
    gpuarr's default generators with ``base_seed + i``, and NumPy's global RNG with a hash of
    both (the same NumPy seed torch's worker ``i`` gets from the same base seed).

    A worker that raises re-raises the same exception type here, with the worker's traceback
    and the dataset index in the message; a worker that dies (crash, signal, ``os._exit``) is
    reported at once as ``RuntimeError('DataLoader worker (pid(s) ...) exited unexpectedly:
    ...')``. After a timeout or a dead worker the iterator is finished and its workers are
    stopped. Workers stop when their iterator is exhausted (unless persistent), deleted, or
    the program exits.

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        >>> for xb, yb in loader:
        ...     loss = loss_fn(model(xb), yb)
        >>> images = DataLoader(ImageFolderLike(root), batch_size=32, num_workers=4,
        ...                     persistent_workers=True, pin_memory=True)
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: str | BaseContext | None = None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "") -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.generator = generator
        self._iterator = None
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, but "
                    f"got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, but "
                    f"got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        elif shuffle not in (None, False) and sampler is not None:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (
            self._iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._check_worker_number_rationality()

    @property
    def multiprocessing_context(self) -> BaseContext | None:
        """The ``multiprocessing`` context the workers start from (None: the default one)."""
        return self._mp_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx) -> None:
        if ctx is not None:
            if self.num_workers > 0:
                if isinstance(ctx, str):
                    valid = multiprocessing.get_all_start_methods()
                    if ctx not in valid:
                        raise ValueError(
                            "multiprocessing_context option should specify a valid start "
                            f"method in {valid!r}, but got multiprocessing_context={ctx!r}"
                        )
                    ctx = multiprocessing.get_context(ctx)
                if not isinstance(ctx, BaseContext):
                    raise TypeError(
                        "multiprocessing_context option should be a valid context object or "
                        "a string specifying the start method, but got "
                        f"multiprocessing_context={ctx}"
                    )
            else:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading "
                    f"(num_workers > 0), but got num_workers={self.num_workers}"
                )
        self._mp_context = ctx

    def _check_worker_number_rationality(self) -> None:
        """torch's warning when there are more workers than CPUs this process may use."""
        if not self.num_workers:
            return
        suggest = _cpu_count()
        if suggest is not None and self.num_workers <= suggest:
            return
        if suggest is None:
            why = ("DataLoader is not able to compute a suggested max number of worker in "
                   "current system.")
        else:
            cpuset = "" if hasattr(os, "sched_getaffinity") else (
                " (`cpuset` is not taken into account)")
            why = (f"Our suggested max number of worker in current system is {suggest}{cpuset}, "
                   "which is smaller than what this DataLoader is going to create.")
        warnings.warn(
            f"This DataLoader will create {self.num_workers} worker processes in total. {why} "
            "Please be aware that excessive worker creation might get DataLoader running slow "
            "or even freeze, lower the worker number to avoid potential slowness/freeze if "
            "necessary.",
            stacklevel=3,
        )

    def _pinned_empty_for_iter(self, stacklevel: int = 4):
        """At the start of an iterator: the page-locked allocator to pin batches with, or None
        (with torch's warnings when pinning was asked for but cannot happen; ``stacklevel``
        points them at the user's ``iter()``/``for`` line)."""
        if not self.pin_memory:
            return None
        if self.pin_memory_device:
            warnings.warn(
                "pin_memory_device is deprecated, the current accelerator will be used as the "
                f"device,ignore pin_memory_device='{self.pin_memory_device}'.",
                stacklevel=stacklevel,
            )
        from .. import cuda

        if not cuda.is_available():
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                stacklevel=stacklevel,
            )
            return None
        return _pinned_allocator()

    def _base_seed(self) -> int:
        """One int64 draw from the loader's generator (or the default one), as torch takes
        for every iterator: the workers' base seed."""
        from ..ops.random import randint

        g = self.generator
        dev = g.device if g is not None else None
        return int(randint(0, 2**63 - 1, (), generator=g, device=dev).item())

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self) -> Iterator:
        """A new pass over the data (with ``persistent_workers``, the same workers)."""
        if self.num_workers == 0:
            if self.timeout != 0:
                raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
            return self._single_process_iter(self._pinned_empty_for_iter(3))
        self._check_worker_number_rationality()
        if self.persistent_workers:
            it = self._iterator
            if it is None or it._shutdown:
                it = self._iterator = _MultiProcessingIter(self, self._base_seed)
            else:
                it._reset(self)
            return it
        return _MultiProcessingIter(self, self._base_seed)

    def _single_process_iter(self, pinned_empty) -> Iterator:
        fetcher_args = (self._iterable, self._auto_collation, self.collate_fn, self.drop_last)
        if self._iterable:
            self._base_seed()
            fetcher = _make_fetcher(self.dataset, *fetcher_args)
            while True:
                try:
                    batch = fetcher.fetch(self.batch_size)
                except StopIteration:
                    return
                yield batch if pinned_empty is None else pin_memory(batch, pinned_empty)
        fetcher = _make_fetcher(self.dataset, *fetcher_args)
        seeded = False
        for index in self._index_sampler:
            if not seeded:  # after the sampler's first draw, as in the worker iterator
                self._base_seed()
                seeded = True
            batch = fetcher.fetch(index)
            yield batch if pinned_empty is None else pin_memory(batch, pinned_empty)
        if not seeded:
            self._base_seed()
