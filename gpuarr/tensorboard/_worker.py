"""The writer's background thread: builds events, frames them and appends them to files.

The training thread only validates its input and appends a small tuple to a deque (a few
hundred nanoseconds, no lock). This thread wakes when ``max_queue`` items are pending (then
lingers up to 10 ms to collect a bigger batch), when ``flush_secs`` have passed, or at once
when :meth:`AsyncWriter.flush` asks. Each wake drains the deque in batches: every item's
``Summary`` is built (PNG encoding of images happens here), wrapped in an ``Event`` and
serialized, and each file's records are framed together and appended with one ``os.write``.

``flush`` puts a marker in the deque and waits until this thread has written everything queued
before it and ``fsync``-ed the files, so when it returns the data is on disk.

A failure on this thread (a full disk, an event that could not be built) is recorded with the
number of events lost, and raised as :class:`EventWriteError` in the caller's thread at its
next ``put``, ``flush`` or ``stop``, whichever comes first; each failure is raised once.

Memory stays bounded: when the deque holds too many items, or queued images hold too many
bytes, the training thread waits for this thread to catch up.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from tensorboard.compat.proto.event_pb2 import Event

from .event_file import EventFile, encode_records, records_within
from .summaries import scalar

__all__ = ["AsyncWriter", "EventWriteError"]

# Items (or encoded bytes) per batch: bounds how long data waits in memory once encoded, and
# the size of one write.
_BATCH = 8192
_BATCH_BYTES = 4 * 2**20
# After a wake-up for max_queue items, wait this long for more, unless a flush is waiting or
# _EAGER_ITEMS are already queued.
_LINGER = 0.01
_EAGER_ITEMS = 2048
# Backpressure thresholds (items in the deque; bytes of queued arrays, e.g. images).
_MAX_ITEMS = 200_000
_MAX_BYTES = 128 * 2**20

_FLUSH, _CLOSE_FILE, _STOP = "flush", "close_file", "stop"


class EventWriteError(OSError, RuntimeError):
    """Some logged events could not be written (disk full, quota, I/O error...).

    Both an ``OSError`` (as torch's writer raises) and a ``RuntimeError`` (as this package's
    ``flush`` documented before). ``errno`` is the OS error's number when there is one; the
    message names the event file and says how many events were lost.
    """

    __module__ = "gpuarr.tensorboard"  # where users import it from


def _os_error(message: str, cause: BaseException) -> OSError:
    """An OSError whose str() is ``message`` and whose errno is ``cause``'s."""
    error = OSError(message)
    error.errno = getattr(cause, "errno", None)
    return error


class _Control:
    """A marker in the queue: flush, close one file, or stop."""

    __slots__ = ("kind", "file", "done")

    def __init__(self, kind: str, file: EventFile | None = None):
        self.kind = kind
        self.file = file
        self.done = threading.Event()


class AsyncWriter:
    """Owns the queue and the thread that writes a ``SummaryWriter``'s event files.

    Items are tuples ``(file, step, walltime, build, arg, nbytes)``: ``build(arg)`` returns
    the ``Summary`` to log, ``nbytes`` is the memory the item holds (for backpressure).

    Args:
        max_queue: Pending items that wake the thread.
        flush_secs: Longest time data waits in memory before being written and synced.
    """

    def __init__(self, max_queue: int = 10, flush_secs: float = 120.0):
        self._pending: deque = deque()
        self._wake = threading.Event()
        self._urgent = threading.Event()  # someone waits (flush/close) or a big batch is ready
        self._progress = threading.Condition()
        self._max_queue = max(1, int(max_queue))
        self._flush_secs = float(flush_secs)
        self._pending_bytes = 0
        self._files: list[EventFile] = []
        self._files_lock = threading.Lock()  # add_file (caller) vs close (writer thread)
        # The first failure not yet raised to the caller, and the events lost since then.
        # put() reads _error without the lock: one attribute check on the hot path.
        self._error: BaseException | None = None
        self._lost = 0
        self._error_lock = threading.Lock()
        self.dead: BaseException | None = None  # set if the thread itself crashed
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="gpuarr-tensorboard", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ caller side

    def add_file(self, file: EventFile) -> None:
        """Register a file so that flush/stop sync and close it."""
        with self._files_lock:
            self._files.append(file)

    def put(self, item: tuple, nbytes: int = 0) -> None:
        """Queue one event (see the class docstring for the tuple's layout).

        Raises:
            EventWriteError: if writing failed since the last report; ``item`` is not queued.
        """
        if self._error is not None:
            self.raise_error()
        if nbytes:
            self._reserve(nbytes)
        pending = self._pending
        pending.append(item)
        size = len(pending)
        if size >= self._max_queue:
            if not self._wake.is_set():
                self._wake.set()
            if size >= _EAGER_ITEMS:
                if not self._urgent.is_set():
                    self._urgent.set()
                if size > _MAX_ITEMS:
                    self._wait_for_room()

    def _reserve(self, nbytes: int) -> None:
        with self._progress:
            while self._pending_bytes and self._pending_bytes + nbytes > _MAX_BYTES:
                self._urgent.set()
                self._wake.set()
                self._check_alive()
                self._progress.wait(0.05)
            self._pending_bytes += nbytes

    def _wait_for_room(self) -> None:
        with self._progress:
            while len(self._pending) > _MAX_ITEMS // 2:
                self._urgent.set()
                self._wake.set()
                self._check_alive()
                self._progress.wait(0.05)

    def _check_alive(self) -> None:
        if self.dead is not None or not self._thread.is_alive():
            raise RuntimeError("the SummaryWriter's writer thread has stopped") from self.dead

    def raise_error(self) -> None:
        """Raise the failure recorded by the writer thread since the last report, if any.

        Raises:
            EventWriteError: naming the file and the OS error, with the count of lost events.
        """
        with self._error_lock:
            error, lost = self._error, self._lost
            self._error, self._lost = None, 0
        if error is None:
            return
        counted = f" ({lost} event(s) dropped)" if lost else ""
        detail = str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
        report = EventWriteError(f"SummaryWriter could not write some events{counted}: {detail}")
        report.errno = getattr(error, "errno", None)
        raise report from error

    def _fail(self, error: BaseException, lost: int) -> None:
        """Writer thread: record a failure that cost ``lost`` events."""
        with self._error_lock:
            if self._error is None:
                self._error = error
            self._lost += lost

    def _control(self, kind: str, file: EventFile | None = None, wait: bool = True) -> None:
        marker = _Control(kind, file)
        self._pending.append(marker)
        self._urgent.set()
        self._wake.set()
        if not wait:
            return
        while not marker.done.wait(0.1):
            if not self._thread.is_alive():
                break
        self.raise_error()
        if self.dead is not None:
            raise RuntimeError("the SummaryWriter's writer thread crashed") from self.dead

    def flush(self) -> None:
        """Return once everything queued so far is written and fsync-ed.

        Raises:
            EventWriteError: if writing any event failed since the last report.
        """
        self._control(_FLUSH)

    def close_file(self, file: EventFile, wait: bool = True) -> None:
        """Write what is queued for ``file``, then sync and close it.

        With ``wait=False`` this returns at once; errors surface at the next flush.
        """
        self._control(_CLOSE_FILE, file, wait)

    def stop(self) -> None:
        """Flush, close every file and end the thread. Safe to call more than once.

        Raises:
            EventWriteError: if writing any event failed since the last report.
        """
        if self._stopped:
            return
        self._stopped = True
        try:
            self._control(_STOP)
        finally:
            self._thread.join(timeout=60)

    def abandon_after_fork(self) -> None:
        """In a forked child: forget this writer, whose thread stayed in the parent.

        What was queued belongs to the parent, which writes it; the inherited file
        descriptors are closed here without writing or syncing anything.
        """
        self._stopped = True
        self._pending = deque()
        for file in list(self._files):  # no lock: it may have been held at the fork
            file.abandon()
        self._files = []

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        try:
            next_sync = time.monotonic() + self._flush_secs
            while True:
                self._wake.wait(max(0.0, next_sync - time.monotonic()))
                self._wake.clear()
                # Woken for a handful of items: give the training thread a moment to queue
                # more, so that each wake-up (a thread switch and a write) handles a batch.
                if not self._urgent.is_set():
                    self._urgent.wait(_LINGER)
                self._urgent.clear()
                if self._drain():
                    return
                if time.monotonic() >= next_sync:
                    self._sync_all()
                    next_sync = time.monotonic() + self._flush_secs
        except BaseException as exc:  # a bug here must not leave flush() waiting forever
            self.dead = exc
            self._fail(exc, 0)
            for item in list(self._pending):
                if isinstance(item, _Control):
                    item.done.set()
            with self._progress:
                self._progress.notify_all()

    def _drain(self) -> bool:
        """Write everything pending; handle markers in order. True once told to stop."""
        pending = self._pending
        while pending:
            batch: dict[EventFile, list[bytes]] = {}
            batch_bytes = 0
            control = None
            for _ in range(_BATCH):
                if not pending:
                    break
                item = pending.popleft()
                if isinstance(item, _Control):
                    control = item
                    break
                payload = self._encode(item)
                if item[5]:  # the item's array is no longer needed: let the caller go on
                    self._release(item[5])
                if payload is not None:
                    batch.setdefault(item[0], []).append(payload)
                    batch_bytes += len(payload)
                    if batch_bytes >= _BATCH_BYTES:
                        break
            for file, payloads in batch.items():
                self._append(file, payloads)
            if len(pending) <= _MAX_ITEMS // 2:
                with self._progress:
                    self._progress.notify_all()
            if control is not None and self._handle(control):
                return True
        return False

    def _release(self, nbytes: int) -> None:
        with self._progress:
            self._pending_bytes -= nbytes
            self._progress.notify_all()

    def _encode(self, item: tuple) -> bytes | None:
        file, step, walltime, build, arg, _ = item
        try:
            if build is scalar:  # the hot path: filling the message in place is faster
                event = Event(wall_time=walltime, step=step)
                event.summary.value.add(tag=arg[0], simple_value=arg[1])
            else:
                event = Event(wall_time=walltime, step=step, summary=build(arg))
            return event.SerializeToString()
        except Exception as exc:  # keep writing the other events; report the loss
            self._fail(exc, 1)
            return None

    def _append(self, file: EventFile, payloads: list[bytes]) -> None:
        if file.failed is not None:  # every loss is reported, not only the first
            self._fail(
                _os_error(f"{file.path} failed earlier: {file.failed}", file.failed),
                len(payloads),
            )
            return
        before = file.size
        try:
            file.append(encode_records(payloads), payloads)
        except (OSError, ValueError) as exc:  # ValueError: the file was already closed
            kept = records_within(payloads, file.size - before)[0]
            self._fail(_os_error(f"could not write to {file.path}: {exc}", exc),
                       len(payloads) - kept)

    def _sync_all(self) -> None:
        with self._files_lock:
            files = list(self._files)
        for file in files:
            try:
                file.sync()
            except OSError as exc:
                self._fail(_os_error(f"could not sync {file.path}: {exc}", exc), 0)

    def _handle(self, control: _Control) -> bool:
        try:
            if control.kind == _FLUSH:
                self._sync_all()
            elif control.kind == _CLOSE_FILE:
                assert control.file is not None
                self._close(control.file)
                with self._files_lock:
                    self._files = [f for f in self._files if f is not control.file]
            else:
                with self._files_lock:
                    files, self._files = self._files, []
                for file in files:
                    self._close(file)
                return True
        finally:
            control.done.set()
        return False

    def _close(self, file: EventFile) -> None:
        try:
            file.close()
        except OSError as exc:
            self._fail(_os_error(f"could not close {file.path}: {exc}", exc), 0)


def identity(summary: Any) -> Any:
    """``build`` for items whose Summary was made on the caller's thread."""
    return summary

