"""Python objects between ranks: ``scatter_object_list``, ``send_object_list`` and
``recv_object_list``. Objects travel pickled over MPI (mpi4py's lowercase methods), whatever
devices the group's tensors use, like ``all_gather_object`` and ``broadcast_object_list``.
"""

from __future__ import annotations

from . import _mpi
from .distributed_c10d import ProcessGroup, _resolve, _root

__all__ = ["scatter_object_list", "send_object_list", "recv_object_list"]

# MPI tag of send_object_list / recv_object_list messages: apart from tensor send/recv
# (user tags) and from the tag new NCCL pair communicators use (32000)
_OBJECT_TAG = 32001


def scatter_object_list(scatter_object_output_list: list,
                        scatter_object_input_list: list | None = None, src: int | None = None,
                        group: ProcessGroup | None = None,
                        group_src: int | None = None) -> None:
    """Give rank ``i`` the object ``scatter_object_input_list[i]`` of rank ``src``, in
    ``scatter_object_output_list[0]``.

    Args:
        scatter_object_output_list: a list of at least one entry; its first is replaced.
        scatter_object_input_list: on ``src``, ``world_size`` picklable objects; ignored
            elsewhere.
        src: the source's global rank (0 by default; or ``group_src``).
        group: the group (None: the default group).
        group_src: the source's rank within ``group``.

    Example:
        >>> out = [None]
        >>> dist.scatter_object_list(out, ["a", "b"] if dist.get_rank() == 0 else None)
        >>> out[0]                                  # "a" on rank 0, "b" on rank 1
    """
    pg = _resolve(group)
    if pg is None:
        return
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size "
                         "at least 1.")
    root = _root(pg, src, group_src, "scatter_object_list", "src")
    objs = None
    if pg._rank == root:
        if scatter_object_input_list is None:
            raise ValueError("source rank must provide non-None scatter_object_input_list")
        objs = list(scatter_object_input_list)
        if len(objs) != pg._size:
            raise RuntimeError(f"scatter_object_list: Incorrect input list size {len(objs)}. "
                               f"Input list size should be {pg._size}, same as size of the "
                               "process group.")
    scatter_object_output_list[0] = pg._comm.scatter(objs, root=root)


def _peer(pg: ProcessGroup, rank: int | None, group_rank: int | None, op: str,
          what: str) -> int | None:
    """The peer's rank in ``pg`` (None: any rank, for receives); torch's errors for a
    missing peer or this rank itself."""
    if rank is None and group_rank is None:
        if what == "destination":
            raise ValueError("Must specify global_rank or group_rank")
        return None
    peer = _root(pg, rank, group_rank, op, "dst" if what == "destination" else "src")
    if peer == pg._rank:
        raise ValueError(f"Invalid {what} rank: {what} rank should not be the same as the "
                         "rank of the current process.")
    return peer


def send_object_list(object_list: list, dst: int | None = None,
                     group: ProcessGroup | None = None, device=None,
                     group_dst: int | None = None, use_batch: bool = False) -> None:
    """Send the picklable objects of ``object_list`` to rank ``dst``, which receives them
    with :func:`recv_object_list`.

    Args:
        object_list: the objects (the receiver's list must have as many entries).
        dst: the receiver's global rank (or ``group_dst``).
        group: the group (None: the default group).
        device: accepted (objects travel pickled over MPI, not as device tensors).
        group_dst: the receiver's rank within ``group``.
        use_batch: accepted (one MPI message either way).

    Example:
        >>> if dist.get_rank() == 0:
        ...     dist.send_object_list([{"lr": 0.1}, 3], dst=1)
        ... else:
        ...     got = [None, None]
        ...     dist.recv_object_list(got, src=0)
    """
    pg = _resolve(group)
    if pg is None:
        return
    peer = _peer(pg, dst, group_dst, "send_object_list", "destination")
    pg._comm.send(list(object_list), dest=peer, tag=_OBJECT_TAG)


def recv_object_list(object_list: list, src: int | None = None,
                     group: ProcessGroup | None = None, device=None,
                     group_src: int | None = None, use_batch: bool = False) -> int:
    """Receive the objects a :func:`send_object_list` of rank ``src`` sent, into
    ``object_list`` (replacing its entries).

    Args:
        object_list: a list with as many entries as the sender sends.
        src: the sender's global rank; None: any sender (the return value says which).
        group: the group (None: the default group).
        device: accepted (objects travel pickled over MPI).
        group_src: the sender's rank within ``group``.
        use_batch: accepted.

    Returns:
        The sender's global rank (-1 when this rank is not in ``group``).

    Raises:
        ValueError: the sender sent a different number of objects.
    """
    pg = _resolve(group)
    if pg is None:
        return -1
    peer = _peer(pg, src, group_src, "recv_object_list", "source")
    MPI = _mpi.mpi()
    status = MPI.Status()
    got = pg._comm.recv(source=MPI.ANY_SOURCE if peer is None else peer, tag=_OBJECT_TAG,
                        status=status)
    sender = pg._ranks[status.Get_source()]
    if len(got) != len(object_list):
        raise ValueError(f"recv_object_list: rank {sender} sent {len(got)} objects, "
                         f"object_list has {len(object_list)} entries")
    object_list[:] = got
    return sender

