"""Groups of groups and the queries around them: ``new_subgroups``,
``new_subgroups_by_enumeration``, ``monitored_barrier``, ``get_node_local_rank``,
``get_default_backend_for_device`` and ``is_backend_available``.
"""

from __future__ import annotations

import datetime
import os
import time
import weakref

import numpy as np

from .. import cuda
from .distributed_c10d import (
    ProcessGroup,
    _device_backends,
    _resolve,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    is_mpi_available,
    is_nccl_available,
    new_group,
)

__all__ = ["new_subgroups", "new_subgroups_by_enumeration", "monitored_barrier",
           "get_node_local_rank", "get_default_backend_for_device", "is_backend_available"]


# ---- subgroups -----------------------------------------------------------------------------


def new_subgroups_by_enumeration(ranks_per_subgroup_list: list[list[int]],
                                 timeout: datetime.timedelta | None = None,
                                 backend: str | None = None, pg_options=None,
                                 group_desc: str | None = None):
    """Split the world into the given disjoint groups (some ranks may be in none).

    Every rank of the default group must call it with the same lists.

    Args:
        ranks_per_subgroup_list: one list of global ranks per subgroup; no rank twice.
        timeout: kept as each subgroup's ``timeout``.
        backend: None (the default group's) or a backend string.
        pg_options: accepted and ignored.
        group_desc: every subgroup's name.

    Returns:
        ``(this rank's subgroup or None, [every subgroup])``; entries of subgroups this
        rank is not in are ``GroupMember.NON_GROUP_MEMBER``, as :func:`new_group` returns.

    Example:
        >>> mine, _ = dist.new_subgroups_by_enumeration([[0, 2], [1, 3]])
        >>> dist.all_reduce(t, group=mine)
    """
    if ranks_per_subgroup_list is None or len(ranks_per_subgroup_list) == 0:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    # overlaps are refused before any group exists (torch finds them while making them)
    owner: dict[int, list[int]] = {}
    for ranks in ranks_per_subgroup_list:
        for r in ranks:
            if r in owner:
                raise ValueError(f"Rank {r} has appeared in both subgroup {owner[r]} and "
                                 f"{ranks}")
            owner[r] = ranks
    me = get_rank()
    subgroups, current = [], None
    for ranks in ranks_per_subgroup_list:
        pg = new_group(ranks=ranks, timeout=timeout, backend=backend, pg_options=pg_options,
                       group_desc=group_desc)
        subgroups.append(pg)
        if me in ranks:
            current = pg
    return current, subgroups


def new_subgroups(group_size: int | None = None, group: ProcessGroup | None = None,
                  timeout: datetime.timedelta | None = None, backend: str | None = None,
                  pg_options=None, group_desc: str | None = None):
    """Split ``group``'s ranks into consecutive subgroups of ``group_size`` ranks (one per
    node of ``group_size`` GPUs by default).

    Every rank of the default group must call it.

    Args:
        group_size: ranks per subgroup; must divide the group's size (None: the number of
            CUDA devices here).
        group: the group to split (None: the default group).
        timeout: kept as each subgroup's ``timeout``.
        backend: None (the default group's) or a backend string.
        pg_options: accepted and ignored.
        group_desc: every subgroup's name.

    Returns:
        ``(this rank's subgroup, [every subgroup])``.

    Example:
        >>> mine, all_groups = dist.new_subgroups(2)   # 4 ranks: [0, 1] and [2, 3]
    """
    if group_size is None:
        if not cuda.is_available():
            raise ValueError("Default group size only takes effect when CUDA is available."
                             "If your subgroup using a backend that does not depend on CUDA,"
                             "please pass in 'group_size' correctly.")
        group_size = cuda.device_count()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    world_size = get_world_size(group=group)
    if world_size < group_size:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size "
                         f"({world_size})")
    if world_size % group_size != 0:
        raise ValueError(f"The world size ({world_size}) must be divisible by "
                         f"'group_size={group_size}'")
    ranks = get_process_group_ranks(group)
    return new_subgroups_by_enumeration(
        [ranks[i:i + group_size] for i in range(0, len(ranks), group_size)],
        timeout=timeout, backend=backend, pg_options=pg_options, group_desc=group_desc)


# ---- monitored_barrier ------------------------------------------------------------------------

# MPI tag of monitored_barrier's messages (apart from user tags and the other internal ones)
_BARRIER_TAG = 32002
_POLL_S = 1e-4
_calls: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # group -> calls so far
_sends: list = []  # (request, buffer) of arrival messages still in flight


def _reap_sends() -> None:
    _sends[:] = [(req, buf) for req, buf in _sends if not req.Test()]


def _receive(comm, peer: int, seq: int, deadline: float) -> bool:
    """Wait until ``peer``'s message for call ``seq`` arrives; skip older ones (left over
    from calls that timed out). False when ``deadline`` passes first."""
    buf = np.zeros(1, np.int64)
    while True:
        req = comm.Irecv(buf, source=peer, tag=_BARRIER_TAG)
        while not req.Test():
            if time.monotonic() > deadline:
                req.Cancel()
                req.Wait()
                return False
            time.sleep(_POLL_S)
        if buf[0] == seq:
            return True


def monitored_barrier(group: ProcessGroup | None = None,
                      timeout: datetime.timedelta | None = None,
                      wait_all_ranks: bool = False) -> None:
    """A barrier that names the ranks that did not reach it in time instead of hanging.

    Rank 0 of the group waits for every other rank's arrival, then releases them; all of it
    over MPI, for any backend (torch's runs on Gloo only).

    Args:
        group: the group (None: the default group).
        timeout: how long to wait (None: the group's ``timeout``).
        wait_all_ranks: rank 0 reports every missing rank instead of the first.

    Raises:
        RuntimeError: on rank 0, ``"[Rank 0]: Rank 1 failed to pass monitoredBarrier in
            1000 ms"`` (``Ranks 1, 3`` with ``wait_all_ranks``); on the others, that rank 0
            did not release them in time.

    Example:
        >>> dist.monitored_barrier(timeout=datetime.timedelta(seconds=30))
    """
    pg = _resolve(group)
    if pg is None:
        return
    if timeout is None:
        timeout = pg.timeout
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"timeout must be a datetime.timedelta, got {type(timeout).__name__}")
    if pg._size == 1:
        return
    seq = _calls[pg] = _calls.get(pg, 0) + 1
    ms = int(timeout.total_seconds() * 1000)
    deadline = time.monotonic() + timeout.total_seconds()
    comm = pg._comm
    _reap_sends()
    if pg._rank != 0:
        buf = np.array([seq], np.int64)
        _sends.append((comm.Isend(buf, dest=0, tag=_BARRIER_TAG), buf))
        if not _receive(comm, 0, seq, deadline):
            raise RuntimeError(f"[Rank {pg._ranks[pg._rank]}]: monitored_barrier: rank "
                               f"{pg._ranks[0]} did not release this rank within {ms} ms (a "
                               "rank failed to pass monitoredBarrier)")
        return
    missing = []
    for r in range(1, pg._size):
        if not _receive(comm, r, seq, deadline):
            missing.append(pg._ranks[r])
            if not wait_all_ranks:
                break
    if missing:
        who = (f"Ranks {', '.join(map(str, missing))}" if len(missing) > 1
               else f"Rank {missing[0]}")
        raise RuntimeError(f"[Rank {pg._ranks[0]}]: {who} failed to pass monitoredBarrier in "
                           f"{ms} ms")
    for r in range(1, pg._size):
        buf = np.array([seq], np.int64)
        _sends.append((comm.Isend(buf, dest=r, tag=_BARRIER_TAG), buf))
    _reap_sends()


# ---- queries ------------------------------------------------------------------------------------

# local-rank variables of MPI launchers, read after torch's LOCAL_RANK
_LOCAL_RANK_VARS = ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK",
                    "MV2_COMM_WORLD_LOCAL_RANK", "PMIX_LOCAL_RANK")


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among the processes on its machine.

    Read from ``LOCAL_RANK`` (as torch), else from the MPI launcher's variable
    (``MPI_LOCALRANKID`` of MPICH, ``OMPI_COMM_WORLD_LOCAL_RANK`` of Open MPI, ...), else
    ``fallback_rank``.

    Args:
        fallback_rank: the answer when no launcher says.

    Returns:
        The local rank, an ``int``.

    Example:
        >>> gpuarr.cuda.set_device(dist.get_node_local_rank(fallback_rank=0))
    """
    for var in _LOCAL_RANK_VARS:
        v = os.environ.get(var)
        if v is not None and v.strip().lstrip("-").isdigit():
            return int(v)
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device "
        "context and want the code to run locally instead.")


_DEFAULT_BACKENDS = {"cpu": "mpi", "cuda": "nccl"}


def get_default_backend_for_device(device) -> str:
    """The backend gpuarr uses by default for tensors of ``device``'s type: ``'mpi'`` for
    CPU (torch: ``'gloo'``, which gpuarr has not), ``'nccl'`` for CUDA.

    Args:
        device: a device string (``'cuda:1'``) or ``gpuarr.device``.

    Returns:
        The backend's name.

    Example:
        >>> dist.get_default_backend_for_device("cuda")
        'nccl'
    """
    typ = device.partition(":")[0] if isinstance(device, str) else getattr(device, "type",
                                                                           None)
    if typ not in _DEFAULT_BACKENDS:
        raise ValueError(f"Default backend not registered for device : {typ}")
    return _DEFAULT_BACKENDS[typ]


def is_backend_available(backend: str) -> bool:
    """Whether ``backend`` can run here: ``'mpi'`` (mpi4py installed), ``'nccl'`` (CUDA and
    NCCL usable), a per-device string such as ``'cpu:mpi,cuda:nccl'`` (each part); False for
    ``'gloo'`` and names gpuarr does not know.

    Args:
        backend: a backend name.

    Returns:
        True or False.

    Example:
        >>> dist.is_backend_available("mpi")
        True
    """
    if not isinstance(backend, str):
        return False
    try:
        engines = set(_device_backends(backend.lower().replace(" ", "")).values())
    except ValueError:
        return False
    avail = {"mpi": is_mpi_available, "nccl": is_nccl_available}
    return all(avail[e]() for e in engines)
