"""Reader and writer for the safetensors file format, with integrity checks and atomic writes.

Format (the public safetensors layout; files written here open with the ``safetensors``
package, and plain safetensors files are read here):

====================  =========================================================================
bytes ``[0, 8)``      ``N``, the header length, unsigned 64-bit little-endian.
bytes ``[8, 8+N)``    the header: a UTF-8 JSON object. Every key except ``"__metadata__"`` names
                      a tensor and maps to ``{"dtype": CODE, "shape": [d0, d1, ...],
                      "data_offsets": [begin, end]}``. ``"__metadata__"`` (optional) maps
                      strings to strings. Trailing spaces pad the header to a multiple of 8
                      bytes so the data that follows is aligned.
bytes ``[8+N, EOF)``  the data section: each tensor's elements in C order, little-endian, at
                      ``[begin, end)`` relative to the section start. Tensors are stored back to
                      back from offset 0 and the last one ends at the end of the file.
====================  =========================================================================

dtype codes: ``F16 F32 F64 I8 I16 I32 I64 U8 U16 U32 U64 BOOL`` (``BOOL`` is one byte, 0 or 1).

Integrity: the writer stores two SHA-256 digests (lowercase hex) in ``__metadata__``:

* ``gpuarr.data_sha256``: the digest of the whole data section;
* ``gpuarr.header_sha256``: the digest of the header in canonical form (the header object
  without this key, serialised with sorted keys, ``","``/``":"`` separators and ASCII escapes).

The reader checks both when present (a file written by another tool has none), so a flipped
byte anywhere in the file is reported instead of silently loaded. It also checks the layout:
header length against the file size, JSON syntax, known dtype codes, shapes, offsets that are
contiguous, in range and cover the whole data section, and ``prod(shape) * itemsize`` bytes per
tensor. Any violation raises :class:`CheckpointError` naming the file and the problem.

Writing to a path is atomic: the file is built under a temporary name in the same directory,
flushed and ``fsync``-ed, renamed over the destination with ``os.replace`` and the directory is
``fsync``-ed. A crash at any point leaves either the old file or the new one, never a mix (a
hard kill can leave a stale ``.<name>.*.tmp`` file beside it, never a damaged destination).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import struct
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import numpy as np

__all__ = [
    "CheckpointError",
    "DATA_DIGEST_KEY",
    "HEADER_DIGEST_KEY",
    "Entry",
    "atomic_write",
    "code_of",
    "load_file",
    "read",
    "save_file",
    "write",
]

DATA_DIGEST_KEY = "gpuarr.data_sha256"
HEADER_DIGEST_KEY = "gpuarr.header_sha256"
_METADATA = "__metadata__"
_PLACEHOLDER = "0" * 64  # same length as a hex SHA-256, so the header size is known up front
_ALIGN = 8
_CHUNK = 1 << 24  # bytes per read()/hash update when streaming large tensors

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


class CheckpointError(RuntimeError):
    """A file that is not a valid checkpoint: truncated, corrupted or of another format."""


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
        return math.prod(self.shape) * _CODES[self.code].itemsize


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
    want = _CODES[entry.code]
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
    start = f.tell()
    f.write(struct.pack("<Q", len(encoded)))
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


def _file_size(f: IO[bytes]) -> int:
    try:
        return os.fstat(f.fileno()).st_size
    except (AttributeError, OSError, ValueError):  # in-memory file objects
        here = f.tell()
        size = f.seek(0, os.SEEK_END)
        f.seek(here)
        return size


def _read_exactly(f: IO[bytes], n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = f.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _readinto_exactly(f: IO[bytes], buf: np.ndarray, hasher: Any) -> int:
    view = memoryview(buf)  # type: ignore[arg-type]
    done = 0
    while done < len(view):
        got = f.readinto(view[done : done + _CHUNK])  # type: ignore[attr-defined]
        if not got:
            break
        hasher.update(view[done : done + got])
        done += got
    return done


def _parse_entries(
    header: dict[str, Any], fail: Callable[[str], CheckpointError]
) -> list[tuple[str, np.dtype, tuple[int, ...], int, int]]:
    parsed = []
    for name, info in header.items():
        if name == _METADATA:
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise fail(f"header entry '{name}' is not {{dtype, shape, data_offsets}}")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if code not in _CODES:
            raise fail(f"tensor '{name}' has unknown dtype {code!r}")
        if not isinstance(shape, list) or not all(
            type(d) is int and d >= 0 for d in shape
        ):
            raise fail(f"tensor '{name}' has an invalid shape {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise fail(f"tensor '{name}' has invalid data_offsets {offsets!r}")
        dtype = _CODES[code]
        expected = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != expected:
            raise fail(
                f"tensor '{name}' of shape {tuple(shape)} and dtype {code} needs {expected} "
                f"bytes but its data_offsets {offsets} span {offsets[1] - offsets[0]}"
            )
        parsed.append((name, dtype, tuple(shape), offsets[0], offsets[1]))
    return parsed


def read(
    f: IO[bytes], *, source: str = "<file>", require_digests: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read and validate a safetensors file from a binary file object.

    Args:
        f: a binary file object positioned at the start of the file, seekable.
        source: how to name the file in error messages (usually its path).
        require_digests: fail when the gpuarr digests are missing (gpuarr checkpoints have them;
            files written by other tools do not).

    Returns:
        ``(tensors, metadata)``: NumPy arrays by name (in header order, native byte order,
        freshly allocated) and the ``__metadata__`` strings.

    Raises:
        CheckpointError: the file is truncated, corrupted or not a safetensors file.

    Example:
        >>> with open("x.safetensors", "rb") as fh:
        ...     tensors, meta = read(fh, source="x.safetensors")
    """

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"cannot load '{source}': {problem}")

    size = _file_size(f) - f.tell()
    prefix = _read_exactly(f, 8)
    if len(prefix) < 8:
        what = "is empty" if not prefix else f"is only {len(prefix)} bytes long"
        raise fail(f"the file {what}; a checkpoint starts with an 8-byte header length "
                   "(truncated or not a checkpoint?)." + _sniff(prefix))
    (header_len,) = struct.unpack("<Q", prefix)
    if header_len > size - 8:
        raise fail(
            f"the header claims {header_len} bytes but the file has only {size - 8} after the "
            "length field: the file is truncated or is not a safetensors checkpoint."
            + _sniff(prefix)
        )
    raw = _read_exactly(f, header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"the header is not valid UTF-8 JSON ({exc}); the file is corrupted "
                   "or is not a safetensors checkpoint." + _sniff(prefix)) from None
    if not isinstance(header, dict):
        raise fail("the header is not a JSON object; the file is corrupted")

    metadata = header.get(_METADATA, {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise fail("'__metadata__' must map strings to strings; the file is corrupted")
    has_digests = DATA_DIGEST_KEY in metadata and HEADER_DIGEST_KEY in metadata
    if require_digests and not has_digests:
        raise fail("its integrity digests are missing from the header; the file is corrupted")
    if HEADER_DIGEST_KEY in metadata and _header_digest(header) != metadata[HEADER_DIGEST_KEY]:
        raise fail("the header does not match its SHA-256 digest; the file is corrupted")

    entries = _parse_entries(header, fail)
    data_size = size - 8 - header_len
    position = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != position:
            raise fail(f"tensor '{name}' starts at byte {begin} of the data section, expected "
                       f"{position} (tensors must be stored back to back)")
        position = end
    if position != data_size:
        state = "is truncated" if position > data_size else "has trailing bytes"
        raise fail(f"the file {state}: the header describes {position} bytes of tensor data "
                   f"but {data_size} follow the header")

    hasher = hashlib.sha256()
    loaded: dict[str, np.ndarray] = {}
    for name, dtype, shape, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        arr = np.empty(shape, dtype=dtype)
        if end > begin:
            got = _readinto_exactly(f, arr.reshape(-1).view(np.uint8), hasher)
            if got != end - begin:
                raise fail(f"the file ended inside tensor '{name}': it is truncated")
        loaded[name] = arr
    if has_digests and hasher.hexdigest() != metadata[DATA_DIGEST_KEY]:
        raise fail("the tensor data does not match its SHA-256 digest; the file is corrupted")
    for name, arr in loaded.items():
        if arr.dtype.kind == "b" and arr.size and arr.view(np.uint8).max() > 1:
            raise fail(f"tensor '{name}' has BOOL bytes other than 0 and 1")
        if not arr.dtype.isnative:  # only on big-endian hosts
            loaded[name] = arr.astype(arr.dtype.newbyteorder("="))
    # Report tensors in header order, which is the order they were saved in.
    return {name: loaded[name] for name, *_ in entries}, dict(metadata)


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


def atomic_write(path: str | os.PathLike[str], produce: Callable[[BinaryIO], None]) -> None:
    """Create or replace ``path`` atomically with the bytes ``produce`` writes.

    ``produce`` gets a seekable binary file (a temporary file beside ``path``). On success the
    file is flushed, ``fsync``-ed and renamed over ``path``; if ``produce`` or any later step
    raises, the temporary file is removed and ``path`` is untouched. A symlink at ``path`` is
    followed, so the file it points to is replaced.

    Args:
        path: destination file.
        produce: callback writing the whole content.

    Example:
        >>> atomic_write("out.bin", lambda fh: fh.write(b"hello"))
    """
    target = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    try:
        mode = os.stat(target).st_mode & 0o7777  # keep the permissions of the file we replace
    except FileNotFoundError:
        mode = 0o666 & ~_current_umask()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as fh:
            produce(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
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
        Arrays by name, in the order they were saved.

    Example:
        >>> load_file("w.safetensors")["w"].shape
        (2, 2)
    """
    with open(path, "rb") as fh:
        return read(fh, source=os.fspath(path))[0]
