"""``gpuarr.distributed``: torch.distributed's process groups and collectives, on MPI and NCCL.

Processes are started by MPI (``mpirun -n N python script.py``; ``pip install 'gpuarr[mpi]'``
brings mpi4py and MPICH with its ``mpirun``), which also gives each its rank. CPU tensors move
over MPI (mpi4py's buffer methods on the tensors' own NumPy memory); CUDA tensors move over NCCL
(``cupy.cuda.nccl``) with ``backend='nccl'`` or ``'cpu:mpi,cuda:nccl'``, and over MPI through
host memory with ``backend='mpi'`` (directly where MPI is CUDA-aware; see ``_mpi.cuda_aware``).

Every gpuarr dtype works with every reduction (bool: SUM/MAX are "or", PRODUCT/MIN "and";
float16 uses MPI's float16 type where the library has one (MPICH), else a float32 buffer;
int16/uint16 go through int32 on NCCL, which lacks them).
Collectives work in place and bump the tensors' version counters, as torch's.

Once a multi-process group exists, an uncaught exception on any rank ends every rank
(MPI_Abort) instead of leaving the others waiting. ``sys.exit(n)`` is not an exception Python
reports: to end the job on a non-zero exit too, run ``mpirun -n N python -m mpi4py script.py``.

``TORCH_DISTRIBUTED_DEBUG=DETAIL`` (or ``GPUARR_DISTRIBUTED_DEBUG=DETAIL``) checks before every
collective that all ranks call the same one with the same shapes and dtypes, and raises a
RuntimeError naming the difference on every rank (cost: one small allgather per collective).
Without it, MPI ends the job on mismatched sizes (MPICH: "Message truncated").

Example (``mpirun -n 2 python -c ...``):
    >>> import gpuarr, gpuarr.distributed as dist
    >>> dist.init_process_group("mpi")
    >>> t = gpuarr.ones(3) * (dist.get_rank() + 1)
    >>> dist.all_reduce(t)            # t == [3., 3., 3.] on both ranks
    >>> dist.destroy_process_group()
"""

from __future__ import annotations

from .distributed_c10d import (
    Backend,
    DebugLevel,
    GroupMember,
    P2POp,
    ProcessGroup,
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    barrier,
    batch_isend_irecv,
    broadcast,
    broadcast_object_list,
    destroy_process_group,
    gather,
    gather_object,
    get_backend,
    get_debug_level,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    irecv,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    isend,
    new_group,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    send,
    set_debug_level,
    set_debug_level_from_env,
)
from .distributed_c10d import __all__
from .all_to_all import all_to_all, all_to_all_single
from .object_collectives import recv_object_list, scatter_object_list, send_object_list
from .store import (
    DistError,
    DistNetworkError,
    DistStoreError,
    FileStore,
    HashStore,
    PrefixStore,
    Store,
    TCPStore,
)
from .subgroups import (
    get_default_backend_for_device,
    get_node_local_rank,
    is_backend_available,
    monitored_barrier,
    new_subgroups,
    new_subgroups_by_enumeration,
)

__all__ = __all__ + [
    "all_to_all", "all_to_all_single", "recv_object_list", "scatter_object_list",
    "send_object_list", "DistError", "DistNetworkError", "DistStoreError", "FileStore",
    "HashStore", "PrefixStore", "Store", "TCPStore", "get_default_backend_for_device",
    "get_node_local_rank", "is_backend_available", "monitored_barrier", "new_subgroups",
    "new_subgroups_by_enumeration",
]
