"""``DistributedSampler``: each rank's share of a dataset, as torch's
``torch.utils.data.distributed.DistributedSampler``.

Importable as ``gpuarr.utils.data.distributed`` (and ``gpuarr.utils.data.DistributedSampler``);
the class lives here while ``gpuarr.utils.data`` is a single module.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

from ... import distributed as dist
from ..._random import Generator
from ...ops.random import randperm
from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _world() -> tuple[int, int]:
    """(world size, rank) of the default process group of :mod:`gpuarr.distributed`."""
    if not dist.is_initialized():
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return dist.get_world_size(), dist.get_rank()


class DistributedSampler(Sampler):
    """Restricts sampling to this rank's part of the dataset (for ``DistributedDataParallel``).

    Every rank gets ``ceil(len(dataset) / num_replicas)`` indices: the (shuffled) index list
    is padded by repeating its start until it divides evenly, or, with ``drop_last``, cut to
    the largest evenly divisible length, and rank ``r`` takes every ``num_replicas``-th index
    from position ``r``. Unshuffled, the partitions are exactly torch's. Shuffled, the order
    comes from ``gpuarr.randperm`` with a CPU :class:`gpuarr.Generator` seeded with
    ``seed + epoch``: the same on every rank for a seed and epoch (so the ranks' shares never
    overlap), new after :meth:`set_epoch`; lengths, padding and cutting are torch's.

    Args:
        dataset: the dataset to sample from (anything with ``len()``).
        num_replicas: number of ranks (default: the world size of ``gpuarr.distributed``).
        rank: this rank (default: the rank in ``gpuarr.distributed``).
        shuffle: shuffle the indices (default True).
        seed: base seed of the shuffle; must be the same on every rank (default 0).
        drop_last: drop the tail to divide evenly instead of padding (default False).

    Raises:
        ValueError: if ``rank`` is not in ``[0, num_replicas - 1]``, or (as torch) if the
            defaults are needed and no process group is initialized.

    Example:
        >>> sampler = DistributedSampler(dataset, num_replicas=2, rank=0, seed=1)
        >>> loader = DataLoader(dataset, batch_size=32, sampler=sampler)
        >>> for epoch in range(epochs):
        ...     sampler.set_epoch(epoch)      # a new shuffle each epoch, equal on all ranks
        ...     for xb, yb in loader:
        ...         ...
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            world, me = _world()
            num_replicas = world if num_replicas is None else num_replicas
            rank = me if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _all_indices(self) -> list[int]:
        """The padded (or cut) index list that all ranks share, before it is split."""
        n = len(self.dataset)
        if self.shuffle:
            g = Generator().manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return indices

    def __iter__(self) -> Iterator[int]:
        """This rank's indices for the current epoch."""
        return iter(self._all_indices()[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch: with ``shuffle``, each epoch gets its own order (call it before
        each epoch's ``DataLoader`` iteration, with the same value on every rank).

        Args:
            epoch: the epoch number.
        """
        self.epoch = epoch
