"""The ``DataLoader`` (torch.utils.data.dataloader)."""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.context import BaseContext
from typing import Any

from ... import cuda
from ..._random import Generator
from ...ops.random import randint
from ._collate import (
    default_collate,
    default_convert,
)
from ._fetch import _make_fetcher
from ._worker import (
    _MultiProcessingIter,
    _pinned_allocator,
    pin_memory,
)
from .dataset import (
    IterableDataset,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

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
