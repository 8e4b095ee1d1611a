"""Checkpoints: :func:`save` and :func:`load`, PyTorch's API without pickle.

A checkpoint is one safetensors file (see :mod:`gpuarr._safetensors` for the byte layout and
the integrity digests). Tensors are the file's tensors; everything else, the nesting of dicts,
lists and tuples and the Python scalars in them, is a JSON document stored in the header
metadata under ``gpuarr.structure``. Loading parses JSON and copies bytes into fresh arrays: no
code from the file is ever run, so checkpoints from untrusted sources are safe to open.

Structure document (each value is one node):

* ``null``, ``true``/``false``, integers, finite floats and strings stand for themselves;
* a JSON array is a ``list``; ``{"$tuple": [...]}`` a ``tuple``;
* ``{"$dict": [[key, value], ...], "ordered": true?}`` a ``dict`` (``OrderedDict`` when
  ``ordered``) with its keys in order; keys are nodes too, so ``int`` keys (optimizer state)
  come back as ints;
* ``{"$float": "nan" | "inf" | "-inf"}`` a non-finite float (JSON has no literal for them);
* ``{"$tensor": NAME, "device": "cuda:0", "requires_grad": true?, "parameter": true?,
  "complex": true?}`` a gpuarr Tensor (or ``nn.Parameter``) whose data is the file tensor
  ``NAME``; a complex tensor is stored as its real view (``view_as_real``: float32 or float64
  with a last dimension of 2), as safetensors has no complex128 code;
* ``{"$ndarray": NAME}`` a NumPy array and ``{"$npscalar": NAME}`` a NumPy scalar.

Limits, so that any file can be checked before anything is built from it: the structure
document nests at most ``MAX_DEPTH`` (200) JSON arrays/objects deep (about 200 nested lists or
66 nested dicts; a dict costs three levels, a tuple two) and its integers have at most 4300
digits (Python's default limit for converting ints to text). :func:`save` refuses objects
beyond these limits, and :func:`load` rejects files beyond them.

Malformed files (corrupted, truncated or crafted) raise
:class:`gpuarr._safetensors.CheckpointError` naming the file and the problem, whatever part of
them is wrong: the safetensors layout, the structure document, or what it says about a tensor
(a dtype gpuarr tensors cannot hold, a device that does not exist, ``requires_grad`` on an
integer tensor, a NumPy scalar that is not 0-d).

Tensor names follow the path to the tensor (``model.fc.weight`` for
``{'model': {'fc.weight': t}}``), so the file is readable as a flat tensor dict by other
safetensors tools. An object reached twice (a tied weight) is stored once and loads as one
object. Plain safetensors files written by other tools load as a dict of CPU tensors.
"""

from __future__ import annotations

import collections
import io
import json
import math
import os
from collections.abc import Callable
from typing import IO, Any, BinaryIO

import numpy as np

from . import _safetensors as st
from . import cuda
from ._creation import from_numpy
from ._device import device
from ._dtype import FROM_NP
from ._tensor import Tensor
from .nn.parameter import Parameter

__all__ = ["MAX_DEPTH", "load", "save", "add_safe_globals", "get_safe_globals",
           "clear_safe_globals", "safe_globals"]

FileLike = str | os.PathLike[str] | IO[bytes]
# None, a device or device string, a dict of location strings, or fn(cpu_tensor, location).
MapLocation = Any

_FORMAT_KEY = "gpuarr.format"
_FORMAT = "gpuarr-checkpoint"
_VERSION_KEY = "gpuarr.format_version"
_VERSION = "1"
_STRUCTURE_KEY = "gpuarr.structure"
_MARKERS = (_FORMAT_KEY, _VERSION_KEY, _STRUCTURE_KEY, st.DATA_DIGEST_KEY, st.HEADER_DIGEST_KEY)
MAX_DEPTH = 200  # JSON arrays/objects nesting in the structure document
_MAX_INT_DIGITS = 4300  # sys.int_info.default_max_str_digits
_INT_LIMIT = 10**_MAX_INT_DIGITS
_TENSOR_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                  "uint16", "uint32", "uint64", "bool", "bfloat16", "complex64", "complex128"}


def _describe(path: tuple[Any, ...]) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


class _Encoder:
    """Turns an object tree into a JSON-able structure plus the tensors to store."""

    def __init__(self) -> None:
        self.entries: list[st.Entry] = []
        self._names: set[str] = {"__metadata__"}
        self._memo: dict[int, tuple[dict[str, Any], Any]] = {}  # id -> (node, keep-alive)

    def _fresh_name(self, path: tuple[Any, ...]) -> str:
        base = ".".join(str(p) for p in path) or "tensor"
        name, n = base, 1
        while name in self._names:
            name, n = f"{base}#{n}", n + 1
        self._names.add(name)
        return name

    def _add(self, path: tuple[Any, ...], arr_info: tuple[str, tuple[int, ...]],
             fetch: Callable[[], np.ndarray]) -> str:
        code = st.code_of(arr_info[0])
        name = self._fresh_name(path)
        self.entries.append(st.Entry(name, code, arr_info[1], fetch))
        return name

    def _memoised(self, obj: Any, path: tuple[Any, ...],
                  make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        hit = self._memo.get(id(obj))
        if hit is not None:
            return hit[0]
        node = make()
        self._memo[id(obj)] = (node, obj)
        return node

    def encode(self, obj: Any, path: tuple[Any, ...] = ()) -> Any:
        """The structure node of ``obj`` (found at ``path``), registering its tensors."""
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.generic):  # before int/float: numpy.float64 subclasses float
            return {"$npscalar": self._array_name(np.asarray(obj), path)}
        if isinstance(obj, int):
            if not -_INT_LIMIT < obj < _INT_LIMIT:
                raise ValueError(f"gpuarr.save: the integer at {_describe(path)} has more than "
                                 f"{_MAX_INT_DIGITS} digits; checkpoints hold smaller ones")
            return int(obj)  # int subclasses (IntEnum...) are stored as plain ints
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"$float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if len(path) >= MAX_DEPTH:  # each container level is at least one level of JSON
            raise _too_deep(path)
        if isinstance(obj, Tensor):
            return self._memoised(obj, path, lambda: self._tensor(obj, path))
        if isinstance(obj, np.ndarray):
            return self._memoised(obj, path, lambda: self._ndarray(obj, path, "$ndarray"))
        if isinstance(obj, dict):
            items = [[self._key(k, path), self.encode(v, (*path, k))] for k, v in obj.items()]
            node: dict[str, Any] = {"$dict": items}
            if isinstance(obj, collections.OrderedDict):
                node["ordered"] = True
            return node
        if isinstance(obj, list):
            return [self.encode(v, (*path, i)) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, (*path, i)) for i, v in enumerate(obj)]}
        raise TypeError(
            f"gpuarr.save cannot store {_describe(path)} of type {type(obj).__qualname__}: "
            "checkpoints hold Tensors, NumPy arrays, None, bool, int, float, str and "
            "dicts/lists/tuples of these (no pickled objects)"
        )

    def _key(self, key: Any, path: tuple[Any, ...], depth: int = 0) -> Any:
        if key is None or isinstance(key, (bool, int, float, str)):
            return self.encode(key, path)
        if isinstance(key, tuple):
            if depth >= MAX_DEPTH:
                raise _too_deep(path)
            return {"$tuple": [self._key(k, path, depth + 1) for k in key]}
        raise TypeError(
            f"gpuarr.save cannot store dict key {key!r} of type {type(key).__qualname__} in "
            f"{_describe(path)}: keys must be None, bool, int, float, str or tuples of these"
        )

    def _array_name(self, arr: np.ndarray, path: tuple[Any, ...]) -> str:
        try:
            return self._add(path, (arr.dtype, tuple(arr.shape)), lambda: arr)
        except TypeError as exc:
            raise TypeError(f"gpuarr.save: {_describe(path)}: {exc}") from None

    def _ndarray(self, arr: np.ndarray, path: tuple[Any, ...], tag: str) -> dict[str, Any]:
        return {tag: self._array_name(arr, path)}

    def _tensor(self, t: Any, path: tuple[Any, ...]) -> dict[str, Any]:
        dtype_name = t.dtype.name
        if dtype_name not in _TENSOR_DTYPES:
            raise TypeError(f"gpuarr.save: {_describe(path)} has unsupported dtype {t.dtype}")

        cplx = t.dtype.is_complex

        def fetch() -> np.ndarray:
            # Copied to the host one tensor at a time, while the file is written.
            arr = np.asarray(t.detach().cpu().numpy())
            return np.ascontiguousarray(arr)[..., None].view(arr.real.dtype) if cplx else arr

        if cplx:  # stored as (real, imaginary) pairs
            info = (t.dtype.np.type(0).real.dtype, (*t.shape, 2))
        else:
            info = (t.dtype.np, tuple(t.shape))
        name = self._add(path, info, fetch)
        node: dict[str, Any] = {"$tensor": name, "device": str(t.device)}
        if cplx:
            node["complex"] = True
        if t.requires_grad:
            node["requires_grad"] = True
        if isinstance(t, Parameter):
            node["parameter"] = True
        return node


def _too_deep(path: tuple[Any, ...]) -> ValueError:
    return ValueError(
        f"gpuarr.save: {_describe(path[:3])}... is nested too deeply: checkpoints hold at most "
        f"{MAX_DEPTH} levels of JSON nesting (about {MAX_DEPTH} nested lists or "
        f"{MAX_DEPTH // 3} nested dicts), so that loading can check a file before rebuilding it"
    )


def save(obj: Any, f: FileLike) -> None:
    """Save tensors, state dicts and nested containers to a checkpoint file (no pickle).

    Writing to a path is atomic: a temporary file in the same directory is written, flushed,
    ``fsync``-ed and renamed over ``f``, so a crash mid-save leaves the previous checkpoint
    intact. Tensor data is saved bit for bit (NaN payloads, ``-0.0``), not gradients.

    Args:
        obj: a Tensor, a NumPy array, or dicts/lists/tuples (nested freely) of Tensors, NumPy
            arrays and scalars, ``None``, ``bool``, ``int``, ``float`` and ``str``. Dict keys may
            be ``str``, ``int``, ``float``, ``bool``, ``None`` or tuples of these.
        f: a path (``str`` or ``os.PathLike``) or a binary file object (written from its
            current position, without the atomic rename).

    Stale temporary files of earlier saves to the same path that were killed mid-write are
    deleted first; those of saves still running in other processes are left alone (see
    :mod:`gpuarr._safetensors`).

    Raises:
        TypeError: ``obj`` contains something a checkpoint cannot hold (checked before any byte
            is written).
        ValueError: ``obj`` nests deeper than :data:`MAX_DEPTH` levels of JSON, or holds an
            integer of more than 4300 digits (also checked before any byte is written).

    Example:
        >>> model = gpuarr.nn.Linear(2, 3)
        >>> gpuarr.save({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")
    """
    encoder = _Encoder()
    structure = encoder.encode(obj)
    if st.json_depth(structure) > MAX_DEPTH:
        raise _too_deep(())
    metadata = {
        _FORMAT_KEY: _FORMAT,
        _VERSION_KEY: _VERSION,
        _STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"), allow_nan=False),
    }

    def produce(fh: BinaryIO) -> None:
        st.write(fh, encoder.entries, metadata)

    if isinstance(f, (str, os.PathLike)):
        st.atomic_write(f, produce)
    elif hasattr(f, "write"):
        if hasattr(f, "seekable") and f.seekable():
            produce(f)  # type: ignore[arg-type]
        else:  # pipes, sockets: the header is finalised after the data, so build it in memory
            buffer = io.BytesIO()
            produce(buffer)
            f.write(buffer.getbuffer())
    else:
        raise TypeError(f"gpuarr.save: f must be a path or a binary file object, got {type(f)}")


class _Decoder:
    """Rebuilds objects from a structure document and the loaded arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], place: Callable[[Any, str], Any],
                 source: str) -> None:
        self.arrays = arrays
        self.place = place
        self.source = source
        self._built: dict[tuple[str, str], Any] = {}

    def fail(self, problem: str) -> st.CheckpointError:
        return st.CheckpointError(f"cannot load '{self.source}': {problem}")

    def _name(self, name: Any) -> str:
        if not isinstance(name, str) or name not in self.arrays:
            raise self.fail(f"the structure refers to a missing tensor {name!r}")
        return name

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or not node:
            raise self.fail(f"malformed structure node {node!r}")
        tag = next(iter(node))
        body = node[tag]
        if tag == "$dict" and isinstance(body, list):
            if not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
                raise self.fail("malformed dict node in the structure")
            pairs = [(self._key(k), self.decode(v)) for k, v in body]
            return collections.OrderedDict(pairs) if node.get("ordered") else dict(pairs)
        if tag == "$tuple" and isinstance(body, list):
            return tuple(self.decode(v) for v in body)
        if tag == "$float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag in ("$tensor", "$ndarray", "$npscalar"):
            key = (tag, self._name(body))
            if key not in self._built:
                self._built[key] = self._leaf(tag, key[1], node)
            return self._built[key]
        raise self.fail(f"malformed structure node with tag {tag!r}")

    def _key(self, node: Any) -> Any:
        key = self.decode(node)
        try:
            hash(key)
        except TypeError:
            raise self.fail(f"unhashable dict key {key!r} in the structure") from None
        return key

    def _flag(self, name: str, node: dict[str, Any], key: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"tensor '{name}' has a {key} flag that is not a boolean: {value!r}")
        return value

    def _leaf(self, tag: str, name: str, node: dict[str, Any]) -> Any:
        arr = self.arrays[name]
        if tag == "$ndarray":
            return arr
        if tag == "$npscalar":
            if arr.ndim != 0:
                raise self.fail(f"the structure uses tensor '{name}' of shape {arr.shape} as a "
                                "NumPy scalar, which needs a 0-d tensor")
            return arr[()]
        location = node.get("device", "cpu")
        if not isinstance(location, str):
            raise self.fail(f"tensor '{name}' has a device that is not a string: {location!r}")
        parameter = self._flag(name, node, "parameter")
        requires_grad = self._flag(name, node, "requires_grad")
        if self._flag(name, node, "complex"):
            if arr.dtype not in (np.float32, np.float64) or arr.ndim == 0 or arr.shape[-1] != 2:
                raise self.fail(f"tensor '{name}' is marked complex but is not float32 or "
                                f"float64 pairs: dtype {arr.dtype.name}, shape {arr.shape}")
            ctype = np.complex64 if arr.dtype == np.float32 else np.complex128
            arr = np.ascontiguousarray(arr).view(ctype)[..., 0]
        if requires_grad and arr.dtype.kind not in "fVc":
            raise self.fail(f"tensor '{name}' is marked requires_grad but has dtype "
                            f"{arr.dtype.name}; only floating-point tensors can require "
                            "gradients")
        try:
            tensor = self.place(_to_tensor(arr, name, self.source), location)
        except _InvalidLocation as exc:
            raise self.fail(f"tensor '{name}' was saved on device {location!r}, which does not "
                            f"exist ({exc})") from None
        if parameter:
            return Parameter(tensor, requires_grad=requires_grad)
        if requires_grad:
            tensor.requires_grad_(True)
        return tensor


def _to_tensor(arr: np.ndarray, name: str, source: str) -> Any:
    """The file tensor ``name`` as a CPU gpuarr Tensor, or a CheckpointError for dtypes that
    the codec reads but gpuarr tensors cannot hold."""
    if arr.dtype not in FROM_NP:
        have = ", ".join(d.name for d in FROM_NP.values())
        raise st.CheckpointError(
            f"cannot load '{source}': tensor '{name}' has dtype {st.code_of(arr.dtype)} "
            f"({arr.dtype.name}), which gpuarr tensors cannot hold (gpuarr has {have}). "
            "Read the file as NumPy arrays with gpuarr._safetensors.load_file(path) and convert "
            "them (e.g. arr.astype(numpy.int64) when the values fit), or save them as NumPy "
            "arrays in a gpuarr checkpoint"
        )
    return from_numpy(arr)


class _InvalidLocation(Exception):
    """A device string recorded in a checkpoint that names no device."""


def _cuda_problem(location: str) -> str | None:
    """Why tensors cannot be restored to CUDA device ``location`` (None if they can)."""
    if not cuda.is_available():
        return (
            "Attempting to deserialize object on a CUDA device but gpuarr.cuda.is_available() "
            f"is False ({cuda.unavailable_reason()}). If you are running on a CPU-only "
            "machine, please use gpuarr.load with map_location='cpu' (or "
            "map_location=gpuarr.device('cpu')) to map your tensors to the CPU."
        )
    _, _, index = location.partition(":")
    if index.isdigit() and int(index) >= cuda.device_count():
        return (
            f"Attempting to deserialize object on CUDA device {index} but "
            f"gpuarr.cuda.device_count() is {cuda.device_count()}. Please use gpuarr.load with "
            "map_location to map your tensors to an existing device."
        )
    return None


def _placer(map_location: MapLocation, source: str) -> Callable[[Any, str], Any]:
    """A function (cpu_tensor, recorded_location) -> tensor on its final device.

    Locations given in ``map_location`` are checked here (a bad one is the caller's error);
    one still invalid when a tensor is moved came from the file and raises _InvalidLocation.
    """
    checked: dict[str, None] = {}

    def move(t: Any, location: str) -> Any:
        if location == "cpu":
            return t
        if location not in checked:
            try:
                device(location)
            except (RuntimeError, ValueError, TypeError) as exc:
                raise _InvalidLocation(str(exc)) from None
            if location.startswith("cuda"):
                problem = _cuda_problem(location)
                if problem is not None:
                    raise RuntimeError(f"cannot load '{source}': {problem}")
            checked[location] = None
        return t.to(location)

    if map_location is None:
        return move
    if isinstance(map_location, dict):
        mapping = {str(k): str(v) for k, v in map_location.items()}
        for target in mapping.values():
            device(target)
        return lambda t, location: move(t, mapping.get(location, location))
    if isinstance(map_location, (str, device)):
        target = str(map_location)
        device(target)
        return lambda t, location: move(t, target)
    if callable(map_location):

        def call(t: Any, location: str) -> Any:
            result = map_location(t, location)
            if result is None:
                return move(t, location)
            if not isinstance(result, Tensor):
                raise TypeError(
                    "gpuarr.load: a map_location callable must return a Tensor or None, got "
                    f"{type(result).__qualname__}"
                )
            return result

        return call
    raise TypeError(
        "gpuarr.load: map_location must be None, a device or device string, a dict mapping "
        f"locations to locations, or a callable; got {type(map_location).__qualname__}"
    )


def load(f: FileLike, map_location: MapLocation = None, *, weights_only: bool = True) -> Any:
    """Load an object saved with :func:`save` (or a plain safetensors file).

    Nothing in the file is executed: the structure is JSON and tensors are raw bytes, checked
    against SHA-256 digests, so truncated or corrupted files raise instead of loading garbage.

    Args:
        f: a path or a binary file object.
        map_location: where to put tensors, as in ``torch.load``: ``None`` restores each tensor
            to the device it was saved from; a device or string (``'cpu'``, ``'cuda:1'``) puts
            all there; a dict such as ``{'cuda:0': 'cpu'}`` remaps recorded locations (others
            stay); a callable ``fn(cpu_tensor, location)`` returns the tensor to use, or None
            for the default.
        weights_only: accepted for PyTorch compatibility; checkpoints only ever contain data,
            so both values load the same thing.

    Returns:
        The saved object: tuples as tuples, dicts in their saved key order with their key types,
        tensors with their saved dtype and ``requires_grad``, NumPy arrays as NumPy arrays.
        A plain safetensors file gives a dict of tensors by name.

    Raises:
        gpuarr._safetensors.CheckpointError (a RuntimeError): the file is not a valid checkpoint
            (truncated, corrupted or crafted), or holds a tensor whose dtype gpuarr tensors
            cannot hold (``F8_*``, ``C64`` and other safetensors dtypes are not read at
            all). The message names the file, and the
            tensor where one is at fault.
        RuntimeError: a tensor was saved on CUDA and CUDA is not available here (pass
            ``map_location='cpu'``).

    Example:
        >>> ckpt = gpuarr.load("ckpt.safetensors", map_location="cpu")
        >>> model.load_state_dict(ckpt["model"])
    """
    del weights_only  # no code can be loaded either way
    if isinstance(f, (str, os.PathLike)):
        source = os.fspath(f)
        arrays, metadata = st.read(source)
    elif hasattr(f, "read"):
        source = str(getattr(f, "name", "<file object>"))
        arrays, metadata = st.read(f, source=source)
    else:
        raise TypeError(f"gpuarr.load: f must be a path or a binary file object, got {type(f)}")

    place = _placer(map_location, source)
    present = [key for key in _MARKERS if key in metadata]
    if not present:  # a plain safetensors file from another tool
        return {name: place(_to_tensor(arr, name, source), "cpu") for name, arr in arrays.items()}
    decoder = _Decoder(arrays, place, source)
    missing = [key for key in _MARKERS if key not in metadata]
    if missing or metadata[_FORMAT_KEY] != _FORMAT:
        raise decoder.fail(f"its gpuarr metadata is incomplete ({', '.join(missing)} missing); "
                           "the file is corrupted")
    if metadata[_VERSION_KEY] != _VERSION:
        raise decoder.fail(
            f"it uses checkpoint format version {metadata[_VERSION_KEY]!r}; this gpuarr "
            f"reads version {_VERSION}. Upgrade gpuarr to load it."
        )
    structure = st.parse_json(
        metadata[_STRUCTURE_KEY], what="its structure metadata", max_depth=MAX_DEPTH,
        max_digits=_MAX_INT_DIGITS, fail=decoder.fail,
    )
    try:
        return decoder.decode(structure)
    except RecursionError:  # MAX_DEPTH keeps this away unless load() is called very deep
        raise decoder.fail("its structure is nested too deeply to rebuild from this call "
                           "stack") from None


# --------------------------------------------------------------------------------------------
# torch.serialization's allow-list of globals for its weights_only unpickler. gpuarr.load never
# unpickles (a checkpoint is JSON plus raw tensor bytes), so nothing needs allowing: the list is
# only kept, so that programs that register their classes run unchanged and read it back.

_safe_globals: list = []


def add_safe_globals(safe_globals: list) -> None:
    """Record globals (classes, functions, or ``(obj, "module.name")`` pairs) a torch program
    allows its checkpoints to contain.

    gpuarr's checkpoints never contain pickled objects and :func:`load` never unpickles, so
    this changes what loads in no way; it exists so that such programs run unchanged.

    Args:
        safe_globals: a list of the globals to allow.

    Example:
        >>> gpuarr.serialization.add_safe_globals([MyConfig])
    """
    for g in safe_globals:
        if g not in _safe_globals:
            _safe_globals.append(g)


def get_safe_globals() -> list:
    """The globals recorded by :func:`add_safe_globals` (a copy).

    Returns:
        A list, empty unless a program added some.
    """
    return list(_safe_globals)


def clear_safe_globals() -> None:
    """Forget every global recorded by :func:`add_safe_globals`."""
    _safe_globals.clear()


class safe_globals:  # noqa: N801 - torch's name
    """Context manager: the given globals are recorded as allowed inside the ``with`` block
    (see :func:`add_safe_globals`; nothing is unpickled either way).

    Args:
        safe_globals: a list of the globals to allow.

    Example:
        >>> with gpuarr.serialization.safe_globals([MyConfig]):
        ...     ckpt = gpuarr.load("ckpt.safetensors")
    """

    def __init__(self, safe_globals: list) -> None:
        self.safe_globals = list(safe_globals)
        self._added: list = []

    def __enter__(self) -> safe_globals:
        self._added = [g for g in self.safe_globals if g not in _safe_globals]
        add_safe_globals(self._added)
        return self

    def __exit__(self, *exc: object) -> None:
        for g in self._added:
            if g in _safe_globals:
                _safe_globals.remove(g)
