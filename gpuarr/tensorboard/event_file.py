"""Event files: TFRecord framing and the file a run's events go to.

An event file is a sequence of records, each::

    uint64 length | uint32 masked_crc32c(length) | bytes data[length] | uint32 masked_crc32c(data)

(little-endian), where ``data`` is a serialized ``tensorboard.compat.proto.event_pb2.Event``.
The first record carries ``file_version = "brain.Event:2"``.

:class:`EventFile` appends whole batches of records with unbuffered ``os.write`` calls and
remembers the end of the last complete batch. If a write fails (disk full, quota), the file
is cut back to the end of the last record written completely, so that it keeps what fit and
still ends on a record boundary (it stays readable).
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time
from collections.abc import Iterable, Sequence

import google_crc32c
from tensorboard.compat.proto import event_pb2

from ._checksum import mask as _mask
from ._checksum import masked_crc32c

__all__ = [
    "encode_records",
    "iter_records",
    "records_within",
    "EventFile",
    "event_file_name",
    "FILE_VERSION",
]

FILE_VERSION = "brain.Event:2"
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_uid = itertools.count()  # tells apart files one process opens in the same second


def encode_records(payloads: Sequence[bytes]) -> bytes:
    """Frame serialized events as TFRecords.

    Args:
        payloads: Serialized ``Event`` messages.

    Returns:
        The bytes to append to an event file.

    Example:
        >>> len(encode_records([b"abc"]))  # 8 + 4 + 3 + 4
        19
    """
    parts: list[bytes] = []
    append = parts.append
    pack64, pack32, crc = _U64.pack, _U32.pack, google_crc32c.value
    for data in payloads:
        header = pack64(len(data))
        append(header)
        append(pack32(_mask(crc(header))))
        append(data)
        append(pack32(_mask(crc(data))))
    return b"".join(parts)


def records_within(payloads: Iterable[bytes], nbytes: int) -> tuple[int, int]:
    """How many of the records framing ``payloads`` fit whole in their first ``nbytes`` bytes.

    Returns:
        ``(records, bytes)``: the number of complete records and the bytes they take.

    Example:
        >>> records_within([b"abc", b"de"], 25)  # 19 + 18 bytes
        (1, 19)
    """
    count = end = 0
    for payload in payloads:
        size = 16 + len(payload)
        if end + size > nbytes:
            break
        end += size
        count += 1
    return count, end


def iter_records(data: bytes, check: bool = True):
    """Yield the payloads of the complete records in ``data`` (a whole event file).

    A truncated record at the end (a writer killed mid-write) ends the iteration quietly,
    as TensorBoard's readers do.

    Args:
        data: The file's bytes.
        check: Verify both checksums of every record.

    Raises:
        ValueError: when a checksum does not match.
    """
    pos, end = 0, len(data)
    while pos + 12 <= end:
        header = data[pos : pos + 8]
        (length,) = _U64.unpack(header)
        if check and int.from_bytes(data[pos + 8 : pos + 12], "little") != masked_crc32c(header):
            raise ValueError(f"record at offset {pos}: header checksum mismatch")
        if pos + 12 + length + 4 > end:
            return
        payload = data[pos + 12 : pos + 12 + length]
        stored = int.from_bytes(data[pos + 12 + length : pos + 16 + length], "little")
        if check and stored != masked_crc32c(payload):
            raise ValueError(f"record at offset {pos}: data checksum mismatch")
        yield payload
        pos += 16 + length


def event_file_name(filename_suffix: str = "") -> str:
    """The conventional name: ``events.out.tfevents.<time>.<host>.<pid>.<uid><suffix>``."""
    return "events.out.tfevents.%010d.%s.%s.%s%s" % (  # noqa: UP031 (zero-padded seconds)
        time.time(),
        socket.gethostname(),
        os.getpid(),
        next(_uid),
        filename_suffix,
    )


def _sync_directory(path: str) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EventFile:
    """One event file: created, headed and synced on construction; appended in batches.

    Not thread-safe by itself: the writer's background thread is its only user after
    construction.

    Args:
        log_dir: Directory of the run (created if missing).
        filename_suffix: Appended to the file name.
        purge_step: If given, also write the events that tell TensorBoard to hide data
            logged earlier at steps >= ``purge_step`` (for a run resumed after a crash).

    Example:
        >>> f = EventFile(tmp_path)  # doctest: +SKIP
        >>> f.append(encode_records([event.SerializeToString()]))  # doctest: +SKIP
    """

    def __init__(self, log_dir: str, filename_suffix: str = "", purge_step: int | None = None):
        os.makedirs(log_dir, exist_ok=True)
        self.log_dir = log_dir
        self.path = os.path.join(log_dir, event_file_name(filename_suffix))
        self._fd: int | None = os.open(
            self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644
        )
        self._offset = 0  # end of the last complete batch
        self._dirty = False
        self.failed: BaseException | None = None
        now = time.time()
        header = [
            event_pb2.Event(
                wall_time=now,
                file_version=FILE_VERSION,
                source_metadata=event_pb2.SourceMetadata(writer="gpuarr"),
            )
        ]
        if purge_step is not None:
            # A SessionLog START at step T makes TensorBoard discard what it has already read
            # at steps >= T (a run restarted after a crash); the same pair torch writes.
            header.append(
                event_pb2.Event(wall_time=now, step=purge_step, file_version=FILE_VERSION)
            )
            header.append(
                event_pb2.Event(
                    wall_time=now,
                    step=purge_step,
                    session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START),
                )
            )
        self.append(encode_records([e.SerializeToString() for e in header]))
        self.sync()
        _sync_directory(log_dir)  # so that the new file's name survives a power loss too

    @property
    def closed(self) -> bool:
        """True once closed (or abandoned in a forked child)."""
        return self._fd is None

    @property
    def size(self) -> int:
        """Bytes of complete records in the file (where the next batch goes)."""
        return self._offset

    def append(self, data: bytes, payloads: Sequence[bytes] | None = None) -> None:
        """Append complete records. On failure, cut the file back to a record boundary.

        Args:
            data: Framed records (see :func:`encode_records`).
            payloads: The serialized events ``data`` frames, in order. With them, a failed
                write keeps the records written whole before the failure; without, the file
                is cut back to where this batch began.

        Raises:
            OSError: when the write fails (the file then refuses further writes).
        """
        if self._fd is None:
            raise ValueError(f"event file {self.path} is closed")
        if self.failed is not None:
            raise OSError(f"event file {self.path} failed earlier: {self.failed}")
        view = memoryview(data)
        written = 0
        try:
            while written < len(view):
                written += os.write(self._fd, view[written:])
        except OSError as exc:
            self.failed = exc
            keep = records_within(payloads, written)[1] if payloads is not None else 0
            try:  # drop the torn record so the file still ends on a record boundary
                os.ftruncate(self._fd, self._offset + keep)
            except OSError:
                pass
            if keep:
                self._offset += keep
                self._dirty = True
            raise
        self._offset += len(data)
        self._dirty = True

    def sync(self) -> None:
        """Make everything appended so far durable (fsync)."""
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
            self._dirty = False

    def abandon(self) -> None:
        """Close the descriptor without syncing: a forked child's copy of a parent's file."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        """Sync and close; closing twice is a no-op."""
        if self._fd is None:
            return
        try:
            self.sync()
        finally:
            os.close(self._fd)
            self._fd = None
