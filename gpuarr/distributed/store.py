"""Key-value stores with ``torch.distributed``'s names and types: :class:`Store`,
:class:`HashStore` (in this process), :class:`FileStore` (shared by the processes that open the
same file), :class:`TCPStore` (served by one process over TCP) and :class:`PrefixStore` (a key
namespace inside another store).

Keys are strings, values bytes (``str`` values are stored UTF-8 encoded), :meth:`Store.add`
keeps a decimal integer and returns it, and a key that does not appear within the timeout
raises :class:`DistStoreError` (a ``RuntimeError``), as torch's stores do.

gpuarr's processes meet through MPI, so process groups do not need a store; these are for
programs that use one directly (rendezvous flags, counters, small messages between jobs).
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
import struct
import threading
import time
import weakref
from collections.abc import Sequence

__all__ = ["DistError", "DistStoreError", "DistNetworkError", "Store", "HashStore", "FileStore",
           "PrefixStore", "TCPStore"]

_DEFAULT_TIMEOUT = datetime.timedelta(seconds=300)  # torch's default store timeout
_POLL_S = 0.01  # how often a FileStore waiting for keys reads the file again


class DistError(RuntimeError):
    """An error of the distributed package (``torch.distributed.DistError``)."""


class DistStoreError(DistError):
    """A store operation failed or timed out (``torch.distributed.DistStoreError``)."""


def _key(key, fn: str) -> str:
    """The key as a ``str`` (torch's stores take ``str``; bytes are decoded as UTF-8)."""
    if isinstance(key, bytes):
        return key.decode("utf-8", "surrogateescape")
    if not isinstance(key, str):
        raise TypeError(f"{fn}(): incompatible function arguments: key must be str, got "
                        f"{type(key).__name__}")
    return key


def _value(value, fn: str) -> bytes:
    """The value as bytes: ``str`` UTF-8 encoded, bytes-like as they are."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{fn}(): incompatible function arguments: value must be str or bytes, "
                    f"got {type(value).__name__}")


def _timedelta(timeout, fn: str) -> datetime.timedelta:
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"{fn}(): incompatible function arguments: timeout must be a "
                        f"datetime.timedelta, got {type(timeout).__name__}")
    return timeout


def _as_int(raw: bytes | None, key: str) -> int:
    """The integer a counter key holds (0 when missing)."""
    if raw is None:
        return 0
    try:
        return int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"add(): key {key!r} holds {raw!r}, which is not an integer") from None


def _cas_result(current: bytes | None, expected: bytes, desired: bytes) -> tuple[bytes, bool]:
    """(compare_set's return value, whether ``desired`` is written), torch's rule: a missing
    key counts as holding ``b''``; when the comparison fails on a missing key torch returns
    ``expected``."""
    if current is None:
        return (desired, True) if expected == b"" else (expected, False)
    if current == expected:
        return desired, True
    return current, False


class Store:
    """The interface every store has (``torch.distributed.Store``).

    Subclass it and implement ``_get``, ``_set``, ``_add``, ``_compare_set``,
    ``_delete_key`` and ``_num_keys`` (each atomic); waiting, timeouts and argument checks
    are done here.

    Example:
        >>> s = dist.HashStore()
        >>> s.set("ready", "1")
        >>> s.get("ready")
        b'1'
    """

    def __init__(self) -> None:
        self._timeout = _DEFAULT_TIMEOUT

    # -- what a concrete store provides (atomic operations, no waiting)
    def _get(self, key: str) -> bytes | None:
        raise NotImplementedError(f"{type(self).__name__} does not implement get")

    def _set(self, key: str, value: bytes) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement set")

    def _add(self, key: str, amount: int) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not implement add")

    def _compare_set(self, key: str, expected: bytes, desired: bytes) -> bytes:
        raise NotImplementedError(f"{type(self).__name__} does not implement compare_set")

    def _delete_key(self, key: str) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement delete_key")

    def _num_keys(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not implement num_keys")

    def _check(self, keys: list[str]) -> bool:
        return all(self._get(k) is not None for k in keys)

    def _sleep(self, seconds: float) -> None:
        """Pause while waiting for keys (a store that can be woken overrides it)."""
        time.sleep(min(seconds, _POLL_S))

    def _wait_until(self, keys: list[str], timeout: datetime.timedelta) -> bool:
        """Whether every key exists before ``timeout`` runs out."""
        deadline = time.monotonic() + max(timeout.total_seconds(), 0.0)
        while not self._check(keys):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._sleep(left)
        return True

    def _timeout_error(self, keys: list[str], timeout: datetime.timedelta) -> DistStoreError:
        return DistStoreError("Wait timeout")

    # -- torch's API
    @property
    def timeout(self) -> datetime.timedelta:
        """How long :meth:`get` and :meth:`wait` wait for missing keys (300 s by default)."""
        return self._timeout

    def set_timeout(self, timeout: datetime.timedelta) -> None:
        """Set :attr:`timeout`.

        Args:
            timeout: a ``datetime.timedelta``.
        """
        self._timeout = _timedelta(timeout, "set_timeout")

    def set(self, key: str, value: str | bytes) -> None:
        """Store ``value`` under ``key`` (replacing what was there).

        Args:
            key: the key.
            value: ``bytes``, or a ``str`` (stored UTF-8 encoded).
        """
        self._set(_key(key, "set"), _value(value, "set"))

    def get(self, key: str) -> bytes:
        """The value of ``key``, waiting up to :attr:`timeout` for it to be set.

        Args:
            key: the key.

        Returns:
            The value as ``bytes``.

        Raises:
            DistStoreError: the key did not appear in time.
        """
        k = _key(key, "get")
        timeout = self.timeout
        if not self._wait_until([k], timeout):
            raise self._timeout_error([k], timeout)
        value = self._get(k)
        if value is None:  # deleted again between the wait and the read
            raise self._timeout_error([k], timeout)
        return value

    def add(self, key: str, amount: int) -> int:
        """Add ``amount`` to the integer under ``key`` (a missing key counts as 0).

        Args:
            key: the key.
            amount: an ``int`` (negative to subtract).

        Returns:
            The new value, an ``int``.

        Example:
            >>> s.add("arrived", 1)
            1
        """
        if isinstance(amount, bool) or not hasattr(amount, "__index__"):
            raise TypeError(f"add(): incompatible function arguments: amount must be an int, "
                            f"got {type(amount).__name__}")
        return self._add(_key(key, "add"), amount.__index__())

    def compare_set(self, key: str, expected_value: str | bytes,
                    desired_value: str | bytes) -> bytes:
        """Set ``key`` to ``desired_value`` if it holds ``expected_value`` (a missing key
        matches ``b''``), atomically.

        Args:
            key: the key.
            expected_value: the value ``key`` must hold.
            desired_value: the value to write.

        Returns:
            ``desired_value`` when it was written, else the key's current value (or
            ``expected_value`` when the key does not exist), as torch's stores return.
        """
        return self._compare_set(_key(key, "compare_set"),
                                 _value(expected_value, "compare_set"),
                                 _value(desired_value, "compare_set"))

    def wait(self, keys: Sequence[str], timeout: datetime.timedelta | None = None) -> None:
        """Wait until every key in ``keys`` is set.

        Args:
            keys: the keys.
            timeout: how long to wait (None: :attr:`timeout`).

        Raises:
            DistStoreError: a key was still missing when the timeout ran out.
        """
        if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
            raise TypeError("wait(): incompatible function arguments: keys must be a list of "
                            "str")
        ks = [_key(k, "wait") for k in keys]
        timeout = self.timeout if timeout is None else _timedelta(timeout, "wait")
        if not self._wait_until(ks, timeout):
            raise self._timeout_error(ks, timeout)

    def check(self, keys: Sequence[str]) -> bool:
        """Whether every key in ``keys`` is set (does not wait)."""
        if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
            raise TypeError("check(): incompatible function arguments: keys must be a list "
                            "of str")
        return self._check([_key(k, "check") for k in keys])

    def num_keys(self) -> int:
        """The number of keys in the store (a :class:`FileStore` counts its own bookkeeping
        key, as torch's)."""
        return self._num_keys()

    def delete_key(self, key: str) -> bool:
        """Remove ``key``.

        Returns:
            Whether it existed (a :class:`FileStore` always says True, as torch's).
        """
        return self._delete_key(_key(key, "delete_key"))


class HashStore(Store):
    """A store in this process's memory, shared by its threads (``torch.distributed.HashStore``).

    Example:
        >>> s = dist.HashStore()
        >>> s.add("n", 2), s.add("n", 3)
        (2, 5)
    """

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, bytes] = {}
        self._cond = threading.Condition()

    def _get(self, key):
        with self._cond:
            return self._data.get(key)

    def _changed(self) -> None:
        self._cond.notify_all()  # wake threads waiting for keys

    def _set(self, key, value):
        with self._cond:
            self._data[key] = value
            self._changed()

    def _add(self, key, amount):
        with self._cond:
            n = _as_int(self._data.get(key), key) + amount
            self._data[key] = str(n).encode()
            self._changed()
            return n

    def _compare_set(self, key, expected, desired):
        with self._cond:
            out, write = _cas_result(self._data.get(key), expected, desired)
            if write:
                self._data[key] = desired
                self._changed()
            return out

    def _delete_key(self, key):
        with self._cond:
            return self._data.pop(key, None) is not None

    def _num_keys(self):
        with self._cond:
            return len(self._data)

    def _check(self, keys):
        with self._cond:
            return all(k in self._data for k in keys)

    def _wait_until(self, keys, timeout):
        with self._cond:  # sleeps until a write wakes it, not by polling
            return self._cond.wait_for(lambda: all(k in self._data for k in keys),
                                       max(timeout.total_seconds(), 0.0))


# ---- FileStore -----------------------------------------------------------------------------------

# torch's file layout, so that torch and gpuarr processes can share one store: an append-only
# log of records (uint32 key length, key, uint32 value length, value), native byte order; user
# keys get "/" in front, a deletion is the record "-" + that key with an empty value; the
# "refcount/" and "cleanup/" counters let the last store of a known world remove the file.
_REGULAR, _DELETE = "/", "-"
_REFCOUNT, _CLEANUP = "refcount/", "cleanup/"
_LEN = struct.Struct("=I")


class _LockedFile:
    """The store's file opened and locked (``flock``: exclusive to write, shared to read)
    for one operation."""

    def __init__(self, path: str, exclusive: bool) -> None:
        self.path, self.exclusive = path, exclusive

    def __enter__(self) -> int:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise DistStoreError(e.strerror or str(e)) from e
        fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        return self.fd

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _read_exact(fd: int, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            raise DistStoreError("FileStore: the file ends inside a record (truncated?)")
        out += chunk
    return out


class _FileLog:
    """The records of one store file read so far (by position), and appending new ones."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pos = 0
        self.cache: dict[str, bytes] = {}

    def refresh(self, fd: int) -> None:
        """Read the records appended since the last refresh (under a lock)."""
        end = os.fstat(fd).st_size
        if end < self.pos:  # the file was removed and made again: start over
            self.pos, self.cache = 0, {}
        os.lseek(fd, self.pos, os.SEEK_SET)
        while self.pos < end:
            (kn,) = _LEN.unpack(_read_exact(fd, _LEN.size))
            key = _read_exact(fd, kn).decode("utf-8", "surrogateescape")
            (vn,) = _LEN.unpack(_read_exact(fd, _LEN.size))
            value = _read_exact(fd, vn)
            self.pos += 2 * _LEN.size + kn + vn
            if key.startswith(_DELETE):
                self.cache.pop(key[len(_DELETE):], None)
            else:
                self.cache[key] = value

    def append(self, fd: int, key: str, value: bytes) -> None:
        """Append one record (under the exclusive lock, after :meth:`refresh`)."""
        k = key.encode("utf-8", "surrogateescape")
        os.lseek(fd, 0, os.SEEK_END)
        os.write(fd, _LEN.pack(len(k)) + k + _LEN.pack(len(value)) + value)

    def add(self, key: str, amount: int) -> int:
        with _LockedFile(self.path, True) as fd:
            self.refresh(fd)
            n = _as_int(self.cache.get(key), key.lstrip(_REGULAR)) + amount
            self.append(fd, key, str(n).encode())
            self.refresh(fd)
            return n


def _release(log: _FileLog, world_size: int) -> None:
    """What torch's FileStore destructor does: count this store out; the last one of a world
    of known size removes the file."""
    try:
        finished = log.add(_CLEANUP, 1)
        refs = log.add(_REFCOUNT, -1)
        if refs == 0 and world_size >= 0 and finished >= world_size:
            os.remove(log.path)
    except (OSError, DistStoreError):
        pass  # best effort, as torch's: the file may be gone already


class FileStore(Store):
    """A store in a file that every process opening the same path shares
    (``torch.distributed.FileStore``); safe across processes through file locks, and in
    torch's file format, so torch and gpuarr programs can share one.

    Args:
        file_name: the file (made if missing; its folder must exist).
        world_size: how many processes use the store (-1: unknown). When all of a known
            number have closed theirs, the last one removes the file.

    Example:
        >>> s = dist.FileStore("/tmp/rendezvous", 2)
        >>> s.add("arrived", 1)         # the other process sees the count too
    """

    def __init__(self, file_name: str, world_size: int = -1) -> None:
        super().__init__()
        if not isinstance(file_name, (str, os.PathLike)):
            raise TypeError(f"FileStore: file_name must be a str, got "
                            f"{type(file_name).__name__}")
        if isinstance(world_size, bool) or not isinstance(world_size, int):
            raise TypeError(f"FileStore: world_size must be an int, got "
                            f"{type(world_size).__name__}")
        self._path = os.fspath(file_name)
        self._world_size = world_size
        self._log = _FileLog(self._path)
        self._log.add(_REFCOUNT, 1)
        self._finalizer = weakref.finalize(self, _release, self._log, world_size)

    @property
    def path(self) -> str:
        """The file's path."""
        return self._path

    def _locked(self, exclusive: bool) -> _LockedFile:
        return _LockedFile(self._path, exclusive)

    def _get(self, key):
        with self._locked(False) as fd:
            self._log.refresh(fd)
            return self._log.cache.get(_REGULAR + key)

    def _check(self, keys):
        with self._locked(False) as fd:
            self._log.refresh(fd)
            return all(_REGULAR + k in self._log.cache for k in keys)

    def _set(self, key, value):
        with self._locked(True) as fd:
            self._log.refresh(fd)
            self._log.append(fd, _REGULAR + key, value)

    def _add(self, key, amount):
        return self._log.add(_REGULAR + key, amount)

    def _compare_set(self, key, expected, desired):
        with self._locked(True) as fd:
            self._log.refresh(fd)
            out, write = _cas_result(self._log.cache.get(_REGULAR + key), expected, desired)
            if write:
                self._log.append(fd, _REGULAR + key, desired)
            return out

    def _delete_key(self, key):
        with self._locked(True) as fd:
            self._log.refresh(fd)
            self._log.append(fd, _DELETE + _REGULAR + key, b"")
            return True

    def _num_keys(self):
        with self._locked(False) as fd:
            self._log.refresh(fd)
            return len(self._log.cache)

    def _timeout_error(self, keys, timeout):
        ms = int(timeout.total_seconds() * 1000)
        if len(keys) == 1:
            return DistStoreError(f"Timeout waiting for key: {keys[0]} after {ms} ms")
        return DistStoreError("Wait timeout")

    def __repr__(self) -> str:
        return f"FileStore({self._path!r}, world_size={self._world_size})"


class PrefixStore(Store):
    """Another store's keys under ``prefix + '/'`` (``torch.distributed.PrefixStore``), so
    that several users of one store do not collide.

    Args:
        prefix: the namespace.
        store: the underlying store (its timeout is this store's timeout).

    Example:
        >>> p = dist.PrefixStore("trainer", base)
        >>> p.set("step", "10")            # base holds "trainer/step"
    """

    def __init__(self, prefix: str, store: Store) -> None:
        super().__init__()
        if not isinstance(prefix, str) or not isinstance(store, Store):
            raise TypeError(f"PrefixStore(prefix: str, store: Store): got "
                            f"{type(prefix).__name__}, {type(store).__name__}")
        self._prefix, self._store = prefix, store

    @property
    def underlying_store(self) -> Store:
        """The store the keys live in."""
        return self._store

    def _k(self, key: str) -> str:
        return f"{self._prefix}/{key}"

    @property
    def timeout(self) -> datetime.timedelta:
        return self._store.timeout

    def set_timeout(self, timeout: datetime.timedelta) -> None:
        self._store.set_timeout(timeout)

    def _get(self, key):
        return self._store._get(self._k(key))

    def _set(self, key, value):
        self._store._set(self._k(key), value)

    def _add(self, key, amount):
        return self._store._add(self._k(key), amount)

    def _compare_set(self, key, expected, desired):
        return self._store._compare_set(self._k(key), expected, desired)

    def _delete_key(self, key):
        return self._store._delete_key(self._k(key))

    def _num_keys(self):
        return self._store._num_keys()

    def _check(self, keys):
        return self._store._check([self._k(k) for k in keys])

    def _wait_until(self, keys, timeout):
        return self._store._wait_until([self._k(k) for k in keys], timeout)

    def _timeout_error(self, keys, timeout):
        return self._store._timeout_error([self._k(k) for k in keys], timeout)


# ---- TCPStore ------------------------------------------------------------------------------------

# a request is one op byte and length-prefixed byte strings; a reply is a status byte (0: ok)
# and length-prefixed strings. Integers travel as decimal text. (gpuarr's own wire format:
# torch's TCPStore servers and clients do not talk to these.)
_OP_GET, _OP_SET, _OP_ADD, _OP_CAS, _OP_DEL, _OP_NUM, _OP_CHECK, _OP_WAIT = range(8)
_INIT_KEY = "init/"  # counts the stores that joined, as torch's (num_keys counts it)
_TCP_PREFIX = "/"    # torch's TCPStore keeps user keys under "/"
_U32 = struct.Struct("!I")


def _send_frame(sock, head: int, parts: Sequence[bytes]) -> None:
    sock.sendall(bytes([head]) + _U32.pack(len(parts)) +
                 b"".join(_U32.pack(len(p)) + p for p in parts))


def _recv_exact(sock, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the store's connection closed")
        buf += chunk
    return bytes(buf)


def _recv_frame(sock) -> tuple[int, list[bytes]]:
    head = _recv_exact(sock, 1)[0]
    (n,) = _U32.unpack(_recv_exact(sock, _U32.size))
    parts = []
    for _ in range(n):
        (k,) = _U32.unpack(_recv_exact(sock, _U32.size))
        parts.append(_recv_exact(sock, k))
    return head, parts


class DistNetworkError(DistError):
    """A store could not connect or listen (``torch.distributed.DistNetworkError``)."""


class _TCPServer:
    """The master's server: a thread accepting clients and a thread per client, all
    working on one :class:`HashStore`."""

    def __init__(self, port: int, listen_fd: int | None) -> None:
        self.data = HashStore()
        if listen_fd is not None:
            self.sock = socket.socket(fileno=listen_fd)
        else:
            try:
                self.sock = socket.create_server(("", port), reuse_port=False)
            except OSError as e:
                raise DistNetworkError(
                    "The server socket has failed to listen on any local network address. "
                    f"port: {port}, code: {-(e.errno or 0)}, message: {e.strerror}") from e
        self.port = self.sock.getsockname()[1]
        self.users = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="gpuarr-tcpstore").start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        with conn:
            while True:
                try:
                    op, args = _recv_frame(conn)
                except (ConnectionError, OSError):
                    return
                try:
                    out = self._apply(op, args)
                    _send_frame(conn, 0, out)
                except ValueError as e:  # a counter that is not an integer
                    _send_frame(conn, 1, [str(e).encode()])

    def _apply(self, op: int, args: list[bytes]) -> list[bytes]:
        d = self.data
        key = args[0].decode("utf-8", "surrogateescape") if args else ""
        if op == _OP_GET:
            v = d._get(key)
            return [] if v is None else [v]
        if op == _OP_SET:
            d._set(key, args[1])
            return []
        if op == _OP_ADD:
            return [str(d._add(key, int(args[1]))).encode()]
        if op == _OP_CAS:
            return [d._compare_set(key, args[1], args[2])]
        if op == _OP_DEL:
            return [b"1" if d._delete_key(key) else b"0"]
        if op == _OP_NUM:
            return [str(d._num_keys()).encode()]
        keys = [a.decode("utf-8", "surrogateescape") for a in args[1:]]
        if op == _OP_CHECK:
            return [b"1" if d._check(keys) else b"0"]
        # _OP_WAIT: args[0] is the timeout in microseconds; answers when the keys exist or
        # the time is up, so clients need not poll
        ok = d._wait_until(keys, datetime.timedelta(microseconds=int(args[0])))
        return [b"1" if ok else b"0"]

    def close(self) -> None:
        self.closed = True
        try:  # close() alone would not wake the thread blocked in accept()
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


_SERVERS: dict[int, _TCPServer] = {}  # port -> this process's multi-tenant servers
_SERVERS_LOCK = threading.Lock()


def _close_tcp(sock, server: _TCPServer | None) -> None:
    """What happens when a TCPStore goes away: its connection closes; the master's server
    stops with its last user."""
    try:
        sock.close()
    except OSError:
        pass
    if server is not None:
        with _SERVERS_LOCK:
            server.users -= 1
            if server.users == 0:
                server.close()
                if _SERVERS.get(server.port) is server:
                    del _SERVERS[server.port]


class TCPStore(Store):
    """A store served over TCP by the master process (``torch.distributed.TCPStore``): the
    master (usually rank 0) runs the server in a background thread, every process
    (the master too) is a client.

    Args:
        host_name: the master's host name or address.
        port: the server's port (the master may pass 0 for a free one: see :attr:`port`).
        world_size: how many stores join (None: unknown).
        is_master: this process runs the server.
        timeout: how long connecting, waiting for workers, ``get`` and ``wait`` take at
            most (300 s by default).
        wait_for_workers: the master waits until ``world_size`` stores joined.
        multi_tenant: masters in this process with the same port share one server.
        master_listen_fd: a listening socket's file descriptor for the server to use.
        use_libuv: accepted (the server is a Python thread).

    Raises:
        DistNetworkError: the master cannot listen on ``port``, or a client cannot connect
            within ``timeout``.
        DistStoreError: the workers did not all join in time.

    Example:
        >>> # rank 0                                           # every other rank
        >>> s = dist.TCPStore("node0", 29500, 2, True)         # dist.TCPStore("node0", 29500, 2)
        >>> s.set("ready", "1")                                # s.get("ready") -> b'1'
    """

    def __init__(self, host_name: str, port: int, world_size: int | None = None,
                 is_master: bool = False, timeout: datetime.timedelta = _DEFAULT_TIMEOUT,
                 wait_for_workers: bool = True, multi_tenant: bool = False,
                 master_listen_fd: int | None = None, use_libuv: bool = True) -> None:
        super().__init__()
        self._timeout = _timedelta(timeout, "TCPStore")
        if not isinstance(host_name, str) or isinstance(port, bool) or not isinstance(port,
                                                                                     int):
            raise TypeError("TCPStore(host_name: str, port: int, ...): got "
                            f"{type(host_name).__name__}, {type(port).__name__}")
        self._host = host_name
        self._server = None
        if is_master:
            with _SERVERS_LOCK:
                server = _SERVERS.get(port) if multi_tenant and port else None
                if server is None:
                    server = _TCPServer(port, master_listen_fd)
                    if multi_tenant:
                        _SERVERS[server.port] = server
                server.users += 1
            self._server = server
            port = server.port
        self._port = port
        self._lock = threading.Lock()  # one request at a time on the connection
        self._sock = self._connect()
        self._finalizer = weakref.finalize(self, _close_tcp, self._sock, self._server)
        self._request(_OP_ADD, [_INIT_KEY.encode(), b"1"])
        if is_master and wait_for_workers and world_size is not None:
            self._wait_for_workers(int(world_size))

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + self._timeout.total_seconds()
        while True:
            try:
                sock = socket.create_connection(
                    (self._host, self._port),
                    timeout=max(0.001, min(1.0, deadline - time.monotonic())))
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError:
                if time.monotonic() >= deadline:
                    ms = int(self._timeout.total_seconds() * 1000)
                    raise DistNetworkError(
                        f"The client socket has timed out after {ms}ms while trying to connect "
                        f"to ({self._host}, {self._port}).") from None
                time.sleep(0.05)  # the server may not be up yet

    def _wait_for_workers(self, world_size: int) -> None:
        deadline = time.monotonic() + self._timeout.total_seconds()
        while True:
            joined = _as_int(self._request(_OP_GET, [_INIT_KEY.encode()])[0], _INIT_KEY)
            if joined >= world_size:
                return
            if time.monotonic() >= deadline:
                secs = max(1, round(self._timeout.total_seconds()))
                raise DistStoreError(f"Timed out after {secs} seconds waiting for clients. "
                                     f"{joined}/{world_size} clients joined.")
            time.sleep(_POLL_S)

    def _request(self, op: int, parts: list[bytes]) -> list[bytes]:
        with self._lock:
            try:
                _send_frame(self._sock, op, parts)
                status, out = _recv_frame(self._sock)
            except OSError as e:
                raise DistNetworkError(f"TCPStore: lost the connection to the server at "
                                       f"({self._host}, {self._port}): {e}") from e
        if status:
            raise ValueError(out[0].decode())
        return out

    @property
    def host(self) -> str:
        """The master's host name."""
        return self._host

    @property
    def port(self) -> int:
        """The server's port."""
        return self._port

    @property
    def libuvBackend(self) -> bool:  # noqa: N802 (torch's name)
        """False: the server is a Python thread, not libuv."""
        return False

    def _k(self, key: str) -> bytes:
        return (_TCP_PREFIX + key).encode("utf-8", "surrogateescape")

    def _get(self, key):
        out = self._request(_OP_GET, [self._k(key)])
        return out[0] if out else None

    def _set(self, key, value):
        self._request(_OP_SET, [self._k(key), value])

    def _add(self, key, amount):
        return int(self._request(_OP_ADD, [self._k(key), str(amount).encode()])[0])

    def _compare_set(self, key, expected, desired):
        return self._request(_OP_CAS, [self._k(key), expected, desired])[0]

    def _delete_key(self, key):
        return self._request(_OP_DEL, [self._k(key)])[0] == b"1"

    def _num_keys(self):
        return int(self._request(_OP_NUM, [])[0])

    def _check(self, keys):
        return self._request(_OP_CHECK, [b""] + [self._k(k) for k in keys])[0] == b"1"

    def _wait_until(self, keys, timeout):
        us = str(int(max(timeout.total_seconds(), 0.0) * 1e6)).encode()
        return self._request(_OP_WAIT, [us] + [self._k(k) for k in keys])[0] == b"1"

    def _timeout_error(self, keys, timeout):
        ms = int(timeout.total_seconds() * 1000)
        return DistStoreError(f"wait timeout after {ms}ms, keys: "
                              + ", ".join(_TCP_PREFIX + k for k in keys))

    def __repr__(self) -> str:
        return f"TCPStore({self._host!r}, {self._port})"
