"""Streams, stream capture and CUDA graphs for the CuPy stand-in (``cupy.cuda.Stream``,
``cupy.cuda.Event``, ``cupy.cuda.Graph``, ``cupy.cuda.get_current_stream``).

The stand-in computes with NumPy as each call is made. While a stream captures, calls that CuPy
would turn into kernels, memsets or memcpys on that stream are recorded instead: each returns its
output array at once, filled with garbage (NaN, ``0xA5`` bytes for integers, ``True`` for bools),
and appends a node that computes into that same buffer when the graph is launched, reading the
contents its inputs have then. ``Graph.launch`` runs the nodes in the order they were recorded.

What CuPy 14.2 / CUDA do, and this module reproduces (sources: ``cupy/cuda/stream.pyx``,
``cupy/cuda/graph.pyx``, ``cupy_backends/cuda/api/runtime.pyx``, the cuBLAS/cuSOLVER/cuRAND
bindings' ``setStream``, ``MemoryPointer.copy_to_host_async``, CuPy's ``test_graph.py``, the CUDA
programming guide on stream capture):

* ``begin_capture`` on the null / legacy stream: ``RuntimeError('cannot capture on the default
  (legacy) stream')``; capture mode defaults to ``streamCaptureModeRelaxed``;
* device-to-host copies (``get``, ``item``, ``bool()``, ``asnumpy``, ``repr``, ...) on a capturing
  stream: ``RuntimeError('the current stream is capturing, so D2H transfers are disallowed')``
  (raised by CuPy before CUDA is called: the capture stays valid); so are CuPy's routines that
  need a count on the host (``nonzero``, ``argwhere``, one-argument ``where``, boolean-mask
  indexing and assignment, ``unique``, ``compress``, ...);
* ``Stream.synchronize`` / ``Device.synchronize`` during capture: ``CUDARuntimeError:
  cudaErrorStreamCaptureUnsupported`` and the capture is invalidated, so ``end_capture`` raises
  ``cudaErrorStreamCaptureInvalidated`` (and takes the streams out of capture); ``Stream.done``
  invalidates silently; ``is_capturing`` on an invalidated capture raises CuPy's RuntimeError;
* the legacy stream while a blocking stream captures: ``cudaErrorStreamCaptureImplicit``;
* cuBLAS (float ``matmul``/``dot``/...), cuSOLVER (``linalg``) and cuRAND (legacy
  ``RandomState``) calls: CuPy's ``NotImplementedError('calling cuXXX API during stream capture
  is currently unsupported')``; ``cupy.random.Generator`` draws are kernels that advance the
  generator state in device memory, so they are captured and every launch draws new numbers;
* fork/join across streams through events, with ``cudaErrorStreamCaptureUnmatched`` /
  ``Unjoined`` / ``Merge`` / ``Isolation`` / ``IllegalState`` where CUDA returns them.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import warnings
import weakref

import numpy as _np

import cupy as _cp

_CUDARuntimeError = _cp._CUDARuntimeError
_owner = _cp._owner

_cp._CUDA_ERRORS.update({
    1: ("cudaErrorInvalidValue", "invalid argument"),
    401: ("cudaErrorIllegalState", "the operation cannot be performed in the present state"),
    900: ("cudaErrorStreamCaptureUnsupported", "operation not permitted when stream is capturing"),
    901: ("cudaErrorStreamCaptureInvalidated",
          "operation failed due to a previous error during capture"),
    902: ("cudaErrorStreamCaptureMerge",
          "operation would result in a merge of separate capture sequences"),
    903: ("cudaErrorStreamCaptureUnmatched",
          "capture was not ended in the same stream as it began"),
    904: ("cudaErrorStreamCaptureUnjoined", "capturing stream has unjoined work"),
    905: ("cudaErrorStreamCaptureIsolation",
          "dependency created on uncaptured work in another stream"),
    906: ("cudaErrorStreamCaptureImplicit",
          "operation would make the legacy stream depend on a capturing blocking stream"),
    907: ("cudaErrorCapturedEvent",
          "operation not permitted on an event last recorded in a capturing stream"),
    908: ("cudaErrorStreamCaptureWrongThread",
          "attempt to terminate a thread-local capture sequence from another thread"),
})

MODE_GLOBAL, MODE_THREAD_LOCAL, MODE_RELAXED = 0, 1, 2  # cudaStreamCaptureMode
DEBUG_DOT_VERBOSE = 1  # cudaGraphDebugDotFlagsVerbose

D2H_MSG = "the current stream is capturing, so D2H transfers are disallowed"
INVALIDATED_MSG = ("the stream was capturing, but an error has invalidated the capture "
                   "sequence")
_LIB_MSG = "calling {} API during stream capture is currently unsupported"

_lock = threading.Lock()
_active: list = []  # the captures in progress, every thread
_tls = threading.local()
_ptrs = itertools.count(0x7F0000001000, 0x100)  # fake cudaStream_t / cudaEvent_t handles


class _ThreadState:
    __slots__ = ("current", "stacks", "dev_stack", "paused")

    def __init__(self):
        self.current = {}  # device -> current stream
        self.stacks = {}  # device -> streams pushed by ``with``
        self.dev_stack = []
        self.paused = 0  # > 0 while a graph launches or a capture probes: work runs eagerly


def _state():
    try:
        return _tls.st
    except AttributeError:
        st = _tls.st = _ThreadState()
        return st


class _paused:
    """Run stand-in work eagerly on this thread, whatever the current stream."""

    def __enter__(self):
        _state().paused += 1

    def __exit__(self, *exc):
        _state().paused -= 1
        return False


def _set_flag():
    _cp._capturing = bool(_active)


def get_current_stream(device_id=-1):
    dev = _cp._cur() if device_id == -1 else int(device_id)
    return _state().current.get(dev, Stream.null)


def _check_device_match(device_id):
    cur = _cp._cur()
    if device_id == -1:
        return cur
    if device_id != cur:
        raise RuntimeError(f"The device that the stream is created on ({device_id}) does not "
                           f"match with the current device ({cur})")
    return device_id


def _legacy_check(dev):
    """Work on (or a sync of) the legacy stream while a blocking stream of ``dev`` captures."""
    for cap in list(_active):
        if cap.device == dev and any(not m._non_blocking for m in cap.members):
            cap.invalid = True
            raise _CUDARuntimeError(906)


def current(stream_work=True):
    """The capture that device work issued now by this thread joins (None: run it eagerly).

    For work on a stream (``stream_work``) it raises ``cudaErrorStreamCaptureInvalidated`` when
    the stream's capture was invalidated, and ``cudaErrorStreamCaptureImplicit`` on the legacy
    stream while a blocking stream of the same device captures (CUDA's rules)."""
    st = _state()
    if st.paused:
        return None
    dev = _cp._cur()
    s = st.current.get(dev, Stream.null)
    cap = s._capture
    if not stream_work:
        return cap
    if cap is not None:
        if cap.invalid:
            raise _CUDARuntimeError(901)
        return cap
    if s.ptr == 0 or s.ptr == 1:
        _legacy_check(dev)
    return None


def d2h(stream=None):
    """Before a device-to-host copy: CuPy's ``copy_to_host_async`` refuses a capturing stream."""
    st = _state()
    if st.paused:
        return
    dev = _cp._cur()
    s = st.current.get(dev, Stream.null) if stream is None else stream
    cap = getattr(s, "_capture", None)
    if cap is not None:
        raise RuntimeError(INVALIDATED_MSG if cap.invalid else D2H_MSG)
    if s.ptr == 0 or s.ptr == 1:
        _legacy_check(dev)


def device_synchronize(dev=None):
    """cudaDeviceSynchronize: invalid while any stream of the device captures."""
    if _state().paused:
        return
    dev = _cp._cur() if dev is None else dev
    hit = [cap for cap in list(_active) if cap.device == dev]
    for cap in hit:
        cap.invalid = True
    if hit:
        raise _CUDARuntimeError(900)


def on_alloc(nbytes, dev):
    """A new device allocation (``cupy._track``). Under the global / thread-local capture modes
    cudaMalloc is an unsafe call: it fails (and invalidates the capture) unless CuPy's pool can
    serve the block from memory it caches (approximated by the pool's cached byte count)."""
    if _state().paused:
        return
    me = threading.get_ident()
    for cap in list(_active):
        if cap.mode == MODE_RELAXED or cap.device != dev:
            continue
        if cap.mode == MODE_THREAD_LOCAL and cap.thread != me:
            continue
        if _cp._cached[dev] >= (nbytes + 511) // 512 * 512:
            return
        cap.invalid = True
        raise _CUDARuntimeError(900)


# ---- garbage, buffers ------------------------------------------------------------------------


def _garble(a):
    """Fill a freshly allocated output with a recognisable "not computed yet" pattern."""
    k = a.dtype.kind
    if k in "fc":
        a.fill(_np.nan)
    elif k == "b":
        a.fill(True)
    else:
        a[...] = _np.frombuffer(b"\xa5" * a.dtype.itemsize, a.dtype)[0]


def _fresh(r):
    """``r`` as a writable array owning its memory (a copy when NumPy returned a view)."""
    if type(r) is _np.ndarray and r.base is None and r.flags.writeable:
        return r
    return _np.array(r)


def _store(buf, v, name):
    v = _np.asarray(v)
    if v.shape != buf.shape:
        raise RuntimeError(
            f"cupy stand-in: graph node {name!r} produced an array of shape {v.shape} at launch, "
            f"but of shape {buf.shape} at capture: its output shape depends on the data, which "
            "a CUDA graph cannot follow (CuPy synchronises to learn such shapes, and that is "
            "refused while capturing)")
    _np.copyto(buf, v, casting="unsafe")


def _subst(x, ph):
    """``x`` (NumPy arguments) with the arrays in ``ph`` (id -> phantom) replaced."""
    t = type(x)
    if t is _np.ndarray:
        return ph.get(id(x), x)
    if t is tuple or t is list:
        return t(_subst(v, ph) for v in x)
    if t is dict:
        return {k: _subst(v, ph) for k, v in x.items()}
    return x


def _touches(r, owners):
    if isinstance(r, _np.ndarray):
        return any(_owner(r) is o for o in owners)
    if isinstance(r, (tuple, list)):
        return any(_touches(v, owners) for v in r)
    return False


def _probe(compute, fallback):
    """Run ``compute`` for the shape and dtype of its result. It reads the inputs' current
    contents, which may be garbage from earlier captured nodes; when it fails, ``fallback``
    (the same computation on zero-filled stand-ins for the inputs) decides the shape."""
    try:
        with _np.errstate(all="ignore"):
            return compute(), False
    except Exception as e:
        if fallback is None:
            raise
        try:
            with _np.errstate(all="ignore"):
                return fallback(), True
        except Exception:
            raise e from None


def _phantoms(arrays):
    """id -> a zero-filled array of the same shape and dtype, for each NumPy array given."""
    return {id(a): _np.zeros(a.shape, a.dtype) for a in arrays if isinstance(a, _np.ndarray)}


def _is_mask(k):
    for kk in (k if type(k) is tuple else (k,)):
        if isinstance(kk, (_np.ndarray, _np.bool_, bool)) or type(kk) is list:
            if _np.asarray(kk).dtype.kind == "b":
                return True
    return False


def _snapshot_key(k, device_arrays):
    """Host parts of an index (NumPy arrays, lists) as CuPy uploads them at the call."""
    dev_ids = {id(a) for a in device_arrays}

    def snap(kk):
        if isinstance(kk, _np.ndarray) and id(kk) not in dev_ids:
            return kk.copy()
        if type(kk) is list:
            return _np.array(kk)
        return kk

    return tuple(snap(kk) for kk in k) if type(k) is tuple else snap(k)


# ---- functions that CuPy cannot capture -----------------------------------------------------

_SYNC_FUNCS = {"nonzero", "argwhere", "flatnonzero", "extract", "compress", "unique",
               "unique_all", "unique_counts", "unique_inverse", "unique_values", "trim_zeros",
               "intersect1d", "union1d", "setdiff1d", "setxor1d", "bincount"}
_BLAS_NP = {_np.matmul, _np.dot, _np.vdot, _np.inner, _np.tensordot, _np.einsum}
_SOLVER = {"cholesky", "det", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq", "pinv", "qr",
           "slogdet", "solve", "svd", "tensorinv", "tensorsolve", "matrix_rank", "cond"}
_ALLOC_ONLY = {_np.empty, _np.empty_like}


def _float_operand(arrays):
    return any(a.dtype.kind in "efdFDc" for a in arrays)


def _check_call(npf, a, k, acc):
    name = getattr(npf, "__name__", "")
    if name in _SYNC_FUNCS or (npf is _np.where and len(a) == 1 and not k):
        raise RuntimeError(D2H_MSG)
    if name == "choose":
        mode = k.get("mode", a[3] if len(a) > 3 else "raise")
        if mode == "raise":  # CuPy checks the indices on the host
            raise RuntimeError(D2H_MSG)
    if npf in _BLAS_NP and sum(x.ndim > 0 for x in acc) >= 2 and _float_operand(acc):
        raise NotImplementedError(_LIB_MSG.format("cuBLAS"))


def linalg_check(name, args, kwargs):
    """``cupy.linalg.<name>`` during capture: CuPy's cuSOLVER / cuBLAS calls refuse it."""
    if current() is None:
        return
    arrs = [x for x in args if isinstance(x, _cp.ndarray)]
    if name in _SOLVER:
        raise NotImplementedError(_LIB_MSG.format("cuSOLVER"))
    if name == "matmul" and _float_operand(arrs):
        raise NotImplementedError(_LIB_MSG.format("cuBLAS"))
    if name == "matrix_power":
        n = args[1] if len(args) > 1 else kwargs.get("n", 1)
        if n < 0:
            raise NotImplementedError(_LIB_MSG.format("cuSOLVER"))
        if n >= 2 and _float_operand(arrs):
            raise NotImplementedError(_LIB_MSG.format("cuBLAS"))
    if name == "norm":
        ord_ = args[1] if len(args) > 1 else kwargs.get("ord")
        axis = args[2] if len(args) > 2 else kwargs.get("axis")
        matrix = (isinstance(axis, tuple) and len(axis) == 2) or (
            axis is None and arrs and arrs[0].ndim == 2)
        if matrix and ord_ in (2, -2, "nuc"):
            raise NotImplementedError(_LIB_MSG.format("cuSOLVER"))


# ---- a capture -------------------------------------------------------------------------------


class _Capture:
    """One capture sequence: its streams, its nodes, the arrays allocated during it."""

    def __init__(self, origin, mode, device):
        self.origin = origin
        self.members = [origin]
        self.mode = mode
        self.device = device
        self.thread = threading.get_ident()
        self.nodes = []  # (name, fn, host)
        self.allocs = []  # (weakref to the stand-in array, description, id of its owner)
        self.refs = {}  # id -> NumPy owner of every buffer a node touches (kept alive)
        self.invalid = False
        self.active = True

    # -- recording --------------------------------------------------------------------------
    def record(self, fn, name, arrays=(), host=False):
        self.nodes.append((name, fn, host))
        for a in arrays:
            if isinstance(a, _np.ndarray):
                o = _owner(a)
                self.refs[id(o)] = o
        s = get_current_stream()
        if s._capture is self and s is not self.origin:
            s._unjoined = True

    def new_array(self, buf, dev, name):
        """A stand-in array for ``buf`` (already garbage) allocated during this capture."""
        w = _cp._new(_cp.ndarray)
        w._a = buf
        w._dev = dev
        w._base = None
        _cp._track(_owner(buf), dev)
        self.allocs.append((weakref.ref(w), f"{buf.dtype} array of shape {buf.shape} made by "
                            f"{name!r}", id(_owner(buf))))
        return w

    def produce(self, compute, name, reads, dev, fallback=None):
        """A new array that ``compute()`` (NumPy, reading ``reads``) fills at launch."""
        r, _ = _probe(compute, fallback)
        buf = _fresh(r)
        _garble(buf)
        w = self.new_array(buf, dev, name)

        def node():
            _store(buf, compute(), name)

        self.record(node, name, list(reads) + [buf])
        return w

    # -- the stand-in's kernels -------------------------------------------------------------
    def ufunc(self, uf, ins, kwargs, outs, dev):
        f, name, kw = uf._np, uf.name, dict(kwargs)
        if outs is not None:
            self.record(lambda: f(*ins, **kw), name, list(ins) + [o._a for o in outs])
            return outs[0] if uf.nout == 1 else outs
        def fallback():
            ph = _phantoms(ins)
            return f(*[ph.get(id(x), x) for x in ins], **kw)

        r, _ = _probe(lambda: f(*ins, **kw), fallback)
        bufs = tuple(_fresh(v) for v in (r if uf.nout > 1 else (r,)))
        res = []
        for b in bufs:
            _garble(b)
            res.append(self.new_array(b, dev, name))
        kw["out"] = bufs if uf.nout > 1 else bufs[0]
        self.record(lambda: f(*ins, **kw), name, list(ins) + list(bufs))
        return res[0] if uf.nout == 1 else tuple(res)

    def call(self, npf, a, k, acc, dev, off, mutates):
        """``cupy._call``: a NumPy function on the arrays ``acc`` (unwrapped into ``a``/``k``)."""
        _check_call(npf, a, k, acc)
        name = getattr(npf, "__name__", "kernel")
        arrays = [x._a for x in acc]
        if mutates:
            def node():
                with _np.errstate(all="ignore"):
                    npf(*a, **k)

            self.record(node, name, arrays)
            out = k.get("out") if k else None
            if out is None:
                return None
            outs = out if isinstance(out, tuple) else (out,)
            found = [next((x for x in acc if x._a is o), None) for o in outs]
            return tuple(found) if isinstance(out, tuple) else found[0]
        ph = {}

        def fallback():
            ph.update(_phantoms(arrays))
            return npf(*_subst(a, ph), **_subst(k, ph))

        r, phantom = _probe(lambda: npf(*a, **k), fallback if arrays else None)
        if phantom and _touches(r, list(ph.values())):
            _probe(lambda: npf(*a, **k), None)  # re-raise the real error
        plan = []
        res = self._wrap(r, acc, dev, off, plan, (), name)
        if plan and npf not in _ALLOC_ONLY:
            def node():
                with _np.errstate(all="ignore"):
                    r2 = npf(*a, **k)
                for path, buf in plan:
                    v = r2
                    for i in path:
                        v = v[i]
                    _store(buf, v, name)

            self.record(node, name, arrays + [b for _, b in plan])
        return res

    def _wrap(self, r, acc, dev, off, plan, path, name):
        t = type(r)
        if t is _np.ndarray:
            o = _owner(r)
            for x in acc:
                xa = x._a
                if xa is r:
                    return x
                if _owner(xa) is o:
                    return _cp._view(r, x)  # a view: metadata only, nothing to record
            if off is not None:
                raise _cp._peer_error(off._dev, dev)
            buf = _fresh(r)
            _garble(buf)
            plan.append((path, buf))
            return self.new_array(buf, dev, name)
        if t is tuple or t is list or isinstance(r, tuple):
            return (list if t is list else tuple)(
                self._wrap(v, acc, dev, off, plan, path + (i,), name) for i, v in enumerate(r))
        if isinstance(r, (_np.generic, bool, int, float, complex)):
            if off is not None:
                raise _cp._peer_error(off._dev, dev)
            buf = _np.array(r)
            _garble(buf)
            plan.append((path, buf))
            return self.new_array(buf, dev, name)
        return r

    def getitem(self, src, k, arrs, dev):
        if _is_mask(k):
            raise RuntimeError(D2H_MSG)  # CuPy counts the mask's True values on the host
        a, idx = src._a, [x._a for x in arrs]
        k = _snapshot_key(k, idx)
        return self.produce(lambda: _np.array(a[k]), "take", [a] + idx, dev,
                            lambda: _np.array(a[_subst(k, _phantoms(idx))]))

    def like(self, npfunc, name, args, kwargs, dev):
        if name == "empty_like":
            buf = _fresh(npfunc(*args, **kwargs))
            _garble(buf)
            return self.new_array(buf, dev, name)
        return self.produce(lambda: npfunc(*args, **kwargs), name, [], dev)

    def draw(self, gen, meth, name, args, kwargs):
        """A ``cupy.random.Generator`` method: a kernel that reads the generator state in
        device memory and writes it back advanced, so each launch continues the stream."""
        bg = getattr(gen, "bit_generator", gen)
        state = getattr(bg, "_state", None)
        out = inspect.signature(meth).bind(gen, *args, **kwargs).arguments.get("out")
        if not isinstance(out, _cp.ndarray):
            out = None
        nstate = _cp.random._STATE_BYTES  # the part of ``_state`` the stand-in uses
        saved = state._a[:nstate].copy() if state is not None else None
        saved_out = out._a.copy() if out is not None else None
        try:
            with _paused():  # validates the arguments and gives the result's shape and dtype
                r = meth(gen, *args, **kwargs)
        finally:  # the probe must leave no trace: the state advances only when launched
            if state is not None:
                state._a[:nstate] = saved
            if out is not None:
                out._a[...] = saved_out
        reads = [state._a] if state is not None else []
        reads += [x._a for x in list(args) + list(kwargs.values()) if isinstance(x, _cp.ndarray)]
        if not isinstance(r, _cp.ndarray) or r is out or any(r is x for x in args):
            def node():
                with _paused():
                    meth(gen, *args, **kwargs)

            self.record(node, name, reads)
            return r
        buf = r._a
        _garble(buf)
        self.allocs.append((weakref.ref(r), f"{buf.dtype} array of shape {buf.shape} made by "
                            f"{name!r}", id(_owner(buf))))

        def node():
            with _paused():
                v = meth(gen, *args, **kwargs)
            _store(buf, v._a, name)

        self.record(node, name, reads + [buf])
        return r

    def kernel(self, kern, ns, outs, fresh):
        """``cupy.ElementwiseKernel``: the translated body runs at launch, on the buffers."""
        probe = dict(ns)
        for (_t, n, _r), o in zip(kern.out_params, outs):
            probe[n] = _np.empty_like(o._a)
        kern._run(probe)  # errors in the body surface at the call, as CuPy's compile errors do
        for o in outs:
            if fresh:
                _garble(o._a)
                self.allocs.append((weakref.ref(o), f"{o.dtype} array of shape {o.shape} made "
                                    f"by kernel {kern.name!r}", id(_owner(o._a))))

        def node():
            kern._run(dict(ns))

        self.record(node, kern.name, [v for v in ns.values() if isinstance(v, _np.ndarray)])


# ---- hooks the stand-in calls while some capture is active (``cupy._capturing``) -------------


def run(fn, name, arrays, d2h_first=False):
    """Record ``fn`` (in-place device work) when this thread's current stream captures: True.
    False when it should run now."""
    cap = current()
    if cap is None:
        return False
    if d2h_first:
        raise RuntimeError(D2H_MSG)

    def node():
        with _np.errstate(all="ignore"):
            fn()

    cap.record(node, name, arrays)
    return True


def setitem(target, k, v, adv, arrs, name, host_value=False):
    """``a[k] = v`` (``target`` is ``a``'s NumPy array, ``v`` a scalar, a device array's NumPy
    array, or with ``host_value`` a host NumPy array uploaded at the call)."""
    cap = current()
    if cap is None:
        return False
    if adv and _is_mask(k):
        raise RuntimeError(D2H_MSG)
    k = _snapshot_key(k, [x._a for x in arrs])
    if host_value:
        v = _np.array(v)

    def node():
        with _np.errstate(all="ignore"):
            target[k] = v

    cap.record(node, name, [target, v] + [x._a for x in arrs])
    return True


def h2d(a, dev):
    """``cupy.array`` of host data: CuPy copies it through a staging buffer at the call."""
    cap = current()
    if cap is None:
        return None
    src = a
    buf = a.copy()
    _garble(buf)
    w = cap.new_array(buf, dev, "memcpyHtoD")
    cap.record(lambda: _np.copyto(buf, src), "memcpyHtoD", [buf])
    return w


def fresh_alloc(w):
    """``cupy.empty`` / ``cupy.ndarray(shape)`` during capture: uninitialised, so garbage."""
    cap = current(stream_work=False)  # an allocation, not stream work
    if cap is not None:
        _garble(w._a)
        cap.allocs.append((weakref.ref(w), f"{w.dtype} array of shape {w.shape} made by "
                           "'empty'", id(_owner(w._a))))


def capturable_draw(name, meth):
    """Wrap a ``cupy.random`` Generator / BitGenerator method so draws are captured."""

    @functools.wraps(meth)
    def w(self, *args, **kwargs):
        if _cp._capturing:
            cap = current()
            if cap is not None:
                return cap.draw(self, meth, name, args, kwargs)
        return meth(self, *args, **kwargs)

    return w


def curand_check():
    """Legacy ``RandomState`` draws call the cuRAND host API, which CuPy refuses to capture."""
    if current() is not None:
        raise NotImplementedError(_LIB_MSG.format("cuRAND"))


# ---- streams, events, graphs -----------------------------------------------------------------


class Stream:
    """cupy.cuda.Stream (stand-in): work runs synchronously unless the stream captures."""

    null = None
    ptds = None

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        if null:
            self.ptr, self.device_id = 0, -1
        elif ptds:
            self.ptr, self.device_id = 2, -1  # cudaStreamPerThread
        else:
            self.ptr, self.device_id = next(_ptrs), _cp._cur()
        self._non_blocking = bool(non_blocking) and not null and not ptds
        self._priority = 0 if priority is None or null or ptds else int(priority)
        self._capture = None
        self._unjoined = False

    def __eq__(self, other):
        if isinstance(other, Stream):
            return self.ptr == other.ptr
        return False

    def __hash__(self):
        return self.ptr

    def __repr__(self):
        return f"<{type(self).__name__} {self.ptr} (device {self.device_id})>"

    def __enter__(self):
        dev = _check_device_match(self.device_id)
        st = _state()
        st.stacks.setdefault(dev, [Stream.null]).append(self)
        st.dev_stack.append(dev)
        st.current[dev] = self
        return self

    def __exit__(self, *exc):
        st = _state()
        dev = st.dev_stack.pop()
        stack = st.stacks[dev]
        stack.pop()
        st.current[dev] = stack[-1]
        return False

    def use(self):
        dev = _check_device_match(self.device_id)
        _state().current[dev] = self
        return self

    def _dev(self):
        return _cp._cur() if self.device_id == -1 else self.device_id

    @property
    def done(self):
        cap = self._capture
        if cap is not None:  # cudaStreamQuery on a capturing stream: an error, not raised
            cap.invalid = True
            return False
        if _active and (self.ptr == 0 or self.ptr == 1):
            try:
                _legacy_check(self._dev())
            except _CUDARuntimeError:
                return False
        return True

    def synchronize(self):
        cap = self._capture
        if cap is not None:
            if cap.invalid:
                raise _CUDARuntimeError(901)
            cap.invalid = True
            raise _CUDARuntimeError(900)
        if _active and (self.ptr == 0 or self.ptr == 1):
            _legacy_check(self._dev())

    def record(self, event=None):
        if event is None:
            event = Event()
        event.record(self)
        return event

    def wait_event(self, event):
        ecap = event._capture if event._capture is not None and event._capture.active else None
        mine = self._capture
        if ecap is not None:
            if self.ptr == 0 or self.ptr == 1:
                ecap.invalid = True
                raise _CUDARuntimeError(906)
            if mine is None:  # a fork: this stream joins the capture
                if ecap.invalid:
                    raise _CUDARuntimeError(901)
                self._capture = ecap
                self._unjoined = True
                ecap.members.append(self)
            elif mine is not ecap:
                mine.invalid = ecap.invalid = True
                raise _CUDARuntimeError(902)
            else:
                if mine.invalid:
                    raise _CUDARuntimeError(901)
                src = event._stream
                if src is not self and src is not None:
                    src._unjoined = False  # its work now flows into this stream
                if self is not mine.origin:
                    self._unjoined = True
        elif mine is not None and event._recorded:
            mine.invalid = True  # waiting on work outside the capture (no cudaEventWaitExternal)
            raise _CUDARuntimeError(905)
        elif _active and (self.ptr == 0 or self.ptr == 1):
            _legacy_check(self._dev())

    def launch_host_func(self, callback, arg):
        cap = self._capture
        if cap is not None:
            if cap.invalid:
                raise _CUDARuntimeError(901)
            cap.record(lambda: callback(arg), getattr(callback, "__name__", "host_func"),
                       host=True)
            if self is not cap.origin:
                self._unjoined = True
        else:
            callback(arg)

    def add_callback(self, callback, arg):
        cap = self._capture
        if cap is not None:  # cudaStreamAddCallback does not support capture
            cap.invalid = True
            raise _CUDARuntimeError(900)
        callback(self, 0, arg)

    @property
    def is_non_blocking(self):
        return self._non_blocking

    @property
    def priority(self):
        return self._priority

    # -- capture ----------------------------------------------------------------------------
    def begin_capture(self, mode=None):
        if self.ptr == 0 or self.ptr == 1:
            raise RuntimeError("cannot capture on the default (legacy) stream")
        if mode is None:
            mode = MODE_RELAXED
        if mode not in (MODE_GLOBAL, MODE_THREAD_LOCAL, MODE_RELAXED):
            raise _CUDARuntimeError(1)
        if self._capture is not None:
            raise _CUDARuntimeError(401)
        cap = _Capture(self, mode, self._dev())
        self._capture = cap
        self._unjoined = False
        with _lock:
            _active.append(cap)
            _set_flag()

    def end_capture(self):
        cap = self._capture
        if cap is None:
            raise _CUDARuntimeError(401)
        if self is not cap.origin:
            cap.invalid = True
            raise _CUDARuntimeError(903)
        if cap.mode != MODE_RELAXED and cap.thread != threading.get_ident():
            raise _CUDARuntimeError(908)
        unjoined = any(m._unjoined for m in cap.members if m is not cap.origin)
        _finish(cap)
        if cap.invalid:
            raise _CUDARuntimeError(901)
        if unjoined:
            raise _CUDARuntimeError(904)
        return Graph._from_capture(cap)

    def is_capturing(self):
        if self.ptr == 0 or self.ptr == 1:
            dev = self._dev()
            for cap in list(_active):
                if cap.device == dev and any(not m._non_blocking for m in cap.members):
                    raise _CUDARuntimeError(906)
            return False
        cap = self._capture
        if cap is None:
            return False
        if cap.invalid:
            raise RuntimeError(INVALIDATED_MSG)
        return True


def _finish(cap):
    cap.active = False
    for m in cap.members:
        m._capture = None
        m._unjoined = False
    with _lock:
        if cap in _active:
            _active.remove(cap)
        _set_flag()


Stream.null = Stream(null=True)
Stream.ptds = Stream(ptds=True)


class ExternalStream(Stream):
    """cupy.cuda.ExternalStream (deprecated in CuPy 14): a stream handle CuPy does not own."""

    def __init__(self, ptr, device_id=-1):
        warnings.warn("ExternalStream is deprecated. Use Stream.from_external() instead to "
                      "interoperate with external streams that implement the CUDA stream "
                      "protocol.", DeprecationWarning, stacklevel=2)
        self.ptr, self.device_id = int(ptr), int(device_id)
        self._non_blocking = False
        self._priority = 0
        self._capture = None
        self._unjoined = False


class Event:
    """cupy.cuda.Event (stand-in): work is synchronous, so a recorded event is done at once,
    except one recorded in a capturing stream (a graph node: querying or waiting on it is
    ``cudaErrorCapturedEvent``)."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        if interprocess and not disable_timing:
            raise ValueError("Timing must be disabled for interprocess events")
        self.ptr = next(_ptrs)
        self._recorded = False
        self._capture = None
        self._stream = None

    @property
    def done(self):
        cap = self._capture
        if cap is not None and cap.active:
            cap.invalid = True
            return False
        return True

    def record(self, stream=None):
        s = get_current_stream() if stream is None else stream
        cap = s._capture
        if cap is not None and cap.invalid:
            raise _CUDARuntimeError(901)
        if cap is None and _active and (s.ptr == 0 or s.ptr == 1):
            _legacy_check(s._dev())
        self._capture, self._stream, self._recorded = cap, s, True

    def synchronize(self):
        cap = self._capture
        if cap is not None and cap.active:
            cap.invalid = True
            raise _CUDARuntimeError(907)


def get_elapsed_time(start_event, end_event):
    for e in (start_event, end_event):
        if e._capture is not None and e._capture.active:
            e._capture.invalid = True
            raise _CUDARuntimeError(907)
    return 0.0


class Graph:
    """cupy.cuda.Graph (stand-in): the nodes recorded by a stream capture."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("currently this class cannot be initiated by the user and "
                                  "must be created via stream capture")

    @classmethod
    def _from_capture(cls, cap):
        g = object.__new__(cls)
        g._nodes = tuple(cap.nodes)
        g._refs = tuple(cap.refs.values())
        g._device = cap.device
        # arrays allocated during the capture, alive when it ended and used by the graph: the
        # graph writes/reads their memory, so they must outlive it (a real GPU would scribble
        # on memory the pool has handed to someone else)
        g._watch = tuple((ref, desc) for ref, desc, oid in cap.allocs
                         if ref() is not None and oid in cap.refs)
        return g

    def _stream(self, stream):
        s = get_current_stream() if stream is None else stream
        if getattr(s, "_capture", None) is not None:
            raise NotImplementedError("cupy stand-in: launching or uploading a graph into a "
                                      "capturing stream (a child graph) is not modelled")
        if _active and (s.ptr == 0 or s.ptr == 1):
            _legacy_check(s._dev() if isinstance(s, Stream) else _cp._cur())
        return s

    def launch(self, stream=None):
        self._stream(stream)
        for ref, desc in self._watch:
            if ref() is None:
                raise RuntimeError(
                    f"cupy stand-in: Graph.launch: the {desc} during stream capture was freed "
                    "before the launch. The graph still reads and writes its memory, which the "
                    "memory pool may have handed to another array by now. Keep every array the "
                    "captured work produced alive while the graph is in use.")
        with _paused():
            for _name, fn, host in self._nodes:
                if host:
                    fn()
                else:
                    with warnings.catch_warnings(), _np.errstate(all="ignore"):
                        warnings.simplefilter("ignore")  # host-side warnings came at capture
                        fn()

    def upload(self, stream=None):
        self._stream(stream)

    def debug_dot_str(self, flags=0):
        verbose = bool(flags & DEBUG_DOT_VERBOSE)
        lines = ["digraph dot {", "subgraph cluster_1 {", 'label="graph_1" graph[style="dashed"];']
        for i, (name, _fn, host) in enumerate(self._nodes):
            label = ("host_func " if host else "cupy_") + name
            if verbose:
                label += f"\\nnode {i} ({'HOST' if host else 'KERNEL'})"
            lines.append(f'"graph_1_node_{i}"[label="{label}"];')
        for i in range(1, len(self._nodes)):
            lines.append(f'"graph_1_node_{i - 1}" -> "graph_1_node_{i}";')
        lines += ["}", "}"]
        return "\n".join(lines) + "\n"


for _c, _m in ((Stream, "cupy.cuda.stream"), (ExternalStream, "cupy.cuda.stream"),
               (Event, "cupy.cuda.stream"), (Graph, "cupy.cuda.graph")):
    _c.__module__ = _m
del _c, _m
