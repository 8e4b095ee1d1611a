"""safetensors files for gpuarr: integrity digests, atomic writes and checks around the
``safetensors`` package, which validates every file read.

Format (the public safetensors layout: files written here open with the package, and plain
safetensors files are read here): an unsigned 64-bit little-endian header length ``N``; the
header, ``N`` bytes of UTF-8 JSON mapping each tensor name to ``{"dtype": CODE, "shape": [...],
"data_offsets": [begin, end]}`` plus an optional ``"__metadata__"`` object of strings, padded
with spaces to a multiple of 8 bytes; then the data section, the tensors' little-endian bytes
back to back (gpuarr writes them in the order they are given).

dtype codes read and written: ``F16 BF16 F32 F64 I8 I16 I32 I64 U8 U16 U32 U64 BOOL``
(``BOOL`` is one byte, 0 or 1; ``BF16`` arrays use the ``ml_dtypes`` bfloat16 NumPy dtype, loaded
on first use). Files with other safetensors codes (``F8_*``, ``C64``...) are rejected with an
error naming the tensor and its dtype.

Integrity: the writer stores two SHA-256 digests (lowercase hex) in ``__metadata__``:

* ``gpuarr.data_sha256``: the digest of the whole data section;
* ``gpuarr.header_sha256``: the digest of the header in canonical form (the header object
  without this key, serialised with sorted keys, ``","``/``":"`` separators and ASCII escapes).

The reader checks both when present (a file written by another tool has none), so a flipped
byte anywhere in the file is reported instead of silently loaded.

Validation: the package checks the layout (header length against the file size, the JSON
schema, known dtype codes, integer shapes and offsets, tensors stored back to back, covering the
data section exactly, ``prod(shape) * itemsize`` bytes each) before any tensor memory is
allocated. gpuarr adds what the package does not check: no key twice in a JSON object (the
package keeps one of them silently, so two readers could see different tensors), dtypes gpuarr
can hold, shapes NumPy can hold (at most its maximum number of dimensions, and a size in bytes
below 2**63 even for empty tensors), ``BOOL`` bytes 0 or 1, and the digests. Any violation raises
:class:`CheckpointError` naming the file and the problem (the package's message, for what the
package rejects).

Writing to a path is atomic: the file is built under a temporary name in the same directory,
flushed and ``fsync``-ed, renamed over the destination with ``os.replace`` and the directory is
``fsync``-ed. A crash at any point leaves either the old file or the new one, never a mix.

Stale temporaries: the temporary file of ``<dir>/<name>`` is ``<dir>/.<name>.<16 hex digits>.tmp``
and its writer holds an exclusive ``flock`` on it from just after creating it until after the
rename. A hard kill (SIGKILL, OOM killer, power loss) leaves that file behind, but the kernel
drops the lock with the process. Every write to ``<dir>/<name>`` therefore first deletes the
temporaries of that same target whose lock it can take: those are exactly the ones no live
process is writing (a live writer holds its lock, so its file is skipped), on this machine or,
on NFS with working locks, on another. Files of other targets, files named differently (such as
the 8-character names of older gpuarr versions, which carry no lock and cannot be told apart
from a live writer's), symlinks and files that cannot be opened are never touched. Locks rather
than process ids decide liveness because pids are reused and are not comparable across
containers or hosts. Where ``flock`` is unavailable (Windows, some FUSE file systems) nothing is
deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import numpy as np
import safetensors

from ._dtype import bfloat16

try:
    import fcntl
except ImportError:  # Windows: no flock, so stale temporaries are left alone there
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CheckpointError",
    "DATA_DIGEST_KEY",
    "HEADER_DIGEST_KEY",
    "Entry",
    "atomic_write",
    "code_of",
    "json_depth",
    "load_file",
    "parse_json",
    "read",
    "save_file",
    "write",
]

DATA_DIGEST_KEY = "gpuarr.data_sha256"
HEADER_DIGEST_KEY = "gpuarr.header_sha256"
_METADATA = "__metadata__"
_PLACEHOLDER = "0" * 64  # same length as a hex SHA-256, so the header size is known up front
_ALIGN = 8

# code -> little-endian NumPy dtype
_CODES: dict[str, np.dtype] = {
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
    "U8": np.dtype("u1"),
    "U16": np.dtype("<u2"),
    "U32": np.dtype("<u4"),
    "U64": np.dtype("<u8"),
    "BOOL": np.dtype("?"),
}
_CODE_OF_NAME = {dt.name: code for code, dt in _CODES.items()}
# BF16 joins _CODES when first used: its NumPy dtype comes from ml_dtypes, slow to import.
_CODE_OF_NAME["bfloat16"] = "BF16"
_READABLE = (*_CODES, "BF16")


def _np_of_code(code: str) -> np.dtype:
    """The NumPy dtype of a supported code (KeyError for others)."""
    dt = _CODES.get(code)
    if dt is None and code == "BF16":
        dt = _CODES["BF16"] = bfloat16.np
    if dt is None:
        raise KeyError(code)
    return dt


# The package has parsed the header before gpuarr does, so these only bound what it lets
# through (tensor entries may carry extra fields, which it ignores).
_MAX_HEADER_DEPTH = 8  # a valid header needs 3: {name: {"shape": [...]}}
_MAX_HEADER_DIGITS = 100  # offsets and dims fit in 20
_MAX_INDEX = 2**63 - 1  # largest tensor size in bytes NumPy can index
_MAX_HEADER_BYTES = 100_000_000  # the package refuses to read longer headers
_MAX_NDIM = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32


class CheckpointError(RuntimeError):
    """A file that is not a valid checkpoint: truncated, corrupted or of another format."""


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _NumberTooLong(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def json_depth(value: Any) -> int:
    """How many JSON arrays/objects (lists/dicts) deep ``value`` nests, without recursion.

    Args:
        value: a parsed JSON value.

    Returns:
        0 for a scalar, 1 for a flat list or dict, and so on.

    Example:
        >>> json_depth({"a": [1, [2]]})
        3
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(
    text: str, *, what: str, max_depth: int, max_digits: int,
    fail: Callable[[str], CheckpointError],
) -> Any:
    """``json.loads`` for untrusted input: bounded nesting and numbers, unique keys.

    Args:
        text: the JSON document.
        what: how to name the document in errors (``"the header"``).
        max_depth: the most arrays/objects that may nest inside each other.
        max_digits: the most digits an integer may have (parsing longer ones is slow, and
            Python refuses more than 4300 by default).
        fail: turns a problem description into the error to raise (names the file).

    Returns:
        The parsed value.

    Raises:
        CheckpointError: (from ``fail``) the text is not JSON, nests deeper than
            ``max_depth``, has a longer integer or repeats a key within an object.

    Example:
        >>> parse_json('{"a": [1]}', what="x", max_depth=2, max_digits=20, fail=CheckpointError)
        {'a': [1]}
    """

    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > max_digits:
            raise _NumberTooLong
        return int(digits)

    try:
        value = json.loads(text, parse_int=parse_int, object_pairs_hook=_unique_keys)
    except RecursionError:  # deeper than the interpreter can parse: far over any limit
        raise fail(f"{what} is nested too deeply (more than {max_depth} levels of JSON "
                   "arrays/objects); the file is corrupted or crafted") from None
    except _NumberTooLong:
        raise fail(f"{what} holds an integer with more than {max_digits} digits; the file is "
                   "corrupted or crafted") from None
    except _DuplicateKey as exc:
        raise fail(f"{what} has the key {exc.key!r} twice in one JSON object; the file is "
                   "corrupted or crafted") from None
    except ValueError as exc:  # JSONDecodeError and the like
        raise fail(f"{what} is not valid JSON ({exc}); the file is corrupted or is not a "
                   "safetensors checkpoint.") from None
    depth = json_depth(value)
    if depth > max_depth:
        raise fail(f"{what} is nested {depth} levels deep (JSON arrays/objects); at most "
                   f"{max_depth} are allowed, so the file is corrupted or crafted")
    return value


def code_of(dtype: np.dtype | str) -> str:
    """The safetensors dtype code of a NumPy dtype.

    Args:
        dtype: a NumPy dtype (or its name), e.g. ``numpy.float32``.

    Returns:
        The code, e.g. ``'F32'``.

    Raises:
        TypeError: for dtypes the format cannot store (complex, object, strings...).

    Example:
        >>> code_of(np.dtype("float16"))
        'F16'
    """
    name = np.dtype(dtype).name
    try:
        return _CODE_OF_NAME[name]
    except KeyError:
        supported = ", ".join(sorted(_CODE_OF_NAME))
        raise TypeError(
            f"cannot store arrays of dtype {name} in a checkpoint; supported dtypes: {supported}"
        ) from None


@dataclass(frozen=True)
class Entry:
    """One tensor to write: its name, dtype code, shape, and how to get its values.

    ``fetch`` is called once, while the file is written, and must return an array of exactly
    that shape and dtype. Deferring it lets device tensors be copied to the host one at a time.
    """

    name: str
    code: str
    shape: tuple[int, ...]
    fetch: Callable[[], np.ndarray]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * _np_of_code(self.code).itemsize


def _canonical(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _header_digest(header: dict[str, Any]) -> str:
    meta = dict(header.get(_METADATA, {}))
    meta.pop(HEADER_DIGEST_KEY, None)
    trimmed = {**header, _METADATA: meta}
    return hashlib.sha256(_canonical(trimmed)).hexdigest()


def _encode_header(header: dict[str, Any]) -> bytes:
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    return raw + b" " * (-len(raw) % _ALIGN)


def _build_header(
    entries: list[Entry], metadata: Mapping[str, str], data_digest: str, header_digest: str
) -> dict[str, Any]:
    header: dict[str, Any] = {}
    offset = 0
    for entry in entries:
        end = offset + entry.nbytes
        header[entry.name] = {
            "dtype": entry.code,
            "shape": list(entry.shape),
            "data_offsets": [offset, end],
        }
        offset = end
    header[_METADATA] = {
        **metadata,
        DATA_DIGEST_KEY: data_digest,
        HEADER_DIGEST_KEY: header_digest,
    }
    return header


def _little_endian_bytes(arr: np.ndarray, entry: Entry) -> np.ndarray:
    want = _np_of_code(entry.code)
    if tuple(arr.shape) != entry.shape or arr.dtype.name != want.name:
        raise RuntimeError(
            f"tensor '{entry.name}' changed while being saved: expected shape "
            f"{entry.shape} and dtype {want.name}, got {tuple(arr.shape)} and {arr.dtype.name}"
        )
    # ascontiguousarray copies only when needed (non-contiguous or big-endian input).
    flat = np.ascontiguousarray(arr, dtype=want).reshape(-1)
    return flat.view(np.uint8)


def write(f: BinaryIO, entries: Iterable[Entry], metadata: Mapping[str, str] | None = None) -> None:
    """Write tensors in safetensors format to a seekable binary file, with digests.

    The header is written with placeholder digests, the data is streamed (one ``fetch`` at a
    time) while being hashed, then the header is rewritten in place with the real digests
    (same length, since the digests are fixed-size hex strings).

    This stays gpuarr's own code, not the ``safetensors`` package's: its ``serialize()`` builds
    the whole file in memory twice over (a Rust buffer, then a copy as ``bytes``) before a byte
    is written (measured on a 100 MB checkpoint: saves took about 2.5x as long, with 205 MB more
    resident memory), and its ``serialize_file()`` writes through a temporary file of its own,
    which :func:`atomic_write` could neither lock nor clean up after a killed save.

    Args:
        f: a binary file opened for writing, positioned at its start, seekable.
        entries: the tensors, in file order; names must be unique and not ``__metadata__``.
        metadata: extra string-to-string metadata for the header.

    Example:
        >>> with open("x.safetensors", "w+b") as fh:
        ...     write(fh, [Entry("w", "F32", (2,), lambda: np.zeros(2, np.float32))])
    """
    entries = list(entries)
    names = [e.name for e in entries]
    if len(set(names)) != len(names) or _METADATA in names:
        raise ValueError("tensor names must be unique and must not be '__metadata__'")
    meta = dict(metadata or {})
    for key, value in meta.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("safetensors metadata must map str to str")

    header = _build_header(entries, meta, _PLACEHOLDER, _PLACEHOLDER)
    encoded = _encode_header(header)
    if len(encoded) > _MAX_HEADER_BYTES:  # refuse to write what no safetensors reader loads
        raise ValueError(
            f"the safetensors header would take {len(encoded)} bytes (tensor names and "
            f"metadata); safetensors readers refuse headers over {_MAX_HEADER_BYTES} bytes, so "
            "store large data as tensors or NumPy arrays"
        )
    start = f.tell()
    f.write(len(encoded).to_bytes(8, "little"))
    f.write(encoded)

    hasher = hashlib.sha256()
    for entry in entries:
        if entry.nbytes == 0:
            continue
        data = _little_endian_bytes(np.asarray(entry.fetch()), entry)
        hasher.update(data)
        f.write(data)  # type: ignore[arg-type]  # ndarray supports the buffer protocol

    header[_METADATA][DATA_DIGEST_KEY] = hasher.hexdigest()
    header[_METADATA][HEADER_DIGEST_KEY] = _header_digest(header)
    final = _encode_header(header)
    if len(final) != len(encoded):  # cannot happen: digests have a fixed length
        raise AssertionError("safetensors header changed size while being finalised")
    end = f.tell()
    f.seek(start + 8)
    f.write(final)
    f.seek(end)


def _sniff(head: bytes) -> str:
    """A hint about what a non-safetensors file is, from its first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return (
            " It is a zip archive, the format of torch.save(); gpuarr never unpickles data, so "
            "convert it with PyTorch first (e.g. safetensors.torch.save_file(state_dict, path))."
        )
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return (
            " It looks like a pickle file; gpuarr never loads pickles because unpickling can "
            "run arbitrary code."
        )
    return ""


# What the package's layout errors mean for the user (matched on its message; anything else
# gets the general explanation).
_EXPLANATIONS = (
    ("header too small", "the file is empty or truncated, or is not a safetensors checkpoint"),
    ("invalid header length", "its header length runs past the end of the file: the file is "
                              "truncated or is not a safetensors checkpoint"),
    ("incomplete metadata", "its tensor data does not end where the file ends: the file is "
                            "truncated or has trailing bytes"),
)


def _rejected(exc: Exception, head: bytes, fail: Callable[[str], CheckpointError]) -> Exception:
    """The CheckpointError for a file the package refused (its message, explained)."""
    message = str(exc)
    why = next((text for key, text in _EXPLANATIONS if key in message),
               "the file is corrupted or is not a safetensors checkpoint")
    return fail(f"{why} (safetensors: {message})." + _sniff(head))


def _check_dtype(name: str, code: Any, fail: Callable[[str], CheckpointError]) -> np.dtype:
    if not isinstance(code, str):  # the package also takes {"F32": null}; gpuarr never writes it
        raise fail(f"tensor '{name}' has a dtype that is not a string: {code!r}")
    try:
        return _np_of_code(code)
    except KeyError:
        readable = ", ".join(_READABLE)
        raise fail(f"tensor '{name}' has unsupported dtype '{code}'; gpuarr reads {readable}. "
                   "Convert the tensor (e.g. F8 to F32) with the tool that wrote it.") from None


def _check_shape(
    name: str, shape: list[int], itemsize: int, fail: Callable[[str], CheckpointError]
) -> tuple[int, ...]:
    # The package has checked that the dimensions are integers in [0, 2**64).
    prefix = f"tensor '{name}' has an invalid shape"
    if len(shape) > _MAX_NDIM:
        raise fail(f"{prefix}: {len(shape)} dimensions, at most {_MAX_NDIM} are supported")
    # NumPy (and every array library) indexes bytes with a signed 64-bit integer, even for
    # empty arrays: the product of the non-zero dimensions must fit.
    if math.prod(d for d in shape if d) * itemsize > _MAX_INDEX:
        raise fail(f"{prefix} {shape!r}: it spans more than 2**63 bytes")
    return tuple(shape)


def _check_header(
    raw: bytes, fail: Callable[[str], CheckpointError]
) -> tuple[dict[str, tuple[np.dtype, tuple[int, ...]]], dict[str, str]]:
    """gpuarr's checks of a header the package accepted: ``({name: (dtype, shape)}, metadata)``
    with the tensors in data-section order (for files written by older gpuarr versions, the
    order they were saved in)."""
    header = parse_json(raw.decode("utf-8"), what="the header", max_depth=_MAX_HEADER_DEPTH,
                        max_digits=_MAX_HEADER_DIGITS, fail=fail)
    metadata = header.get(_METADATA, {})
    if HEADER_DIGEST_KEY in metadata and _header_digest(header) != metadata[HEADER_DIGEST_KEY]:
        raise fail("the header does not match its SHA-256 digest; the file is corrupted")
    infos = sorted((info["data_offsets"], name, info) for name, info in header.items()
                   if name != _METADATA)
    layout = {}
    for _, name, info in infos:
        dtype = _check_dtype(name, info["dtype"], fail)
        layout[name] = (dtype, _check_shape(name, info["shape"], dtype.itemsize, fail))
    return layout, metadata


def _verified(
    arrays: dict[str, np.ndarray], metadata: dict[str, str], fail: Callable[[str], CheckpointError]
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    if DATA_DIGEST_KEY in metadata:
        hasher = hashlib.sha256()
        for arr in arrays.values():  # in data-section order: this is the whole section
            hasher.update(arr.reshape(-1).view(np.uint8))
        if hasher.hexdigest() != metadata[DATA_DIGEST_KEY]:
            raise fail("the tensor data does not match its SHA-256 digest; the file is corrupted")
    for name, arr in arrays.items():
        if arr.dtype.kind == "b" and arr.size and arr.view(np.uint8).max() > 1:
            raise fail(f"tensor '{name}' has BOOL bytes other than 0 and 1")
    return arrays, dict(metadata)


def _read_file(
    fh: IO[bytes], path: str, fail: Callable[[str], CheckpointError]
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read the file ``fh``, open at its start, which ``path`` names.

    The package validates the file (opening ``path`` itself); gpuarr then reads the header
    again, for its own checks, and the tensors' bytes straight into fresh arrays, from ``fh``.
    (The package's ``get_tensor`` copies them out of its memory map instead: measured on a
    100 MB checkpoint, loads took about 1.4x as long and twice the resident memory.)
    """
    try:
        with safetensors.safe_open(path, framework="np"):
            pass
    except safetensors.SafetensorError as exc:
        raise _rejected(exc, fh.read(8), fail) from None
    if not _is_same_file(path, fh.fileno()):  # what the package checked is another file
        raise fail("the file was replaced while it was being opened (by a save running at the "
                   "same time?); load it again")
    layout, metadata = _check_header(fh.read(int.from_bytes(fh.read(8), "little")), fail)
    arrays = {}
    for name, (dtype, shape) in layout.items():  # back to back: the package checked that
        arr = np.empty(shape, dtype)
        view = memoryview(arr.reshape(-1).view(np.uint8))
        done = 0
        while done < len(view):
            got = fh.readinto(view[done:])  # type: ignore[attr-defined]
            if not got:
                raise fail(f"the file ended inside tensor '{name}': it was truncated while "
                           "being read")
            done += got
        arrays[name] = arr
    return _verified(arrays, metadata, fail)


def read(
    f: str | os.PathLike[str] | IO[bytes], *, source: str | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read and validate a safetensors file from a path or a binary file object.

    Args:
        f: a path, or a binary file object positioned at the start of the file (an in-memory
            or non-seekable one is read to its end and decoded by the package from memory,
            which holds the file twice).
        source: how to name the file in error messages (default: the path, or ``<file>``).

    Returns:
        ``(tensors, metadata)``: NumPy arrays by name (in data-section order, freshly
        allocated and writable) and the ``__metadata__`` strings.

    Raises:
        CheckpointError: the file is truncated, corrupted or not a safetensors file.

    Example:
        >>> tensors, meta = read("x.safetensors")
    """
    path = os.fspath(f) if isinstance(f, (str, os.PathLike)) else None
    where = source if source is not None else (path if path is not None else "<file>")

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"cannot load '{where}': {problem}")

    if path is not None:
        with open(path, "rb") as fh:
            return _read_file(fh, path, fail)
    opened, by_path = getattr(f, "name", None), False
    with contextlib.suppress(AttributeError, OSError, ValueError):  # in-memory, pipes...
        by_path = isinstance(opened, str) and f.tell() == 0 and _is_same_file(opened, f.fileno())
    if by_path:  # a file opened by path, at its start: read like one, without holding it twice
        return _read_file(f, opened, fail)  # type: ignore[arg-type]
    data = f.read()  # type: ignore[union-attr]
    try:
        tensors = dict(safetensors.deserialize(data))
    except safetensors.SafetensorError as exc:
        raise _rejected(exc, data[:8], fail) from None
    layout, metadata = _check_header(data[8 : 8 + int.from_bytes(data[:8], "little")], fail)
    del data
    arrays = {name: np.frombuffer(tensors.pop(name)["data"], dtype).reshape(shape)
              for name, (dtype, shape) in layout.items()}  # bytearrays: writable
    return _verified(arrays, metadata, fail)


def _current_umask() -> int:
    try:  # Linux: read it without changing it (os.umask would race with other threads)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    if sys.platform == "win32":  # directories cannot be opened for fsync there
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories; the rename still happened
        pass
    finally:
        os.close(fd)


def _temp_pattern(base: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(base)}\.[0-9a-f]{{16}}\.tmp\Z")


def _try_lock(fd: int) -> bool | None:
    """Take an exclusive ``flock`` on ``fd`` without waiting.

    Returns True when taken, False when another open file holds it, None when this platform
    or file system cannot lock (then nobody can tell whether the file is in use).
    """
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # ENOLCK, EOPNOTSUPP, EINVAL...: no locking here
        return None
    return True


def _is_same_file(path: str, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not deleted, not replaced)."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _remove_stale_temps(directory: str, base: str) -> None:
    """Delete the temporaries of ``directory/base`` left by writers that died mid-write.

    A temporary is stale when its writer's ``flock`` is gone, i.e. when we can take it; the
    file is deleted while we hold the lock, so a writer that created it a moment ago and is
    about to lock it notices (see :func:`_create_temp`). Errors are ignored: cleaning up is
    best effort and must never make a save fail.
    """
    if fcntl is None:
        return
    pattern = _temp_pattern(base)
    try:
        names = [name for name in os.listdir(directory) if pattern.match(name)]
    except OSError:
        return
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    for name in names:
        path = os.path.join(directory, name)
        try:
            try:
                fd = os.open(path, os.O_RDWR | flags)  # NFS locks need a writable descriptor
            except PermissionError:
                fd = os.open(path, os.O_RDONLY | flags)
        except OSError:  # gone already, a symlink, not ours to open...
            continue
        try:
            if (
                stat.S_ISREG(os.fstat(fd).st_mode)
                and _try_lock(fd)
                and _is_same_file(path, fd)
            ):
                with contextlib.suppress(OSError):
                    os.unlink(path)
        except OSError:
            pass
        finally:
            os.close(fd)  # releases our lock


def _create_temp(directory: str, base: str) -> tuple[int, str]:
    """Create and lock a new temporary file for ``directory/base``; returns (fd, path).

    Between creating the file and locking it, a concurrent save of the same target may take
    the still unlocked file for stale and delete it. So after locking, the name is checked to
    still lead to our file; if it does not (or the cleaner holds the lock right now), we start
    over under a fresh name.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = os.path.join(directory, f".{base}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        locked = _try_lock(fd)
        if locked is None or (locked and _is_same_file(path, fd)):
            return fd, path
        os.close(fd)  # a cleaner has it: it deletes the file, or already did


def atomic_write(path: str | os.PathLike[str], produce: Callable[[BinaryIO], None]) -> None:
    """Create or replace ``path`` atomically with the bytes ``produce`` writes.

    ``produce`` gets a seekable binary file (a temporary file beside ``path``). On success the
    file is flushed, ``fsync``-ed and renamed over ``path``; if ``produce`` or any later step
    raises, the temporary file is removed and ``path`` is untouched. A symlink at ``path`` is
    followed, so the file it points to is replaced.

    Before writing, stale temporaries of the same ``path`` (left by writers that were killed)
    are deleted; the temporaries of writers still running are not (see the module docstring:
    each writer holds an ``flock`` on its temporary until it has renamed it).

    Args:
        path: destination file.
        produce: callback writing the whole content.

    Example:
        >>> atomic_write("out.bin", lambda fh: fh.write(b"hello"))
    """
    target = os.path.realpath(os.fspath(path))
    directory, base = os.path.split(target)
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    try:
        mode = os.stat(target).st_mode & 0o7777  # keep the permissions of the file we replace
    except FileNotFoundError:
        mode = 0o666 & ~_current_umask()
    _remove_stale_temps(directory, base)
    fd, tmp = _create_temp(directory, base)
    try:
        fh = os.fdopen(fd, "w+b")
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    try:
        produce(fh)
        fh.flush()
        os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if sys.platform == "win32":  # an open file cannot be renamed there (and is not locked)
            fh.close()
        os.replace(tmp, target)  # still open, so still locked: no cleaner can delete it first
    except BaseException:
        with contextlib.suppress(OSError):
            fh.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fh.close()
    _fsync_directory(directory)


def save_file(
    tensors: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Save NumPy arrays to a safetensors file, atomically and with digests.

    Args:
        tensors: arrays by name (any supported dtype; non-contiguous arrays are fine).
        path: destination file.
        metadata: extra string-to-string header metadata.

    Example:
        >>> save_file({"w": np.ones((2, 2), np.float32)}, "w.safetensors")
    """
    entries = []
    for name, value in tensors.items():
        arr = np.asarray(value)
        entries.append(Entry(name, code_of(arr.dtype), tuple(arr.shape), lambda a=arr: a))
    atomic_write(path, lambda fh: write(fh, entries, metadata))


def load_file(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load all arrays of a safetensors file (validated; digests checked when present).

    Args:
        path: the file.

    Returns:
        Arrays by name, in the order of the data section.

    Example:
        >>> load_file("w.safetensors")["w"].shape
        (2, 2)
    """
    return read(path)[0]
