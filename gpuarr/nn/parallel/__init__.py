"""``gpuarr.nn.parallel``: data-parallel training, across processes and across the CUDA
devices of one process.

:class:`DistributedDataParallel` (torch's ``torch.nn.parallel.DistributedDataParallel``) wraps a
model so that ``backward`` averages gradients over the ranks of ``gpuarr.distributed``.
Importing this package does not import MPI; that happens when a wrapper is made.

:class:`DataParallel` and :func:`data_parallel` split each batch over the CUDA devices of this
process; they are built from :func:`replicate`, :func:`scatter`, :func:`parallel_apply` and
:func:`gather` (and the device-to-device copies of :mod:`gpuarr.nn.parallel.comm`), which
are public too, as in torch.

Example:
    >>> from gpuarr.nn.parallel import DistributedDataParallel as DDP
    >>> model = DDP(model)   # after gpuarr.distributed.init_process_group("mpi")
    >>> from gpuarr.nn.parallel import DataParallel
    >>> model = DataParallel(net.to("cuda:0"))   # every visible CUDA device
"""

from __future__ import annotations

from . import comm  # noqa: F401 - gpuarr.nn.parallel.comm, as in torch
from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel
from .parallel_apply import parallel_apply
from .replicate import replicate
from .scatter_gather import gather, scatter

__all__ = ["replicate", "scatter", "parallel_apply", "gather", "data_parallel", "DataParallel",
           "DistributedDataParallel"]
