"""Process groups and collectives with torch.distributed's names and semantics.

Engines: MPI (mpi4py) starts and bootstraps the processes and moves CPU tensors, with mpi4py's
buffer methods straight on the tensors' NumPy arrays (no copies); NCCL, through CuPy's
``cupy.cuda.nccl`` and the CUDA backend's ``nccl_*`` methods, moves CUDA tensors, its unique id
sent to every rank over MPI. With ``backend='mpi'`` CUDA tensors go through host memory, unless
MPI says it can read CUDA memory (see :func:`gpuarr.distributed._mpi.cuda_aware`).

Semantics follow torch: collectives modify their tensors in place (and bump their version
counters), ``async_op=True`` returns a :class:`Work`, ``src``/``dst`` are global ranks,
``group=None`` is the default group, ranks outside ``group`` return at once.
"""

from __future__ import annotations

import datetime
import os
import time
import zlib
from collections.abc import Sequence

import numpy as np

from .. import cuda
from .._device import device as _device
from .._tensor import Tensor
from ..backends import NUMPY, backend_for
from ..ops.stacking import cat
from . import _mpi

__all__ = [
    "Backend", "DebugLevel", "GroupMember", "ProcessGroup", "ReduceOp", "Work", "group",
    "init_process_group", "destroy_process_group", "is_initialized", "is_available",
    "is_mpi_available", "is_nccl_available", "is_gloo_available", "is_torchelastic_launched",
    "get_rank", "get_world_size", "get_backend", "get_global_rank", "get_group_rank",
    "get_process_group_ranks", "new_group", "barrier", "all_reduce", "broadcast", "all_gather",
    "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor", "reduce", "gather",
    "scatter", "send", "recv", "isend", "irecv", "all_gather_object", "broadcast_object_list",
    "gather_object", "get_debug_level", "set_debug_level", "set_debug_level_from_env",
    "P2POp", "batch_isend_irecv",
]

# ---- names ---------------------------------------------------------------------------------


class ReduceOp:
    """How reductions combine the ranks' values (``torch.distributed.ReduceOp``).

    ``SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX`` for every dtype (bool: SUM and MAX are
    logical or, PRODUCT and MIN logical and, AVG is refused, as torch's NCCL backend does);
    ``BAND``, ``BOR``, ``BXOR`` for integer and bool tensors on MPI. Integer AVG is the
    dtype's (wrapping) sum divided by the group size, truncated toward zero, as NCCL's.

    Example:
        >>> dist.all_reduce(t, op=dist.ReduceOp.MAX)
    """

    __slots__ = ("name", "value")
    SUM: ReduceOp
    AVG: ReduceOp
    PRODUCT: ReduceOp
    MIN: ReduceOp
    MAX: ReduceOp
    BAND: ReduceOp
    BOR: ReduceOp
    BXOR: ReduceOp
    RedOpType: type

    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {self.value}>"

    def __reduce__(self):
        return (getattr, (ReduceOp, self.name))


for _i, _n in enumerate(("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR")):
    setattr(ReduceOp, _n, ReduceOp(_n, _i))
ReduceOp.RedOpType = ReduceOp


class Backend(str):
    """A backend name, validated and lower-cased: ``'mpi'``, ``'nccl'`` or a per-device
    ``'cpu:mpi,cuda:nccl'`` (``torch.distributed.Backend``)."""

    UNDEFINED = "undefined"
    MPI = "mpi"
    NCCL = "nccl"
    GLOO = "gloo"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        value = name.lower().replace(" ", "")
        _device_backends(value)  # raises for what gpuarr cannot run
        return super().__new__(cls, value)


def _device_backends(name: str) -> dict[str, str]:
    """{'cpu': ..., 'cuda': ...} for a backend string."""
    if name == "mpi":
        return {"cpu": "mpi", "cuda": "mpi"}
    if name == "nccl":
        return {"cuda": "nccl"}
    if name == "gloo":
        raise ValueError("gpuarr.distributed has no Gloo backend: use backend='mpi' (CPU and "
                         "CUDA tensors over MPI) or 'cpu:mpi,cuda:nccl'")
    out = {}
    for part in name.split(","):
        typ, sep, bk = part.partition(":")
        if not sep or typ not in ("cpu", "cuda") or bk not in ("mpi", "nccl") or typ in out:
            raise ValueError(f"Invalid backend: '{name}' (use 'mpi', 'nccl' or a "
                             "'cpu:mpi,cuda:nccl' device list)")
        if typ == "cpu" and bk == "nccl":
            raise ValueError("NCCL moves CUDA tensors only: use 'cpu:mpi,cuda:nccl'")
        out[typ] = bk
    return out


class DebugLevel:
    """``OFF``, ``INFO`` or ``DETAIL`` (``TORCH_DISTRIBUTED_DEBUG`` or
    ``GPUARR_DISTRIBUTED_DEBUG``). At ``DETAIL`` every collective first gathers each rank's
    operation, shapes, dtype, device and root, and raises a RuntimeError naming the ranks that
    differ, on every rank, instead of letting MPI or NCCL fail or hang."""

    OFF = "OFF"
    INFO = "INFO"
    DETAIL = "DETAIL"


_LEVELS = (DebugLevel.OFF, DebugLevel.INFO, DebugLevel.DETAIL)


def _level_from_env() -> str:
    for var in ("GPUARR_DISTRIBUTED_DEBUG", "TORCH_DISTRIBUTED_DEBUG"):
        v = os.environ.get(var)
        if v:
            if v.upper() not in _LEVELS:
                raise ValueError(f"{var}={v!r}: expected one of OFF, INFO, DETAIL")
            return v.upper()
    return DebugLevel.OFF


_debug = [_level_from_env()]


def get_debug_level() -> str:
    """The current :class:`DebugLevel`."""
    return _debug[0]


def set_debug_level(level: str) -> None:
    """Set the :class:`DebugLevel` (every rank must set the same one).

    Args:
        level: ``DebugLevel.OFF``, ``INFO`` or ``DETAIL`` (or the same strings).
    """
    lv = str(level).upper().rpartition(".")[2]
    if lv not in _LEVELS:
        raise ValueError(f"unknown debug level {level!r}: expected OFF, INFO or DETAIL")
    _debug[0] = lv


def set_debug_level_from_env() -> None:
    """Read the level from ``GPUARR_DISTRIBUTED_DEBUG`` or ``TORCH_DISTRIBUTED_DEBUG``."""
    _debug[0] = _level_from_env()


# ---- work handles ----------------------------------------------------------------------------


class Work:
    """The handle an ``async_op=True`` call returns (``torch.distributed.Work``).

    MPI work completes when :meth:`wait` (or a successful :meth:`is_completed`) finds its
    requests done; only then are the results in the output tensors. NCCL work is queued on the
    current CUDA stream, so later work on that stream sees the results; :meth:`is_completed`
    asks the GPU whether it has run, :meth:`wait` returns at once (``synchronize()`` waits).

    Example:
        >>> work = dist.all_reduce(t, async_op=True)
        >>> ...                      # overlap other work
        >>> work.wait()              # t holds the sum from here on
    """

    __slots__ = ("_reqs", "_after", "_keep", "_event", "_done", "_outputs", "_source",
                 "_status", "_group")

    def __init__(self, reqs=(), after=(), keep=(), event=None, outputs=(), group=None) -> None:
        self._reqs = list(reqs)
        self._after = list(after)
        self._keep = keep
        self._event = event
        self._done = not self._reqs
        self._outputs = list(outputs)
        self._source = None
        self._status = None
        self._group = group
        if self._done:
            self._finish()

    def _finish(self) -> None:
        self._done = True
        after, self._after = self._after, []
        for f in after:
            f()
        self._keep = None

    def is_completed(self) -> bool:
        """Whether the operation has finished (never blocks)."""
        if not self._done:
            if not _mpi.mpi().Request.Testall(self._reqs, self._statuses()):
                return False
            self._finish()
        ev = self._event
        return True if ev is None else bool(ev.done)

    def is_success(self) -> bool:
        """Whether it finished without error (errors raise in :meth:`wait`)."""
        return self.is_completed()

    def exception(self):
        """None: a failed collective raises (or ends the job) instead of storing an error."""
        return None

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        """Block until the operation is done; results are in the output tensors afterwards.

        Args:
            timeout: give up after this long with a RuntimeError (None: wait as long as it
                takes).

        Returns:
            True.
        """
        if self._done:
            return True
        MPI = _mpi.mpi()
        if timeout is None:
            MPI.Request.Waitall(self._reqs, self._statuses())
        else:
            deadline = time.monotonic() + timeout.total_seconds()
            while not MPI.Request.Testall(self._reqs, self._statuses()):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Work.wait: the operation did not finish within "
                                       f"{timeout}")
                time.sleep(0)
        self._finish()
        return True

    def synchronize(self) -> None:
        """Wait for the operation, on the GPU too."""
        self.wait()
        if self._event is not None:
            self._event.synchronize()

    def result(self) -> list:
        """The output tensors (after :meth:`wait`)."""
        self.wait()
        return list(self._outputs)

    def source_rank(self) -> int:
        """Global rank a ``recv``/``irecv`` from any source received from (after wait)."""
        self.wait()
        if self._source is None:
            raise RuntimeError("source_rank() is only available for receives from any source")
        return self._source

    def _statuses(self):
        return self._status  # a list of MPI.Status for receives, filled by Waitall/Testall


# ---- process groups --------------------------------------------------------------------------


class ProcessGroup:
    """A group of ranks with its own MPI communicator (and, lazily, NCCL communicators).

    Make them with :func:`init_process_group` (the default group, ``group.WORLD``) and
    :func:`new_group`; pass them as ``group=`` to collectives.

    Methods ``rank()`` (this process's rank in the group) and ``size()`` as torch's.
    """

    def __init__(self, comm, ranks: Sequence[int], backend: Backend, name: str,
                 timeout: datetime.timedelta) -> None:
        self._comm = comm
        self._ranks = list(ranks)
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()
        self._backend = backend
        self._devices = _device_backends(str(backend))
        self._nccl = None        # (backend, communicator) for the whole group
        self._pairs: dict = {}   # (lo, hi) group ranks -> NCCL communicator for send/recv
        self._seq = 0
        self.group_name = name
        self.timeout = timeout
        self._destroyed = False

    def rank(self) -> int:
        """This process's rank in the group."""
        return self._rank

    def size(self) -> int:
        """Number of ranks in the group."""
        return self._size

    def name(self) -> str:
        """The backend's name."""
        return str(self._backend)

    def __repr__(self) -> str:
        return (f"<gpuarr.distributed.ProcessGroup {self.group_name!r} backend={self._backend} "
                f"ranks={self._ranks}>")

    # -- rank translation
    def _group_rank(self, global_rank: int, what: str) -> int:
        try:
            return self._ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"{what}: global rank {global_rank} is not part of group "
                             f"{self.group_name!r} (ranks {self._ranks})") from None

    def _engine(self, dev: _device) -> str:
        eng = self._devices.get(dev.type)
        if eng is None:
            raise RuntimeError(f"No backend type associated with device type {dev.type} "
                               f"(this group's backend is '{self._backend}'; use "
                               "'cpu:mpi,cuda:nccl' for both)")
        return eng

    def _free(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        for c in [self._nccl[1]] if self._nccl else []:
            c.destroy()
        for c in self._pairs.values():
            c.destroy()
        self._nccl, self._pairs = None, {}
        MPI = _mpi.mpi()
        if self._comm != MPI.COMM_NULL:
            self._comm.Free()


class _WorldMeta(type):
    @property
    def WORLD(cls):  # noqa: N802 (torch's name)
        return _state.default

    @property
    def NON_GROUP_MEMBER(cls):  # noqa: N802
        return _NON_MEMBER


_NON_MEMBER = -100


class group(metaclass=_WorldMeta):  # noqa: N801 (torch's name)
    """``group.WORLD``: the default process group (None before :func:`init_process_group`)."""


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD`` (the default group) and ``GroupMember.NON_GROUP_MEMBER``
    (what :func:`new_group` returns on ranks outside the new group)."""


class _State:
    def __init__(self) -> None:
        self.default: ProcessGroup | None = None
        self.groups: list[ProcessGroup] = []
        self.counter = 0


_state = _State()


# ---- setup and queries -------------------------------------------------------------------------


def is_available() -> bool:
    """Whether gpuarr.distributed can run here (mpi4py is installed)."""
    return _mpi.available()


def is_mpi_available() -> bool:
    """Whether the MPI backend is available (mpi4py is installed)."""
    return _mpi.available()


def is_nccl_available() -> bool:
    """Whether the NCCL backend is available: CUDA is usable and CuPy loads NCCL."""
    if not cuda.is_available():
        return False
    return backend_for("cuda").nccl_available()


def is_gloo_available() -> bool:
    """False: gpuarr has no Gloo backend (use MPI)."""
    return False


def is_torchelastic_launched() -> bool:
    """False: gpuarr's processes are started by ``mpirun``, not torchelastic."""
    return False


def is_initialized() -> bool:
    """Whether the default process group exists."""
    return _state.default is not None


class _NotInitializedError(ValueError, RuntimeError):
    """torch 2.13 raises ValueError when no process group exists; earlier torch (and
    earlier gpuarr) raised RuntimeError, which code may still catch."""


def _default() -> ProcessGroup:
    pg = _state.default
    if pg is None:
        raise _NotInitializedError("Default process group has not been initialized, please "
                                   "make sure to call init_process_group.")
    return pg


def _resolve(group) -> ProcessGroup | None:
    """The ProcessGroup for ``group`` (None: this rank is not a member)."""
    if group is None:
        return _default()
    if isinstance(group, int) and group == _NON_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup (from new_group), got "
                        f"{type(group).__name__}")
    if group._destroyed:
        raise RuntimeError(f"process group {group.group_name!r} was destroyed")
    _default()
    return group


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the default process group of the processes ``mpirun`` started.

    MPI assigns ranks and the world size; the arguments torch takes are accepted and checked
    against it. From here on an uncaught exception on any rank ends every rank (MPI_Abort), so
    that a failure never leaves the others waiting in a collective.

    Args:
        backend: ``'mpi'`` (CPU tensors; CUDA tensors through host memory unless MPI is
            CUDA-aware), ``'nccl'`` (CUDA tensors only), ``'cpu:mpi,cuda:nccl'`` (both), or
            None: ``'cpu:mpi,cuda:nccl'`` where NCCL is available, else ``'mpi'``.
        init_method: None, ``'env://'`` (``WORLD_SIZE``/``RANK`` when set must match MPI's),
            or a ``tcp://``/``file://`` URL (accepted; MPI does the rendezvous).
        timeout: a ``datetime.timedelta`` kept as the group's ``timeout`` (MPI collectives do
            not time out: failures end the job instead).
        world_size: -1, or the number of processes (must match the MPI launch).
        rank: -1, or this process's rank (must match MPI's).
        store: must be None (MPI is the rendezvous).
        group_name: the default group's name.
        pg_options: accepted and ignored.
        device_id: a CUDA device (index, ``'cuda:N'`` or ``gpuarr.device``) this rank uses: it
            becomes the current device and the NCCL communicator is created on it now.

    Example:
        >>> # mpirun -n 2 python train.py
        >>> import gpuarr.distributed as dist
        >>> dist.init_process_group("mpi")
        >>> dist.get_rank(), dist.get_world_size()
        (0, 2)
    """
    if _state.default is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if timeout is None:
        timeout = datetime.timedelta(minutes=30)
    elif not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{type(timeout).__name__}")
    if store is not None:
        raise ValueError("store= is not supported: MPI starts and connects the processes "
                         "(launch with mpirun)")
    if backend is None:
        backend = "cpu:mpi,cuda:nccl" if is_nccl_available() else "mpi"
    be = Backend(backend)
    if "nccl" in _device_backends(str(be)).values() and not is_nccl_available():
        why = cuda.unavailable_reason() or "CuPy could not load NCCL (libnccl.so.2)"
        raise RuntimeError(f"backend '{be}' needs NCCL, which is not available here: {why}. "
                           "Install `gpuarr[cuda12]` (it brings nvidia-nccl-cu12) on a CUDA "
                           "machine, or use backend='mpi'")
    if any(os.environ.get(v) for v in ("GPUARR_DISTRIBUTED_DEBUG", "TORCH_DISTRIBUTED_DEBUG")):
        set_debug_level_from_env()  # the environment, when it says something, wins
    MPI = _mpi.mpi()
    world = MPI.COMM_WORLD
    n, me = world.Get_size(), world.Get_rank()
    if init_method is not None:
        if not isinstance(init_method, str) or init_method.partition("://")[0] not in (
                "env", "tcp", "file", "mpi"):
            raise ValueError(f"init_method={init_method!r}: expected None, 'env://', a "
                             "tcp:// or file:// URL")
        if init_method.startswith("env://"):
            for var, want in (("WORLD_SIZE", n), ("RANK", me)):
                v = os.environ.get(var)
                if v is not None and v != str(want):
                    raise ValueError(f"init_method='env://': {var}={v} but MPI says {want}")
    for arg, got, want in (("world_size", world_size, n), ("rank", rank, me)):
        if not isinstance(got, int) or (got != -1 and got != want):
            raise ValueError(f"{arg}={got!r} does not match the MPI launch ({arg} {want} of "
                             f"{n} processes started by mpirun); pass -1 or {want}")
    if device_id is not None:
        dev = _device(device_id) if not isinstance(device_id, int) else _device("cuda",
                                                                                device_id)
        if dev.type != "cuda":
            raise ValueError(f"device_id must be a CUDA device, got {dev}")
        cuda.set_device(dev.index if dev.index is not None else cuda.current_device())
    _state.counter += 1
    pg = ProcessGroup(world.Dup(), range(n), be, group_name or "default_pg", timeout)
    _state.default = pg
    _state.groups = [pg]
    if n > 1:
        _mpi.install_abort_hook()
    if device_id is not None and pg._devices.get("cuda") == "nccl":
        _nccl_comm(pg, backend_for("cuda"), cuda.current_device())


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free a group's communicators; with no argument, every group and the default one (every
    rank must call it; :func:`init_process_group` may be called again afterwards).

    Args:
        group: the group to destroy (None: all of them).
    """
    if group is None:
        for pg in _state.groups:
            pg._free()
        _state.groups = []
        _state.default = None
        _mpi.remove_abort_hook()
        return
    if isinstance(group, int) and group == _NON_MEMBER:
        return
    group._free()
    if group in _state.groups:
        _state.groups.remove(group)
    if group is _state.default:
        _state.default = None
        _mpi.remove_abort_hook()


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (the default group when None); -1 outside it."""
    pg = _resolve(group)
    return -1 if pg is None else pg._rank


def get_world_size(group: ProcessGroup | None = None) -> int:
    """Number of ranks in ``group`` (the default group when None); -1 outside it."""
    pg = _resolve(group)
    return -1 if pg is None else pg._size


def get_backend(group: ProcessGroup | None = None) -> Backend:
    """The backend of ``group`` (the default group when None), e.g. ``'mpi'``."""
    pg = _resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return pg._backend


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    """The global ranks of ``group``'s members, in group-rank order."""
    pg = _resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return list(pg._ranks)


def get_global_rank(group: ProcessGroup | None, group_rank: int) -> int:
    """The global rank of ``group_rank`` in ``group``."""
    ranks = get_process_group_ranks(group)
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group (size {len(ranks)})")
    return ranks[group_rank]


def get_group_rank(group: ProcessGroup | None, global_rank: int) -> int:
    """The rank in ``group`` of ``global_rank``."""
    pg = _resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return pg._group_rank(global_rank, "get_group_rank")


def new_group(ranks: Sequence[int] | None = None, timeout: datetime.timedelta | None = None,
              backend: str | None = None, pg_options=None,
              use_local_synchronization: bool = False, group_desc: str | None = None,
              device_id=None):
    """A process group of some ranks, with its own MPI (and NCCL) communicators.

    Every rank of the default group must call it, with the same ``ranks`` (unless
    ``use_local_synchronization=True``: then only the members call it).

    Args:
        ranks: global ranks of the members (None: all); group ranks follow their sorted order.
        timeout: kept as the group's ``timeout``.
        backend: None (the default group's backend) or a backend string.
        pg_options: accepted and ignored.
        use_local_synchronization: only the members call ``new_group``.
        group_desc: the group's name.
        device_id: accepted (NCCL communicators are made on first use).

    Returns:
        The :class:`ProcessGroup` on members; ``GroupMember.NON_GROUP_MEMBER`` elsewhere
        (collectives given it return at once).

    Example:
        >>> evens = dist.new_group([0, 2])
        >>> if dist.get_rank() % 2 == 0:
        ...     dist.all_reduce(t, group=evens)
    """
    world = _default()
    n = world._size
    if ranks is None:
        ranks = list(range(n))
    ranks = [int(r) for r in ranks]
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: duplicate ranks in {ranks}")
    bad = [r for r in ranks if not 0 <= r < n]
    if bad:
        raise ValueError(f"new_group: ranks {bad} are outside the world of {n} ranks")
    ranks = sorted(ranks)
    be = world._backend if backend is None else Backend(backend)
    MPI = _mpi.mpi()
    me = world._rank
    if use_local_synchronization:
        if me not in ranks:
            return _NON_MEMBER
        # only the members get here, so the tag comes from what they share: the ranks
        key = zlib.crc32(",".join(map(str, ranks)).encode())
        name = group_desc or f"group_local_{key:08x}"
        comm = world._comm.Create_group(world._comm.Get_group().Incl(ranks),
                                        1000 + key % 30000)
    else:
        _state.counter += 1
        name = group_desc or f"group_{_state.counter}"
        comm = world._comm.Split(0 if me in ranks else MPI.UNDEFINED,
                                 ranks.index(me) if me in ranks else 0)
        if comm == MPI.COMM_NULL:
            return _NON_MEMBER
    pg = ProcessGroup(comm, ranks, be, name, timeout or world.timeout)
    _state.groups.append(pg)
    return pg


# ---- checks ------------------------------------------------------------------------------------

_DT_CODES = {np.dtype(d): i for i, d in enumerate(
    (np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
     np.float64, np.uint16, np.uint32, np.uint64))}
_DT_NAMES = {i: d.name for d, i in _DT_CODES.items()}
_OPS = ("all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
        "reduce_scatter_tensor", "reduce", "gather", "scatter", "barrier", "reduce_scatter",
        "all_to_all", "all_to_all_single")
_FP = 16  # fingerprint length (int64s)


def _tensor(t, name: str = "tensor") -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"gpuarr.Tensor but got {type(t)} instead.")
    if not t._data.flags.c_contiguous:
        raise ValueError("Tensors must be contiguous")
    return t


def _tensor_list(ts, name: str) -> list[Tensor]:
    if not isinstance(ts, (list, tuple)):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[gpuarr.Tensor] but got {type(ts)} instead.")
    return [_tensor(t, name) for t in ts]


def _same_device(op: str, tensors) -> _device:
    dev = tensors[0]._device
    for t in tensors[1:]:
        if t._device is not dev:
            raise ValueError(f"{op}: all tensors must be on one device, got {dev} and "
                             f"{t._device}")
    return dev


def _check(pg: ProcessGroup, op: str, t: Tensor | None, *, shape=None, root: int = -1,
           red: ReduceOp | None = None, extra: int = 0) -> None:
    """DETAIL debug mode: gather every rank's fingerprint of this call, raise on a mismatch."""
    pg._seq += 1
    if _debug[0] != DebugLevel.DETAIL:
        return
    fp = np.zeros(_FP, np.int64)
    shp = tuple(shape if shape is not None else (t.shape if t is not None else ()))
    fp[0] = _OPS.index(op)
    fp[1] = pg._seq
    fp[2] = root
    fp[3] = -1 if red is None else red.value
    fp[4] = -1 if t is None else (0 if t._device.type == "cpu" else 1)
    fp[5] = -1 if t is None else _DT_CODES[t._data.dtype]
    fp[6] = extra
    fp[7] = len(shp)
    if len(shp) <= _FP - 8:
        fp[8:8 + len(shp)] = shp
    else:
        fp[8] = hash(shp)
    allfp = np.empty((pg._size, _FP), np.int64)
    pg._comm.Allgather(fp, allfp)
    if (allfp == allfp[0]).all():
        return
    lines = [f"  rank {pg._ranks[r]}: {_describe(allfp[r])}" for r in range(pg._size)]
    raise RuntimeError(
        f"{op}: the ranks of group {pg.group_name!r} called collectives that do not match "
        f"(found by the {get_debug_level()} debug check, TORCH_DISTRIBUTED_DEBUG / "
        "GPUARR_DISTRIBUTED_DEBUG):\n" + "\n".join(lines) +
        "\nEvery rank must call the same collectives in the same order, with tensors of the "
        "same shape and dtype.")


def _describe(fp) -> str:
    nd = int(fp[7])
    shape = tuple(int(s) for s in fp[8:8 + nd]) if nd <= _FP - 8 else f"<{nd} dims>"
    s = f"#{int(fp[1])} {_OPS[int(fp[0])]}"
    if fp[5] >= 0:
        dev = "cpu" if fp[4] == 0 else "cuda"
        s += f"(shape={shape}, dtype={_DT_NAMES[int(fp[5])]}, device={dev}"
    else:
        s += "("
    if fp[2] >= 0:
        s += f", root={int(fp[2])}"
    if fp[3] >= 0:
        s += f", op={('SUM', 'AVG', 'PRODUCT', 'MIN', 'MAX', 'BAND', 'BOR', 'BXOR')[fp[3]]}"
    if fp[6]:
        s += f", list of {int(fp[6])}"
    return s.replace("(, ", "(") + ")"


def _bump(*tensors) -> None:
    for t in tensors:
        t._bump_version()


# ---- reductions: what each engine runs for (op, dtype) ----------------------------------------

_INT16 = (np.dtype(np.int16), np.dtype(np.uint16))
_F16 = np.dtype(np.float16)


def _plan(red: ReduceOp, dt: np.dtype, nccl: bool):
    """(view dtype, staging dtype, engine op, divide afterwards) for reducing ``dt``."""
    if not isinstance(red, ReduceOp):
        raise TypeError(f"op must be a ReduceOp (e.g. ReduceOp.SUM), got {red!r}")
    name = red.name
    if name in ("BAND", "BOR", "BXOR"):
        if nccl:
            raise ValueError(f"Cannot use ReduceOp.{name} with NCCL")
        if dt.kind == "f":
            raise ValueError(f"Cannot use ReduceOp.{name} with {dt} tensors: bitwise "
                             "reductions need integer or bool tensors")
    if dt.kind == "b":
        if name == "AVG":
            raise TypeError("Cannot use ReduceOp.AVG with boolean inputs")
        op = {"SUM": "max", "MAX": "max", "BOR": "bor", "PRODUCT": "min", "MIN": "min",
              "BAND": "band", "BXOR": "bxor"}[name]
        if nccl:
            op = {"bor": "max", "band": "min"}.get(op, op)
        return np.dtype(np.uint8), None, op, False
    op = {"SUM": "sum", "AVG": "sum", "PRODUCT": "prod", "MIN": "min", "MAX": "max",
          "BAND": "band", "BOR": "bor", "BXOR": "bxor"}[name]
    div = name == "AVG"
    stage = None
    if nccl:
        if dt in _INT16:
            stage = np.dtype(np.int32)
        elif div and dt.kind == "f":
            op, div = "avg", False
    elif dt == _F16 and not _mpi.float16_native():
        stage = np.dtype(np.float32)
    return None, stage, op, div


_FAST: dict = {}


def _fast_plan(red: ReduceOp, dt: np.dtype):
    """(IN_PLACE, MPI datatype, MPI op) when MPI reduces a ``dt`` array in place with ``red``
    as it is (no view, staging or division), else False. Cached per (op, dtype); float16
    takes the general path, which reads ``GPUARR_MPI_FLOAT16`` every call."""
    view, stage, op, div = _plan(red, dt, nccl=False)
    if view is not None or stage is not None or div or dt == _F16:
        return False
    MPI = _mpi.mpi()
    return MPI.IN_PLACE, _mpi.datatype(dt), _mpi.op(op)


def _divide(bk, arr, n: int) -> None:
    """``arr /= n`` in place in arr's dtype: true division for floats, integer division
    truncated toward zero for integers."""
    xp = bk.xp
    d = bk.scalar(arr.dtype, n)
    if arr.dtype.kind == "f":
        xp.true_divide(arr, d, out=arr)
        return
    if arr.dtype.kind == "i":
        fix = (xp.remainder(arr, d) != 0) & (arr < 0)
        xp.floor_divide(arr, d, out=arr)
        arr += fix.astype(arr.dtype)
        return
    xp.floor_divide(arr, d, out=arr)


def _flat(a):
    return a.reshape(-1)


def _bytes(a):
    return a.reshape(-1).view(np.uint8)


# ---- the MPI engine -----------------------------------------------------------------------------


class _Call:
    """One collective in flight: MPI requests, host/staging buffers kept alive, and what runs
    when it completes (copies back into the caller's arrays, AVG's division, version bumps)."""

    __slots__ = ("reqs", "after", "keep", "async_op", "comm", "statuses")

    def __init__(self, comm, async_op: bool) -> None:
        self.comm, self.async_op = comm, async_op
        self.reqs, self.after, self.keep = [], [], []
        self.statuses = None

    def run(self, name: str, *args, **kwargs) -> None:
        """comm.<name>(...) blocking, or its nonblocking twin as a request when async."""
        if self.async_op:
            self.reqs.append(getattr(self.comm, _NONBLOCKING[name])(*args, **kwargs))
        else:
            getattr(self.comm, name)(*args, **kwargs)


_NONBLOCKING = {"Allreduce": "Iallreduce", "Bcast": "Ibcast", "Allgather": "Iallgather",
                "Allgatherv": "Iallgatherv", "Reduce_scatter_block": "Ireduce_scatter_block",
                "Reduce": "Ireduce", "Gather": "Igather", "Scatter": "Iscatter",
                "Barrier": "Ibarrier", "Send": "Isend", "Recv": "Irecv"}


class _MpiArrays:
    """Buffers MPI reads and writes for one call: the caller's arrays themselves when MPI can
    use them (NumPy arrays; CuPy arrays when MPI is CUDA-aware), else host copies that are
    copied back when the call completes."""

    def __init__(self, call: _Call, bk, index: int | None) -> None:
        self.call, self.bk, self.index = call, bk, index
        self.direct = bk is NUMPY or _mpi.cuda_aware()
        if self.direct and bk is not NUMPY:
            bk.synchronize(index)  # MPI does not know CUDA streams

    def src(self, arr, dtype=None):
        """A buffer holding ``arr``'s values (in ``dtype`` when given)."""
        buf = arr if self.direct else self.bk.to_host(arr)
        if dtype is not None and buf.dtype != dtype:
            buf = buf.astype(dtype)
        self.call.keep.append(buf)
        return buf

    def dst(self, arr, dtype=None, *, init: bool = False):
        """A buffer MPI writes ``arr``'s new values into (holding its values first when
        ``init``); copied into ``arr`` at completion unless it is ``arr`` itself."""
        if self.direct and (dtype is None or dtype == arr.dtype):
            return arr
        if init:
            buf = self.src(arr, dtype)
            if buf is arr:
                buf = arr.copy()
        else:
            buf = self.temp(arr.shape, dtype or arr.dtype)
        self.call.keep.append(buf)
        self.call.after.append(lambda: self.copy(arr, buf))
        return buf

    def temp(self, shape, dtype):
        """A scratch buffer MPI can use."""
        if self.direct:
            return self.bk.empty(tuple(shape), dtype, self.index)
        return np.empty(tuple(shape), dtype)

    def copy(self, dst, src) -> None:
        """dst[...] = src, from a buffer of :meth:`temp`/:meth:`src`."""
        bk = self.bk
        if bk is NUMPY or bk.is_array(src):
            dst[...] = src.astype(dst.dtype, copy=False)
        else:
            dst[...] = bk.asarray(src.astype(dst.dtype, copy=False), index=bk.device_index(dst))


def _buf(a, dtype=None):
    """An mpi4py buffer spec: [array, MPI datatype]; raw bytes when ``dtype`` is None."""
    if dtype is None:
        return [_bytes(a), _mpi.mpi().BYTE]
    return [_flat(a), _mpi.datatype(np.dtype(dtype))]


# ---- the NCCL engine ---------------------------------------------------------------------------


def _nccl_comm(pg: ProcessGroup, bk, index: int):
    """The group's NCCL communicator on device ``index`` (made on first use: rank 0 makes the
    unique id, MPI broadcasts it, every rank joins)."""
    if pg._nccl is None:
        uid = bk.nccl_unique_id() if pg._rank == 0 else None
        uid = pg._comm.bcast(uid, root=0)
        pg._nccl = (index, bk.nccl_communicator(pg._size, uid, pg._rank, index))
    elif pg._nccl[0] != index:
        raise RuntimeError(f"this group's NCCL communicator lives on cuda:{pg._nccl[0]}, the "
                           f"tensor on cuda:{index}: use one CUDA device per process "
                           "(init_process_group(device_id=...) or gpuarr.cuda.set_device)")
    return pg._nccl[1]


def _nccl_pair(pg: ProcessGroup, bk, index: int, peer: int):
    """A two-rank NCCL communicator for send/recv between this rank and group rank ``peer``
    (torch's way: point-to-point calls involve only the two ranks). Returns (comm, peer's
    rank in it)."""
    lo, hi = sorted((pg._rank, peer))
    key = (lo, hi)
    comm = pg._pairs.get(key)
    if comm is None:
        tag = 32000
        if pg._rank == lo:
            uid = bk.nccl_unique_id()
            pg._comm.send(uid, dest=hi, tag=tag)
        else:
            uid = pg._comm.recv(source=lo, tag=tag)
        comm = pg._pairs[key] = bk.nccl_communicator(2, uid, 0 if pg._rank == lo else 1, index)
    return comm, (1 if peer == hi else 0)


def _nccl_work(bk, index, outputs, async_op, pg):
    if not async_op:
        return None
    return Work(event=bk.record_event(index), outputs=outputs, group=pg)


def _nccl_reduce(bk, comm, func: str, red: ReduceOp, inp, out, n: int, *, root=None,
                 writes: bool = True) -> None:
    """Run NCCL reduction ``func`` from array ``inp`` into ``out`` (the same array for in
    place) as torch's NCCL backend would: bool as uint8 with max/min, int16/uint16 through
    int32, float AVG natively, integer AVG as the sum divided afterwards. ``writes``: this rank
    receives the result."""
    view, stage, op, div = _plan(red, inp.dtype, nccl=True)
    if view is not None:
        ib = _flat(inp).view(view)
        ob = ib if out is inp else _flat(out).view(view)
        post = None
    elif stage is not None:
        ib = inp.astype(stage)
        ob = ib if out is inp else bk.empty(out.shape, stage, bk.device_index(out))

        def post():
            out[...] = ob.astype(out.dtype)
    else:
        ib, ob, post = inp, out, None
    bk.nccl_call(comm, func, ib, ob, op=op, root=root)
    if writes:
        if post is not None:
            post()
        if div:
            _divide(bk, out, n)


# ---- collectives --------------------------------------------------------------------------------


def _start(op: str, group, tensors):
    """(process group or None for non-members, device, backend, engine name)."""
    pg = _resolve(group)
    if pg is None:
        return None, None, None, None
    dev = _same_device(op, tensors)
    bk = backend_for(dev)
    eng = pg._engine(dev)
    bk.activate(dev.index)  # staging copies and NCCL run on the tensors' device
    return pg, dev, bk, eng


def _finish_mpi(call: _Call, outputs, async_op: bool, pg):
    if async_op:
        return Work(call.reqs, call.after, call.keep, outputs=outputs, group=pg)
    for f in call.after:
        f()
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Reduce ``tensor`` across the group; every rank gets the result in ``tensor``.

    Args:
        tensor: input and output (in place); contiguous, any dtype, CPU or CUDA.
        op: a :class:`ReduceOp` (SUM by default).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Example:
        >>> t = gpuarr.tensor([float(dist.get_rank() + 1)])
        >>> dist.all_reduce(t)             # with 2 ranks: tensor([3.])
    """
    t = _tensor(tensor)
    pg, dev, bk, eng = _start("all_reduce", group, [t])
    if pg is None:
        return None
    _check(pg, "all_reduce", t, red=op)
    _bump(t)
    arr = t._data
    if eng == "nccl":
        _nccl_reduce(bk, _nccl_comm(pg, bk, dev.index), "allReduce", op, arr, arr, pg._size)
        return _nccl_work(bk, dev.index, [t], async_op, pg)
    if bk is NUMPY and not async_op:
        fast = _FAST.get((op, arr.dtype))
        if fast is None:
            fast = _FAST[(op, arr.dtype)] = _fast_plan(op, arr.dtype)
        if fast:  # a NumPy array MPI reduces as it is: one call, no copies
            pg._comm.Allreduce(fast[0], [arr, fast[1]], fast[2])
            return None
    view, stage, mop, div = _plan(op, arr.dtype, nccl=False)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    if view is not None:
        b = io.dst(arr, init=True)
        call.run("Allreduce", _mpi.mpi().IN_PLACE, _buf(_flat(b).view(view), view), _mpi.op(mop))
    else:
        b = io.dst(arr, stage, init=True)
        call.run("Allreduce", _mpi.mpi().IN_PLACE, _buf(b, b.dtype), _mpi.op(mop))
    if div:
        call.after.append(lambda: _divide(bk, arr, pg._size))
    return _finish_mpi(call, [t], async_op, pg)


def broadcast(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
              async_op: bool = False, group_src: int | None = None) -> Work | None:
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every rank of the group.

    Args:
        tensor: the data on ``src``, the output elsewhere (same shape and dtype everywhere).
        src: the source's global rank (or give ``group_src``, its rank in ``group``).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.
        group_src: the source's rank within ``group``.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Example:
        >>> dist.broadcast(params, src=0)
    """
    t = _tensor(tensor)
    pg, dev, bk, eng = _start("broadcast", group, [t])
    if pg is None:
        return None
    root = _root(pg, src, group_src, "broadcast", "src")
    _check(pg, "broadcast", t, root=root)
    if pg._rank != root:
        _bump(t)
    arr = t._data
    if eng == "nccl":
        buf = _bytes(arr)  # moved as bytes: every dtype
        bk.nccl_call(_nccl_comm(pg, bk, dev.index), "broadcast", buf, buf, root=root)
        return _nccl_work(bk, dev.index, [t], async_op, pg)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    b = io.src(arr) if pg._rank == root else io.dst(arr)
    call.run("Bcast", _buf(b), root=root)
    return _finish_mpi(call, [t], async_op, pg)


def _root(pg: ProcessGroup, rank: int | None, group_rank: int | None, op: str,
          arg: str) -> int:
    if (rank is None) == (group_rank is None):
        if rank is None:
            if arg in ("src", "dst"):
                return 0
        raise ValueError(f"{op}: give either {arg} or group_{arg}, not both")
    if group_rank is not None:
        if not 0 <= group_rank < pg._size:
            raise ValueError(f"{op}: group_{arg}={group_rank} is outside the group of "
                             f"{pg._size} ranks")
        return group_rank
    return pg._group_rank(rank, f"{op}: {arg}")


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor,
                           group: ProcessGroup | None = None,
                           async_op: bool = False) -> Work | None:
    """Gather every rank's ``input_tensor`` into ``output_tensor``, in rank order.

    Args:
        output_tensor: ``world_size`` times the input's size: shape ``(world_size * n, ...)``
            (concatenated) or ``(world_size, *input.shape)`` (stacked).
        input_tensor: this rank's contribution (same shape and dtype on every rank).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Example:
        >>> out = gpuarr.empty(2 * x.numel())
        >>> dist.all_gather_into_tensor(out, x)
    """
    out, inp = _tensor(output_tensor, "output_tensor"), _tensor(input_tensor, "input_tensor")
    pg, dev, bk, eng = _start("all_gather_into_tensor", group, [out, inp])
    if pg is None:
        return None
    _sizes_match(out, inp, pg._size, "all_gather_into_tensor", "output", "input")
    _check(pg, "all_gather_into_tensor", inp, extra=out.numel())
    _bump(out)
    if eng == "nccl":
        bk.nccl_call(_nccl_comm(pg, bk, dev.index), "allGather", _bytes(inp._data),
                     _bytes(out._data))
        return _nccl_work(bk, dev.index, [out], async_op, pg)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    call.run("Allgather", _buf(io.src(inp._data)), _buf(io.dst(out._data)))
    return _finish_mpi(call, [out], async_op, pg)


def _sizes_match(big: Tensor, small: Tensor, n: int, op: str, bname: str, sname: str) -> None:
    if big._data.dtype != small._data.dtype:
        raise TypeError(f"{op}: {bname} tensor must have the same type as {sname} tensor "
                        f"({big.dtype} vs {small.dtype})")
    if big.numel() != n * small.numel():
        raise ValueError(f"{op}: {bname} tensor size must be equal to world_size times "
                         f"{sname} tensor size ({big.numel()} != {n} x {small.numel()})")


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Gather every rank's ``tensor`` into ``tensor_list`` (entry ``i`` from group rank i).

    Args:
        tensor_list: ``world_size`` output tensors of the input's dtype; entry ``i`` has the
            shape of rank ``i``'s input (ranks may contribute different sizes).
        tensor: this rank's contribution.
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Example:
        >>> outs = [gpuarr.empty_like(x) for _ in range(dist.get_world_size())]
        >>> dist.all_gather(outs, x)
    """
    inp = _tensor(tensor)
    outs = _tensor_list(tensor_list, "tensor_list")
    pg, dev, bk, eng = _start("all_gather", group, [inp, *outs])
    if pg is None:
        return None
    n = pg._size
    if len(outs) != n:
        raise ValueError(f"all_gather: tensor_list has {len(outs)} tensors, the group "
                         f"{n} ranks")
    for o in outs:
        if o._data.dtype != inp._data.dtype:
            raise TypeError(f"all_gather: output tensors must have the input's dtype "
                            f"({o.dtype} vs {inp.dtype})")
    if outs[pg._rank].numel() != inp.numel():
        raise ValueError(f"all_gather: tensor_list[{pg._rank}] has {outs[pg._rank].numel()} "
                         f"elements, this rank's input {inp.numel()}")
    counts = [o._data.nbytes for o in outs]
    _check(pg, "all_gather", inp, shape=(hash(tuple(tuple(o.shape) for o in outs)),),
           extra=n)
    _bump(*outs)
    even = len(set(counts)) == 1
    if eng == "nccl":
        comm = _nccl_comm(pg, bk, dev.index)
        if even:
            tmp = bk.empty((n, counts[0]), np.uint8, dev.index)
            bk.nccl_call(comm, "allGather", _bytes(inp._data), _flat(tmp))
            for i, o in enumerate(outs):
                _bytes(o._data)[...] = tmp[i]
        else:
            with bk.nccl_group():
                for r, o in enumerate(outs):
                    buf = _bytes(o._data)
                    src = _bytes(inp._data) if r == pg._rank else buf
                    bk.nccl_call(comm, "broadcast", src, buf, root=r)
        return _nccl_work(bk, dev.index, outs, async_op, pg)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    MPI = _mpi.mpi()
    src = io.src(inp._data)
    tmp = io.temp((sum(counts),), np.uint8)
    call.keep.append(tmp)
    if even:
        call.run("Allgather", _buf(src), [tmp, MPI.BYTE])
    else:
        displs = np.concatenate(([0], np.cumsum(counts)[:-1])).tolist()
        call.run("Allgatherv", _buf(src), [tmp, counts, displs, MPI.BYTE])

    def scatter_out():
        off = 0
        for o, c in zip(outs, counts):
            io.copy(_bytes(o._data), tmp[off:off + c])
            off += c

    call.after.append(scatter_out)
    return _finish_mpi(call, outs, async_op, pg)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group: ProcessGroup | None = None,
                          async_op: bool = False) -> Work | None:
    """Reduce ``input`` across the group and give rank ``i`` the ``i``-th chunk in ``output``.

    Args:
        output: this rank's chunk of the result (``input.numel() / world_size`` elements).
        input: ``world_size`` chunks, concatenated or stacked along dim 0.
        op: a :class:`ReduceOp` (SUM by default).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Example:
        >>> dist.reduce_scatter_tensor(shard, full_grad)   # shard = my slice of the sum
    """
    out, inp = _tensor(output, "output"), _tensor(input, "input")
    pg, dev, bk, eng = _start("reduce_scatter_tensor", group, [out, inp])
    if pg is None:
        return None
    _sizes_match(inp, out, pg._size, "reduce_scatter_tensor", "input", "output")
    _check(pg, "reduce_scatter_tensor", inp, red=op, extra=out.numel())
    _bump(out)
    if eng == "nccl":
        _nccl_reduce(bk, _nccl_comm(pg, bk, dev.index), "reduceScatter", op, inp._data,
                     out._data, pg._size)
        return _nccl_work(bk, dev.index, [out], async_op, pg)
    view, stage, mop, div = _plan(op, inp._data.dtype, nccl=False)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    if view is not None:
        s, d = io.src(inp._data), io.dst(out._data)
        call.run("Reduce_scatter_block", _buf(_flat(s).view(view), view),
                 _buf(_flat(d).view(view), view), _mpi.op(mop))
    else:
        s, d = io.src(inp._data, stage), io.dst(out._data, stage)
        call.run("Reduce_scatter_block", _buf(s, s.dtype), _buf(d, d.dtype), _mpi.op(mop))
    if div:
        call.after.append(lambda: _divide(bk, out._data, pg._size))
    return _finish_mpi(call, [out], async_op, pg)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """:func:`reduce_scatter_tensor` with the input as a list of ``world_size`` tensors of
    ``output``'s shape.

    Args:
        output: this rank's reduced chunk.
        input_list: the chunks, one per rank.
        op: a :class:`ReduceOp` (SUM by default).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.

    Returns:
        A :class:`Work` when ``async_op``, else None.
    """
    ins = _tensor_list(input_list, "input_list")
    out = _tensor(output, "output")
    pg = _resolve(group)
    if pg is None:
        return None
    if len(ins) != pg._size or any(i.shape != out.shape for i in ins):
        raise ValueError(f"reduce_scatter: input_list must hold {pg._size} tensors of the "
                         f"output's shape {tuple(out.shape)}")
    flat = cat([i.reshape(-1) for i in ins])
    return reduce_scatter_tensor(out, flat, op=op, group=group, async_op=async_op)


def reduce(tensor: Tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM,
           group: ProcessGroup | None = None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """Reduce ``tensor`` across the group into ``tensor`` on rank ``dst`` only.

    Args:
        tensor: input everywhere, the result on ``dst`` (other ranks keep theirs).
        dst: the destination's global rank (or ``group_dst``).
        op: a :class:`ReduceOp` (SUM by default).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.
        group_dst: the destination's rank within ``group``.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Example:
        >>> dist.reduce(loss_sum, dst=0)
    """
    t = _tensor(tensor)
    pg, dev, bk, eng = _start("reduce", group, [t])
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "reduce", "dst")
    _check(pg, "reduce", t, root=root, red=op)
    me = pg._rank == root
    if me:
        _bump(t)
    arr = t._data
    if eng == "nccl":
        _nccl_reduce(bk, _nccl_comm(pg, bk, dev.index), "reduce", op, arr, arr, pg._size,
                     root=root, writes=me)
        return _nccl_work(bk, dev.index, [t], async_op, pg)
    view, stage, mop, div = _plan(op, arr.dtype, nccl=False)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    MPI = _mpi.mpi()
    if me:
        b = io.dst(arr, stage, init=True)
        spec = _buf(_flat(b).view(view), view) if view is not None else _buf(b, b.dtype)
        call.run("Reduce", MPI.IN_PLACE, spec, _mpi.op(mop), root=root)
        if div:
            call.after.append(lambda: _divide(bk, arr, pg._size))
    else:
        b = io.src(arr, stage)
        spec = _buf(_flat(b).view(view), view) if view is not None else _buf(b, b.dtype)
        call.run("Reduce", spec, None, _mpi.op(mop), root=root)
    return _finish_mpi(call, [t], async_op, pg)


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None,
           group: ProcessGroup | None = None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """Gather every rank's ``tensor`` into ``gather_list`` on rank ``dst``.

    Args:
        tensor: this rank's contribution (same shape and dtype everywhere).
        gather_list: on ``dst``, ``world_size`` tensors to fill; None elsewhere.
        dst: the destination's global rank (0 by default; or ``group_dst``).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.
        group_dst: the destination's rank within ``group``.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Example:
        >>> outs = [gpuarr.empty_like(x) for _ in range(2)] if dist.get_rank() == 0 else None
        >>> dist.gather(x, outs, dst=0)
    """
    t = _tensor(tensor)
    pg = _resolve(group)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "gather", "dst")
    outs = _root_list(pg, root, gather_list, t, "gather", "gather_list", "destination")
    _, dev, bk, eng = _start("gather", group, [t, *outs])
    _check(pg, "gather", t, root=root)
    _bump(*outs)
    n = pg._size
    if eng == "nccl":
        comm = _nccl_comm(pg, bk, dev.index)
        with bk.nccl_group():
            if pg._rank == root:
                for r, o in enumerate(outs):
                    if r != root:
                        bk.nccl_call(comm, "recv", None, _bytes(o._data), peer=r)
            else:
                bk.nccl_call(comm, "send", _bytes(t._data), None, peer=root)
        if pg._rank == root:
            _bytes(outs[root]._data)[...] = _bytes(t._data)
        return _nccl_work(bk, dev.index, outs, async_op, pg)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    src = io.src(t._data)
    if pg._rank == root:
        tmp = io.temp((n, t._data.nbytes), np.uint8)
        call.keep.append(tmp)
        call.run("Gather", _buf(src), [tmp, _mpi.mpi().BYTE], root=root)

        def scatter_out():
            for i, o in enumerate(outs):
                io.copy(_bytes(o._data), tmp[i])

        call.after.append(scatter_out)
    else:
        call.run("Gather", _buf(src), None, root=root)
    return _finish_mpi(call, outs, async_op, pg)


def _root_list(pg, root, lst, t, op, name, role) -> list[Tensor]:
    if pg._rank != root:
        if lst:
            raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")
        return []
    if lst is None:
        raise ValueError(f"{op}: ``{name}`` is required on the {role} rank")
    outs = _tensor_list(lst, name)
    if len(outs) != pg._size:
        raise ValueError(f"{op}: {name} has {len(outs)} tensors, the group {pg._size} ranks")
    for o in outs:
        if o._data.dtype != t._data.dtype or o.shape != t.shape:
            raise ValueError(f"{op}: every tensor in {name} must have the shape and dtype of "
                             f"``tensor`` ({tuple(t.shape)}, {t.dtype}); got "
                             f"{tuple(o.shape)}, {o.dtype}")
    return outs


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None,
            group: ProcessGroup | None = None, async_op: bool = False,
            group_src: int | None = None) -> Work | None:
    """Give rank ``i`` the tensor ``scatter_list[i]`` of rank ``src``, in ``tensor``.

    Args:
        tensor: the output on every rank.
        scatter_list: on ``src``, ``world_size`` tensors of ``tensor``'s shape and dtype; None
            elsewhere.
        src: the source's global rank (0 by default; or ``group_src``).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.
        group_src: the source's rank within ``group``.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Example:
        >>> dist.scatter(mine, chunks if dist.get_rank() == 0 else None, src=0)
    """
    t = _tensor(tensor)
    pg = _resolve(group)
    if pg is None:
        return None
    root = _root(pg, src, group_src, "scatter", "src")
    ins = _root_list(pg, root, scatter_list, t, "scatter", "scatter_list", "source")
    _, dev, bk, eng = _start("scatter", group, [t, *ins])
    _check(pg, "scatter", t, root=root)
    _bump(t)
    if eng == "nccl":
        comm = _nccl_comm(pg, bk, dev.index)
        with bk.nccl_group():
            if pg._rank == root:
                for r, i in enumerate(ins):
                    if r != root:
                        bk.nccl_call(comm, "send", _bytes(i._data), None, peer=r)
            else:
                bk.nccl_call(comm, "recv", None, _bytes(t._data), peer=root)
        if pg._rank == root:
            _bytes(t._data)[...] = _bytes(ins[root]._data)
        return _nccl_work(bk, dev.index, [t], async_op, pg)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    dstb = io.dst(t._data)
    if pg._rank == root:
        tmp = io.temp((pg._size, t._data.nbytes), np.uint8)
        for r, i in enumerate(ins):
            tmp[r] = io.src(_bytes(i._data))
        call.keep.append(tmp)
        call.run("Scatter", [tmp, _mpi.mpi().BYTE], _buf(dstb), root=root)
    else:
        call.run("Scatter", None, _buf(dstb), root=root)
    return _finish_mpi(call, [t], async_op, pg)


def barrier(group: ProcessGroup | None = None, async_op: bool = False,
            device_ids: list[int] | None = None) -> Work | None:
    """Wait until every rank of the group has reached this call (queued CUDA work of the
    group's NCCL device included).

    Args:
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.
        device_ids: accepted (torch's NCCL option); the group's device is synchronised.

    Returns:
        A :class:`Work` when ``async_op``, else None.
    """
    pg = _resolve(group)
    if pg is None:
        return None
    _check(pg, "barrier", None)
    if pg._nccl is not None:
        backend_for("cuda").synchronize(pg._nccl[0])
    call = _Call(pg._comm, async_op)
    call.run("Barrier")
    return _finish_mpi(call, [], async_op, pg)


# ---- point to point ------------------------------------------------------------------------


def _p2p(tensor, peer, group, group_peer, tag, op, arg):
    t = _tensor(tensor)
    pg, dev, bk, eng = _start(op, group, [t])
    if pg is None:
        return None, None, None, None, None, None
    if not isinstance(tag, int) or tag < 0:
        raise ValueError(f"{op}: tag must be a non-negative int, got {tag!r}")
    if peer is None and group_peer is None:
        if op in ("send", "isend"):
            raise ValueError(f"{op}: dst (or group_dst) is required")
        p = None
    else:
        p = _root(pg, peer, group_peer, op, arg)
        if p == pg._rank:
            raise ValueError(f"Invalid {arg} rank: {op} to or from itself "
                             f"(rank {pg._ranks[p]})")
    return t, pg, dev, bk, eng, p


def isend(tensor: Tensor, dst: int | None = None, group: ProcessGroup | None = None,
          tag: int = 0, group_dst: int | None = None) -> Work | None:
    """Send ``tensor`` to rank ``dst`` without waiting.

    Args:
        tensor: the data (keep it unchanged until the work completes).
        dst: the receiver's global rank (or ``group_dst``).
        group: the group (None: the default group).
        tag: matches the receiver's ``tag`` (MPI; NCCL ignores tags).
        group_dst: the receiver's rank within ``group``.

    Returns:
        A :class:`Work`.

    Example:
        >>> w = dist.isend(x, dst=1); ...; w.wait()
    """
    t, pg, dev, bk, eng, peer = _p2p(tensor, dst, group, group_dst, tag, "isend", "dst")
    if pg is None:
        return None
    return _send(t, pg, dev, bk, eng, peer, tag, True)


def send(tensor: Tensor, dst: int | None = None, group: ProcessGroup | None = None,
         tag: int = 0, group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` (returns once it may be reused).

    Args:
        tensor: the data.
        dst: the receiver's global rank (or ``group_dst``).
        group: the group (None: the default group).
        tag: matches the receiver's ``tag`` (MPI; NCCL ignores tags).
        group_dst: the receiver's rank within ``group``.

    Example:
        >>> if dist.get_rank() == 0:
        ...     dist.send(x, dst=1)
        ... else:
        ...     dist.recv(x, src=0)
    """
    t, pg, dev, bk, eng, peer = _p2p(tensor, dst, group, group_dst, tag, "send", "dst")
    if pg is not None:
        _send(t, pg, dev, bk, eng, peer, tag, False)


def _send(t, pg, dev, bk, eng, peer, tag, async_op):
    if eng == "nccl":
        comm, p = _nccl_pair(pg, bk, dev.index, peer)
        bk.nccl_call(comm, "send", _bytes(t._data), None, peer=p)
        return _nccl_work(bk, dev.index, [t], async_op, pg)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    call.run("Send", _buf(io.src(t._data)), dest=peer, tag=tag)
    return _finish_mpi(call, [t], async_op, pg)


def irecv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
          tag: int = 0, group_src: int | None = None) -> Work | None:
    """Receive into ``tensor`` from rank ``src`` (any rank when None) without waiting.

    Args:
        tensor: the output (shape and dtype of what is sent).
        src: the sender's global rank; None: any sender (MPI only; see
            :meth:`Work.source_rank`).
        group: the group (None: the default group).
        tag: matches the sender's ``tag``.
        group_src: the sender's rank within ``group``.

    Returns:
        A :class:`Work`.
    """
    t, pg, dev, bk, eng, peer = _p2p(tensor, src, group, group_src, tag, "irecv", "src")
    if pg is None:
        return None
    return _recv(t, pg, dev, bk, eng, peer, tag, True)


def recv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
         tag: int = 0, group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None).

    Args:
        tensor: the output (shape and dtype of what is sent).
        src: the sender's global rank; None: any sender (MPI only).
        group: the group (None: the default group).
        tag: matches the sender's ``tag``.
        group_src: the sender's rank within ``group``.

    Returns:
        The sender's global rank (-1 when this rank is not in ``group``).
    """
    t, pg, dev, bk, eng, peer = _p2p(tensor, src, group, group_src, tag, "recv", "src")
    if pg is None:
        return -1
    work = _recv(t, pg, dev, bk, eng, peer, tag, True)
    work.wait()
    return work._source if work._source is not None else pg._ranks[peer]


def _recv(t, pg, dev, bk, eng, peer, tag, async_op):
    _bump(t)
    if eng == "nccl":
        if peer is None:
            raise RuntimeError("recv from any source is not supported by NCCL: give src")
        comm, p = _nccl_pair(pg, bk, dev.index, peer)
        bk.nccl_call(comm, "recv", None, _bytes(t._data), peer=p)
        work = Work(event=bk.record_event(dev.index), outputs=[t], group=pg)
        work._source = pg._ranks[peer]
        return work
    MPI = _mpi.mpi()
    call = _Call(pg._comm, True)
    io = _MpiArrays(call, bk, dev.index)
    status = MPI.Status()
    call.run("Recv", _buf(io.dst(t._data)), source=MPI.ANY_SOURCE if peer is None else peer,
             tag=tag)
    work = Work(call.reqs, call.after, call.keep, outputs=[t], group=pg)
    work._status = [status]

    def source():
        work._source = pg._ranks[status.Get_source()]

    work._after.append(source)
    return work


class P2POp:
    """One send or receive for :func:`batch_isend_irecv` (``torch.distributed.P2POp``).

    Args:
        op: :func:`isend` or :func:`irecv`.
        tensor: the data to send, or the tensor to receive into.
        peer: the other rank (global; or ``group_peer``).
        group: the group (None: the default group).
        tag: matches the other side's tag (MPI).
        group_peer: the other rank within ``group``.
    """

    def __init__(self, op, tensor: Tensor, peer: int | None = None,
                 group: ProcessGroup | None = None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        if op is not isend and op is not irecv:
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type "
                             "``gpuarr.distributed.isend`` or ``gpuarr.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group = op, _tensor(tensor), peer, group
        self.tag, self.group_peer = tag, group_peer


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list[Work]:
    """Start a batch of sends and receives at once and return their :class:`Work` handles.

    With NCCL the batch runs as one NCCL group, so that exchanges in both directions (a ring)
    cannot deadlock, as torch's; over MPI every call is posted nonblocking.

    Args:
        p2p_op_list: :class:`P2POp` objects, all on one device and group.

    Returns:
        One :class:`Work` per operation.

    Example:
        >>> ops = [dist.P2POp(dist.isend, x, (rank + 1) % n),
        ...        dist.P2POp(dist.irecv, y, (rank - 1) % n)]
        >>> for w in dist.batch_isend_irecv(ops):
        ...     w.wait()
    """
    if not p2p_op_list or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("batch_isend_irecv expects a non-empty list of P2POp")
    prepared = []
    for p in p2p_op_list:
        name = "isend" if p.op is isend else "irecv"
        prepared.append((p.op is isend,) + _p2p(p.tensor, p.peer, p.group, p.group_peer,
                                                 p.tag, name, "dst" if p.op is isend else "src"))
    if prepared[0][2] is None:  # this rank is outside the group
        return []
    engines = {(pr[3], pr[5]) for pr in prepared}
    if len(engines) != 1:
        raise ValueError("batch_isend_irecv: every operation must use one device type and "
                         "engine")
    if prepared[0][5] != "nccl":
        out = []
        for (is_send, t, pg, dev, bk, eng, peer), p in zip(prepared, p2p_op_list):
            fn = _send if is_send else _recv
            out.append(fn(t, pg, dev, bk, eng, peer, p.tag, True))
        return out
    bk = prepared[0][4]
    for pr in sorted(prepared, key=lambda pr: sorted((pr[2]._rank, pr[6]))):
        _nccl_pair(pr[2], bk, pr[3].index, pr[6])  # make the pair communicators first
    works = []
    with bk.nccl_group():
        for is_send, t, pg, dev, _, _, peer in prepared:
            if peer is None:
                raise RuntimeError("recv from any source is not supported by NCCL: give src")
            comm, p = _nccl_pair(pg, bk, dev.index, peer)
            if is_send:
                bk.nccl_call(comm, "send", _bytes(t._data), None, peer=p)
            else:
                _bump(t)
                bk.nccl_call(comm, "recv", None, _bytes(t._data), peer=p)
            w = Work(outputs=[t], group=pg)
            w._source = pg._ranks[peer]
            works.append((w, dev.index))
    for w, index in works:
        w._event = bk.record_event(index)
    return [w for w, _ in works]


# ---- Python objects (pickled, over MPI) ---------------------------------------------------------


def all_gather_object(object_list: list, obj, group: ProcessGroup | None = None) -> None:
    """Gather a picklable object from every rank into ``object_list`` (entry i from rank i).

    Args:
        object_list: a list of ``world_size`` entries, overwritten.
        obj: this rank's object.
        group: the group (None: the default group).
    """
    pg = _resolve(group)
    if pg is None:
        return
    got = pg._comm.allgather(obj)
    if len(object_list) != len(got):
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries, the "
                         f"group {len(got)} ranks")
    object_list[:] = got


def broadcast_object_list(object_list: list, src: int | None = None,
                          group: ProcessGroup | None = None, device=None,
                          group_src: int | None = None) -> None:
    """Replace ``object_list``'s entries on every rank by those of rank ``src``.

    Args:
        object_list: picklable objects on ``src``; a list of the same length elsewhere.
        src: the source's global rank (0 by default; or ``group_src``).
        group: the group (None: the default group).
        device: accepted (objects travel pickled over MPI).
        group_src: the source's rank within ``group``.
    """
    pg = _resolve(group)
    if pg is None:
        return
    root = _root(pg, src, group_src, "broadcast_object_list", "src")
    got = pg._comm.bcast(list(object_list) if pg._rank == root else None, root=root)
    if len(got) != len(object_list):
        raise ValueError(f"broadcast_object_list: {len(object_list)} entries here, "
                         f"{len(got)} on the source")
    object_list[:] = got


def gather_object(obj, object_gather_list: list | None = None, dst: int | None = None,
                  group: ProcessGroup | None = None, group_dst: int | None = None) -> None:
    """Gather a picklable object from every rank into ``object_gather_list`` on ``dst``.

    Args:
        obj: this rank's object.
        object_gather_list: on ``dst``, a list of ``world_size`` entries; None elsewhere.
        dst: the destination's global rank (0 by default; or ``group_dst``).
        group: the group (None: the default group).
        group_dst: the destination's rank within ``group``.
    """
    pg = _resolve(group)
    if pg is None:
        return
    root = _root(pg, dst, group_dst, "gather_object", "dst")
    got = pg._comm.gather(obj, root=root)
    if pg._rank == root:
        if object_gather_list is None or len(object_gather_list) != pg._size:
            raise ValueError(f"gather_object: object_gather_list must have {pg._size} "
                             "entries on the destination rank")
        object_gather_list[:] = got
