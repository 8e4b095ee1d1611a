"""Storages: the bytes behind tensors, as ``torch.UntypedStorage`` and ``torch.TypedStorage``.

A gpuarr tensor wraps one backend array (NumPy on 'cpu', CuPy on 'cuda'); views of one tensor
are views of one owning array (the end of the ``.base`` chain). That owning array's memory is
the tensor's storage: :class:`UntypedStorage` holds a 1-D ``uint8`` view of it (never a copy),
so writing a byte through the storage changes every tensor that views the memory, and
``a.untyped_storage().data_ptr() == a[1:].untyped_storage().data_ptr()``.
:class:`TypedStorage` (torch's deprecated ``Tensor.storage()``) reads those bytes as elements
of one dtype. ``Tensor.set_`` makes a tensor view a storage (or another tensor's memory) with
any size, stride and offset; :func:`from_file` maps a file (a NumPy memmap) as a CPU tensor.

Where gpuarr differs from torch: a backend array cannot change its buffer in place, so
``UntypedStorage.resize_`` gives the storage new memory that tensors already viewing the old
memory do not follow, and ``Tensor.set_`` never grows a storage (torch grows a resizable one
when the requested view needs more bytes): it raises torch's out-of-bounds error instead.
``share_memory_`` marks a CPU storage as shared without moving it (gpuarr's multiprocessing
sends copies).
"""

from __future__ import annotations

import errno
import operator
import os
import warnings
import weakref
from collections.abc import Sequence

import numpy as np

from . import _dtype as D
from ._core.function import Function
from ._core.grad_mode import _state
from ._core.tensor import TensorBase, _make
from ._device import CPU, as_device, cuda_device, device

__all__ = [
    "UntypedStorage", "TypedStorage", "from_file", "FloatStorage", "DoubleStorage",
    "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage", "ShortStorage",
    "CharStorage", "ByteStorage", "BoolStorage",
]

# torch's C type names of dtypes, used in its set_ error texts ("... of type long int")
_CTYPE = {"float32": "float", "float64": "double", "float16": "c10::Half",
          "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
          "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
          "uint16": "unsigned short", "uint32": "unsigned int", "uint64": "unsigned long"}

# CPU owning arrays that share_memory_ marked (by id; an entry goes when its array does)
_SHARED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

_warned_typed = False  # torch warns "TypedStorage is deprecated" once per process


def _warn_typed_storage_removal(stacklevel: int = 3) -> None:
    global _warned_typed
    if not _warned_typed:
        _warned_typed = True
        warnings.warn(
            "TypedStorage is deprecated. It will be removed in the future and UntypedStorage "
            "will be the only storage class. This should only matter to you if you are using "
            "storages directly.  To access UntypedStorage directly, use "
            "tensor.untyped_storage() instead of tensor.storage()", UserWarning,
            stacklevel=stacklevel)


def _mod() -> str:
    return D.repr_module[0]


def _root(arr):
    """The array owning the memory ``arr`` views: the last array of ``arr``'s class along the
    ``.base`` chain (which may pass through helper objects such as NumPy's as_strided one)."""
    cls, root, obj = type(arr), arr, arr
    while (obj := getattr(obj, "base", None)) is not None:
        if isinstance(obj, cls):
            root = obj
    return root


def _byte_view(root, xp):
    """A 1-D uint8 view of all the memory of backend array ``root`` (no copy), starting at its
    lowest address; ``xp`` is its array module."""
    if root.flags.c_contiguous:
        return root.reshape(-1).view(np.uint8)
    if root.flags.f_contiguous:
        return root.T.reshape(-1).view(np.uint8)
    # a strided owner (rare: an op that returned a strided array of its own buffer): span
    # the bytes from its lowest to its highest element
    lo = hi = 0
    first = []
    for n, st in zip(root.shape, root.strides):
        if st >= 0:
            hi += (n - 1) * st
            first.append(slice(0, 1))
        else:
            lo += (n - 1) * st
            first.append(slice(n - 1, n))
    one = root[tuple(first)].reshape(-1).view(np.uint8)
    return xp.lib.stride_tricks.as_strided(one, (hi - lo + root.itemsize,), (1,))


def _ptr(arr, dev: device) -> int:
    return arr.ctypes.data if dev is CPU else arr.data.ptr


def _alloc_error(n: int) -> RuntimeError:
    return RuntimeError(
        f"alloc_cpu() seems to have been called with negative number: {n % 2 ** 64}")


def _check_byte(value, what: str) -> int:
    if not isinstance(value, (int, np.integer)):
        raise RuntimeError(f"{what}, but got {_type_name(value)} instead")
    return int(value) % 256


def _type_name(x) -> str:
    if isinstance(x, UntypedStorage):
        return f"{_mod()}.storage.UntypedStorage"
    if isinstance(x, TypedStorage):
        return f"{_mod()}.storage.TypedStorage"
    return type(x).__name__


def _wrap_bytes(arr, dev: device, *, resizable: bool = True,
                filename: str | None = None) -> UntypedStorage:
    s = object.__new__(UntypedStorage)
    s._bytes = arr
    s._device = dev
    s._resizable = resizable
    s._filename = filename
    return s


def _same_or_moved(arr, src_dev: device, dst: device):
    """``arr`` (on ``src_dev``) as an array on ``dst``; a copy unless it is already there."""
    if src_dev is dst:
        return arr
    if dst is CPU:
        return src_dev._backend().to_host(arr)
    return dst._backend().asarray(arr, index=dst.index)


class UntypedStorage:
    """The bytes behind tensors (torch.UntypedStorage): a 1-D ``uint8`` view of a backend
    array's memory, on the CPU or a CUDA device.

    ``tensor.untyped_storage()`` aliases the tensor's memory: writes through either show in the
    other. Made directly, a storage holds ``size`` zeroed bytes or the bytes of a sequence of
    ints (each taken modulo 256).

    Args:
        size_or_sequence: a number of bytes, or a sequence of ints (omitted: an empty storage).
        device: where the bytes live ('cpu' by default, or 'cuda[:n]').

    Example:
        >>> a = gpuarr.arange(4, dtype=gpuarr.uint8)
        >>> s = a.untyped_storage()
        >>> s[0] = 9
        >>> a
        tensor([9, 1, 2, 3], dtype=gpuarr.uint8)
    """

    __slots__ = ("_bytes", "_device", "_resizable", "_filename", "__weakref__")
    is_sparse = False
    is_sparse_csr = False

    def __init__(self, *args, device=None) -> None:
        dev = CPU if device is None else as_device(device)
        if len(args) > 1:
            raise TypeError(f"{_mod()}.UntypedStorage() takes at most 1 positional argument "
                            f"({len(args)} given)")
        if not args:
            data = dev._backend().zeros((0,), np.uint8, dev.index)
        elif isinstance(args[0], (int, np.integer)) and not isinstance(args[0], bool):
            n = int(args[0])
            if n < 0:
                raise _alloc_error(n)
            data = dev._backend().zeros((n,), np.uint8, dev.index)
        elif isinstance(args[0], (Sequence, bytearray)):
            seq = args[0]
            for v in seq:
                if not isinstance(v, (int, np.integer)):
                    raise RuntimeError(
                        f"{_mod()}.UntypedStorage(): tried to construct a storage from a "
                        f"sequence ({type(seq).__name__}), but one of the items was of type "
                        f"{type(v).__name__} instead of int")
            host = np.array([int(v) % 256 for v in seq], dtype=np.uint8)
            data = host if dev is CPU else dev._backend().asarray(host, index=dev.index)
        else:
            raise RuntimeError(f"{_mod()}.UntypedStorage(): Expected a sequence type, but got "
                               f"{type(args[0]).__name__}")
        self._bytes = data
        self._device = dev
        self._resizable = True
        self._filename = None

    @classmethod
    def _of(cls, arr, dev: device) -> UntypedStorage:
        """The storage behind backend array ``arr`` (all of its owner's memory)."""
        root = _root(arr)
        if isinstance(root, np.memmap):  # from_file: only a shared mapping names its file
            return _wrap_bytes(_byte_view(root, np), CPU, resizable=False,
                               filename=root.filename if root.mode == "r+" else None)
        return _wrap_bytes(_byte_view(root, dev._xp()), dev,
                           resizable=bool(root.flags.owndata) and root.base is None)

    # ---- facts ----
    @property
    def device(self) -> device:
        """The device the bytes live on."""
        return self._device

    @property
    def is_cuda(self) -> bool:
        """True for storages on a CUDA device."""
        return self._device.type == "cuda"

    @property
    def filename(self) -> str | None:
        """The file a shared :meth:`from_file` storage maps, else None."""
        return self._filename

    def nbytes(self) -> int:
        """Number of bytes."""
        return int(self._bytes.size)

    size = nbytes

    def __len__(self) -> int:
        return int(self._bytes.size)

    def element_size(self) -> int:
        """Bytes per element: 1."""
        return 1

    def data_ptr(self) -> int:
        """Address of the first byte (0 for an empty storage, as torch)."""
        return _ptr(self._bytes, self._device) if self._bytes.size else 0

    def get_device(self) -> int | None:
        """The CUDA device index (None on the CPU, as torch's ``device.index``)."""
        return self._device.index

    def resizable(self) -> bool:
        """Whether :meth:`resize_` may reallocate (False for from_file / foreign memory)."""
        return self._resizable

    def is_shared(self) -> bool:
        """True on CUDA, for file-backed storages, and after :meth:`share_memory_`."""
        if self._device.type == "cuda" or self._filename is not None:
            return True
        root = _root(self._bytes)
        return _SHARED.get(id(root)) is root or isinstance(root, np.memmap)

    def share_memory_(self) -> UntypedStorage:
        """Mark a CPU storage as shared between processes (gpuarr sends copies between
        processes, so the memory stays where it is); a no-op on CUDA. Returns self."""
        if self._device is CPU:
            root = _root(self._bytes)
            _SHARED[id(root)] = root
        return self

    def is_pinned(self, device="cuda") -> bool:
        """Whether the bytes are in page-locked host memory (False on CUDA)."""
        if self._device is not CPU:
            return False
        return _make(self._bytes, CPU).is_pinned()

    def pin_memory(self, device="cuda") -> UntypedStorage:
        """A copy of this CPU storage in page-locked host memory (needs a usable GPU)."""
        if self._device is not CPU:
            raise TypeError(f"cannot pin '{self.type()}' only CPU memory can be pinned")
        return _wrap_bytes(_make(self._bytes, CPU).pin_memory()._data, CPU)

    def type(self, dtype=None, non_blocking: bool = False):
        """Without arguments, the type name; with a legacy storage type (``gpuarr.FloatStorage``
        or its name), a :class:`TypedStorage` holding the bytes converted to that dtype."""
        if dtype is None:
            return f"{_mod()}.storage.UntypedStorage"
        cls = _legacy_class(dtype)
        dt = cls._legacy_dtype
        self._device._xp()
        return TypedStorage(wrap_storage=_wrap_bytes(
            self._bytes.astype(dt.np).view(np.uint8), self._device), dtype=dt, _internal=True)

    def untyped(self) -> UntypedStorage:
        """Self."""
        return self

    # ---- bytes ----
    def _index(self, idx, setting: bool) -> int:
        n = int(self._bytes.size)
        if isinstance(idx, bool) or not hasattr(idx, "__index__"):
            msg = f"can't index a {_mod()}.UntypedStorage with {type(idx).__name__}"
            raise RuntimeError(msg) if setting else TypeError(msg)
        i = operator.index(idx)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            if setting:
                raise RuntimeError("out of bounds")
            raise IndexError(f"index {j} out of range for storage of size {n}")
        return j

    def _slice(self, idx: slice) -> slice:
        if idx.step not in (None, 1):
            raise RuntimeError(f"Trying to slice with a step of {idx.step}, but only a step "
                               "of 1 is supported")
        start, stop, _ = idx.indices(int(self._bytes.size))
        return slice(start, max(start, stop))

    def __getitem__(self, idx):
        """A byte as an int, or a storage aliasing a range of bytes (step 1)."""
        if isinstance(idx, slice):
            return _wrap_bytes(self._bytes[self._slice(idx)], self._device, resizable=False)
        j = self._index(idx, False)
        return int(self._device._backend().item(self._bytes[j:j + 1]))

    def __setitem__(self, idx, value) -> None:
        """Set one byte, or every byte of a range (step 1), to an int (modulo 256)."""
        v = _check_byte(value, "can only set storage content with a int types")
        key = self._slice(idx) if isinstance(idx, slice) else self._index(idx, True)
        self._device._xp()
        self._bytes[key] = v

    def __iter__(self):
        return iter(self.tolist())

    def fill_(self, value) -> UntypedStorage:
        """Set every byte to ``value`` (an int, modulo 256). Returns self."""
        if not isinstance(value, (int, np.integer)):
            raise RuntimeError(f"fill_ expects int, but got {_type_name(value)}")
        self._device._xp()
        self._bytes.fill(int(value) % 256)
        return self

    def copy_(self, src, non_blocking: bool | None = None) -> UntypedStorage:
        """Copy the bytes of storage ``src`` (of the same size, on any device). Returns self."""
        if isinstance(src, TypedStorage):
            src = src._untyped_storage
        if not isinstance(src, UntypedStorage):
            raise TypeError(f"copy_(): argument 'src' (position 1) must be {_mod()}.Storage, "
                            f"not {type(src).__name__}")
        if src.nbytes() != self.nbytes():
            raise RuntimeError(f"size does not match, self was {self.nbytes()} bytes but src "
                               f"was {src.nbytes()} bytes")
        data = _same_or_moved(src._bytes, src._device, self._device)
        self._device._xp().copyto(self._bytes, data)
        return self

    def tolist(self) -> list:
        """The bytes as a list of ints (a host copy on CUDA)."""
        return self._host().tolist()

    def _host(self) -> np.ndarray:
        return self._bytes if self._device is CPU else self._device._backend().to_host(
            self._bytes)

    # ---- copies and moves ----
    def clone(self) -> UntypedStorage:
        """A copy on the same device."""
        self._device._xp()
        return _wrap_bytes(self._bytes.copy(), self._device)

    def cpu(self) -> UntypedStorage:
        """Self on the CPU, else a host copy."""
        if self._device is CPU:
            return self
        return _wrap_bytes(self._host(), CPU)

    def cuda(self, device=None, non_blocking: bool = False) -> UntypedStorage:
        """Self if already on that CUDA device (the current one by default), else a copy."""
        return self.to(device=cuda_device(device))

    def to(self, *, device=None, non_blocking: bool = False) -> UntypedStorage:
        """Self if already on ``device``, else a copy there."""
        dev = as_device(device)
        if dev is self._device:
            return self
        return _wrap_bytes(_same_or_moved(self._bytes, self._device, dev), dev)

    def resize_(self, size: int) -> UntypedStorage:
        """Give the storage ``size`` bytes, keeping the first ones (new ones are zero).

        The storage gets new memory: tensors already viewing the old memory keep it (torch
        moves them along). Raises RuntimeError for storages that are not resizable.
        """
        if not self._resizable:
            raise RuntimeError("Trying to resize storage that is not resizable")
        n = operator.index(size)
        if n < 0:
            raise _alloc_error(n)
        dev = self._device
        new = dev._backend().zeros((n,), np.uint8, dev.index)
        k = min(n, int(self._bytes.size))
        new[:k] = self._bytes[:k]
        self._bytes = new
        return self

    @classmethod
    def from_file(cls, filename, shared: bool = False, nbytes: int = 0) -> UntypedStorage:
        """A CPU storage of ``nbytes`` bytes mapped from a file.

        Args:
            filename: the file.
            shared: True: writes go to the file (created or grown to ``nbytes`` if needed);
                False: a private copy-on-write mapping of a file at least ``nbytes`` long.
            nbytes: the number of bytes.

        Example:
            >>> s = gpuarr.UntypedStorage.from_file('data.bin', True, 16)
        """
        return _map_file(filename, bool(shared), operator.index(nbytes))

    # ---- Python protocols ----
    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        head = f"[{_mod()}.storage.UntypedStorage(device={self._device}) of size {len(self)}]"
        return f"{body}\n{head}" if body else f" \n{head}"

    __str__ = __repr__

    def __copy__(self) -> UntypedStorage:
        return self.clone()

    def __deepcopy__(self, memo) -> UntypedStorage:
        key = ("untyped", self.data_ptr(), self.nbytes())
        if key not in memo:
            memo[key] = self.clone()
        return memo[key]

    def __reduce__(self):
        return (_rebuild_untyped, (self._host().copy(), str(self._device)))


def _rebuild_untyped(host: np.ndarray, dev: str) -> UntypedStorage:
    d = as_device(dev)
    return _wrap_bytes(host if d is CPU else d._backend().asarray(host, index=d.index), d)


def _map_file(filename, shared: bool, nbytes: int) -> UntypedStorage:
    fn = os.fspath(filename)
    if nbytes < 0:
        raise RuntimeError(f"from_file: size must be non-negative, got {nbytes}")
    if shared:
        fd = os.open(fn, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < nbytes:
                os.ftruncate(fd, nbytes)  # torch grows the file to the mapping size
        finally:
            os.close(fd)
    else:
        if not os.path.exists(fn):
            raise RuntimeError(f"unable to open file <{fn}> in read-only mode: "
                               f"{os.strerror(errno.ENOENT)} ({errno.ENOENT})")
        have = os.path.getsize(fn)
        if have < nbytes:
            raise RuntimeError(f"file <{fn}> size <{have}> is smaller than the required "
                               f"mapping size <{nbytes}>")
    if nbytes == 0:  # mmap cannot map zero bytes
        data = np.zeros(0, np.uint8)
    else:  # 'r+': writes reach the file; 'c': private copy-on-write pages
        data = np.memmap(fn, np.uint8, "r+" if shared else "c", shape=(nbytes,))
        data.filename = fn  # as given (NumPy keeps an absolute path); storages report it
    return _wrap_bytes(data, CPU, resizable=False, filename=fn if shared else None)


# --------------------------------------------------------------------------------------------
# TypedStorage


class TypedStorage:
    """An :class:`UntypedStorage` read as elements of one dtype (torch.TypedStorage,
    deprecated in torch: it warns once per process).

    Args:
        size_or_sequence: a number of elements, or a sequence of numbers.
        wrap_storage: an :class:`UntypedStorage` to read (keyword only; no size then).
        dtype: the element type (the default dtype if omitted).
        device: where new storage lives ('cpu' by default).

    Example:
        >>> a = gpuarr.arange(3.)
        >>> a.storage()[1]
        1.0
    """

    __slots__ = ("_untyped_storage", "dtype", "__weakref__")
    _legacy_dtype: D.dtype | None = None  # set on FloatStorage and its kin
    is_sparse = False

    def __init__(self, *args, wrap_storage=None, dtype=None, device=None,
                 _internal: bool = False) -> None:
        if not _internal:
            _warn_typed_storage_removal()
        legacy = type(self)._legacy_dtype
        if legacy is not None:
            if dtype is not None:
                raise RuntimeError(f"{type(self).__name__}.__new__ received an invalid "
                                   "combination of arguments: Keyword argument 'dtype' cannot "
                                   "be specified")
            dtype = legacy
        dt = D.get_default_dtype() if dtype is None else D.as_dtype(dtype)
        if wrap_storage is not None:
            if args or device is not None:
                raise RuntimeError(
                    "TypedStorage.__init__ received an invalid combination of arguments: "
                    "no positional arguments or device may be given with 'wrap_storage'")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError("expected 'wrap_storage' to be an UntypedStorage, but got "
                                f"{type(wrap_storage).__name__}")
            self._untyped_storage = wrap_storage
            self.dtype = dt
            return
        if len(args) > 1:
            raise RuntimeError(
                "TypedStorage.__init__ received an invalid combination of arguments: at most "
                f"one positional argument (a size or a sequence), got {len(args)}")
        dev = CPU if device is None else as_device(device)
        if dev is not CPU:
            dev._backend().check_dtype(dt.np)
        if not args or (isinstance(args[0], (int, np.integer))
                        and not isinstance(args[0], bool)):
            n = int(args[0]) if args else 0
            if n < 0:
                raise _alloc_error(n * dt.itemsize)
            us = UntypedStorage(n * dt.itemsize, device=dev)
        elif isinstance(args[0], Sequence) and not isinstance(args[0], str):
            host = np.asarray(args[0], dtype=dt.np).reshape(-1)
            data = host.view(np.uint8)
            us = _wrap_bytes(data if dev is CPU else dev._backend().asarray(
                data, index=dev.index), dev)
        else:
            raise TypeError(f"TypedStorage(): expected a size or a sequence, but got "
                            f"{type(args[0]).__name__}")
        self._untyped_storage = us
        self.dtype = dt

    # ---- the elements ----
    def _elems(self):
        b = self._untyped_storage._bytes
        item = self.dtype.itemsize
        return b[:(b.size // item) * item].view(self.dtype.np)

    @property
    def device(self) -> device:
        return self._untyped_storage._device

    @property
    def is_cuda(self) -> bool:
        return self._untyped_storage._device.type == "cuda"

    @property
    def filename(self) -> str | None:
        return self._untyped_storage._filename

    def size(self) -> int:
        """Number of elements (whole ones: the bytes divided by the element size)."""
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def data_ptr(self) -> int:
        return self._untyped_storage.data_ptr()

    def get_device(self) -> int | None:
        return self._untyped_storage.get_device()

    def untyped(self) -> UntypedStorage:
        """The :class:`UntypedStorage` read by this storage."""
        return self._untyped_storage

    def resizable(self) -> bool:
        return self._untyped_storage.resizable()

    def is_shared(self) -> bool:
        return self._untyped_storage.is_shared()

    def share_memory_(self) -> TypedStorage:
        self._untyped_storage.share_memory_()
        return self

    def is_pinned(self, device="cuda") -> bool:
        return self._untyped_storage.is_pinned(device)

    def pin_memory(self, device="cuda") -> TypedStorage:
        return self._wrap(self._untyped_storage.pin_memory(device))

    def type(self, dtype=None, non_blocking: bool = False):
        """Without arguments, the legacy type name (``'gpuarr.FloatStorage'``); with a legacy
        storage type, a copy converted to it."""
        if dtype is None:
            name = D._SCALAR_NAMES[self.dtype.name]
            pre = ".cuda" if self.is_cuda else ""
            return f"{_mod()}{pre}.{name}Storage"
        dt = _legacy_class(dtype)._legacy_dtype
        self.device._xp()
        data = self._elems().astype(dt.np).view(np.uint8)
        return TypedStorage(wrap_storage=_wrap_bytes(data, self.device), dtype=dt,
                            _internal=True)

    def _wrap(self, us: UntypedStorage) -> TypedStorage:
        return TypedStorage(wrap_storage=us, dtype=self.dtype, _internal=True)

    def _index(self, idx) -> int:
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        if isinstance(idx, bool) or not hasattr(idx, "__index__"):
            raise TypeError(f"can't index a {self.type()} with {type(idx).__name__}")
        n = self.size()
        i = operator.index(idx)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise IndexError(f"index {j} out of range for storage of size {n}")
        return j

    def __getitem__(self, idx):
        """An element as a Python number (slices are refused, as in torch)."""
        j = self._index(idx)
        return self.device._backend().item(self._elems()[j:j + 1])

    def __setitem__(self, idx, value) -> None:
        """Set an element, or a range of them (step 1), to a number or a one-element tensor."""
        if isinstance(idx, slice):
            if idx.step not in (None, 1):
                raise RuntimeError(f"Trying to slice with a step of {idx.step}, but only a "
                                   "step of 1 is supported")
            key = slice(*idx.indices(self.size())[:2])
        else:
            key = self._index(idx)
        if isinstance(value, TensorBase):
            value = value.item()
        self.device._xp()
        self._elems()[key] = value

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self) -> list:
        """The elements as a list of Python numbers (a host copy on CUDA)."""
        e = self._elems()
        return (e if self.device is CPU else self.device._backend().to_host(e)).tolist()

    def fill_(self, value) -> TypedStorage:
        """Set every element to ``value``. Returns self."""
        if isinstance(value, TensorBase):
            value = value.item()
        self.device._xp()
        self._elems().fill(value)
        return self

    def copy_(self, src, non_blocking: bool | None = None) -> TypedStorage:
        """Copy the bytes of storage ``src`` (of as many bytes). Returns self."""
        self._untyped_storage.copy_(src, non_blocking)
        return self

    def clone(self) -> TypedStorage:
        return self._wrap(self._untyped_storage.clone())

    def cpu(self) -> TypedStorage:
        return self._wrap(self._untyped_storage.cpu())

    def cuda(self, device=None, non_blocking: bool = False) -> TypedStorage:
        return self._wrap(self._untyped_storage.cuda(device, non_blocking))

    def to(self, *, device=None, non_blocking: bool = False) -> TypedStorage:
        return self._wrap(self._untyped_storage.to(device=device, non_blocking=non_blocking))

    def resize_(self, size: int) -> None:
        """Give the storage ``size`` elements (see :meth:`UntypedStorage.resize_`)."""
        self._untyped_storage.resize_(operator.index(size) * self.dtype.itemsize)

    @classmethod
    def from_file(cls, filename, shared: bool = False, size: int = 0) -> TypedStorage:
        """``size`` elements mapped from a file (legacy classes only: ``FloatStorage``...)."""
        if cls._legacy_dtype is None:
            raise RuntimeError("from_file can only be called on derived classes")
        dt = cls._legacy_dtype
        us = _map_file(filename, bool(shared), operator.index(size) * dt.itemsize)
        return TypedStorage(wrap_storage=us, dtype=dt, _internal=True)

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        head = (f"[{_mod()}.storage.TypedStorage(dtype={self.dtype}, device={self.device}) "
                f"of size {len(self)}]")
        return f"{body}\n{head}" if body else f" \n{head}"

    __str__ = __repr__

    def __copy__(self) -> TypedStorage:
        return self.clone()

    def __deepcopy__(self, memo) -> TypedStorage:
        return self._wrap(self._untyped_storage.__deepcopy__(memo))

    def __reduce__(self):
        return (_rebuild_typed, (self._untyped_storage, self.dtype))


def _rebuild_typed(us: UntypedStorage, dt: D.dtype) -> TypedStorage:
    return TypedStorage(wrap_storage=us, dtype=dt, _internal=True)


def _legacy(name: str, dt: D.dtype) -> type:
    return type(f"{name}Storage", (TypedStorage,), {
        "__slots__": (), "_legacy_dtype": dt, "__module__": __name__,
        "__doc__": f"torch's legacy ``{name}Storage``: a :class:`TypedStorage` of {dt}."})


FloatStorage = _legacy("Float", D.float32)
DoubleStorage = _legacy("Double", D.float64)
HalfStorage = _legacy("Half", D.float16)
BFloat16Storage = _legacy("BFloat16", D.bfloat16)
LongStorage = _legacy("Long", D.int64)
IntStorage = _legacy("Int", D.int32)
ShortStorage = _legacy("Short", D.int16)
CharStorage = _legacy("Char", D.int8)
ByteStorage = _legacy("Byte", D.uint8)
BoolStorage = _legacy("Bool", D.bool)
_LEGACY = {c._legacy_dtype.name: c for c in (
    FloatStorage, DoubleStorage, HalfStorage, BFloat16Storage, LongStorage, IntStorage,
    ShortStorage, CharStorage, ByteStorage, BoolStorage)}


def _legacy_class(t) -> type:
    """A legacy storage class from itself or its name ('torch.FloatStorage')."""
    if isinstance(t, type) and issubclass(t, TypedStorage) and t._legacy_dtype is not None:
        return t
    if isinstance(t, str):
        name = t.rsplit(".", 1)[-1]
        for c in _LEGACY.values():
            if c.__name__ == name:
                return c
    raise TypeError(f"invalid storage type {t!r}: expected a legacy storage type such as "
                    f"{_mod()}.FloatStorage")


# --------------------------------------------------------------------------------------------
# Tensor methods (declared in gpuarr.ops.tensor_info)


def untyped_storage(self) -> UntypedStorage:
    """The bytes behind this tensor, shared with every view of the same memory.

    Returns:
        An :class:`UntypedStorage` aliasing the tensor's memory (no copy).

    Example:
        >>> a = gpuarr.arange(4.)
        >>> a.untyped_storage().data_ptr() == a[1:].untyped_storage().data_ptr()
        True
    """
    return UntypedStorage._of(self._data, self._device)


def storage(self) -> TypedStorage:
    """The memory behind this tensor as a :class:`TypedStorage` of its dtype (deprecated in
    torch, which warns once; prefer :meth:`untyped_storage`).

    Example:
        >>> gpuarr.arange(3.).storage().tolist()
        [0.0, 1.0, 2.0]
    """
    _warn_typed_storage_removal()
    return TypedStorage(wrap_storage=untyped_storage(self), dtype=self.dtype, _internal=True)


def storage_type(self) -> type | None:
    """The legacy storage class of this tensor's dtype (``gpuarr.FloatStorage`` for float32;
    None for dtypes torch has none for)."""
    return _LEGACY.get(self.dtype.name)


class _SetStorage(Function):
    """The graph node of ``set_`` on a tensor with a history: torch has no derivative for it,
    so backward through it raises, as torch's does."""

    _raw = True
    _node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, new, *inputs):
        return new

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("derivative for set_ is not implemented")


_NOSRC = object()

_SET_SIGNATURES = (
    " * ()\n * ({m}.Storage source)\n"
    " * ({m}.Storage source, int storage_offset, tuple of ints size, tuple of ints stride = "
    "None)\n * (Tensor source)\n"
    " * (Tensor source, int storage_offset, tuple of ints size, tuple of ints stride = None)\n")


def _set_usage(args: tuple, kwargs: dict) -> TypeError:
    got = [_type_name(a) for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()]
    return TypeError(f"set_() received an invalid combination of arguments - got "
                     f"({', '.join(got)}), but expected one of:\n"
                     + _SET_SIGNATURES.format(m=_mod()))


def _int_list(x, what: str) -> tuple:
    try:
        return tuple(operator.index(v) for v in x)
    except TypeError:
        raise TypeError(f"set_(): argument '{what}' must be tuple of ints, not "
                        f"{type(x).__name__}") from None


def set_(self, source=_NOSRC, storage_offset=_NOSRC, size=None, stride=None):
    """Make this tensor view ``source``'s memory, in place (torch.Tensor.set_).

    Args:
        source: omitted: an empty tensor; a Tensor: view its memory with its size, stride and
            offset (or those given); a storage: view it from ``storage_offset`` (elements of
            this tensor's dtype) with ``size`` and ``stride`` (all of it, 1-d, by default).
        storage_offset: first element of the view (needs ``size``).
        size: the new shape.
        stride: the new strides, in elements (contiguous when omitted).

    Returns:
        self, now aliasing ``source``: writes through either show in the other.

    Raises:
        RuntimeError: dtype or device mismatches, a view beyond the storage, or a leaf that
            requires grad while grad mode is on.

    Example:
        >>> a = gpuarr.arange(6.)
        >>> t = gpuarr.tensor([]).set_(a.untyped_storage(), 2, (2, 2), (1, 2))
        >>> t
        tensor([[2., 4.],
                [3., 5.]])
    """
    passed = tuple(a for a in (source, storage_offset) if a is not _NOSRC)
    kw = {k: v for k, v in (("size", size), ("stride", stride)) if v is not None}
    if source is _NOSRC:
        if storage_offset is not _NOSRC or kw:
            raise _set_usage(passed, kw)
        dev = self._device
        new = dev._backend().empty((0,), self._data.dtype, dev.index)
        return _finish_set(self, new, None)
    if isinstance(source, TensorBase):
        if source.dtype is not self.dtype:
            raise RuntimeError(f"Could not set tensor of type {_CTYPE[source.dtype.name]} to "
                               f"a tensor of type {_CTYPE[self.dtype.name]}")
        _check_set_device(self, source._device)
        if storage_offset is _NOSRC and not kw:
            return _finish_set(self, source._data.view(), source)
        if size is None or storage_offset is _NOSRC:
            raise _set_usage(passed, kw)
        us = UntypedStorage._of(source._data, source._device)
    elif isinstance(source, (UntypedStorage, TypedStorage)):
        if isinstance(source, TypedStorage):
            if source.dtype is not self.dtype:
                raise RuntimeError(
                    f"Expected a Storage of type {_CTYPE[self.dtype.name]} or an "
                    f"UntypedStorage, but got type {D._SCALAR_NAMES[source.dtype.name]} for "
                    "argument 1 'storage'")
            us = source._untyped_storage
        else:
            us = source
        _check_set_device(self, us._device)
        if storage_offset is _NOSRC and not kw:
            storage_offset, size = 0, (us.nbytes() // self._data.itemsize,)
        elif size is None or storage_offset is _NOSRC:
            raise _set_usage(passed, kw)
    else:
        raise _set_usage(passed, kw)
    offset = 0 if storage_offset is _NOSRC else storage_offset
    if not isinstance(offset, (int, np.integer)) or isinstance(offset, bool):
        raise _set_usage(passed, kw)
    new = _view_bytes(us, self._data.dtype, int(offset), _int_list(size, "size"),
                      None if stride is None else _int_list(stride, "stride"))
    return _finish_set(self, new, source if isinstance(source, TensorBase) else None)


def _check_set_device(self, dev: device) -> None:
    if dev is not self._device:
        raise RuntimeError(
            f'Attempted to set the storage of a tensor on device "{self._device}" to a storage '
            f'on different device "{dev}".  This is no longer allowed; the devices must match.')


def _view_bytes(us: UntypedStorage, np_dtype, offset: int, size: tuple, stride):
    """An array of ``np_dtype`` viewing storage ``us`` from element ``offset`` with ``size``
    and ``stride`` (contiguous when None); torch's errors for geometry it refuses."""
    if stride is None:
        stride, acc = [], 1
        for n in reversed(size):
            stride.append(acc)
            acc *= max(n, 1)
        stride = tuple(reversed(stride))
    elif len(stride) != len(size):
        raise RuntimeError(f"unequal size length ({len(size)}) and stride length "
                           f"({len(stride)})")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if any(n < 0 for n in size):
        raise RuntimeError("numel: integer multiplication overflow")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    item = np.dtype(np_dtype).itemsize
    empty = any(n == 0 for n in size)
    span = 0 if empty else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    need = (offset + span) * item if not empty else 0
    if need > us.nbytes():
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
            f"and itemsize {item} requiring a storage size of {need} are out of bounds for "
            f"storage of size {us.nbytes()}")
    b = us._bytes
    start = min(offset * item, int(b.size))
    flat = b[start:start + span * item].view(np_dtype)
    if empty:
        return flat.reshape(size)
    xp = us._device._xp()
    return xp.lib.stride_tricks.as_strided(flat, tuple(size), tuple(s * item for s in stride))


def _finish_set(self, new, source):
    grad = _state.enabled
    if grad and self._rg and self._gfn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation.")
    record = grad and (self._rg or (source is not None and source._rg))
    self._data = new
    self.__dict__.pop("_base", None)  # it no longer views its old base's memory
    if record:
        ins = [t for t in (self, source) if t is not None and t._rg]
        res = _SetStorage.apply(_make(new, self._device), *ins)
        self._gfn, self._output_nr, self._rg = res._gfn, res._output_nr, True
    self._bump_version()
    return self


# --------------------------------------------------------------------------------------------
# from_file


def from_file(filename, shared: bool | None = None, size: int | None = 0, *, dtype=None,
              layout=None, device=None, pin_memory: bool = False, requires_grad: bool = False):
    """A 1-d CPU tensor of ``size`` elements read from a memory-mapped file
    (torch.from_file).

    Args:
        filename: the file.
        shared: True: the tensor maps the file, so writes go back to it (the file is created or
            grown to the needed size); False/None: a private copy-on-write mapping of a file
            that must hold at least ``size`` elements.
        size: number of elements.
        dtype: element type (the default dtype if None).
        layout: only ``gpuarr.strided``.
        device: only the CPU (torch has no CUDA kernel for it: NotImplementedError).
        pin_memory: must be False (RuntimeError, as torch).
        requires_grad: track gradients for the result.

    Returns:
        The tensor (its storage is the mapping).

    Example:
        >>> t = gpuarr.from_file('weights.bin', shared=False, size=10, dtype=gpuarr.float32)
    """
    if pin_memory:
        raise RuntimeError("tensors constructed from a file cannot be pinned")
    dev = CPU if device is None else as_device(device)
    if dev is not CPU:
        raise NotImplementedError(
            f"Could not run 'aten::from_file' with arguments from the "
            f"'{dev.type.upper()}' backend. 'aten::from_file' is only available for these "
            "backends: [CPU].")
    if layout is not None and str(layout).rsplit(".", 1)[-1] != "strided":
        raise RuntimeError(f"from_file: only the strided layout is supported, got {layout}")
    dt = D.get_default_dtype() if dtype is None else D.as_dtype(dtype)
    n = 0 if size is None else operator.index(size)
    us = _map_file(filename, bool(shared), n * dt.itemsize)
    t = _make(us._bytes.view(dt.np), CPU)
    if requires_grad:
        t.requires_grad_(True)
    return t
