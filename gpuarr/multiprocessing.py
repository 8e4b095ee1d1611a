"""``torch.multiprocessing`` for gpuarr: the standard :mod:`multiprocessing` API plus
``spawn`` / ``start_processes`` with torch's semantics.

Everything :mod:`multiprocessing` exports is here (``Process``, ``Queue``, ``Pool``,
``get_context``, ``set_start_method``, ``cpu_count``...), so ``import torch.multiprocessing as
mp`` works as a drop-in. gpuarr tensors (CPU and CUDA) pickle by value, so they travel through
queues, pipes and process arguments as copies.

How this differs from torch: torch moves a CPU tensor sent to another process into shared
memory, so in-place changes made by the receiver are seen by the sender; a CUDA tensor is sent
as an IPC handle to the same GPU memory. gpuarr sends a copy of the data: the receiver gets
equal values on the same device, and changes stay in the process that makes them. The sharing
strategies (``file_descriptor``, ``file_system``) are therefore accepted, checked and reported
as in torch, and select nothing.

Example:
    >>> import gpuarr.multiprocessing as mp
    >>> def work(rank, q):
    ...     q.put(gpuarr.full((2,), float(rank)))
    >>> if __name__ == "__main__":
    ...     q = mp.get_context("spawn").SimpleQueue()
    ...     mp.spawn(work, args=(q,), nprocs=2)
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from multiprocessing import *  # noqa: F403 - the standard API, as torch re-exports it

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies",
           "spawn", "start_processes", "ProcessContext", "SpawnContext", "ProcessException",
           "ProcessRaisedException", "ProcessExitedException"]
__all__ += multiprocessing.__all__

if sys.platform in ("darwin", "win32"):
    _all_sharing_strategies = {"file_system"}
    _sharing_strategy = "file_system"
else:
    _all_sharing_strategies = {"file_descriptor", "file_system"}
    _sharing_strategy = "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    """Choose how torch would share CPU tensors between processes (checked and recorded; gpuarr
    sends copies, see the module's notes).

    Args:
        new_strategy: one of :func:`get_all_sharing_strategies`.

    Raises:
        AssertionError: for a name not in :func:`get_all_sharing_strategies` (torch's text).

    Example:
        >>> gpuarr.multiprocessing.set_sharing_strategy("file_system")
    """
    global _sharing_strategy
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, "
                             f"expected one of {_all_sharing_strategies}")
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    """The current sharing strategy ('file_descriptor' by default on Linux).

    Returns:
        Its name.
    """
    return _sharing_strategy


def get_all_sharing_strategies() -> set[str]:
    """The sharing strategies this platform has, as torch lists them.

    Returns:
        ``{'file_descriptor', 'file_system'}`` on Linux, ``{'file_system'}`` on macOS/Windows.
    """
    return _all_sharing_strategies


# --------------------------------------------------------------------------------------------
# spawn


class ProcessException(Exception):
    """A process started by :func:`spawn` failed.

    Attributes:
        msg: the message.
        error_index: the failed process's index (the ``i`` of ``fn(i, *args)``).
        error_pid: its pid.
    """

    def __init__(self, msg: str, error_index: int, error_pid: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.error_pid = error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.error_pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised an exception; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a non-zero code or was killed by a signal.

    Attributes:
        exit_code: the exit code (negative: minus the signal number).
        signal_name: the signal's name ('SIGKILL'), or None.
    """

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return (type(self),
                (self.msg, self.error_index, self.error_pid, self.exit_code, self.signal_name))


def _set_pdeathsig(sig: int) -> None:
    """Linux: have the kernel send ``sig`` to this process when its parent dies, so that
    non-daemonic children do not outlive a killed parent (what torch does too)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig))  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _wrap(fn: Callable, i: int, args: tuple, error_file: str) -> None:
    """A spawned process's entry point: ``fn(i, *args)``; an exception's traceback goes to
    ``error_file`` for the parent, then the process exits with code 1."""
    _set_pdeathsig(signal.SIGINT)
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # SIGINT from the parent: it is shutting the others down
    except Exception:
        import traceback

        with open(error_file, "wb") as fh:
            pickle.dump(traceback.format_exc(), fh)
        sys.exit(1)


class ProcessContext:
    """The processes one :func:`start_processes` call started (returned when ``join=False``).

    Attributes:
        processes: the :class:`multiprocessing.Process` objects, by index.
        error_files: where each process writes its traceback if it raises.
    """

    def __init__(self, processes: list, error_files: list[str]) -> None:
        self.error_files = error_files
        self.processes = processes
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list[int]:
        """The processes' pids, by index."""
        return [int(p.pid) for p in self.processes]

    def _join_all(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for p in self.processes:
            p.join(max(0.0, end - time.monotonic()))

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait for the processes; on the first failure stop the others and raise.

        Args:
            timeout: seconds to wait (None: until one process ends).
            grace_period: after a failure, seconds the others get to end by themselves before
                SIGTERM (and as long again before SIGKILL); None: terminate at once, then wait
                up to 30 s.

        Returns:
            True when every process has ended successfully, False while some still run.

        Raises:
            ProcessRaisedException: a process raised; the message has its traceback.
            ProcessExitedException: a process exited with a non-zero code or by a signal.
        """
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(self.sentinels.keys(), timeout=timeout)
        error_index = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            p = self.processes[index]
            p.join()
            if p.exitcode != 0:
                error_index = index
                break
        if error_index is None:
            return not self.sentinels

        if grace_period is not None:
            self._join_all(grace_period)
        for p in self.processes:
            if p.is_alive():
                p.terminate()
        self._join_all(30 if grace_period is None else grace_period)
        for p in self.processes:
            if p.is_alive():
                p.kill()
            p.join()

        failed = self.processes[error_index]
        if not os.access(self.error_files[error_index], os.R_OK):
            code = failed.exitcode
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"<Unknown signal {-code}>"
                raise ProcessExitedException(
                    f"process {error_index:d} terminated with signal {name}",
                    error_index=error_index, error_pid=failed.pid, exit_code=code,
                    signal_name=name)
            raise ProcessExitedException(
                f"process {error_index:d} terminated with exit code {code:d}",
                error_index=error_index, error_pid=failed.pid, exit_code=code)
        with open(self.error_files[error_index], "rb") as fh:
            trace = pickle.load(fh)
        msg = f"\n\n-- Process {error_index:d} terminated with the following error:\n" + trace
        raise ProcessRaisedException(msg, error_index, failed.pid)


class SpawnContext(ProcessContext):
    """The old name of :class:`ProcessContext` (deprecated in torch 1.4)."""

    def __init__(self, processes: list, error_files: list[str]) -> None:
        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.",
                      stacklevel=2)
        super().__init__(processes, error_files)


def start_processes(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn") -> ProcessContext | None:
    """Start ``nprocs`` processes running ``fn(i, *args)`` with any start method.

    Args:
        fn: a module-level function (it is pickled by reference for 'spawn'/'forkserver').
        args: the arguments after the process index.
        nprocs: how many processes.
        join: wait for them all (and raise on the first failure).
        daemon: start them as daemonic processes.
        start_method: 'spawn', 'fork' or 'forkserver'.

    Returns:
        None after joining, or the :class:`ProcessContext` when ``join=False``.

    Raises:
        ProcessRaisedException: with ``join``, when a process raised.
        ProcessExitedException: with ``join``, when a process exited with an error code.
    """
    ctx = multiprocessing.get_context(start_method)
    error_files, processes = [], []
    for i in range(nprocs):
        # one file per process for its traceback (a one-shot message; a Queue could deadlock)
        tf = tempfile.NamedTemporaryFile(prefix="gpuarr-errorfile-", suffix=".pickle",
                                         delete=False)
        tf.close()
        os.unlink(tf.name)
        p = ctx.Process(target=_wrap, args=(fn, i, args, tf.name), daemon=daemon)
        p.start()
        error_files.append(tf.name)
        processes.append(p)
    context = ProcessContext(processes, error_files)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True,
          daemon: bool = False, start_method: str = "spawn") -> ProcessContext | None:
    """Start ``nprocs`` processes with the 'spawn' method, each running ``fn(i, *args)``.

    If a process fails, the others are stopped and the failure is raised in the parent: an
    exception in ``fn`` as :class:`ProcessRaisedException` naming the process and carrying its
    traceback, an exit with a non-zero code or by a signal as
    :class:`ProcessExitedException`.

    Args:
        fn: a module-level function, called as ``fn(i, *args)`` with ``i`` in
            ``range(nprocs)``.
        args: the arguments after the process index.
        nprocs: how many processes.
        join: wait for them all.
        daemon: start them as daemonic processes.
        start_method: deprecated (as in torch): anything but 'spawn' warns and spawns anyway;
            use :func:`start_processes` for other methods.

    Returns:
        None when ``join`` is True, else the :class:`ProcessContext`.

    Example:
        >>> def train(rank, world):
        ...     print(f"worker {rank} of {world}")
        >>> if __name__ == "__main__":
        ...     gpuarr.multiprocessing.spawn(train, args=(2,), nprocs=2)
    """
    if start_method != "spawn":
        warnings.warn(
            f"This method only supports start_method=spawn (got: {start_method}).\n"
            "To use a different start_method use:\n\t\t"
            " torch.multiprocessing.start_processes(...)", FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method="spawn")
