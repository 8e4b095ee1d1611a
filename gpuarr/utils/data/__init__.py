"""``gpuarr.utils.data``: datasets, samplers and the ``DataLoader``, with PyTorch's API.

* :class:`Dataset` (map-style: ``__getitem__`` + ``__len__``), :class:`IterableDataset`,
  :class:`TensorDataset`, :class:`Subset`, :class:`ConcatDataset`, :class:`StackDataset`,
  :class:`ChainDataset`, :func:`random_split`.
* Samplers: :class:`SequentialSampler`, :class:`RandomSampler` (seeded by a
  :class:`gpuarr.Generator` or the default generator), :class:`SubsetRandomSampler`,
  :class:`BatchSampler`, :class:`WeightedRandomSampler`.
* :class:`DataLoader` batches samples with :func:`default_collate`, which stacks tensors,
  NumPy arrays and numbers into gpuarr tensors and keeps tuples / lists / dicts structured.

With ``num_workers > 0`` batches are loaded in worker processes, as in torch: in sampler order,
``prefetch_factor`` batches ahead per worker, each worker seeded (see :func:`get_worker_info`),
with ``timeout``, crash and exception reporting, ``persistent_workers``, ``pin_memory`` and a
choice of ``multiprocessing_context`` (the machinery lives in ``gpuarr.utils.data._worker``).

Example:
    >>> ds = TensorDataset(gpuarr.randn(100, 3), gpuarr.arange(100))
    >>> loader = DataLoader(ds, batch_size=32, shuffle=True,
    ...                     generator=gpuarr.Generator().manual_seed(0))
    >>> for x, y in loader:
    ...     pass  # x: [32, 3] float32, y: [32] int64 (the last batch holds 4)
    >>> for x, y in DataLoader(ds, batch_size=32, num_workers=2):
    ...     pass  # the same batches, loaded by two worker processes
"""

from . import distributed
from ._collate import default_collate, default_convert
from ._worker import WorkerInfo, get_worker_info
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
    "DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo",
    "DistributedSampler", "WeightedRandomSampler", "StackDataset", "ChainDataset",
]
