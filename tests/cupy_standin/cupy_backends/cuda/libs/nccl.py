"""cupy_backends.cuda.libs.nccl (CuPy stand-in): CuPy 14.2's NCCL binding, run over MPI.

``cupy.cuda.nccl`` re-exports this module, as in CuPy. It has the real module's names and
signatures (recorded in ``cupy_meta.json`` by ``dump_meta.py`` from a CuPy that loaded libnccl):
``get_unique_id()`` (128 bytes), ``NcclCommunicator(ndev, commId, rank, config=None)`` with
``allReduce``, ``reduce``, ``broadcast``, ``bcast``, ``allGather``, ``reduceScatter``, ``send``,
``recv``, ``commSplit``..., ``groupStart()``/``groupEnd()``, the ``NCCL_*`` dtype and op codes,
``NcclError``. Every process of an ``mpirun`` plays one GPU: a communicator is an MPI
communicator (mpi4py) over the processes that created it with the same unique id.

As NCCL, the calls take raw device pointers (``array.data.ptr``), counts in elements and a
datatype code: the stand-in maps each pointer back to the live stand-in array whose memory holds
``[ptr, ptr + count * itemsize)`` and refuses (``NcclError``, invalid argument) a pointer into no
live array, a range past an array's end, or an array on another device than the communicator's.
Reductions are computed with NumPy in rank order, in the buffer's dtype (sums wrap for
integers); ``NCCL_AVG`` scales floats by ``1/n`` before summing and divides integer sums by ``n``
(C division), as NCCL does. ``NCCL_BFLOAT16`` raises (NumPy has no bfloat16).

What it cannot prove: anything about streams and asynchrony (calls complete before they
return), NCCL's algorithms and their rounding order for more than two ranks, or speed.
``NcclCommunicator.initAll`` (several GPUs in one process) is not simulated.
``CUPY_SIM_NO_NCCL=1`` simulates CuPy without libnccl (``cupy.cuda.nccl.available`` is False).
"""

import json as _json
import operator as _operator
import os as _os
import struct as _struct
import sys as _sys

import numpy as _np

NCCL_SUM = 0
NCCL_PROD = 1
NCCL_MAX = 2
NCCL_MIN = 3
NCCL_AVG = 4

NCCL_INT8 = NCCL_CHAR = 0
NCCL_UINT8 = 1
NCCL_INT32 = NCCL_INT = 2
NCCL_UINT32 = 3
NCCL_INT64 = 4
NCCL_UINT64 = 5
NCCL_FLOAT16 = NCCL_HALF = 6
NCCL_FLOAT32 = NCCL_FLOAT = 7
NCCL_FLOAT64 = NCCL_DOUBLE = 8
NCCL_BFLOAT16 = 9

available = True

_NCCL_UNIQUE_ID_BYTES = 128
_MAGIC = b"cupy-standin-nccl-uid\0"
_TAG_RENDEZVOUS = 31001
_TAG_P2P = 31002
_DTYPES = {NCCL_INT8: _np.int8, NCCL_UINT8: _np.uint8, NCCL_INT32: _np.int32,
           NCCL_UINT32: _np.uint32, NCCL_INT64: _np.int64, NCCL_UINT64: _np.uint64,
           NCCL_FLOAT16: _np.float16, NCCL_FLOAT32: _np.float32, NCCL_FLOAT64: _np.float64}
_ERRORS = {
    0: ("NCCL_ERROR_SUCCESS", "no error"),
    1: ("NCCL_ERROR_UNHANDLED_CUDA_ERROR", "unhandled cuda error"),
    2: ("NCCL_ERROR_SYSTEM_ERROR", "unhandled system error"),
    3: ("NCCL_ERROR_INTERNAL_ERROR", "internal error"),
    4: ("NCCL_ERROR_INVALID_ARGUMENT", "invalid argument"),
    5: ("NCCL_ERROR_INVALID_USAGE", "invalid usage"),
}


class NcclError(RuntimeError):
    def __init__(self, status):
        self.status = status
        name, desc = _ERRORS[status]
        super().__init__(f"{name}: {desc} (run with NCCL_DEBUG=WARN for details)")

    def __reduce__(self):
        return (type(self), (self.status,))


def _fail(status, why):
    """NcclError(status) with the stand-in's explanation attached as a note."""
    e = NcclError(status)
    if hasattr(e, "add_note"):
        e.add_note(f"cupy stand-in: {why}")
    return e


def check_status(status):
    if status != 0:
        raise NcclError(status)


def get_build_version():
    return 22501


def get_version():
    return 23203


def _bytesize(datatype):
    bytesize = {NCCL_INT8: 1, NCCL_UINT8: 1, NCCL_INT32: 4, NCCL_UINT32: 4, NCCL_INT64: 8,
                NCCL_UINT64: 8, NCCL_FLOAT16: 2, NCCL_FLOAT32: 4, NCCL_FLOAT64: 8}
    if datatype not in bytesize:
        raise ValueError(f"Unknow datatype {datatype}")
    return bytesize[datatype]


def _mpi():
    from mpi4py import MPI

    return MPI


_uid_counter = [0]


def get_unique_id():
    """A unique id naming this process (its MPI world rank) as the rendezvous point."""
    MPI = _mpi()
    _uid_counter[0] += 1
    body = _MAGIC + _struct.pack("<iqq", MPI.COMM_WORLD.Get_rank(), _os.getpid(),
                                 _uid_counter[0]) + _os.urandom(16)
    return body + bytes(_NCCL_UNIQUE_ID_BYTES - len(body))


# ---- groups: point-to-point calls inside groupStart/groupEnd complete at groupEnd -------------
_group = {"depth": 0, "pending": []}


def groupStart():
    _group["depth"] += 1


def groupEnd():
    if _group["depth"] == 0:
        raise NcclError(5)
    _group["depth"] -= 1
    if _group["depth"] == 0:
        pending, _group["pending"] = _group["pending"], []
        if pending:
            _mpi().Request.Waitall(pending)


class NcclConfig:
    """ncclConfig_t (only ``split_share``)."""

    def __init__(self, split_share=0):
        self.split_share = int(split_share)


def _int(x, what):
    try:
        return _operator.index(x)
    except TypeError:
        raise TypeError(f"an integer is required for {what}, got {type(x).__name__}") from None


def _buffer(ptr, count, datatype, device):
    """The NumPy view of ``count`` elements of ``datatype`` at device pointer ``ptr``."""
    import cupy

    ptr = _int(ptr, "a device pointer (intptr_t)")
    if datatype == NCCL_BFLOAT16:
        raise NotImplementedError("cupy stand-in: NumPy has no bfloat16 (NCCL_BFLOAT16)")
    dt = _DTYPES.get(datatype)
    if dt is None:
        raise _fail(4, f"unknown datatype {datatype}")
    nbytes = count * _np.dtype(dt).itemsize
    if nbytes == 0:  # NCCL does not touch the pointer of an empty buffer
        return _np.empty(0, dt)
    found = cupy._sim_lookup_ptr(ptr, nbytes)
    if found is None:
        raise _fail(4, f"pointer 0x{ptr:x} (+{nbytes} bytes) is not inside a live device array")
    raw, dev = found
    if dev != device:
        raise _fail(4, f"pointer 0x{ptr:x} is memory of device {dev}, the communicator's device "
                       f"is {device}")
    return raw.view(dt)


def _reduce(stack, op, n):
    if op == NCCL_SUM:
        return _np.add.reduce(stack, axis=0)
    if op == NCCL_PROD:
        return _np.multiply.reduce(stack, axis=0)
    if op == NCCL_MAX:
        return _np.maximum.reduce(stack, axis=0)
    if op == NCCL_MIN:
        return _np.minimum.reduce(stack, axis=0)
    if op == NCCL_AVG:
        if stack.dtype.kind == "f":
            return _np.add.reduce(stack * stack.dtype.type(1.0 / n), axis=0)
        s = _np.add.reduce(stack, axis=0)
        q = s // n
        if stack.dtype.kind == "i":  # C division truncates toward zero
            q += ((s % n) != 0) & (s < 0)
        return q
    raise _fail(4, f"unknown reduction op {op}")


class NcclCommunicator:
    """NcclCommunicator(int ndev, bytes commId, int rank, NcclConfig config=None)."""

    def __init__(self, ndev, commId, rank, config=None):
        import cupy

        ndev, rank = _int(ndev, "ndev"), _int(rank, "rank")
        if not isinstance(commId, bytes):
            raise TypeError(f"Argument 'commId' has incorrect type (expected bytes, got "
                            f"{type(commId).__name__})")
        if len(commId) != _NCCL_UNIQUE_ID_BYTES or not commId.startswith(_MAGIC):
            raise _fail(4, "commId is not a unique id from get_unique_id()")
        if not 0 <= rank < ndev:
            raise _fail(4, f"rank {rank} is outside [0, {ndev})")
        self._device = cupy.cuda.runtime.getDevice()
        self._mpi = self._rendezvous(ndev, commId, rank)

    @staticmethod
    def _rendezvous(ndev, uid, rank):
        """An MPI communicator of the ``ndev`` processes that called with ``uid``, in NCCL rank
        order: each sends (its NCCL rank, world rank) to the process that made ``uid``, which
        answers with the world ranks in NCCL rank order."""
        MPI = _mpi()
        world = MPI.COMM_WORLD
        root = _struct.unpack_from("<i", uid, len(_MAGIC))[0]
        me = world.Get_rank()
        if ndev == 1:
            return world.Create_group(world.Get_group().Incl([me]), _TAG_RENDEZVOUS)
        if me == root:
            members = {rank: me}
            while len(members) < ndev:
                got_uid, r, w = world.recv(source=MPI.ANY_SOURCE, tag=_TAG_RENDEZVOUS)
                if got_uid != uid:
                    raise _fail(2, f"rendezvous: world rank {w} brought another unique id "
                                   "(two communicators created at once by one root)")
                if r in members:
                    raise _fail(4, f"NCCL rank {r} claimed twice (world ranks {members[r]} and "
                                   f"{w})")
                members[r] = w
            order = [members[r] for r in range(ndev)]
            for w in order:
                if w != me:
                    world.send(order, dest=w, tag=_TAG_RENDEZVOUS)
        else:
            world.send((uid, rank, me), dest=root, tag=_TAG_RENDEZVOUS)
            order = world.recv(source=root, tag=_TAG_RENDEZVOUS)
        return world.Create_group(world.Get_group().Incl(order), _TAG_RENDEZVOUS)

    # -- properties
    @property
    def comm(self):
        return 0 if self._mpi is None else id(self._mpi)

    def _live(self):
        if self._mpi is None:
            raise _fail(4, "the communicator was destroyed")
        return self._mpi

    def device_id(self):
        self._live()
        return self._device

    def rank_id(self):
        return self._live().Get_rank()

    def size(self):
        return self._live().Get_size()

    def destroy(self):
        if self._mpi is not None:
            self._mpi.Free()
            self._mpi = None

    def abort(self):
        self.destroy()

    def check_async_error(self):
        self._live()

    @staticmethod
    def initAll(devices):
        raise NotImplementedError("cupy stand-in: NcclCommunicator.initAll (several GPUs in one "
                                  "process) is not simulated; use one process per device")

    @staticmethod
    def _initAll(comms, ndev, devlist=None):
        NcclCommunicator.initAll(devlist)

    def commSplit(self, color, key, config=None):
        MPI = _mpi()
        color, key = _int(color, "color"), _int(key, "key")
        sub = self._live().Split(MPI.UNDEFINED if color == -1 else color, key)
        if sub == MPI.COMM_NULL:
            return None
        out = object.__new__(NcclCommunicator)
        out._device, out._mpi = self._device, sub
        return out

    # -- collectives: arguments as CuPy's (intptr_t pointers, size_t counts, int codes)
    def _args(self, count, datatype, stream):
        _int(stream, "stream")
        return self._live(), _int(count, "count"), _int(datatype, "datatype")

    def _stack(self, comm, send):
        n = comm.Get_size()
        stack = _np.empty((n,) + send.shape, send.dtype)
        comm.Allgather(send.view(_np.uint8), stack.view(_np.uint8))
        return stack

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
        comm, count, datatype = self._args(count, datatype, stream)
        send = _buffer(sendbuf, count, datatype, self._device)
        recv = _buffer(recvbuf, count, datatype, self._device)
        recv[...] = _reduce(self._stack(comm, send), _int(op, "op"), comm.Get_size())

    def reduce(self, sendbuf, recvbuf, count, datatype, op, root, stream):
        comm, count, datatype = self._args(count, datatype, stream)
        send = _buffer(sendbuf, count, datatype, self._device)
        res = _reduce(self._stack(comm, send), _int(op, "op"), comm.Get_size())
        if comm.Get_rank() == _int(root, "root"):
            _buffer(recvbuf, count, datatype, self._device)[...] = res

    def broadcast(self, sendbuff, recvbuff, count, datatype, root, stream):
        comm, count, datatype = self._args(count, datatype, stream)
        root = _int(root, "root")
        recv = _buffer(recvbuff, count, datatype, self._device)
        if comm.Get_rank() == root and sendbuff != recvbuff:
            recv[...] = _buffer(sendbuff, count, datatype, self._device)
        comm.Bcast(recv.view(_np.uint8), root=root)

    def bcast(self, buff, count, datatype, root, stream):
        self.broadcast(buff, buff, count, datatype, root, stream)

    def allGather(self, sendbuf, recvbuf, count, datatype, stream):
        comm, count, datatype = self._args(count, datatype, stream)
        send = _buffer(sendbuf, count, datatype, self._device)
        recv = _buffer(recvbuf, count * comm.Get_size(), datatype, self._device)
        recv[...] = self._stack(comm, send).reshape(-1)

    def reduceScatter(self, sendbuf, recvbuf, recvcount, datatype, op, stream):
        comm, count, datatype = self._args(recvcount, datatype, stream)
        n = comm.Get_size()
        send = _buffer(sendbuf, count * n, datatype, self._device)
        res = _reduce(self._stack(comm, send), _int(op, "op"), n)
        r = comm.Get_rank()
        _buffer(recvbuf, count, datatype, self._device)[...] = res[r * count:(r + 1) * count]

    def send(self, sendbuf, count, datatype, peer, stream):
        comm, count, datatype = self._args(count, datatype, stream)
        buf = _buffer(sendbuf, count, datatype, self._device).view(_np.uint8)
        if _group["depth"]:
            _group["pending"].append(comm.Isend(buf, dest=_int(peer, "peer"), tag=_TAG_P2P))
        else:
            comm.Send(buf, dest=_int(peer, "peer"), tag=_TAG_P2P)

    def recv(self, recvbuf, count, datatype, peer, stream):
        comm, count, datatype = self._args(count, datatype, stream)
        buf = _buffer(recvbuf, count, datatype, self._device).view(_np.uint8)
        if _group["depth"]:
            _group["pending"].append(comm.Irecv(buf, source=_int(peer, "peer"), tag=_TAG_P2P))
        else:
            comm.Recv(buf, source=_int(peer, "peer"), tag=_TAG_P2P)


# ---- only the real module's names (as recorded from CuPy 14.2 with libnccl) --------------------
def _check_names():
    here = _os.path.dirname(_os.path.abspath(__file__))
    with open(_os.path.join(here, "..", "..", "..", "cupy_meta.json")) as fh:
        meta = _json.load(fh)
    mod = _sys.modules[__name__]
    extra = sorted(n for n in vars(mod) if not n.startswith("_")
                   and n not in meta["cupy_backends.cuda.libs.nccl"])
    extra += sorted(f"NcclCommunicator.{n}" for n, o in vars(NcclCommunicator).items()
                    if not n.startswith("_") and callable(o) and n not in meta["NcclCommunicator"])
    if extra:
        raise ImportError(f"NCCL stand-in defines names CuPy's NCCL module lacks: {extra}")


_check_names()
if _os.environ.get("CUPY_SIM_NO_NCCL") == "1":
    raise ImportError('Failure finding "libnccl.so.2": No such file: libnccl.so.2 '
                      "(cupy stand-in: CUPY_SIM_NO_NCCL=1)")
