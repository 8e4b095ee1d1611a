"""Multi-process loading for :class:`gpuarr.utils.data.DataLoader` (package-private).

Layout, per worker process ``i``::

    main process                                   worker i
    index queue i  (multiprocessing.Queue)  --->   (task_idx, index) | _ResumeIteration | None
    result pipe i  (one-way Pipe, framed)   <---   (task_idx, batch | _ExceptionWrapper | ...)

* Every worker has its own result pipe, so batches of one worker come back in the order its tasks
  were sent; the main process hands tasks out round-robin and reads the pipe of the worker that
  holds the next batch, which gives torch's ``in_order=True`` order with no reordering buffer.
* The main process reads the pipes without blocking (its own framing: a header, a protocol-5
  pickle, then the raw bytes of every array in it) and waits on the pipes *and* the workers'
  process sentinels at once, so a worker that dies (``os._exit``, SIGKILL, a segfault), even
  half-way through a message, is reported at once.
* Workers pickle gpuarr tensors as their host NumPy data (rebuilt without an extra copy, then
  moved to the tensor's device in the main process), and write from a sender thread so that
  computing the next batch overlaps with handing over the last one.
* Workers exit when told (``None``), when the main process goes away (a watchdog thread looks at
  the parent pid every second), or are terminated after a grace period at shutdown.
"""

from __future__ import annotations

import atexit
import collections.abc as cabc
import copy
import copyreg
import faulthandler
import importlib
import io
import multiprocessing
import multiprocessing.connection
import multiprocessing.util  # noqa: F401  (imported first so that our atexit hook runs before its)
import os
import pickle
import queue
import random
import signal
import struct
import sys
import threading
import time
import traceback
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._device import CPU
from ..._random import manual_seed
from ..._tensor import Tensor, _make, _pinned_copy
from ...backends import cuda_backend
from ._fetch import _make_fetcher

__all__ = ["WorkerInfo", "get_worker_info"]

#: how often a worker checks that the main process is still there (seconds)
_WATCHDOG_INTERVAL = 1.0
#: how long a normal shutdown waits for workers to finish before terminating them (seconds)
_JOIN_GRACE = 2.0
#: the same after a timeout or a dead worker, when the others may be stuck
_ERROR_JOIN_GRACE = 0.25
#: the main process wakes up at least this often while waiting for a batch (seconds)
_POLL_INTERVAL = 5.0


# --------------------------------------------------------------------------------------------
# worker info and seeding


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a DataLoader worker process.

    Attributes:
        id: this worker's index, ``0 .. num_workers - 1``.
        num_workers: how many workers the loader runs.
        seed: this worker's seed (``base_seed + id``); Python's ``random``, gpuarr's default
            generators and (derived from it, as torch does) NumPy's global RNG are seeded with
            it before ``worker_init_fn`` runs.
        dataset: this process's copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Information about the current DataLoader worker process; None in the main process.

    Returns:
        A :class:`WorkerInfo` (``id``, ``num_workers``, ``seed``, ``dataset``) inside a worker,
        else None.

    Example:
        >>> class Shards(IterableDataset):
        ...     def __iter__(self):
        ...         info = get_worker_info()
        ...         start = 0 if info is None else info.id
        ...         step = 1 if info is None else info.num_workers
        ...         return iter(range(start, 100, step))
    """
    return _worker_info


def _numpy_seed(base_seed: int, worker_id: int) -> list[int]:
    """Four 32-bit words to seed NumPy's global RNG with: a SeedSequence hash of the worker id
    and the base seed (the same words torch's workers use for the same base seed)."""
    entropy = [worker_id, base_seed & 0xFFFF_FFFF, base_seed >> 32, 0]
    return np.random.SeedSequence(entropy, pool_size=4).generate_state(4).tolist()


def _seed_worker(base_seed: int, worker_id: int) -> int:
    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(_numpy_seed(base_seed, worker_id))
    return seed


# --------------------------------------------------------------------------------------------
# messages


@dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch; echoed back as an ack."""


@dataclass(frozen=True)
class _IterableEnd:
    """A worker's IterableDataset copy is exhausted."""

    worker_id: int


class _KeyErrorMessage(str):
    """A str whose repr is itself, so that ``KeyError(msg)`` prints the traceback readably."""

    def __repr__(self) -> str:
        return self


def _find_type(module: str, qualname: str) -> type | None:
    """The exception class ``module.qualname`` in this process, or None."""
    names = [module, "__main__"] if module == "__mp_main__" else [module]
    for name in names:
        try:
            obj: Any = sys.modules.get(name) or importlib.import_module(name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except Exception:
            continue
        if isinstance(obj, type) and issubclass(obj, BaseException):
            return obj
    return None


class _ExceptionWrapper:
    """An exception caught in a worker: its type and formatted traceback, re-raised in the main
    process as torch's ``ExceptionWrapper`` does (same type where it can be built from one
    message string, else RuntimeError)."""

    def __init__(self, where: str, detail: str = "", exc_info=None) -> None:
        exc_type, exc, tb = exc_info if exc_info is not None else sys.exc_info()
        self.exc_type: type | None = exc_type
        self.type_name = exc_type.__name__ if exc_type is not None else "Exception"
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where
        self.detail = detail

    def __reduce__(self):
        t = self.exc_type
        ref = (t.__module__, t.__qualname__) if t is not None else ("builtins", "Exception")
        return (_rebuild_wrapper, (ref, self.type_name, self.exc_msg, self.where, self.detail))

    def message(self) -> str:
        extra = f"{self.detail}\n" if self.detail else ""
        return f"Caught {self.type_name} {self.where}.\n{extra}Original {self.exc_msg}"

    def reraise(self):
        msg = self.message()
        exc_type = self.exc_type or RuntimeError
        if issubclass(exc_type, StopIteration):
            # would end the caller's for loop silently; a generator (the num_workers=0 path)
            # turns it into a RuntimeError too
            raise RuntimeError(msg)
        if exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        elif getattr(exc_type, "message", None):
            raise exc_type(message=msg)
        try:
            exception = exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


def _rebuild_wrapper(ref, type_name, exc_msg, where, detail) -> _ExceptionWrapper:
    w = _ExceptionWrapper.__new__(_ExceptionWrapper)
    w.exc_type = _find_type(*ref)
    w.type_name, w.exc_msg, w.where, w.detail = type_name, exc_msg, where, detail
    return w


# --------------------------------------------------------------------------------------------
# pickling batches


def _rebuild_tensor(arr: np.ndarray, dev: str, requires_grad: bool) -> Tensor:
    """A tensor from the host data a worker sent: no copy on the CPU (the array was just
    unpickled and belongs to nobody else), moved to its device otherwise."""
    if not arr.flags.writeable:
        arr = arr.copy()
    t = _make(arr, CPU)
    if dev != "cpu":
        t = t.to(dev)
    t._rg = requires_grad
    return t


def _reduce_tensor(t: Tensor):
    return (_rebuild_tensor, (t._host(), str(t._device), t._rg))


class _BatchPickler(pickle.Pickler):
    dispatch_table = {**copyreg.dispatch_table, Tensor: _reduce_tensor}


def _dumps(obj) -> list:
    """``obj`` as the pieces of one message: a header (the pickle's length, the number of
    out-of-band buffers and their lengths), the pickle, then the raw bytes of every contiguous
    array inside (pickle protocol 5: written straight from the arrays, no copy)."""
    f = io.BytesIO()
    buffers: list[pickle.PickleBuffer] = []
    _BatchPickler(f, protocol=5, buffer_callback=buffers.append).dump(obj)
    raws = [b.raw() for b in buffers]
    meta = f.getbuffer()
    header = struct.pack(f"<QQ{len(raws)}Q", meta.nbytes, len(raws), *(r.nbytes for r in raws))
    return [header, meta, *raws]


def _loads(meta, buffers: list):
    return pickle.loads(meta, buffers=buffers)


def _enlarge_pipe(fd: int) -> None:
    """Best effort: a 1 MiB pipe buffer (Linux) so that a batch goes over in a few writes."""
    try:
        import fcntl  # lazy: Unix only (the ImportError is handled)

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


class _Sender:
    """Writes messages to the result pipe from a daemon thread, so that the worker can compute
    its next batch while the main process has not read the last one yet."""

    def __init__(self, conn) -> None:
        self._conn = conn  # keeps the fd open
        self._fd = conn.fileno()
        _enlarge_pipe(self._fd)
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="gpuarr-dl-sender", daemon=True)
        self._thread.start()

    def send(self, obj, fallback) -> None:
        """Queue ``obj``; if it cannot be pickled, ``fallback()`` (made while the pickling
        exception is being handled) is sent instead."""
        try:
            pieces = _dumps(obj)
        except Exception:
            pieces = _dumps(fallback())
        self._q.put(pieces)

    def _run(self) -> None:
        while True:
            pieces = self._q.get()
            try:
                for piece in pieces:
                    _write_all(self._fd, piece)
            except OSError:  # the main process closed its end: nobody to talk to any more
                return
            finally:
                del pieces


def _write_all(fd: int, data) -> None:
    view = memoryview(data).cast("B")
    while len(view):
        n = os.write(fd, view)
        view = view[n:]


# --------------------------------------------------------------------------------------------
# the worker process


def _watchdog(parent_pid: int) -> None:
    """Exit when the process that started this worker is gone (so no worker outlives a main
    process that was killed), even while the dataset code is blocked."""
    while True:
        time.sleep(_WATCHDOG_INTERVAL)
        if os.getppid() != parent_pid:
            os._exit(0)


def _worker_loop(dataset, fetcher_args: tuple, index_queue, result_conn, done_flag,
                 base_seed: int, init_fn, worker_id: int, num_workers: int) -> None:
    """Body of worker ``worker_id``: fetch the batches asked for on ``index_queue`` and send
    them (or the exception raised while making them) down ``result_conn``."""
    global _worker_info
    try:
        faulthandler.enable()  # a segfault in dataset code prints a Python traceback
    except Exception:
        pass
    threading.Thread(target=_watchdog, args=(os.getppid(),), name="gpuarr-dl-watchdog",
                     daemon=True).start()
    where = f"in DataLoader worker process {worker_id}"
    sender = _Sender(result_conn)
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_error: _ExceptionWrapper | None = None  # worker_init_fn failed: sticky
        fetcher_error: _ExceptionWrapper | None = None  # iter(dataset) failed: until resumed
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception:
            init_error = _ExceptionWrapper(where, "While running worker_init_fn.")
        if init_error is None:
            try:
                fetcher = _make_fetcher(dataset, *fetcher_args)
            except Exception:
                fetcher_error = _ExceptionWrapper(where, "While starting to iterate the dataset.")
        iteration_end = False
        while True:
            try:
                r = index_queue.get(timeout=_WATCHDOG_INTERVAL)
            except queue.Empty:
                if done_flag.value:
                    break  # shutting down and the final None is not coming
                continue
            if r is None:
                break
            if isinstance(r, _ResumeIteration):
                sender.send((r, None), lambda: None)
                iteration_end = False
                if init_error is None:
                    try:
                        fetcher, fetcher_error = _make_fetcher(dataset, *fetcher_args), None
                    except Exception:
                        fetcher_error = _ExceptionWrapper(
                            where, "While starting to iterate the dataset.")
                continue
            if done_flag.value or iteration_end:
                continue  # shutting down, or nothing left: skip until the final None
            idx, index = r
            failed = init_error or fetcher_error
            if failed is not None:
                data: Any = failed  # every task fails the same way
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if fetcher.iterable:
                        data = _IterableEnd(worker_id)
                        iteration_end = True
                    else:
                        data = _ExceptionWrapper(where, fetcher.describe())
                except Exception:
                    data = _ExceptionWrapper(where, fetcher.describe())
            detail = fetcher.describe() if fetcher is not None else ""
            sender.send((idx, data), lambda idx=idx, detail=detail: (idx, _ExceptionWrapper(
                where, f"While sending the batch to the main process. {detail}".strip())))
            del data, r, index
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the main process reports it


# --------------------------------------------------------------------------------------------
# the main process side


class _FrameReader:
    """Non-blocking reader of one worker's result pipe: collects whole messages (see
    :func:`_dumps`), never waits for the rest of a half-written one. Every array's bytes land
    in a bytearray of their own, which the unpickled array then uses without a copy."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.fd = conn.fileno()
        os.set_blocking(self.fd, False)
        self.frames: deque = deque()
        self.eof = False
        self._new_frame()

    def _new_frame(self) -> None:
        self._stage = "head"
        self._target = bytearray(16)
        self._pos = 0
        self._lens: list[int] = []
        self._meta = None
        self._bufs: list[bytearray] = []

    def _next_target(self) -> None:
        """The current piece is complete: decide what comes next."""
        t = self._target
        if self._stage == "head":
            meta_len, nbuf = struct.unpack("<QQ", t)
            self._meta_len = meta_len
            self._stage, self._target = "lens", bytearray(8 * nbuf)
        elif self._stage == "lens":
            self._lens = list(struct.unpack(f"<{len(t) // 8}Q", t))
            self._stage, self._target = "meta", bytearray(self._meta_len)
        else:
            if self._stage == "meta":
                self._meta = t
            else:
                self._bufs.append(t)
            if len(self._bufs) == len(self._lens):
                self.frames.append((self._meta, self._bufs))
                self._new_frame()
                return
            self._stage, self._target = "buf", bytearray(self._lens[len(self._bufs)])
        self._pos = 0

    def pump(self) -> None:
        """Read everything available now."""
        while not self.eof:
            try:
                n = os.readv(self.fd, [memoryview(self._target)[self._pos:]])
            except BlockingIOError:
                return
            except OSError:
                self.eof = True
                return
            if n == 0:
                self.eof = True
                return
            self._pos += n
            while self._pos == len(self._target):  # pieces of length 0 complete at once
                self._next_target()

    def close(self) -> None:
        self.conn.close()


def _death_message(dead: list) -> str:
    pids = ", ".join(str(p.pid) for _, p in dead)
    parts = []
    for wid, p in dead:
        code = p.exitcode
        if code is not None and code < 0:
            try:
                name = signal.strsignal(-code) or f"signal {-code}"
            except ValueError:
                name = f"signal {-code}"
            parts.append(f"worker {wid} (pid {p.pid}) is killed by signal: {name}.")
        else:
            parts.append(
                f"worker {wid} (pid {p.pid}) exited unexpectedly with exit code {code}. Details "
                "are lost due to multiprocessing. Rerunning with num_workers=0 may give better "
                "error trace."
            )
    return f"DataLoader worker (pid(s) {pids}) exited unexpectedly: " + " ".join(parts)


_exiting = [False]


class _WorkerPool:
    """The processes, queues and pipes of one multi-process iterator.

    A module-level set holds every live pool strongly, so a pool is never garbage of a
    reference cycle. That matters: when an iterator dies in a cycle (held by the traceback of
    an exception it raised, say), the garbage collector runs the weakref finalizers of
    multiprocessing's queues, which stop their feeder threads, before the iterator's
    ``__del__``; the stop message for the workers would then never be sent.
    """

    def __init__(self) -> None:
        self.workers: list = []
        self.pids: list[int] = []
        self.readers: list[_FrameReader] = []
        self.index_queues: list = []
        # a lock-free shared byte (not an Event: a worker killed while holding an Event's lock
        # would make set() hang here)
        self.done_flag = None
        self.owner = os.getpid()
        self.closed = False
        _live_pools.add(self)

    def shutdown(self, grace: float) -> None:
        """Ask the workers to exit, wait up to ``grace`` seconds in all, then terminate (and
        at last kill) those still running; close the pipes and queues."""
        if self.closed:
            return
        self.closed = True
        if os.getpid() != self.owner:  # a forked copy: the workers belong to the parent
            _live_pools.discard(self)
            return
        try:
            if self.done_flag is not None:
                self.done_flag.value = 1
            for q in self.index_queues:
                try:
                    q.put(None)
                except Exception:
                    pass
            deadline = time.monotonic() + grace
            for p in self.workers:
                p.join(max(0.0, deadline - time.monotonic()))
        finally:
            for sig_fn in ("terminate", "kill"):
                alive = [p for p in self.workers if p.exitcode is None]
                for p in alive:
                    try:
                        getattr(p, sig_fn)()
                    except Exception:
                        pass
                for p in alive:
                    p.join(1.0)
            for r in self.readers:
                r.close()
            for q in self.index_queues:
                q.close()
            for p in self.workers:
                try:
                    p.close()
                except ValueError:
                    pass
            _live_pools.discard(self)


_live_pools: set[_WorkerPool] = set()


@atexit.register
def _shutdown_all_at_exit() -> None:
    # Registered after multiprocessing.util's own hook, so it runs first: workers get the
    # chance to exit cleanly before multiprocessing terminates whatever daemons remain.
    for pool in list(_live_pools):
        try:
            pool.shutdown(_JOIN_GRACE)
        except Exception:
            pass
    _exiting[0] = True


def _resolve_context(ctx):
    if ctx is None:
        return multiprocessing.get_context()
    if isinstance(ctx, str):
        return multiprocessing.get_context(ctx)
    return ctx


def _pinned_allocator():
    """The CUDA backend's ``pinned_empty(shape, dtype)`` (page-locked host arrays), or None
    when CUDA cannot be used (then batches stay in ordinary host memory)."""
    try:
        return cuda_backend().pinned_empty
    except Exception:
        return None


def pin_memory(data, pinned_empty):
    """Copy the CPU tensors inside ``data`` into page-locked host memory from
    ``pinned_empty(shape, dtype)``; keeps the structure (dicts, named tuples, tuples, lists)
    as torch's ``pin_memory`` does, and calls ``.pin_memory()`` on other objects that have it."""
    if isinstance(data, Tensor):
        return data if data._device is not CPU else _pinned_copy(data, pinned_empty)
    if hasattr(data, "pin_memory"):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, cabc.Mapping):
        pinned = {k: pin_memory(v, pinned_empty) for k, v in data.items()}
        try:
            if isinstance(data, cabc.MutableMapping):
                clone = copy.copy(data)
                clone.update(pinned)
                return clone
            return type(data)(pinned)
        except TypeError:
            return pinned
    if isinstance(data, tuple):
        if hasattr(data, "_fields"):
            return type(data)(*(pin_memory(s, pinned_empty) for s in data))
        return type(data)(pin_memory(s, pinned_empty) for s in data)
    if isinstance(data, cabc.Sequence):
        items = [pin_memory(s, pinned_empty) for s in data]
        try:
            if isinstance(data, cabc.MutableSequence):
                clone = copy.copy(data)
                for i, item in enumerate(items):
                    clone[i] = item
                return clone
            return type(data)(items)
        except TypeError:
            return items
    return data


class _MultiProcessingIter:
    """Iterator of a DataLoader with ``num_workers > 0`` (see the module docstring)."""

    def __init__(self, loader, base_seed_fn) -> None:
        self._shutdown = True  # until the workers exist
        self._pool = _WorkerPool()
        self._workers = self._pool.workers
        self._pids = self._pool.pids
        self._readers = self._pool.readers
        self._index_queues = self._pool.index_queues
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._iterable = loader._iterable
        self._batch_size = loader.batch_size
        self._len_of = (loader.dataset, loader._index_sampler, loader.drop_last)
        self._pinned_empty = loader._pinned_empty_for_iter()
        if self._prefetch is None or self._prefetch <= 0:
            self._pool.shutdown(0)
            raise AssertionError(
                "prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter"
            )
        ctx = _resolve_context(loader.multiprocessing_context)
        try:
            # the sampler's first (lazy) draw, then the base seed: the same draws from the
            # generator as a num_workers=0 iterator makes
            self._start_epoch(loader)
            base_seed = base_seed_fn()
            fetcher_args = (loader._iterable, loader._auto_collation, loader.collate_fn,
                            loader.drop_last)
            done_flag = self._pool.done_flag = ctx.RawValue("b", 0)
            for i in range(self._num_workers):
                iq = ctx.Queue()
                iq.cancel_join_thread()  # never block interpreter exit on a dead worker
                self._index_queues.append(iq)
                r, w = ctx.Pipe(duplex=False)
                self._readers.append(_FrameReader(r))
                p = ctx.Process(
                    target=_worker_loop,
                    args=(loader.dataset, fetcher_args, iq, w, done_flag, base_seed,
                          loader.worker_init_fn, i, self._num_workers),
                    name=f"gpuarr-dataloader-worker-{i}", daemon=True,
                )
                try:
                    p.start()
                except (TypeError, AttributeError, pickle.PicklingError):
                    warnings.warn(
                        "Got pickle error when attempting to start a worker Process. This might "
                        "be because the worker Process arguments are not picklable: with the "
                        "'spawn' and 'forkserver' start methods the dataset, collate_fn and "
                        "worker_init_fn must be picklable (module-level classes and functions).",
                        stacklevel=4,
                    )
                    raise
                finally:
                    w.close()
                self._workers.append(p)
                self._pids.append(p.pid)
        except BaseException:
            self._pool.shutdown(_ERROR_JOIN_GRACE)
            raise
        self._shutdown = False
        self._prime()

    # ---- epochs

    def _start_epoch(self, loader) -> None:
        if self._iterable:
            self._sampler_iter = None
        else:
            self._sampler_iter = iter(loader._index_sampler)
        self._pending = []  # an index taken from the sampler but not sent yet
        if self._sampler_iter is not None:
            try:
                self._pending.append(next(self._sampler_iter))
            except StopIteration:
                pass
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_worker: dict[int, int] = {}
        self._active = [True] * self._num_workers
        self._next_worker = 0

    def _prime(self) -> None:
        for _ in range(self._prefetch * self._num_workers):
            self._try_put_index()

    def _reset(self, loader) -> None:
        """A new epoch on persistent workers: drop what is left of the last one, wait until
        every worker has started over."""
        self._start_epoch(loader)
        for q in self._index_queues:
            q.put(_ResumeIteration())
        for wid in range(self._num_workers):
            while True:
                head, _ = self._loads(self._next_frame(wid))
                if isinstance(head, _ResumeIteration):
                    break
        self._prime()

    # ---- sending

    def _next_index(self):
        if self._iterable:
            return self._batch_size
        if self._pending:
            return self._pending.pop()
        return next(self._sampler_iter)

    def _try_put_index(self) -> None:
        if len(self._task_worker) >= self._prefetch * self._num_workers:
            return
        if not any(self._active):
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            wid = self._next_worker
            self._next_worker = (wid + 1) % self._num_workers
            if self._active[wid]:
                break
        self._index_queues[wid].put((self._send_idx, index))
        self._task_worker[self._send_idx] = wid
        self._send_idx += 1

    # ---- receiving

    def _dead_workers(self) -> list:
        return [(i, p) for i, p in enumerate(self._workers) if p.exitcode is not None]

    def _fail(self, message: str):
        self._shutdown_workers(_ERROR_JOIN_GRACE)
        raise RuntimeError(message)

    def _next_frame(self, wid: int):
        """The next message from worker ``wid``: waits (up to the timeout) while watching every
        worker's liveness."""
        reader = self._readers[wid]
        reader.pump()
        if reader.frames:
            return reader.frames.popleft()
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        handles = {r.fd: r for r in self._readers}
        sentinels = [p.sentinel for p in self._workers]
        while True:
            dead = self._dead_workers()
            if dead:
                self._fail(_death_message(dead))
            if reader.eof:  # the pipe closed: the worker is exiting; give it a moment
                self._workers[wid].join(_ERROR_JOIN_GRACE)
                dead = self._dead_workers() or [(wid, self._workers[wid])]
                self._fail(_death_message(dead))
            wait_for = _POLL_INTERVAL
            if deadline is not None:
                wait_for = deadline - time.monotonic()
                if wait_for <= 0:
                    self._fail(f"DataLoader timed out after {self._timeout} seconds")
            ready = multiprocessing.connection.wait(list(handles) + sentinels, wait_for)
            for h in ready:
                r = handles.get(h)
                if r is not None:
                    r.pump()
            if reader.frames:
                return reader.frames.popleft()

    def _loads(self, frame):
        try:
            return _loads(*frame)
        except Exception as e:
            self._shutdown_workers(_ERROR_JOIN_GRACE)
            raise RuntimeError(
                f"DataLoader: could not unpickle a batch sent by a worker process: {e!r}"
            ) from e

    def __iter__(self):
        return self

    def __next__(self):
        if self._shutdown:
            raise StopIteration
        while True:
            while self._rcvd_idx < self._send_idx:
                wid = self._task_worker[self._rcvd_idx]
                if self._active[wid]:
                    break
                # sent to a worker whose IterableDataset ran out: it will not answer
                del self._task_worker[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            idx, data = self._loads(self._next_frame(wid))
            if idx != self._rcvd_idx:
                self._shutdown_workers(_ERROR_JOIN_GRACE)
                raise AssertionError(f"DataLoader: expected batch {self._rcvd_idx}, got {idx}")
            del self._task_worker[idx]
            self._rcvd_idx += 1
            if isinstance(data, _IterableEnd):
                self._active[data.worker_id] = False
                self._try_put_index()
                continue
            self._try_put_index()
            if isinstance(data, _ExceptionWrapper):
                data.reraise()
            if self._pinned_empty is not None:
                data = pin_memory(data, self._pinned_empty)
            return data

    def __len__(self) -> int:
        """Batches in an epoch (``len(loader)``), as torch's iterators have."""
        dataset, index_sampler, drop_last = self._len_of
        if not self._iterable:
            return len(index_sampler)
        n, b = len(dataset), self._batch_size
        if b is None:
            return n
        return n // b if drop_last else -(-n // b)

    def __getstate__(self):
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")

    # ---- shutdown

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the workers."""
        return list(self._pids)

    def _shutdown_workers(self, grace: float = _JOIN_GRACE) -> None:
        """Stop the workers (see :meth:`_WorkerPool.shutdown`); the iterator is then done."""
        if self._shutdown or _exiting[0]:
            return
        self._shutdown = True
        self._pool.shutdown(grace)

    def __del__(self) -> None:
        try:
            if not _exiting[0]:
                self._pool.shutdown(_JOIN_GRACE)
        except Exception:
            pass
