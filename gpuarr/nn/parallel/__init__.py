"""``gpuarr.nn.parallel``: data-parallel training across processes.

:class:`DistributedDataParallel` (torch's ``torch.nn.parallel.DistributedDataParallel``) wraps a
model so that ``backward`` averages gradients over the ranks of ``gpuarr.distributed``.
Importing this package does not import MPI; that happens when a wrapper is made.

Example:
    >>> from gpuarr.nn.parallel import DistributedDataParallel as DDP
    >>> model = DDP(model)   # after gpuarr.distributed.init_process_group("mpi")
"""

from __future__ import annotations

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
