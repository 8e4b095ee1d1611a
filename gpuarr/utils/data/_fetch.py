"""Fetching one batch, in the main process or in a worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._collate import (
    _fast_tensor_batch,
    default_collate,
)

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


