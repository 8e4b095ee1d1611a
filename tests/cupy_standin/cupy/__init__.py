"""CuPy stand-in: a strict CPU imitation of CuPy 14.2, backed by NumPy, for testing CuPy code
paths on machines without a GPU.

Put ``tests/cupy_standin`` first on ``PYTHONPATH`` and ``import cupy`` / ``import cupyx`` /
``import cupy_backends`` give this package instead of the real CuPy. It exists to catch, on a
CPU, the bugs that only show up when code runs on CuPy arrays:

* a distinct ``cupy.ndarray`` whose ``__array__`` raises (no implicit device->host conversion:
  ``np.asarray(x)``, ``np.array(x)``, PIL, ...); NumPy arrays are rejected as operands of ufuncs,
  functions and kernels (no implicit host->device), with CuPy's messages;
* reductions and scalar indexing give 0-d device arrays, never NumPy scalars; no ``__index__``;
* ``__array_ufunc__`` / ``__array_function__`` dispatch as CuPy's;
* only the names, ``ndarray`` methods and keyword arguments the REAL CuPy 14.2 has (recorded in
  ``cupy_meta.json`` by ``dump_meta.py``); ufuncs take only ``out=``/``dtype=``/``casting=``;
* simulated GPUs (``CUPY_SIM_NDEV=2``): every array remembers the device that was current when
  it was created; kernel-like operations on an array of another device raise CuPy's "Peer
  access is unavailable" ValueError, while memory copies (``copy()``, ``array()``, ``get()``)
  work across devices as in CuPy; ``cupy.cuda._Device(i)`` for a missing device raises
  ``cudaErrorInvalidDevice`` when used;
* a per-device memory pool: ``used_bytes()``/``total_bytes()`` count the live arrays of the
  current device (in CuPy's 512-byte blocks);
* ``cupy.random``: CuPy's reduced ``Generator`` API; ``XORWOW`` keeps its whole state in the
  device array ``_state`` (so snapshots by copying ``_state`` work as on a GPU) and refuses to
  draw on another device;
* ``cupy.linalg`` silent on singular input unless ``cupyx.errstate(linalg='raise')``; the dtype
  limits of ``ufunc.at``/``cupyx.scatter_add``; ``ElementwiseKernel`` argument checks and a
  small C-body -> NumPy translator (declarations, compound assignments, ternaries, math calls).
* streams, stream capture and CUDA graphs (``_graph.py``): captured work is recorded, not run,
  until ``Graph.launch``; host synchronisation and library calls during a capture raise as in
  CuPy / CUDA.

What it cannot prove: anything about CUDA numerics (it computes with NumPy on the CPU), speed,
real memory behaviour (allocation failures, fragmentation, the pool's caching), asynchrony
(outside a capture everything runs at once), kernel compile errors (see
``tests/cuda_compile.py``), and CuPy's sort/unique/linalg algorithm differences.
``RawKernel`` runs its CUDA source compiled for the CPU, thread by thread (``_rawkernel.py``:
no shared memory, barriers or atomics); ``ReductionKernel``/``RawModule`` raise.
"""

from __future__ import annotations

import builtins as _builtins
import functools as _functools
import inspect as _inspect
import json as _json
import os as _os
import re as _re
import sys as _sys
import threading as _threading
import types as _types
import warnings as _warnings
import weakref as _weakref

import numpy as _np

_HERE = _os.path.dirname(_os.path.abspath(__file__))
with open(_os.path.join(_HERE, "..", "cupy_meta.json")) as _fh:
    _META = _json.load(_fh)

__version__ = "14.2.0"
_IS_STANDIN = True
_NDEV = int(_os.environ.get("CUPY_SIM_NDEV", "1"))
_LOG = _os.environ.get("CUPY_SIM_LOG")  # file to append events (implicit transfers) to
# True while some stream captures (any thread): the hooks below then ask ``_graph`` whether to
# record the work instead of running it. The only cost on the normal path is this flag's test.
_capturing = False


def _event(kind, msg):
    if _LOG:
        import traceback

        st = "".join(traceback.format_stack(limit=8)[:-2])
        with open(_LOG, "a") as fh:
            fh.write(f"=== {kind}: {msg}\n{st}\n")


# ---------------------------------------------------------------------------------------------
# signatures: CuPy's, as dumped from the real wheel


def _sigobj(sigstr):
    """An _inspect.Signature from CuPy's signature text (Cython types stripped)."""
    if not sigstr:
        return None
    types_ = (r"int|Py_ssize_t|bint|bool|_ndarray_base|str|tuple|object|ndarray|list|dict"
              r"|shape_t|strides_t|size_t")
    s = _re.sub(rf"\b(?:{types_})\s+(?=\w+\s*(?:=|,|\)))", "", sigstr)
    s = _re.sub(r"<[^<>]*>", "None", s)  # <class 'float'> defaults
    s = _re.sub(r"->.*$", "", s)
    s = _re.sub(r":\s*'[^']*'", "", s)
    try:
        ns = {}
        exec(f"def _f{s}: pass", {"numpy": _np, "inf": float("inf"), "nan": float("nan")}, ns)
        return _inspect.signature(ns["_f"])
    except Exception:
        return None


class _Sig:
    """Cheap keyword/positional check against one CuPy signature; binds only to report."""

    __slots__ = ("qual", "sigstr", "sig", "names", "maxpos", "varpos", "varkw", "drop")

    def __init__(self, qual, sigstr, drop_self=False):
        self.qual, self.sigstr, self.drop = qual, sigstr, drop_self
        self.sig = sig = _sigobj(sigstr)
        if sig is None:
            return
        ps = list(sig.parameters.values())[1 if drop_self else 0:]
        P = _inspect.Parameter
        self.names = frozenset(p.name for p in ps
                               if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY))
        pos = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
        self.maxpos = _builtins.sum(p.kind in pos for p in ps)
        self.varpos = _builtins.any(p.kind == P.VAR_POSITIONAL for p in ps)
        self.varkw = _builtins.any(p.kind == P.VAR_KEYWORD for p in ps)

    def __call__(self, args, kwargs):
        if self.sig is None:
            return
        if ((len(args) > self.maxpos and not self.varpos)
                or (kwargs and not self.varkw and not kwargs.keys() <= self.names)):
            try:
                self.sig.bind(*((None,) if self.drop else ()), *args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{self.qual}{self.sigstr}: {e}") from None


# ---------------------------------------------------------------------------------------------
# devices (simulated) and the CUDA runtime errors


_tls = _threading.local()


def _cur():
    return getattr(_tls, "dev", 0)


_CUDA_ERRORS = {
    2: ("cudaErrorMemoryAllocation", "out of memory"),
    101: ("cudaErrorInvalidDevice", "invalid device ordinal"),
    217: ("cudaErrorPeerAccessUnsupported", "peer access is not supported between these two "
          "devices"),
}


class _CUDARuntimeError(RuntimeError):
    """cupy_backends.cuda.api.runtime.CUDARuntimeError."""

    def __init__(self, status):
        self.status = status
        name, desc = _CUDA_ERRORS.get(status, ("cudaErrorUnknown", "unknown error"))
        super().__init__(f"{name}: {desc}")

    def __reduce__(self):
        return type(self), (self.status,)


_CUDARuntimeError.__module__ = "cupy_backends.cuda.api.runtime"


def _set_device(i):
    i = int(i)
    if not 0 <= i < _NDEV:
        raise _CUDARuntimeError(101)
    _tls.dev = i


def _check_ordinal(i):
    if not 0 <= i < _NDEV:
        raise _CUDARuntimeError(101)


def _peer_error(arr_dev, dev):
    return ValueError(f"The device where the array resides ({arr_dev}) is different from the "
                      f"current device ({dev}). Peer access is unavailable between these devices.")


_SM_COUNT = 132  # an H200


class _Device:
    """cupy.cuda.Device: construction never fails (as CuPy); using a missing device raises."""

    __slots__ = ("id", "_stack")
    __hash__ = None  # CuPy's Device is unhashable

    def __init__(self, device=None):
        self.id = _cur() if device is None else int(device)
        self._stack = []

    def __int__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"

    def __eq__(self, other):
        return self.id == other.id if isinstance(other, _Device) else NotImplemented

    def __ne__(self, other):
        return self.id != other.id if isinstance(other, _Device) else NotImplemented

    def __lt__(self, other):
        return self.id < other.id

    def __le__(self, other):
        return self.id <= other.id

    def __gt__(self, other):
        return self.id > other.id

    def __ge__(self, other):
        return self.id >= other.id

    def __enter__(self):
        prev = _cur()
        self._stack.append(prev)
        if self.id != prev:
            _set_device(self.id)
        return self

    def __exit__(self, *exc):
        _tls.dev = self._stack.pop()
        return False

    def use(self):
        _set_device(self.id)

    def synchronize(self):
        _check_ordinal(self.id)
        if _capturing:
            _graph.device_synchronize(self.id)

    @property
    def compute_capability(self):
        _check_ordinal(self.id)
        return "90"

    @property
    def mem_info(self):
        _check_ordinal(self.id)
        total = 141 << 30
        return total - _used[self.id] - _cached[self.id], total

    @property
    def attributes(self):
        _check_ordinal(self.id)
        return {"MultiProcessorCount": _SM_COUNT, "ComputeCapabilityMajor": 9,
                "ComputeCapabilityMinor": 0, "WarpSize": 32, "MaxThreadsPerBlock": 1024}

    @property
    def pci_bus_id(self):
        _check_ordinal(self.id)
        return f"0000:{0x18 + self.id:02X}:00.0"


_Device.__module__ = "cupy.cuda.device"


# ---------------------------------------------------------------------------------------------
# memory pool: bytes of the live arrays that own their memory, per device

_NPOOL = max(_NDEV, 1)
_used = [0] * _NPOOL
_cached = [0] * _NPOOL
_nfree = [0] * _NPOOL
_owners: dict = {}  # id(owner numpy array) -> weakref whose callback releases its bytes
# device pointers -> arrays (the NCCL stand-in): id(owner) -> (device, start address), and
# start address -> id(owner)
_owner_devs: dict = {}
_owner_starts: dict = {}


def _sim_set_device_count(n):
    """Pretend there are ``n`` GPUs from now on (``CUPY_SIM_NDEV`` at run time; for tests).
    Returns the previous count."""
    global _NDEV
    prev, _NDEV = _NDEV, int(n)
    for lst in (_used, _cached, _nfree):
        lst.extend([0] * (_NDEV - len(lst)))
    return prev


def _release(key, dev, n, _ref):
    info = _owner_devs.pop(key, None)
    if info is not None and _owner_starts.get(info[1]) == key:
        del _owner_starts[info[1]]
    if _owners.pop(key, None) is not None:
        _used[dev] -= n
        _cached[dev] += n
        _nfree[dev] += 1


def _owner(a):
    """The NumPy array that owns ``a``'s memory (``a`` itself when it is not a view)."""
    b = a.base
    while b is not None and isinstance(b, _np.ndarray):
        a, b = b, b.base
    return a


def _track(o, dev):
    """Charge owner array ``o`` to ``dev``'s pool (once)."""
    key = id(o)
    if key in _owners:
        return
    n = o.nbytes
    if n == 0:
        return
    if _capturing:
        _graph.on_alloc(n, dev)
    n = (n + 511) // 512 * 512  # CuPy's allocation unit
    _owners[key] = _weakref.ref(o, _functools.partial(_release, key, dev, n))
    start = o.__array_interface__["data"][0]
    _owner_devs[key] = (dev, start)
    _owner_starts[start] = key
    _used[dev] += n
    c = _cached[dev]
    if c:
        _cached[dev] = c - n if c > n else 0
        if _nfree[dev]:
            _nfree[dev] -= 1


def _sim_lookup_ptr(ptr, nbytes):
    """``(uint8 NumPy view of [ptr, ptr + nbytes), device)`` when that range lies inside the
    memory of one live stand-in array, else None: how the NCCL stand-in, which gets raw device
    pointers as NCCL does, finds the arrays behind them."""
    import ctypes

    if _capturing and _graph.current() is not None:
        raise NotImplementedError("cupy stand-in: NCCL calls inside a stream capture are not "
                                  "modelled (they would run at once instead of at launch)")

    def hit(key):
        info, ref = _owner_devs.get(key), _owners.get(key)
        o = ref() if ref is not None else None
        if info is None or o is None:
            return None
        dev, start = info
        if not (start <= ptr and ptr + nbytes <= start + o.nbytes):
            return None
        raw = _np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(ptr)) \
            if nbytes else _np.empty(0, _np.uint8)
        return raw, dev

    first = _owner_starts.get(ptr)  # most pointers are where an array's memory starts
    found = hit(first) if first is not None else None
    if found is None:
        for key in list(_owner_devs):  # a pointer into the middle of an array
            found = hit(key)
            if found is not None:
                break
    return found


class _MemoryPool:
    """cupy.cuda.MemoryPool: per-device counters of the stand-in's live arrays."""

    def __init__(self, allocator=None):
        self._limit = 0

    def malloc(self, size):
        return _MemoryPointer(_mk(_np.zeros(int(size), _np.uint8)), 0)

    def used_bytes(self):
        return _used[_cur()]

    def free_bytes(self):
        return _cached[_cur()]

    def total_bytes(self):
        d = _cur()
        return _used[d] + _cached[d]

    def n_free_blocks(self):
        return _nfree[_cur()]

    def free_all_blocks(self, stream=None):
        d = _cur()
        _cached[d] = 0
        _nfree[d] = 0

    def free_all_free(self):
        self.free_all_blocks()

    def set_limit(self, size=None, fraction=None):
        # as CuPy's MemoryPool.set_limit: a size in bytes, or a fraction of the device's
        # total memory as memGetInfo reports it
        if size is None:
            if fraction is None:
                size = 0
            else:
                if not 0 <= fraction <= 1:
                    raise ValueError(f"memory limit fraction out of range: {fraction}")
                size = fraction * _mem_get_info()[1]
            self.set_limit(size=size)
            return
        if fraction is not None:
            raise ValueError("size and fraction cannot be specified at one time")
        if size < 0:
            raise ValueError(f"memory limit size out of range: {size}")
        self._limit = int(size)  # a size_t in CuPy

    def get_limit(self):
        return self._limit


class _PinnedMemoryPool:
    """cupy.cuda.PinnedMemoryPool: the stand-in never pins host memory."""

    def __init__(self, allocator=None):
        pass

    def malloc(self, size):
        raise NotImplementedError("cupy stand-in: no pinned memory")

    def free_all_blocks(self):
        pass

    def n_free_blocks(self):
        return 0

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0


_pool = _MemoryPool()
_pinned_pool = _PinnedMemoryPool()


def get_default_memory_pool():
    return _pool


def get_default_pinned_memory_pool():
    return _pinned_pool


class _Memory:
    __slots__ = ("ptr", "size", "device_id")

    def __init__(self, ptr, size, device_id):
        self.ptr, self.size, self.device_id = ptr, size, device_id


class _MemoryPointer:
    """cupy.cuda.MemoryPointer of a stand-in array (``ptr`` is the host address)."""

    __slots__ = ("_arr", "ptr", "device_id")

    def __init__(self, arr, offset):
        self._arr = arr  # the stand-in ndarray whose memory this points into
        self.ptr = arr._a.__array_interface__["data"][0] + offset
        self.device_id = arr._dev

    @property
    def device(self):
        return _Device(self.device_id)

    @property
    def mem(self):
        o = _owner(self._arr._a)
        return _Memory(o.__array_interface__["data"][0], o.nbytes, self.device_id)

    def __int__(self):
        return self.ptr

    def __add__(self, n):
        return _MemoryPointer(self._arr, self.ptr - self._base_ptr() + n)

    def _base_ptr(self):
        return self._arr._a.__array_interface__["data"][0]

    def __repr__(self):
        return f"<MemoryPointer 0x{self.ptr:x} device={self.device_id}>"


# ---------------------------------------------------------------------------------------------
# ndarray


class _Flags:
    """CuPy's flags: c_contiguous, f_contiguous and owndata only."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, c, f, own):
        self.c_contiguous, self.f_contiguous, self.owndata = c, f, own

    def __getitem__(self, name):
        key = {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
               "OWNDATA": "owndata"}.get(name)
        if key is None:
            raise KeyError(name)
        return getattr(self, key)

    def __repr__(self):
        return (f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n"
                f"  OWNDATA : {self.owndata}")


_SCALAR_TYPES = (int, float, complex, bool, _np.generic)


class ndarray:
    """cupy.ndarray (stand-in): a NumPy array ``_a`` on simulated device ``_dev``."""

    __slots__ = ("_a", "_dev", "_base", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None:
            src = memptr._arr
            o = _owner(src._a)
            off = memptr.ptr - o.__array_interface__["data"][0]
            buf = o.reshape(-1).view(_np.uint8) if o.flags.c_contiguous else o
            self._a = _np.ndarray(shape, dtype, buffer=buf, offset=off, strides=strides,
                                  order=order)
            self._dev = src._dev
            self._base = src._base if src._base is not None else src
            return
        if strides is not None:
            raise ValueError("memptr is required if strides is given.")
        self._a = a = _np.empty(shape, dtype=dtype, order=order)
        self._dev = d = _cur()
        self._base = None
        _track(a, d)
        if _capturing:
            _graph.fresh_alloc(self)

    # -- host conversion --------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream=None, order="C", out=None, blocking=True):
        if _capturing and self._a.size:
            _graph.d2h(stream)
        if out is not None:
            if not isinstance(out, _np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained fromcupy.ndarray")
            if self.dtype != out.dtype:
                raise TypeError(f"{out.dtype} array cannot be obtained from {self.dtype} array")
            if self.shape != out.shape:
                raise ValueError(f"Shape mismatch. Expected shape: {self.shape}, "
                                 f"actual shape: {out.shape}")
            out[...] = self._a
            return out
        order = order.upper()
        if order == "A":
            order = "F" if self._a.flags.f_contiguous else "C"
        if order not in ("C", "F"):
            raise ValueError(f"unsupported order: {order}")
        return _np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        if not isinstance(arr, _np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if self.shape != arr.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        if not (self._a.flags.c_contiguous or self._a.flags.f_contiguous):
            raise RuntimeError("Cannot set to non-contiguous array")
        _event("H2D", f"set {arr.shape}")
        if _capturing and _graph.setitem(self._a, Ellipsis, arr, False, (), "memcpyHtoD", True):
            return
        self._a[...] = arr

    def item(self):
        if self._a.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        if _capturing:
            _graph.d2h()
        return self._a.item()

    def tolist(self):
        if _capturing and self._a.size:
            _graph.d2h()
        return self._a.tolist()

    def tobytes(self, order="C"):
        if _capturing and self._a.size:
            _graph.d2h()
        return self._a.tobytes(order)

    def tofile(self, fid, sep="", format="%s"):
        self.get().tofile(fid, sep, format)

    def dumps(self):
        import pickle

        return pickle.dumps(self, -1)

    def dump(self, file):
        import pickle

        pickle.dump(self, file, -1)

    def __int__(self):
        return int(self.get())

    def __float__(self):
        return float(self.get())

    def __complex__(self):
        return complex(self.get())

    def __bytes__(self):
        return bytes(self.get())

    def __bool__(self):
        n = self._a.size
        if n == 0:
            _warnings.warn("The truth value of an empty array is ambiguous. Returning False, but "
                          "in future this will result in an error. Use `array.size > 0` to "
                          "check that an array is not empty.", DeprecationWarning, stacklevel=2)
            return False
        if n == 1:
            if _capturing:
                _graph.d2h()
            return _builtins.bool(self._a.reshape(()))
        raise ValueError("The truth value of an array with more than one element is "
                         "ambiguous. Use a.any() or a.all()")

    def __len__(self):
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return self._a.shape[0]

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    def __repr__(self):
        if _capturing and self._a.size:
            _graph.d2h()
        return repr(self._a)

    def __str__(self):
        if _capturing and self._a.size:
            _graph.d2h()
        return str(self._a)

    def __format__(self, spec):
        return format(self.get(), spec)

    def __hash__(self):
        raise TypeError("unhashable type: 'cupy.ndarray'")

    # -- attributes -------------------------------------------------------------------------
    dtype = property(lambda s: s._a.dtype)
    ndim = property(lambda s: s._a.ndim)
    size = property(lambda s: s._a.size)
    strides = property(lambda s: s._a.strides)
    itemsize = property(lambda s: s._a.itemsize)
    nbytes = property(lambda s: s._a.nbytes)
    base = property(lambda s: s._base)
    data = property(lambda s: _MemoryPointer(s, 0))
    device = property(lambda s: _Device(s._dev))
    flags = property(lambda s: _Flags(s._a.flags.c_contiguous, s._a.flags.f_contiguous,
                                      s._base is None))
    flat = property(lambda s: flatiter(s))

    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, newshape):
        self._a.shape = newshape

    @property
    def T(self):
        return self if self._a.ndim < 2 else _view(self._a.T, self)

    @property
    def mT(self):
        if self._a.ndim < 2:
            raise ValueError("matrix transpose with ndim < 2 is undefined")
        return _view(self._a.swapaxes(-1, -2), self)

    @property
    def real(self):
        if self._a.dtype.kind == "c":
            return _view(self._a.real, self)
        return self

    @real.setter
    def real(self, value):
        self.real[...] = value

    @property
    def imag(self):
        if self._a.dtype.kind == "c":
            return _view(self._a.imag, self)
        if _capturing:
            return _G["zeros_like"](self)  # a memset kernel, recorded while capturing
        return _mk(_np.zeros_like(self._a))

    @property
    def __cuda_array_interface__(self):
        a = self._a
        return {"shape": a.shape, "typestr": a.dtype.str, "descr": a.dtype.descr,
                "stream": 1, "version": 3,
                "strides": None if a.flags.c_contiguous else a.strides,
                "data": (a.__array_interface__["data"][0] if a.size else 0, False)}

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if dl_device is not None and tuple(dl_device) == (1, 0) and copy is False:
            raise ValueError("GPU memory cannot be exported to CPU without copy.")
        # NumPy memory exported as is: consumers see a CPU tensor (a real GPU would be CUDA)
        if max_version is None:
            return self._a.__dlpack__()
        return self._a.__dlpack__(max_version=max_version)  # a versioned capsule, as CuPy

    def __dlpack_device__(self):
        return (2, self._dev)  # kDLCUDA

    # -- indexing ---------------------------------------------------------------------------
    def __getitem__(self, key):
        k, adv, arrs = _index(key)
        if not adv:
            if k is Ellipsis:
                return _view(self._a[...], self)
            kt = k if type(k) is tuple else (k,)
            if Ellipsis not in kt:
                kt = kt + (Ellipsis,)  # NumPy then returns a 0-d view, as CuPy does
            return _view(self._a[kt], self)
        dev = _cur()
        if self._dev != dev:
            raise _peer_error(self._dev, dev)
        for x in arrs:
            if x._dev != dev:
                raise _peer_error(x._dev, dev)
        if _capturing:
            cap = _graph.current()
            if cap is not None:
                return cap.getitem(self, k, arrs, dev)
        r = self._a[k]
        if type(r) is not _np.ndarray or _owner(r) is _owner(self._a):
            r = _np.array(r)  # CuPy's advanced indexing always copies
        return _mk(r, dev)

    def __setitem__(self, key, value):
        k, adv, arrs = _index(key)
        dev = _cur()
        if type(value) is ndarray or isinstance(value, ndarray):
            if not adv:
                y = self._a[k]
                x = value._a
                if (y.shape == x.shape and y.strides == x.strides and y.dtype == x.dtype
                        and y.flags.c_contiguous):
                    if _capturing and _graph.setitem(y, Ellipsis, x, False, (), "memcpy"):
                        return
                    y[...] = x  # a device-to-device memcpy: no kernel, works across devices
                    return
            if value._dev != dev:
                raise _peer_error(value._dev, dev)
            v = value._a
        elif isinstance(value, _np.ndarray):
            if not adv and value.ndim != 0:
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            _event("implicit-H2D", f"__setitem__ with numpy value {value.shape}")
            v = value
        elif not adv and not isinstance(value, _SCALAR_TYPES):
            raise TypeError(f"Unsupported type {type(value)}")
        else:
            v = value
        if self._dev != dev:
            raise _peer_error(self._dev, dev)
        for x in arrs:
            if x._dev != dev:
                raise _peer_error(x._dev, dev)
        if _capturing and _graph.setitem(self._a, k, v, adv, arrs, "setitem",
                                         isinstance(value, _np.ndarray)):
            return
        with _np.errstate(all="ignore"):
            self._a[k] = v

    # -- NumPy interop ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            out = kwargs["out"]
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            inputs_out = inputs + out
            kwargs["out"] = out[0]
        else:
            inputs_out = inputs
        if method not in ("__call__", "outer", "at", "reduce", "accumulate", "reduceat"):
            return NotImplemented
        name = ufunc.__name__
        func = globals().get(name)
        if not isinstance(func, _UFunc):
            import cupyx.scipy.special as _sp

            func = getattr(_sp, name, None)
            if func is None:
                return NotImplemented
        if method != "__call__":
            func = getattr(func, method, None)
            if func is None:
                return NotImplemented
        for x in inputs_out:
            if not (isinstance(x, (ndarray, _np.ndarray)) or type(x) in _SCALAR_SET
                    or isinstance(x, _np.generic)):
                return NotImplemented
        if name in _CMP_NAMES:
            inputs = tuple(x.item() if isinstance(x, _np.ndarray) and x.ndim == 0 else x
                           for x in inputs)
        return func(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        mod = _sys.modules[__name__]
        try:
            for part in func.__module__.split(".")[1:]:
                mod = getattr(mod, part)
            cu = getattr(mod, func.__name__)
        except AttributeError:
            return NotImplemented
        if cu is func:
            return NotImplemented
        for t in types_:
            if not issubclass(t, (ndarray, _np.ndarray)):
                return NotImplemented
        _event("np-dispatch", f"np.{func.__name__} on cupy array -> cupy.{func.__name__}")
        return cu(*args, **kwargs)

    # -- methods whose CuPy semantics need care ---------------------------------------------
    def _astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        if casting is not None:
            raise TypeError("casting is not supported yet")
        if subok is not None:
            raise TypeError("subok is not supported yet")
        if order is None:
            order = "K"
        dtype = _np.dtype(dtype)
        a = self._a
        if dtype == a.dtype and not copy:
            o = order.upper()
            if (o == "K" or (o == "A" and (a.flags.c_contiguous or a.flags.f_contiguous))
                    or (o == "C" and a.flags.c_contiguous)
                    or (o == "F" and a.flags.f_contiguous)):
                return self
        if not copy and copy is not None:
            raise ValueError("Unable to avoid copy while creating an array as requested.")
        dev = _cur()
        if self._dev != dev and a.size:
            raise _peer_error(self._dev, dev)
        if _capturing:
            cap = _graph.current()
            if cap is not None:
                return cap.produce(lambda: a.astype(dtype, order=order, copy=True), "astype",
                                   [a], dev)
        with _np.errstate(all="ignore"):  # CUDA casts never warn
            return _mk(a.astype(dtype, order=order, copy=True), dev)

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return self._astype(dtype, order, casting, subok, True if copy else None)

    def copy(self, order="C"):
        dev = _cur()
        if self._a.size == 0 or self._dev == dev:
            return self.astype(self.dtype, order=order)
        # another device: a contiguous copy there, then a device-to-device memcpy
        x = self._a
        o = order.upper()
        if o not in ("C", "F", "A") and not (x.flags.c_contiguous or x.flags.f_contiguous):
            raise NotImplementedError("CuPy cannot copy non-contiguous array between devices.")
        o = ("F" if x.flags.f_contiguous else "C") if o == "A" else o if o in ("C", "F") else "K"
        if _capturing:
            cap = _graph.current()
            if cap is not None:
                return cap.produce(lambda: _np.array(x, order=o, copy=True), "memcpyPeer", [x],
                                   dev)
        return _mk(_np.array(x, order=o, copy=True), dev)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        prev = _cur()
        try:
            _set_device(self._dev)
            return self.copy()
        finally:
            _tls.dev = prev

    def __reduce__(self):
        return array, (self.get(),)

    def view(self, dtype=None, type=None):
        if type is not None and type is not ndarray:
            raise ValueError("Type must be a sub-type of ndarray type")
        return _view(self._a.view() if dtype is None else self._a.view(dtype), self)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _call(_np.reshape, (self, shape), {"order": order}, True, False)

    def fill(self, value):
        dev = _cur()
        if isinstance(value, ndarray):
            if value.shape != ():
                raise ValueError("non-scalar cupy.ndarray cannot be used for fill")
            if value._dev != dev:
                raise _peer_error(value._dev, dev)
            value = value._a
        elif isinstance(value, _np.ndarray):
            if value.shape != ():
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            value = value.astype(self.dtype).item()
        elif not isinstance(value, _SCALAR_TYPES):
            raise TypeError(f"Unsupported type {_builtins.type(value)}")
        if not (isinstance(value, _SCALAR_TYPES) and value == 0 and self._a.flags.c_contiguous):
            if self._dev != dev:  # a fill kernel (a zero fill of contiguous memory is a memset)
                raise _peer_error(self._dev, dev)
        a = self._a
        if _capturing and _graph.run(lambda: a.fill(value), "fill", [a, value]):
            return
        a.fill(value)

    def sort(self, axis=-1, kind=None):
        if kind is not None and kind != "stable":
            raise ValueError("kind can only be None or 'stable'")
        _call(_np.ndarray.sort, (self,), {"axis": axis, "kind": "stable"}, True, True)

    def argsort(self, axis=-1, kind=None):
        if kind is not None and kind != "stable":
            raise ValueError("kind can only be None or 'stable'")
        return _call(_np.argsort, (self,), {"axis": axis, "kind": "stable"}, True, False)

    def ptp(self, axis=None, out=None, keepdims=False):
        return _call(_np.ptp, (self,), {"axis": axis, "out": out, "keepdims": keepdims},
                     True, False)

    def dot(self, b, out=None):
        if not isinstance(b, ndarray):
            raise TypeError(f"Argument 'b' has incorrect type (expected cupy._core.core."
                            f"_ndarray_base, got {_builtins.type(b).__name__})")
        return _call(_np.dot, (self, b), {} if out is None else {"out": out}, True, False)

    def reduced_view(self, dtype=None):
        if self._a.ndim <= 1:
            return self
        if self._a.flags.c_contiguous:
            return _view(self._a.reshape(-1), self)
        return self

    def scatter_add(self, slices, value):
        _warnings.warn("`ndarray.scatter_add` is deprecated. Please use `cupy.add.at` instead.",
                      DeprecationWarning, stacklevel=2)
        _scatter(self, slices, value, "add")

    def scatter_max(self, slices, value):
        _warnings.warn("`ndarray.scatter_max` is deprecated Please use `cupy.maximum.at` "
                      "instead.", DeprecationWarning, stacklevel=2)
        _scatter(self, slices, value, "max")

    def scatter_min(self, slices, value):
        _warnings.warn("`ndarray.scatter_min` is deprecated Please use `cupy.minimum.at` "
                      "instead.", DeprecationWarning, stacklevel=2)
        _scatter(self, slices, value, "min")

    def _scatter_op(self, slices, value, op):
        _scatter(self, slices, value, op)


ndarray.__module__ = "cupy"
ndarray.__qualname__ = "ndarray"
_core = _types.SimpleNamespace(ndarray=ndarray)
_SCALAR_SET = frozenset((int, float, complex, bool))
_G = globals()  # names filled in from the meta dump below
_CMP_NAMES = frozenset(("greater", "greater_equal", "less", "less_equal", "equal", "not_equal"))


class flatiter:
    """cupy.flatiter: ``a.flat[...]`` reads and writes through the flat index."""

    def __init__(self, a):
        self._arr = a

    def __getitem__(self, key):
        return self._arr.ravel()[key]

    def __setitem__(self, key, value):
        a = self._arr
        dev = _cur()
        for x in (a, value):
            if isinstance(x, ndarray) and x._dev != dev:
                raise _peer_error(x._dev, dev)
        k, v = _unwrap_index(key), _unwrap(value, False)
        if _capturing and _graph.run(lambda: a._a.flat.__setitem__(k, v), "setitem",
                                     [a._a, v]):
            return
        a._a.flat[k] = v

    def __len__(self):
        return self._arr.size

    def __iter__(self):
        return iter(self._arr.ravel())

    @property
    def base(self):
        return self._arr


# -- wrapping NumPy results -------------------------------------------------------------------

_new = object.__new__


def _mk(a, dev=None):
    """A new stand-in array owning (or the first wrapper of) NumPy array ``a``."""
    o = _new(ndarray)
    o._a = a
    o._dev = d = _cur() if dev is None else dev
    o._base = None
    _track(_owner(a), d)
    return o


def _view(a, src):
    """A view ``a`` of stand-in array ``src``: same device, base as CuPy's."""
    o = _new(ndarray)
    o._a = a
    o._dev = src._dev
    o._base = src._base if src._base is not None else src
    return o


def _unw(x, acc, strict):
    """NumPy form of an argument; stand-in arrays found are appended to ``acc``."""
    t = type(x)
    if t is ndarray:
        acc.append(x)
        return x._a
    if t is tuple:
        return tuple([_unw(v, acc, strict) for v in x])
    if t is list:
        return [_unw(v, acc, strict) for v in x]
    if t is _np.ndarray or isinstance(x, _np.ndarray):
        if strict:
            raise TypeError(f"Unsupported type {t}")
        return x
    if t is dict:
        return {k: _unw(v, acc, strict) for k, v in x.items()}
    if isinstance(x, ndarray):
        acc.append(x)
        return x._a
    return x


def _unwrap(x, strict=True):
    """NumPy form of an argument, no device bookkeeping (for helpers)."""
    return _unw(x, [], strict)


def _unwrap_index(key):
    return _index(key)[0]


def _index(key):
    """(NumPy key, advanced?, stand-in arrays used as indices)."""
    t = type(key)
    if t is int or t is slice or key is None or key is Ellipsis:
        return key, False, ()
    if t is ndarray:
        return key._a, True, (key,)
    if t is tuple:
        adv = False
        arrs = []
        out = []
        for k in key:
            tk = type(k)
            if tk is ndarray:
                adv = True
                arrs.append(k)
                out.append(k._a)
            elif tk is list or tk is bool or isinstance(k, (_np.ndarray, _np.bool_)):
                adv = True
                out.append(k)
            else:
                out.append(k)
        return tuple(out), adv, arrs
    if t is list or t is bool or isinstance(key, (_np.ndarray, _np.bool_)):
        return key, True, ()
    return key, False, ()


def _res(r, acc, dev, off):
    """Wrap a NumPy result: views of inputs keep their device and base; new memory lands on
    the current device, which needs every input there (a kernel)."""
    t = type(r)
    if t is _np.ndarray:
        o = _owner(r)
        for x in acc:
            xa = x._a
            if xa is r:
                return x
            if _owner(xa) is o:
                return _view(r, x)
        if off is not None:
            raise _peer_error(off._dev, dev)
        w = _new(ndarray)
        w._a = r
        w._dev = dev
        w._base = None
        _track(o, dev)
        return w
    if t is tuple or t is list or isinstance(r, tuple):
        return (list if t is list else tuple)(_res(v, acc, dev, off) for v in r)
    if isinstance(r, (_np.generic, _builtins.bool, int, float, complex)):
        if off is not None:
            raise _peer_error(off._dev, dev)
        return _mk(_np.asarray(r), dev)
    return r


def _call(npf, args, kwargs, strict, mutates):
    """Run NumPy function ``npf`` with CuPy's device rules."""
    acc = []
    a = _unw(args, acc, strict)
    k = {n: _unw(v, acc, strict) for n, v in kwargs.items()} if kwargs else kwargs
    dev = _cur()
    off = None
    for x in acc:
        if x._dev != dev:
            off = x
            break
    if off is not None and (mutates or (kwargs and kwargs.get("out") is not None)):
        raise _peer_error(off._dev, dev)  # before NumPy writes anything
    if _capturing:
        cap = _graph.current()
        if cap is not None:
            return cap.call(npf, a, k, acc, dev, off,
                            mutates or bool(kwargs and kwargs.get("out") is not None))
    with _np.errstate(all="ignore"):
        r = npf(*a, **k)
    return _res(r, acc, dev, off)


# -- operators --------------------------------------------------------------------------------


def _should_use_rop(x, y):
    try:
        yu = y.__array_ufunc__
    except AttributeError:
        return getattr(x, "__array_priority__", 0) < getattr(y, "__array_priority__", 0)
    return yu is None


def _binop(uname):
    def op(self, other):
        u = globals()[uname]
        if isinstance(other, ndarray) or type(other) in _SCALAR_SET or isinstance(
                other, _np.generic):
            return u(self, other)
        if _should_use_rop(self, other):
            return NotImplemented
        return getattr(_np, uname)(self, other)  # NumPy dispatches back to __array_ufunc__

    def rop(self, other):
        u = globals()[uname]
        if type(other) in _SCALAR_SET or isinstance(other, _np.generic):
            return u(other, self)
        if isinstance(other, _np.ndarray):
            return getattr(_np, uname)(other, self)
        return NotImplemented

    def iop(self, other):
        return globals()[uname](self, other, out=self)

    return op, rop, iop


for _n, _u in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
               ("truediv", "true_divide"), ("floordiv", "floor_divide"), ("mod", "remainder"),
               ("pow", "power"), ("and", "bitwise_and"), ("or", "bitwise_or"),
               ("xor", "bitwise_xor"), ("lshift", "left_shift"), ("rshift", "right_shift")]:
    _op, _rop, _iop = _binop(_u)
    setattr(ndarray, f"__{_n}__", _op)
    setattr(ndarray, f"__r{_n}__", _rop)
    setattr(ndarray, f"__i{_n}__", _iop)


def _cmpop(uname):
    def op(self, other):
        u = globals()[uname]
        if isinstance(other, ndarray) or type(other) in _SCALAR_SET or isinstance(
                other, _np.generic):
            return u(self, other)
        if _should_use_rop(self, other):
            return NotImplemented
        if isinstance(other, _np.ndarray) and other.ndim == 0:
            return u(self, other.item())
        if uname in ("equal", "not_equal") and (
                other is None or type(other).__eq__ is object.__eq__):
            return _mk(_np.full(self.shape, uname == "not_equal"))
        return getattr(_np, uname)(self, other)

    return op


for _n, _u in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
               ("ge", "greater_equal"), ("eq", "equal"), ("ne", "not_equal")]:
    setattr(ndarray, f"__{_n}__", _cmpop(_u))


def _matmul(self, other):
    if isinstance(other, _np.ndarray):
        raise TypeError(f"Unsupported type {type(other)}")
    if not isinstance(other, ndarray):
        return NotImplemented
    return _G["matmul"](self, other)


def _rmatmul(self, other):
    if isinstance(other, _np.ndarray):
        raise TypeError(f"Unsupported type {type(other)}")
    return NotImplemented


def _pos(self):
    if self.dtype == _np.bool_:
        _warnings.warn("Applying '+' to a non-numerical array is ill-defined. Returning a copy, "
                      "but in the future this will error.", DeprecationWarning, stacklevel=2)
        return self.copy()
    return _G["positive"](self)


ndarray.__matmul__ = _matmul
ndarray.__rmatmul__ = _rmatmul
ndarray.__neg__ = lambda s: _G["negative"](s)
ndarray.__pos__ = _pos
ndarray.__abs__ = lambda s: _G["absolute"](s)
ndarray.__invert__ = lambda s: _G["invert"](s)
ndarray.__divmod__ = lambda s, o: globals()["divmod"](s, o)


# ---------------------------------------------------------------------------------------------
# ufuncs


class _UFunc:
    """cupy.ufunc (stand-in): NumPy's ufunc loop, CuPy's call rules."""

    def __init__(self, name, nin, nout, scatter, npf=None):
        self.name = self.__name__ = name
        self.nin, self.nout, self.nargs = nin, nout, nin + nout
        self._np = npf if npf is not None else getattr(_np, name)
        self._scatter_op = scatter

    def __repr__(self):
        return f"<ufunc '{self.name}'>"

    @property
    def types(self):
        return getattr(self._np, "types", [])

    def __call__(self, *args, **kwargs):
        if kwargs:
            bad = kwargs.keys() - {"out", "dtype", "casting", "_where"}
            if bad:
                raise TypeError(f"Wrong arguments {({k: kwargs[k] for k in bad})}")
        n = len(args)
        if n < self.nin or n > self.nargs:
            raise TypeError(f"Wrong number of arguments for {self.name!r}")
        dev = _cur()
        ins = []
        any_arr = False
        for x in args[:self.nin]:
            t = type(x)
            if t is ndarray:
                if x._dev != dev:
                    raise _peer_error(x._dev, dev)
                ins.append(x._a)
                any_arr = True
            elif t in _SCALAR_SET or isinstance(x, _np.generic):
                ins.append(x)
            elif isinstance(x, ndarray):
                if x._dev != dev:
                    raise _peer_error(x._dev, dev)
                ins.append(x._a)
                any_arr = True
            else:
                raise TypeError(f"Unsupported type {t}")
        out = kwargs.pop("out", None) if kwargs else None
        if n > self.nin:
            if out is not None:
                raise ValueError("Cannot specify 'out' as both a positional and keyword "
                                 "argument")
            out = args[self.nin:]
        outs = None
        if out is not None:
            outs = out if isinstance(out, tuple) else (out,)
            if len(outs) != self.nout:
                raise ValueError("Invalid number of out arguments")
            for o in outs:
                if not isinstance(o, ndarray):
                    raise TypeError("Output arguments type must be cupy.ndarray")
                if o._dev != dev:
                    raise _peer_error(o._dev, dev)
            kwargs["out"] = outs[0]._a if self.nout == 1 else tuple(o._a for o in outs)
        if kwargs and "_where" in kwargs:
            w = kwargs.pop("_where")
            if isinstance(w, ndarray):
                if w._dev != dev:
                    raise _peer_error(w._dev, dev)
                w = w._a
            kwargs["where"] = w
        if not any_arr:
            ins = [_np.asarray(x) for x in ins]  # all scalars: CuPy returns a 0-d array
        if _capturing:
            cap = _graph.current()
            if cap is not None:
                return cap.ufunc(self, ins, kwargs, outs, dev)
        with _np.errstate(all="ignore"):
            r = self._np(*ins, **kwargs)
        if outs is not None:
            return outs[0] if self.nout == 1 else outs
        if self.nout == 1:
            return _mk(r if type(r) is _np.ndarray else _np.asarray(r), dev)
        return tuple(_mk(v if type(v) is _np.ndarray else _np.asarray(v), dev) for v in r)

    def at(self, a, indices, b=None):
        if not self._scatter_op:
            raise NotImplementedError(f"`{self.name}.at` is not supported yet")
        _scatter(a, indices, b, self._scatter_op)

    def _method(self, meth, args, kwargs):
        return _call(getattr(self._np, meth), args, kwargs, True, "out" in kwargs)

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        kw = {"axis": axis, "dtype": dtype, "keepdims": keepdims}
        if out is not None:
            kw["out"] = out
        return self._method("reduce", (array,), kw)

    def accumulate(self, array, axis=0, dtype=None, out=None):
        kw = {"axis": axis, "dtype": dtype}
        if out is not None:
            kw["out"] = out
        return self._method("accumulate", (array,), kw)

    def reduceat(self, array, indices, axis=0, dtype=None, out=None):
        kw = {"axis": axis, "dtype": dtype}
        if out is not None:
            kw["out"] = out
        return self._method("reduceat", (array, indices), kw)

    def outer(self, A, B, **kwargs):
        return self._method("outer", (A, B), kwargs)


ufunc = _UFunc
_UFunc.__module__ = "cupy"
_UFunc.__qualname__ = _UFunc.__name__ = "ufunc"

# CuPy's _scatter_op dtype limits for integer-array indices (cupy/_core/_routines_indexing.pyx)
_SCATTER_DTYPES = {
    "add": ((_np.int32, _np.float16, _np.float32, _np.float64, _np.uint32, _np.uint64),
            "cupy.add.at only supports int32, float16, float32, float64, uint32, uint64, as "
            "data type"),
    "sub": ((_np.int32, _np.uint32), "cupy.subtract.at only supports int32, uint32, as data "
            "type"),
    "max": ((_np.int32, _np.float32, _np.float64, _np.uint32, _np.uint64),
            "cupy.maximum.at only supports int32, float32, float64, uint32, uint64 as data type"),
    "min": ((_np.int32, _np.float32, _np.float64, _np.uint32, _np.uint64),
            "cupy.minimum.at only supports int32, float32, float64, uint32, uint64 as data type"),
    "and": ((_np.int32, _np.int64, _np.uint32, _np.uint64),
            "cupy.bitwise_and.at only supports int32, int64, uint32, uint64 as data type"),
    "or": ((_np.int32, _np.int64, _np.uint32, _np.uint64),
           "cupy.bitwise_or.at only supports int32, int64, uint32, uint64 as data type"),
    "xor": ((_np.int32, _np.int64, _np.uint32, _np.uint64),
            "cupy.bitwise_xor.at only supports int32, int64, uint32, uint64 as data type"),
}
_SCATTER_NP = {"add": _np.add, "sub": _np.subtract, "max": _np.maximum, "min": _np.minimum,
               "and": _np.bitwise_and, "or": _np.bitwise_or, "xor": _np.bitwise_xor,
               "update": None}
_SCATTER_ALIAS = {"maximum": "max", "minimum": "min", "subtract": "sub", "bitwise_and": "and",
                  "bitwise_or": "or", "bitwise_xor": "xor"}


def _scatter(a, slices, value, op):
    """ndarray._scatter_op: cupy.X.at, cupyx.scatter_X (a kernel on the current device)."""
    op = _SCATTER_ALIAS.get(op, op)
    if not isinstance(a, ndarray):
        raise TypeError(f"Unsupported type {type(a)}")
    k, adv, arrs = _index(slices)
    dev = _cur()
    for x in (a, *arrs):
        if x._dev != dev:
            raise _peer_error(x._dev, dev)
    if isinstance(value, ndarray):
        if value._dev != dev:
            raise _peer_error(value._dev, dev)
        v = value._a
    elif isinstance(value, _np.ndarray):
        if not adv:
            raise TypeError(f"Unsupported type {type(value)}")
        v = value
    else:
        v = value
    keys = k if isinstance(k, tuple) else (k,)
    int_adv = adv and not _builtins.any(
        _np.asarray(kk).dtype.kind == "b" for kk in keys
        if isinstance(kk, (list, _np.ndarray)))
    if int_adv and op in _SCATTER_DTYPES:
        ok, msg = _SCATTER_DTYPES[op]
        if not issubclass(a.dtype.type, ok):
            raise TypeError(msg)

    def scatter():
        if op == "update":
            a._a[k] = v
        else:
            _SCATTER_NP[op].at(a._a, k, v)

    if _capturing and _graph.run(scatter, f"scatter_{op}", [a._a, v] + [x._a for x in arrs],
                                 d2h_first=adv and not int_adv):
        return
    with _np.errstate(all="ignore"):
        scatter()


# ---------------------------------------------------------------------------------------------
# functions: CuPy's names and signatures, NumPy's bodies

_HOST_RESULT = {"iinfo", "finfo", "result_type", "promote_types", "can_cast", "shape", "ndim",
                "isscalar", "may_share_memory", "shares_memory", "broadcast_shapes",
                "issubdtype", "min_scalar_type", "common_type", "size", "binary_repr",
                "base_repr", "format_float_positional", "format_float_scientific",
                "array_repr", "array_str", "isfortran", "iscomplexobj", "isrealobj",
                "get_printoptions", "set_printoptions", "printoptions", "typename",
                "mintypecode", "ndindex", "dtype", "obj2sctype", "sctype2char", "issctype",
                "issubclass_", "issubsctype", "find_common_type", "save", "savez",
                "savez_compressed", "savetxt", "show_config", "who", "disp", "isdtype"}
# inputs that only give a shape/dtype: no kernel reads them
_NO_INPUT_KERNEL = {"empty_like", "zeros_like", "ones_like", "full_like"}
_HOST_READS = {"array_repr", "array_str", "save", "savez", "savez_compressed", "savetxt"}
_MUTATES = {"put", "place", "putmask", "fill_diagonal", "copyto", "put_along_axis"}
def _kind_check(kind):
    if kind is not None and kind != "stable":
        raise ValueError("kind can only be None or 'stable'")


def _np_sort(a, axis=-1, kind=None):
    _kind_check(kind)
    return _np.sort(a, axis=axis, kind="stable")  # CuPy's sorts are stable (CUB radix sort)


def _np_argsort(a, axis=-1, kind=None):
    _kind_check(kind)
    return _np.argsort(a, axis=axis, kind="stable")


def _arg_reduction(npf):
    def f(a, axis=None, dtype=None, out=None, keepdims=False):
        r = npf(a, axis=axis, keepdims=keepdims)
        if dtype is not None:
            r = _np.asarray(r).astype(dtype)
        if out is not None:
            out[...] = r
            return out
        return r

    return f


# NumPy stand-ins for CuPy functions whose NumPy namesake differs (semantics or keywords)
_ALIASES = {"sort": _np_sort, "argsort": _np_argsort,
            "argmax": _arg_reduction(_np.argmax), "argmin": _arg_reduction(_np.argmin),
            "nanargmax": _arg_reduction(_np.nanargmax),
            "nanargmin": _arg_reduction(_np.nanargmin),
            "put": lambda a, ind, v, mode="wrap": _np.put(a, ind, v, mode=mode),
            "alltrue": _np.all, "sometrue": _np.any, "cumproduct": _np.cumprod,
            "product": _np.prod, "round_": _np.round, "trapz": getattr(_np, "trapezoid", None),
            "in1d": lambda a, b, assume_unique=False, invert=False:
                _np.isin(_np.ravel(a), b, assume_unique=assume_unique, invert=invert),
            "msort": lambda a: _np.sort(a, axis=0),
            "asfarray": lambda a, dtype=_np.float64: _np.asarray(
                a, dtype=dtype if _np.dtype(dtype).kind in "fc" else _np.float64)}


def _make_func(qual, npfunc, sigstr, name):
    chk = _Sig(qual, sigstr)
    if name in _HOST_RESULT:
        reads = name in _HOST_READS

        def f(*args, **kwargs):
            chk(args, kwargs)
            if _capturing and reads and _has_device_array(args):
                _graph.d2h()
            return npfunc(*_unwrap(args, False), **_unwrap(kwargs, False))
    elif name in _NO_INPUT_KERNEL:
        def f(*args, **kwargs):
            chk(args, kwargs)
            if _capturing:
                cap = _graph.current()
                if cap is not None:
                    return cap.like(npfunc, name, _unwrap(args), _unwrap(kwargs), _cur())
            with _np.errstate(all="ignore"):
                return _mk(npfunc(*_unwrap(args), **_unwrap(kwargs)))
    else:
        mut = name in _MUTATES

        def f(*args, **kwargs):
            chk(args, kwargs)
            return _call(npfunc, args, kwargs, True, mut)
    try:
        _functools.update_wrapper(f, npfunc)
    except (AttributeError, TypeError):
        pass
    f.__module__ = "cupy"
    f.__name__ = name
    return f


def _populate(modname, target, npmod):
    for name, info in _META[modname].items():
        if name in target.__dict__ or name.startswith("_"):
            continue
        kind = info["kind"]
        if kind == "ufunc":
            if hasattr(npmod, name):
                target.__dict__[name] = _UFunc(name, info["nin"], info["nout"],
                                                  info["scatter"], getattr(npmod, name))
        elif kind in ("class", "value"):
            v = getattr(npmod, name, _MISSING)
            if v is not _MISSING:
                target.__dict__[name] = v
        elif kind == "func":
            npf = (_ALIASES.get(name) if npmod is _np else None) or getattr(npmod, name, None)
            if npf is not None:
                target.__dict__[name] = _make_func(f"{modname}.{name}", npf, info.get("sig"),
                                                   name)


_MISSING = object()
_this = _sys.modules[__name__]


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if subok:
        raise NotImplementedError
    if order is None:
        order = "K"
    if isinstance(obj, ndarray):
        src = obj
        if dtype is None:
            dtype = src.dtype
        if src._dev == _cur():
            a = src._astype(dtype, order=order, copy=copy)
        else:
            a = src.copy(order=order)._astype(dtype, copy=None)
        if ndmin > a.ndim:
            if a is obj:
                a = a.view()
            a.shape = (1,) * (ndmin - a.ndim) + a.shape
        return a
    if isinstance(obj, (list, tuple)) and _has_device_array(obj):
        return _from_nested(obj, dtype, order, ndmin)
    if hasattr(obj, "__cuda_array_interface__"):
        raise TypeError("cupy stand-in: cannot read the device memory of a foreign "
                        f"{type(obj).__name__} (__cuda_array_interface__)")
    if isinstance(obj, _np.ndarray):
        _event("H2D", f"array from numpy {obj.shape}")
    o = order
    if o in ("K", "A", "k", "a"):
        o = "F" if isinstance(obj, _np.ndarray) and obj.flags.f_contiguous and \
            not obj.flags.c_contiguous else "C"
    a = _np.array(obj, dtype=dtype, order=o, ndmin=ndmin, copy=True)
    if a.dtype.char not in _ALL_TYPE_CHARS:
        raise ValueError(f"Unsupported dtype {a.dtype}")
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    if _capturing:
        w = _graph.h2d(a, _cur())
        if w is not None:
            return w
    return _mk(a)


_ALL_TYPE_CHARS = "?bhilqBHILQefdFD"  # the dtypes CuPy supports


def _has_device_array(obj):
    for x in obj:
        if isinstance(x, ndarray):
            return True
        if isinstance(x, (list, tuple)) and _has_device_array(x):
            return True
    return False


def _from_nested(obj, dtype, order, ndmin):
    flat = []

    def walk(x):
        if isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        else:
            flat.append(x)

    walk(obj)
    if not _builtins.all(isinstance(x, ndarray) for x in flat):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")
    shapes = {x.shape for x in flat}
    if len(shapes) != 1:
        raise ValueError("setting an array element with a sequence. The requested array has "
                         "an inhomogeneous shape")

    def shape_of(x):
        return (len(x),) + shape_of(x[0]) if isinstance(x, (list, tuple)) else ()

    outer = shape_of(obj)
    a = _G["concatenate"]([_G["expand_dims"](x, 0) for x in flat], 0)
    a = a.reshape(outer + flat[0].shape)
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    if ndmin > a.ndim:
        a = a.reshape((1,) * (ndmin - a.ndim) + a.shape)
    return a


def asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    return array(a, dtype, copy, order, blocking=blocking)


def asanyarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    return array(a, dtype, copy, order, blocking=blocking)


def _req_ndarray(a, fn):
    if not isinstance(a, ndarray):
        raise TypeError(f"Argument 'a' has incorrect type (expected cupy._core.core."
                        f"_ndarray_base, got {type(a).__name__})")


def ascontiguousarray(a, dtype=None):
    _req_ndarray(a, "ascontiguousarray")
    return _call(_np.ascontiguousarray, (a,), {"dtype": dtype}, True, False)


def asfortranarray(a, dtype=None):
    _req_ndarray(a, "asfortranarray")
    return _call(_np.asfortranarray, (a,), {"dtype": dtype}, True, False)


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    if hasattr(a, "__cuda_array_interface__"):
        raise TypeError("cupy stand-in: cannot read __cuda_array_interface__ memory")
    temp = _np.asarray(a, order=order)
    if out is None:
        return temp
    out[...] = temp
    return out


def copy(a, order="K"):
    return a.copy(order=order)


def copyto(dst, src, casting="same_kind", where=None):
    if not isinstance(dst, ndarray):
        raise TypeError(f"Unsupported type {type(dst)}")
    if isinstance(src, _np.ndarray):
        if src.size != 1:
            raise ValueError("non-scalar numpy.ndarray cannot be used for copyto")
        src = src.item()
    dev = _cur()
    live = src  # what a captured copy reads at launch
    if isinstance(src, ndarray):
        live = src._a
        if src._dev != dst._dev:  # CuPy switches to dst's device and copies src over
            src = _np.array(src._a, copy=True)
        else:
            src = src._a
    if isinstance(where, ndarray):
        if where._dev != dst._dev:
            raise _peer_error(where._dev, dst._dev)
        where = where._a
    del dev
    d, w = dst._a, True if where is None else where
    if _capturing and _graph.run(lambda: _np.copyto(d, live, casting=casting, where=w),
                                 "copyto", [d, live, w]):
        return
    with _np.errstate(all="ignore"):
        _np.copyto(d, src, casting=casting, where=w)


def get_array_module(*args):
    return _this if _builtins.any(isinstance(a, ndarray) for a in args) else _np


def frombuffer(*args, **kwargs):
    return asarray(_np.frombuffer(*args, **kwargs))


def from_dlpack(x, *, device=None, copy=None):
    if isinstance(x, ndarray):
        return x
    dev = x.__dlpack_device__()
    if dev[0] != 2:
        raise TypeError("cupy stand-in from_dlpack: not a CUDA array")
    return _mk(_np.from_dlpack(x))


fromDlpack = from_dlpack


def fuse(*args, **kwargs):
    if args and callable(args[0]) and not kwargs:
        return args[0]
    return lambda f: f


def is_available():
    return _NDEV > 0


# ---- cupy.cuda -------------------------------------------------------------------------------
from . import _graph  # noqa: E402  (streams, events, stream capture, graphs)

cuda = _types.ModuleType("cupy.cuda")
_runtime = _types.ModuleType("cupy.cuda.runtime")


def _get_device_properties(device):
    _check_ordinal(int(device))
    return {"name": b"NVIDIA H200 (cupy stand-in)", "totalGlobalMem": 141 << 30,
            "multiProcessorCount": _SM_COUNT, "major": 9, "minor": 0, "warpSize": 32,
            "maxThreadsPerBlock": 1024, "pciBusID": 0x18 + int(device)}


def _device_get_attribute(attrib, device):
    _check_ordinal(int(device))
    return {16: _SM_COUNT, 75: 9, 76: 0, 10: 32, 1: 1024, 39: 2048}.get(attrib, 0)


def _mem_get_info():
    d = _cur()
    total = 141 << 30
    return total - _used[d] - _cached[d], total


def _enable_peer(peer, flags=0):
    raise _CUDARuntimeError(217)


def _check_status(status):
    if status != 0:
        raise _CUDARuntimeError(status)


def _peer_access(device, peer):
    _check_ordinal(device)
    _check_ordinal(peer)
    return 0  # the stand-in simulates GPUs without peer access


for _k, _v in {
    "getDeviceCount": lambda: _NDEV, "getDevice": _cur, "setDevice": _set_device,
    "deviceSynchronize": lambda: _graph.device_synchronize() if _capturing else None,
    "is_hip": False, "runtimeGetVersion": lambda: 12090,
    "driverGetVersion": lambda: 12090, "CUDARuntimeError": _CUDARuntimeError,
    "getDeviceProperties": _get_device_properties, "deviceGetAttribute": _device_get_attribute,
    "memGetInfo": _mem_get_info, "deviceCanAccessPeer": _peer_access,
    "deviceEnablePeerAccess": _enable_peer, "streamLegacy": 1, "streamPerThread": 2,
    "cudaDevAttrMultiProcessorCount": 16, "check_status": _check_status,
    "streamCaptureModeGlobal": _graph.MODE_GLOBAL,
    "streamCaptureModeThreadLocal": _graph.MODE_THREAD_LOCAL,
    "streamCaptureModeRelaxed": _graph.MODE_RELAXED, "streamCaptureStatusNone": 0,
    "streamCaptureStatusActive": 1, "streamCaptureStatusInvalidated": 2,
    "cudaGraphDebugDotFlagsVerbose": _graph.DEBUG_DOT_VERBOSE,
}.items():
    setattr(_runtime, _k, _v)


_stream_mod = _types.ModuleType("cupy.cuda.stream")
_graph_mod = _types.ModuleType("cupy.cuda.graph")
for _m in (_stream_mod, cuda):
    _m.Stream = _graph.Stream
    _m.ExternalStream = _graph.ExternalStream
    _m.Event = _graph.Event
    _m.get_current_stream = _graph.get_current_stream
    _m.get_elapsed_time = _graph.get_elapsed_time
for _m in (_graph_mod, cuda):
    _m.Graph = _graph.Graph
_device_mod = _types.ModuleType("cupy.cuda.device")
_device_mod.Device = _Device
_device_mod.get_device_id = _cur
_memory_mod = _types.ModuleType("cupy.cuda.memory")
for _m in (_memory_mod, cuda):
    _m.MemoryPointer = _MemoryPointer
    _m.MemoryPool = _MemoryPool
    _m.PinnedMemoryPool = _PinnedMemoryPool
    _m.alloc = lambda size: _pool.malloc(size)
    _m.set_allocator = lambda allocator=None: None
_compiler_mod = _types.ModuleType("cupy.cuda.compiler")


class _CompileException(Exception):
    pass


_compiler_mod.CompileException = _CompileException
cuda.Device = _Device
cuda.device = _device_mod
cuda.memory = _memory_mod
cuda.compiler = _compiler_mod
cuda.runtime = _runtime
cuda.stream = _stream_mod
cuda.graph = _graph_mod
cuda.is_available = lambda: _NDEV > 0
cuda.get_device_id = _cur
cuda.set_pinned_memory_allocator = lambda allocator=None: None
cuda.get_local_runtime_version = lambda: 12090


class _NcclImport:
    """``import cupy.cuda.nccl`` (not imported by ``import cupy``, as in CuPy): the module
    re-exports ``cupy_backends.cuda.libs.nccl`` (the stand-in's NCCL over MPI) and says
    ``available = False`` when that fails to load (``CUPY_SIM_NO_NCCL=1``)."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "cupy.cuda.nccl":
            return None
        import importlib.util

        return importlib.util.spec_from_loader(name, cls)

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        try:
            from cupy_backends.cuda.libs import nccl as lib
        except ImportError as e:
            module.available = False
            _warnings.warn(f"CuPy failed to load libnccl.so.2: {e}", stacklevel=2)
            return
        for name in dir(lib):
            if not name.startswith("_"):
                setattr(module, name, getattr(lib, name))
        module.available = True


cuda.__path__ = []  # a package, as CuPy's: submodules such as cupy.cuda.nccl import on demand
if not _builtins.any(f is _NcclImport for f in _sys.meta_path):
    _sys.meta_path.append(_NcclImport)
for _n, _m in (("cupy.cuda", cuda), ("cupy.cuda.runtime", _runtime),
               ("cupy.cuda.device", _device_mod), ("cupy.cuda.memory", _memory_mod),
               ("cupy.cuda.compiler", _compiler_mod), ("cupy.cuda.stream", _stream_mod),
               ("cupy.cuda.graph", _graph_mod)):
    _sys.modules[_n] = _m

# ---- submodules populated from the meta dump
linalg = _types.ModuleType("cupy.linalg")
fft = _types.ModuleType("cupy.fft")
lib = _types.ModuleType("cupy.lib")
lib.stride_tricks = _types.ModuleType("cupy.lib.stride_tricks")
exceptions = _types.ModuleType("cupy.exceptions")
for _m in (linalg, fft, lib, lib.stride_tricks, exceptions):
    _sys.modules[_m.__name__] = _m
for _n in ("AxisError", "ComplexWarning", "TooHardError", "VisibleDeprecationWarning",
           "ModuleDeprecationWarning", "RankWarning", "DTypePromotionError"):
    if hasattr(_np.exceptions, _n):
        setattr(exceptions, _n, getattr(_np.exceptions, _n))


def _as_strided(x, shape=None, strides=None):
    if not isinstance(x, ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    return _view(_np.lib.stride_tricks.as_strided(x._a, shape, strides, writeable=True), x)


def _sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    if not isinstance(x, ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    return _view(_np.lib.stride_tricks.sliding_window_view(
        x._a, window_shape, axis, writeable=writeable), x)


lib.stride_tricks.as_strided = _as_strided
lib.stride_tricks.sliding_window_view = _sliding_window_view

Inf = Infinity = PINF = infty = inf = float("inf")
NINF = -float("inf")
NAN = NaN = nan = float("nan")
PZERO, NZERO = 0.0, -0.0
_populate("cupy", _this, _np)
_populate("cupy.fft", fft, _np.fft)

# linalg: silent on failure unless cupyx.errstate(linalg='raise'), as CuPy
_errstate = _threading.local()


def _linalg_wrap(name, npf, sigstr):
    chk = _Sig(f"cupy.linalg.{name}", sigstr)

    def f(*args, **kwargs):
        chk(args, kwargs)
        if _capturing:
            _graph.linalg_check(name, args, kwargs)
        try:
            return _call(npf, args, kwargs, True, False)
        except _np.linalg.LinAlgError:
            if getattr(_errstate, "linalg", "ignore") == "raise":
                raise
            # CuPy returns garbage (typically inf/nan) instead of raising
            a = _unwrap(args)
            src = a[-1] if name == "solve" else a[0]
            out = _np.full(_np.shape(src), _np.nan, dtype=_np.result_type(src, _np.float32))
            if name == "slogdet":
                return (_mk(_np.zeros(out.shape[:-2])), _mk(_np.full(out.shape[:-2], -_np.inf)))
            if name == "det":
                return _mk(_np.zeros(out.shape[:-2]))
            return _mk(out)

    f.__name__ = name
    f.__module__ = "cupy.linalg"
    return f


for _name, _info in _META["cupy.linalg"].items():
    if not _name.startswith("_") and _info["kind"] == "func" and hasattr(_np.linalg, _name):
        setattr(linalg, _name, _linalg_wrap(_name, getattr(_np.linalg, _name), _info.get("sig")))
linalg.LinAlgError = _np.linalg.LinAlgError

from . import random  # noqa: E402
from ._elementwise import ElementwiseKernel  # noqa: E402


from ._rawkernel import RawKernel  # noqa: E402


class ReductionKernel:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("cupy stand-in: ReductionKernel cannot run on the CPU")


class RawModule(ReductionKernel):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("cupy stand-in: RawModule cannot run on the CPU")


# ---- ndarray methods CuPy has and NumPy implements: CuPy's signature, NumPy's body ----------
_METHOD_MUTATES = {"put", "partition", "sort"}


def _make_method(name, npm, sigstr):
    chk = _Sig(f"ndarray.{name}", sigstr, drop_self=True)
    mut = name in _METHOD_MUTATES

    def meth(self, *args, **kwargs):
        chk(args, kwargs)
        return _call(npm, (self,) + args, kwargs, True, mut)

    meth.__name__ = meth.__qualname__ = name
    return meth


for _name, _sig in _META["ndarray"].items():
    if _name.startswith("_") or _name in ndarray.__dict__:
        continue
    _npm = getattr(_np.ndarray, _name, None)
    if _npm is not None and callable(_npm):
        setattr(ndarray, _name, _make_method(_name, _npm, _sig))

# CuPy's ndarray methods are method descriptors that name their class in ``__objclass__`` (as
# NumPy's do; gpuarr.compile relies on it to know a method call): the stand-in's are functions
for _name, _v in list(ndarray.__dict__.items()):
    if isinstance(_v, _types.FunctionType):
        _v.__objclass__ = ndarray

# ---- every public name of this module must exist in the real CuPy ---------------------------
_EXTRA = sorted(n for n in globals() if not n.startswith("_") and n not in _META["cupy"])
if _EXTRA:
    raise ImportError(f"cupy stand-in defines names the real CuPy lacks: {_EXTRA}")
del _n, _m, _k, _v, _u, _op, _rop, _iop, _name, _info, _sig, _npm
