"""Datasets: ``Dataset``, ``IterableDataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``,
``random_split`` (torch.utils.data.dataset)."""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ..._random import Generator
from ..._tensor import Tensor, _make
from ...ops.random import randperm

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
        """``a + b``: a :class:`ChainDataset` that iterates ``a`` then ``b`` (as torch)."""
        return ChainDataset([self, other])


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
    dev = generator.device if generator is not None else None
    return randperm(n, generator=generator, device=dev).tolist()




class StackDataset(Dataset):
    """Several map-style datasets of one length side by side: item ``i`` is the tuple (or dict)
    of their items ``i``.

    Args:
        *args: datasets whose items come back as a tuple.
        **kwargs: datasets whose items come back as a dict under these names (give either
            ``args`` or ``kwargs``, not both).

    Raises:
        ValueError: for no datasets, both forms at once, or datasets of different lengths.

    Example:
        >>> ds = StackDataset(TensorDataset(gpuarr.arange(3)), [10, 20, 30])
        >>> ds[1]
        ((tensor(1),), 20)
        >>> StackDataset(x=[1, 2], y=[3, 4])[0]
        {'x': 1, 'y': 3}
    """

    datasets: tuple | dict

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args:
            if kwargs:
                raise ValueError(
                    "Supported either ``tuple``- (via ``args``) or"
                    "``dict``- (via ``kwargs``) like input/output, but both types are given."
                )
            parts: Iterable = args
            self.datasets = args
        elif kwargs:
            parts = list(kwargs.values())
            self.datasets = kwargs
        else:
            raise ValueError("At least one dataset should be passed")
        parts = list(parts)
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """A batch of samples, using the datasets' own ``__getitems__`` where they have one."""
        named = isinstance(self.datasets, dict)
        columns = {k: _stack_column(d, indices) for k, d in
                   (self.datasets.items() if named else enumerate(self.datasets))}
        if named:
            return [{k: col[i] for k, col in columns.items()} for i in range(len(indices))]
        return [tuple(col[i] for col in columns.values()) for i in range(len(indices))]

    def __len__(self) -> int:
        return self._length


def _stack_column(dataset, indices: list) -> list:
    """``dataset``'s items at ``indices`` (one batch call when it has ``__getitems__``)."""
    getitems = getattr(dataset, "__getitems__", None)
    if not callable(getitems):
        return [dataset[i] for i in indices]
    items = getitems(indices)
    if len(items) != len(indices):
        raise ValueError(
            f"Nested dataset's output size mismatch. Expected {len(indices)}, got {len(items)}"
        )
    return list(items)


class ChainDataset(IterableDataset):
    """Several iterable-style datasets one after the other, chained as they are read.

    Args:
        datasets: the :class:`IterableDataset` s to chain.

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> list(ChainDataset([Count(2), Count(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        super().__init__()
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            _check_iterable(d)
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            _check_iterable(d)
            total += len(d)
        return total


def _check_iterable(d) -> None:
    if not isinstance(d, IterableDataset):
        raise AssertionError("ChainDataset only supports IterableDataset")
