"""``all_to_all`` and ``all_to_all_single``: every rank sends a chunk to every rank.

CPU tensors (and CUDA tensors with ``backend='mpi'``, through host memory unless MPI is
CUDA-aware) move with one ``MPI_Alltoallv`` on their bytes; CUDA tensors on NCCL move as one
NCCL group of sends and receives, one pair per peer, as torch's NCCL backend does.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from . import _mpi
from .distributed_c10d import (
    _DT_CODES,
    _FP,
    _OPS,
    DebugLevel,
    ProcessGroup,
    Work,
    _bump,
    _bytes,
    _Call,
    _debug,
    _describe,
    _finish_mpi,
    _MpiArrays,
    _nccl_comm,
    _nccl_work,
    _resolve,
    _start,
    _tensor,
    _tensor_list,
    get_debug_level,
)

__all__ = ["all_to_all", "all_to_all_single"]

# DETAIL-check codes for these collectives: the shared table's own when it lists them,
# else codes after its end
_NAMES = ("all_to_all", "all_to_all_single")


def _code(op: str) -> int:
    return _OPS.index(op) if op in _OPS else len(_OPS) + _NAMES.index(op)


def _name(code: int) -> str:
    return _OPS[code] if code < len(_OPS) else _NAMES[code - len(_OPS)]


def _check(pg: ProcessGroup, op: str, t: Tensor, row_shape, send_bytes: list[int],
           recv_bytes: list[int]) -> None:
    """The DETAIL debug check (see ``distributed_c10d._check``): every rank calls the same
    collective with the same dtype, device and row shape, and what rank i sends rank j is
    what rank j expects from rank i. Ranks may send and receive different amounts, so the
    counts are compared crosswise, in a second exchange once the first (of the fingerprint
    every collective exchanges) found the same collective everywhere."""
    pg._seq += 1
    if _debug[0] != DebugLevel.DETAIL:
        return
    n = pg._size
    fp = np.zeros(_FP, np.int64)
    shp = tuple(row_shape)
    fp[0], fp[1] = _code(op), pg._seq
    fp[2] = fp[3] = -1
    fp[4] = 0 if t._device.type == "cpu" else 1
    fp[5] = _DT_CODES.get(t._data.dtype, 99)
    fp[6] = n
    fp[7] = len(shp)
    if len(shp) <= _FP - 8:
        fp[8:8 + len(shp)] = shp
    else:
        fp[8] = hash(shp)
    head = np.empty((n, _FP), np.int64)
    pg._comm.Allgather(fp, head)
    counts = np.array([send_bytes, recv_bytes], np.int64)
    sends = recvs = None
    if (head == head[0]).all():
        allc = np.empty((n, 2, n), np.int64)
        pg._comm.Allgather(counts, allc)
        sends, recvs = allc[:, 0], allc[:, 1]
        if (sends == recvs.T).all():
            return
    lines = []
    for r in range(n):
        f = head[r].copy()
        code = int(f[0])
        f[0] = 0  # _describe names table entries only; the name is put back below
        desc = _describe(f).replace(_OPS[0], _name(code), 1).replace("shape=", "row shape=")
        if sends is not None:
            desc += f", sends {sends[r].tolist()} bytes, expects {recvs[r].tolist()} bytes"
        lines.append(f"  rank {pg._ranks[r]}: {desc}")
    raise RuntimeError(
        f"{op}: the ranks of group {pg.group_name!r} called collectives that do not match "
        f"(found by the {get_debug_level()} debug check, TORCH_DISTRIBUTED_DEBUG / "
        "GPUARR_DISTRIBUTED_DEBUG):\n" + "\n".join(lines) +
        "\nEvery rank must call the same collectives in the same order; in all_to_all what "
        "rank i sends rank j must be what rank j expects from rank i.")


def _offsets(counts: list[int]) -> list[int]:
    return np.concatenate(([0], np.cumsum(counts, dtype=np.int64)[:-1])).tolist()


def _mpi_alltoallv(call: _Call, send, scounts, recv, rcounts) -> None:
    """MPI_Alltoallv on byte buffers (nonblocking when the call is async)."""
    MPI = _mpi.mpi()
    args = ([send, scounts, _offsets(scounts), MPI.BYTE],
            [recv, rcounts, _offsets(rcounts), MPI.BYTE])
    if call.async_op:
        call.reqs.append(call.comm.Ialltoallv(*args))
    else:
        call.comm.Alltoallv(*args)


def _nccl_exchange(bk, comm, me: int, sends: list, recvs: list) -> None:
    """One NCCL group: send ``sends[r]`` to and receive ``recvs[r]`` from every other rank
    (byte arrays; empty ones are skipped on both sides, as their sizes agree); this rank's
    own chunk is copied on the device."""
    with bk.nccl_group():
        for r, (s, d) in enumerate(zip(sends, recvs)):
            if r == me:
                continue
            if s.size:
                bk.nccl_call(comm, "send", s, None, peer=r)
            if d.size:
                bk.nccl_call(comm, "recv", None, d, peer=r)
    if recvs[me].size:
        recvs[me][...] = sends[me]


def _splits(sizes, n: int, rows: int) -> list[int]:
    """Rows per rank: the given split sizes, or ``rows`` divided evenly."""
    if sizes is None or len(sizes) == 0:
        if rows % n:
            raise RuntimeError("Split sizes doesn't match total dim 0 size")
        return [rows // n] * n
    sizes = [int(s) for s in sizes]
    if len(sizes) != n:
        raise RuntimeError("Number of tensor splits not equal to group size")
    if any(s < 0 for s in sizes) or sum(sizes) != rows:
        raise RuntimeError("Split sizes doesn't match total dim 0 size")
    return sizes


def _same_dtype(tensors) -> None:
    dt = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype != dt:
            raise ValueError(f"Invalid usage of tensors with different dtypes. Found {dt} and "
                             f"{t.dtype}")


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes: list[int] | None = None,
                      input_split_sizes: list[int] | None = None,
                      group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Split ``input`` along dim 0 and send chunk ``i`` to rank ``i``; receive every rank's
    chunk for this rank into ``output``, concatenated in rank order.

    Args:
        output: receives the chunks (contiguous; the input's dtype and device).
        input: the data to send (contiguous).
        output_split_sizes: rows of ``output`` coming from each rank (None: dim 0 divided
            evenly by the group size).
        input_split_sizes: rows of ``input`` going to each rank (None: even).
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Raises:
        RuntimeError: split sizes that do not add up to dim 0 or are not one per rank
            (torch's messages); ValueError: different dtypes or non-contiguous tensors.

    Example:
        >>> # 2 ranks; rank r's input is [2r, 2r + 1]
        >>> out = gpuarr.empty(2)
        >>> dist.all_to_all_single(out, inp)   # rank 0: [0, 2], rank 1: [1, 3]
    """
    out, inp = _tensor(output, "output"), _tensor(input, "input")
    pg, dev, bk, eng = _start("all_to_all_single", group, [out, inp])
    if pg is None:
        return None
    _same_dtype([out, inp])
    n, me = pg._size, pg._rank
    in_rows, out_rows = (inp.shape[0] if inp.dim() else 1), (out.shape[0] if out.dim() else 1)
    in_split = _splits(input_split_sizes, n, in_rows)
    out_split = _splits(output_split_sizes, n, out_rows)
    in_row = inp._data.nbytes // in_rows if in_rows else 0
    out_row = out._data.nbytes // out_rows if out_rows else 0
    if in_row and out_row and in_row != out_row:
        raise RuntimeError("all_to_all_single: input and output must have the same size "
                           f"per dim-0 row ({tuple(inp.shape[1:])} vs {tuple(out.shape[1:])})")
    if in_split[me] != out_split[me]:
        raise RuntimeError(f"all_to_all_single: this rank sends itself {in_split[me]} rows "
                           f"but expects {out_split[me]} (input_split_sizes[{me}] must equal "
                           f"output_split_sizes[{me}])")
    scounts = [s * in_row for s in in_split]
    rcounts = [s * out_row for s in out_split]
    _check(pg, "all_to_all_single", inp, inp.shape[1:], scounts, rcounts)
    _bump(out)
    src_arr = inp._data
    if out.numel() and out.data_ptr() == inp.data_ptr():
        src_arr = src_arr.copy()  # MPI and NCCL need distinct send and receive buffers
    if eng == "nccl":
        sb, rb = _bytes(src_arr), _bytes(out._data)
        so, ro = _offsets(scounts), _offsets(rcounts)
        _nccl_exchange(bk, _nccl_comm(pg, bk, dev.index), me,
                       [sb[o:o + c] for o, c in zip(so, scounts)],
                       [rb[o:o + c] for o, c in zip(ro, rcounts)])
        return _nccl_work(bk, dev.index, [out], async_op, pg)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    _mpi_alltoallv(call, _bytes(io.src(src_arr)), scounts, _bytes(io.dst(out._data)), rcounts)
    return _finish_mpi(call, [out], async_op, pg)


def all_to_all(output_tensor_list: list[Tensor], input_tensor_list: list[Tensor],
               group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Send ``input_tensor_list[i]`` to rank ``i`` and receive rank ``i``'s tensor for this
    rank into ``output_tensor_list[i]``.

    Args:
        output_tensor_list: ``world_size`` tensors, entry ``i`` shaped as what rank ``i``
            sends (sizes may differ between ranks).
        input_tensor_list: ``world_size`` tensors to send, all of the outputs' dtype.
        group: the group (None: the default group).
        async_op: return a :class:`Work` instead of waiting.

    Returns:
        A :class:`Work` when ``async_op``, else None.

    Raises:
        RuntimeError: lists that do not hold one tensor per rank; ValueError: tensors of
            different dtypes.

    Example:
        >>> ins = [gpuarr.full((2,), 10. * rank + i) for i in range(world)]
        >>> outs = [gpuarr.empty(2) for _ in range(world)]
        >>> dist.all_to_all(outs, ins)         # outs[i] == 10 * i + rank
    """
    outs = _tensor_list(output_tensor_list, "output_tensor_list")
    ins = _tensor_list(input_tensor_list, "input_tensor_list")
    pg = _resolve(group)
    if pg is None:
        return None
    n, me = pg._size, pg._rank
    for what, lst in (("input", ins), ("output", outs)):
        if len(lst) != n:
            raise RuntimeError(f"all_to_all: {what} tensor list size {len(lst)} does not "
                               f"match world size {n}")
    _, dev, bk, eng = _start("all_to_all", group, [*outs, *ins])
    _same_dtype([*outs, *ins])
    if outs[me].numel() != ins[me].numel():
        raise RuntimeError(f"all_to_all: input_tensor_list[{me}] and output_tensor_list[{me}] "
                           f"(this rank to itself) must have the same size "
                           f"({ins[me].numel()} vs {outs[me].numel()})")
    scounts = [t._data.nbytes for t in ins]
    rcounts = [t._data.nbytes for t in outs]
    _check(pg, "all_to_all", ins[0], (), scounts, rcounts)
    _bump(*outs)
    if eng == "nccl":
        srcs = [_bytes(t._data) for t in ins]
        srcs[me] = srcs[me].copy()  # the output may alias it
        _nccl_exchange(bk, _nccl_comm(pg, bk, dev.index), me, srcs,
                       [_bytes(t._data) for t in outs])
        return _nccl_work(bk, dev.index, outs, async_op, pg)
    call = _Call(pg._comm, async_op)
    io = _MpiArrays(call, bk, dev.index)
    # one contiguous send buffer and one receive buffer, as MPI_Alltoallv needs
    send = io.temp((sum(scounts),), np.uint8)
    for t, o, c in zip(ins, _offsets(scounts), scounts):
        send[o:o + c] = io.src(_bytes(t._data))
    recv = io.temp((sum(rcounts),), np.uint8)
    call.keep += [send, recv]
    _mpi_alltoallv(call, send, scounts, recv, rcounts)

    def unpack():
        for t, o, c in zip(outs, _offsets(rcounts), rcounts):
            io.copy(_bytes(t._data), recv[o:o + c])

    call.after.append(unpack)
    return _finish_mpi(call, outs, async_op, pg)
