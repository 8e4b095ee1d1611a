"""The CUDA backend: CuPy arrays.

CuPy is imported on first use only, so ``import gpuarr`` stays fast and works without it.
:func:`probe` explains why CUDA cannot be used, in words a user can act on.

Devices: gpuarr keeps its own "current device" (``gpuarr.cuda.set_device``), which decides
where ``device='cuda'`` lands. Every op calls :meth:`CupyBackend.activate` with its tensors'
device index before it touches their arrays, so that CuPy runs the kernels and allocates the
results on that device, whatever device was current before (CuPy itself works on its current
device).
"""

from __future__ import annotations

import warnings

import numpy as np

from . import cupy_kernels, sync_debug
from .base import Backend
from .oom import raise_if_oom

INSTALL_HINT = (
    "Install CuPy with the CUDA libraries it loads for your CUDA version, e.g. "
    "`pip install gpuarr[cuda12]` (cupy-cuda12x with NVRTC, cuBLAS, cuSOLVER, cuRAND) or "
    "`pip install gpuarr[cuda13]`, on a machine with an NVIDIA GPU and driver."
)

BF16_UNSUPPORTED = (
    "bfloat16 is not supported on CUDA: gpuarr runs CUDA tensors on CuPy, which cannot compute "
    "in bfloat16 (gpuarr.cuda.is_bf16_supported() is False). Keep bfloat16 tensors on the "
    "CPU, or use float16 on CUDA (the dtype autocast('cuda') uses)."
)

# dtypes cupyx.scatter_add adds atomically; other integers go through uint64 (two's complement
# addition wraps the same way, so int64 sums come out right bit for bit)
_ATOMIC_ADD = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int32,
                                               np.uint32, np.uint64))
# dtypes cupyx.scatter_max / scatter_min handle with atomics
_ATOMIC_EXTREMUM = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.int32,
                                                   np.uint32, np.uint64))


def probe() -> tuple[object | None, str]:
    """Import CuPy, count devices and load NVRTC; return (cupy module or None, reason).

    NVRTC is checked because CuPy compiles every elementwise kernel with it on first use: a
    machine whose driver answers but lacks NVRTC would fail at the first op.
    """
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA install raising at import
        return None, f"CuPy is not installed or failed to import ({type(e).__name__}: {e})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver / no libcuda
        return None, f"CuPy is installed but no CUDA driver could be used ({type(e).__name__}: {e})"
    if n == 0:
        return None, "CuPy is installed and a CUDA driver found, but there is no CUDA device"
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
    except Exception as e:  # libnvrtc.so missing or of the wrong CUDA version
        return None, ("CuPy found a CUDA device but cannot load NVRTC, the CUDA runtime compiler "
                      f"it needs for every kernel ({type(e).__name__}: {e})")
    return cupy, ""


class CupyBackend(Backend):
    """CUDA backend on CuPy. Constructed only when CUDA is usable."""

    name = "cupy"
    device_type = "cuda"
    contiguous_solve = True
    fused_optimizers = True
    bfloat16 = False

    def __init__(self, cupy) -> None:
        self.xp = cupy
        self._cp = cupy
        self._rt = cupy.cuda.runtime
        self._current = self._rt.getDevice()
        self._kernels: dict = {}

    # ---- devices ----
    def device_count(self) -> int:
        return self._rt.getDeviceCount()

    def current_device(self) -> int:
        return self._current

    def set_device(self, index: int) -> None:
        n = self.device_count()
        if not 0 <= index < n:
            raise RuntimeError(f"CUDA error: invalid device ordinal {index} ({n} device(s))")
        self._rt.setDevice(index)
        self._current = index

    def activate(self, index):
        rt = self._rt
        if index is not None and rt.getDevice() != index:
            rt.setDevice(index)
        return self._cp

    def device_index(self, arr) -> int:
        return arr.device.id

    def device_ctx(self, index):
        return self._cp.cuda.Device(self._current if index is None else index)

    def synchronize(self, index=None) -> None:
        with self.device_ctx(index) as dev:
            dev.synchronize()

    def memory_allocated(self, index=None) -> int:
        with self.device_ctx(index):  # CuPy's default pool answers for the current device
            return self._cp.get_default_memory_pool().used_bytes()

    def memory_reserved(self, index=None) -> int:
        with self.device_ctx(index):
            return self._cp.get_default_memory_pool().total_bytes()

    def empty_cache(self) -> None:
        self._cp.get_default_memory_pool().free_all_blocks()

    def pinned_empty(self, shape, dtype):
        import cupyx

        return cupyx.empty_pinned(shape, dtype=dtype)  # a NumPy array in page-locked memory

    # ---- arrays ----
    def check_dtype(self, dtype) -> None:
        if dtype is not None and np.dtype(dtype).kind == "V":  # ml_dtypes' bfloat16
            raise TypeError(BF16_UNSUPPORTED)

    def asarray(self, data, dtype=None, index=None):
        cp = self._cp
        src = getattr(data, "dtype", None)
        if dtype is None:
            self.check_dtype(src)
        else:
            self.check_dtype(dtype)
            if src is not None and src.kind == "V" and isinstance(data, np.ndarray):
                data = data.astype(dtype)  # bfloat16 host data: cast on the host
        try:  # free until something raises; out-of-memory errors become torch's
            with self.device_ctx(index) as dev:
                if isinstance(data, cp.ndarray) and data.device.id != dev.id:
                    if not data.flags.c_contiguous:
                        # CuPy copies between devices from contiguous memory only: compact it
                        # on its own device first (a broadcast or sliced gradient going back)
                        with self.device_ctx(data.device.id):
                            data = cp.ascontiguousarray(data)
                    # a copy made on the target device (peer copy)
                    return cp.array(data, dtype=dtype, copy=True)
                return cp.asarray(data, dtype=dtype)
        except (MemoryError, RuntimeError) as e:
            raise_if_oom(e, self)
            raise

    def to_host(self, arr):
        if arr.size:  # an empty copy waits for nothing (torch skips it too)
            sync_debug.check()
        return self._cp.asnumpy(arr)

    def is_array(self, obj) -> bool:
        return isinstance(obj, self._cp.ndarray)

    def empty(self, shape, dtype, index=None):
        self.check_dtype(dtype)
        with self.device_ctx(index):
            try:
                return self._cp.empty(shape, dtype=dtype)
            except (MemoryError, RuntimeError) as e:
                raise_if_oom(e, self)
                raise

    def zeros(self, shape, dtype, index=None):
        self.check_dtype(dtype)
        with self.device_ctx(index):
            try:
                return self._cp.zeros(shape, dtype=dtype)
            except (MemoryError, RuntimeError) as e:
                raise_if_oom(e, self)
                raise

    def full(self, shape, value, dtype, index=None):
        self.check_dtype(dtype)
        with self.device_ctx(index):
            try:
                return self._cp.full(shape, value, dtype=dtype)
            except (MemoryError, RuntimeError) as e:
                raise_if_oom(e, self)
                raise

    def scalar(self, dtype, value):
        # a NumPy scalar of the array's dtype: CuPy then keeps the array's dtype
        return dtype.type(value)

    def item(self, arr):
        sync_debug.check()
        return arr.item()

    def minmax(self, arr):
        sync_debug.check()
        lo, hi = self._cp.stack((arr.min(), arr.max())).tolist()  # one transfer
        return int(lo), int(hi)

    # ---- random numbers ----
    def new_generator(self, seed: int, index):
        cp = self._cp
        with self.device_ctx(index):
            return cp.random.Generator(cp.random.XORWOW(seed))

    def generator_state(self, gen) -> bytes:
        # cuRAND keeps XORWOW's whole state in one device buffer of curandState structs: a
        # host copy of it is a complete snapshot (CuPy offers no other way to save one)
        bg = gen.bit_generator
        sync_debug.check()
        return int(bg._size).to_bytes(8, "little") + bg._state.get().tobytes()

    def restore_generator(self, seed, state: bytes, index):
        cp = self._cp
        size = int.from_bytes(state[:8], "little")
        with self.device_ctx(index):
            bg = cp.random.XORWOW(seed, size=size)
            host = np.frombuffer(state[8:], dtype=np.int8)
            if host.shape != bg._state.shape:
                raise RuntimeError(f"CUDA generator state holds {host.size} bytes of cuRAND "
                                   f"state, expected {bg._state.size}")
            bg._state.set(host.copy())
            return cp.random.Generator(bg)


    # ---- scatter and indexing ----
    def add_at(self, out, key, values) -> None:
        import cupyx

        cp = self._cp
        if out.dtype in _ATOMIC_ADD:
            cupyx.scatter_add(out, key, values)
            return
        if out.dtype.kind == "c":  # no complex atomics: the parts, through their real views
            v = cp.asarray(values, dtype=out.dtype)
            self.add_at(out.real, key, v.real)
            self.add_at(out.imag, key, v.imag)
            return
        vals = cp.asarray(values).astype(np.int64).view(np.uint64)
        if out.dtype == np.int64:
            cupyx.scatter_add(out.view(np.uint64), key, vals)
            return
        tmp = out.astype(np.int64)  # small ints / bool: accumulate wide, cast back (wraps as torch)
        cupyx.scatter_add(tmp.view(np.uint64), key, vals)
        out[...] = tmp.astype(out.dtype)

    def multiply_at(self, out, key, values) -> None:
        # no atomic multiply on the GPU: do this rare path on the host, then copy back
        cp = self._cp
        sync_debug.check()
        host = cp.asnumpy(out)
        np.multiply.at(host, tuple(cp.asnumpy(k) if isinstance(k, cp.ndarray) else k
                                   for k in (key if isinstance(key, tuple) else (key,))),
                       cp.asnumpy(values) if isinstance(values, cp.ndarray) else values)
        out[...] = cp.asarray(host)

    def maximum_at(self, out, key, values) -> None:
        self._extremum_at(out, key, values, "max")

    def minimum_at(self, out, key, values) -> None:
        self._extremum_at(out, key, values, "min")

    def _extremum_at(self, out, key, values, kind: str) -> None:
        """cupyx.scatter_max / scatter_min (atomic) for the dtypes they take; other dtypes
        (float16, small ints, bool) take the host path, as :meth:`multiply_at`."""
        import cupyx

        cp = self._cp
        if out.dtype in _ATOMIC_EXTREMUM:
            fn = cupyx.scatter_max if kind == "max" else cupyx.scatter_min
            fn(out, key, cp.asarray(values, dtype=out.dtype))
            return
        sync_debug.check()
        host = cp.asnumpy(out)
        ufunc = np.maximum if kind == "max" else np.minimum
        ufunc.at(host, tuple(cp.asnumpy(k) if isinstance(k, cp.ndarray) else k
                             for k in (key if isinstance(key, tuple) else (key,))),
                 cp.asnumpy(values) if isinstance(values, cp.ndarray) else values)
        out[...] = cp.asarray(host)

    def mask_key(self, mask) -> tuple:
        sync_debug.check()  # the count of True elements is read to the host
        return tuple(self._cp.nonzero(mask))

    def nonzero(self, arr) -> tuple:
        sync_debug.check()
        return self._cp.nonzero(arr)

    # ---- sorting ----
    def argsort_stable(self, arr, axis=-1):
        return self._cp.argsort(arr, axis=axis)  # CuPy's argsort is always stable

    def sort_keys(self, arr):
        # CuPy's sorts and arg-reductions are documented for numbers: bool as 0/1 bytes
        return arr.view(np.uint8) if arr.dtype == np.bool_ else arr

    # ---- special functions ----
    def _special(self):
        import cupyx.scipy.special as cps

        return cps

    def erf(self, x):
        return self._special().erf(x).astype(x.dtype, copy=False)

    def erfinv(self, x):
        return self._special().erfinv(x).astype(x.dtype, copy=False)

    def gammaln(self, x):
        return self._special().gammaln(x).astype(x.dtype, copy=False)

    def digamma(self, x):
        return self._special().digamma(x).astype(x.dtype, copy=False)

    def polygamma(self, n, x):
        # CuPy's polygamma broadcasts n against x, so n must be an array too
        n_arr = self._cp.asarray(float(n), dtype=x.dtype)
        return self._special().polygamma(n_arr, x).astype(x.dtype, copy=False)

    def erfc(self, x):
        return self._special().erfc(x).astype(x.dtype, copy=False)

    def erfcx(self, x):
        return self._special().erfcx(x).astype(x.dtype, copy=False)

    def ndtri(self, x):
        return self._special().ndtri(x).astype(x.dtype, copy=False)

    def log_ndtr(self, x):
        return self._special().log_ndtr(x).astype(x.dtype, copy=False)

    def bessel_i(self, order, x, scaled=False):
        cps = self._special()
        f = {(0, False): cps.i0, (0, True): cps.i0e, (1, False): cps.i1, (1, True): cps.i1e}
        return f[order, scaled](x).astype(x.dtype, copy=False)

    def zeta(self, x, q):
        return self._special().zeta(x, q).astype(x.dtype, copy=False)

    def bessel_k(self, order, x, scaled=False):
        cps = self._special()
        f = {(0, False): cps.k0, (0, True): cps.k0e, (1, False): cps.k1, (1, True): cps.k1e}
        return f[order, scaled](x).astype(x.dtype, copy=False)

    def gammainc(self, a, x, upper=False):
        cps = self._special()
        return (cps.gammaincc if upper else cps.gammainc)(a, x).astype(x.dtype, copy=False)

    # ---- linear algebra ----
    def linalg_errstate(self):
        import cupyx

        # CuPy then reads each solver's info to the host (a wait), as torch's error checks do
        sync_debug.check()
        return cupyx.errstate(linalg="raise")

    # ---- fused optimizer kernels ----
    def _kernel(self, name: str):
        k = self._kernels.get(name)
        if k is None:
            s = cupy_kernels.spec(name)
            k = self._kernels[name] = self._cp.ElementwiseKernel(
                s.in_params, s.out_params, s.operation, s.name, preamble=s.preamble)
        return k

    def can_fuse(self, param, grad) -> bool:
        return param.dtype.name in cupy_kernels.FUSED_DTYPES and grad.dtype == param.dtype

    def fused_sgd_step(self, p, g, buf, *, lr, wd, sign, momentum, damp1, first, nesterov):
        if buf is None:
            self._kernel("gpuarr_sgd")(g, lr, wd, sign, p)
        else:
            self._kernel("gpuarr_sgd_momentum")(
                g, lr, wd, sign, momentum, damp1, 1.0 if first else 0.0,
                1.0 if nesterov else 0.0, p, buf)

    def fused_adam_step(self, p, g, m, v, vmax, *, sign, wd, decay, w1, b2, w2, bc2_sqrt, eps,
                        step_size):
        args = (g, sign, wd, decay, w1, b2, w2, bc2_sqrt, eps, step_size)
        if vmax is None:
            self._kernel("gpuarr_adam")(*args, p, m, v)
        else:
            self._kernel("gpuarr_adam_amsgrad")(*args, p, m, v, vmax)

    # ---- events and NCCL collectives (cupy.cuda.nccl, loaded on first use) ----
    def record_event(self, index=None):
        with self.device_ctx(index):
            return self._cp.cuda.get_current_stream().record()

    # ---- streams, events, device facts, pool limits (gpuarr.cuda) ----
    def new_stream(self, index, priority: int = 0):
        # torch's side streams do not synchronise with the legacy default stream
        with self.device_ctx(index):
            return self._cp.cuda.Stream(non_blocking=True, priority=priority)

    def current_stream(self, index=None):
        return self._cp.cuda.get_current_stream(self._current if index is None else index)

    def null_stream(self):
        return self._cp.cuda.Stream.null

    def use_stream(self, stream, index) -> None:
        with self.device_ctx(index):
            stream.use()

    def new_event(self, index, timing: bool, blocking: bool, interprocess: bool):
        with self.device_ctx(index):
            return self._cp.cuda.Event(block=blocking, disable_timing=not timing,
                                       interprocess=interprocess)

    def elapsed_ms(self, start, end) -> float:
        return float(self._cp.cuda.get_elapsed_time(start, end))

    def device_properties(self, index) -> dict:
        return self._rt.getDeviceProperties(index)

    def nvrtc_archs(self) -> list[int]:
        """The compute capabilities this NVRTC compiles for (``[50, ..., 90]``); empty for an
        NVRTC too old to list them (before CUDA 11.2)."""
        from cupy_backends.cuda.libs import nvrtc  # CuPy's NVRTC binding, as probe() loads it

        try:
            return [int(a) for a in nvrtc.getSupportedArchs()]
        except Exception:  # noqa: BLE001
            return []

    def mem_get_info(self, index=None) -> tuple[int, int]:
        with self.device_ctx(index):
            free, total = self._rt.memGetInfo()
        return int(free), int(total)

    def set_memory_fraction(self, fraction: float, index=None) -> None:
        with self.device_ctx(index):
            self._cp.get_default_memory_pool().set_limit(fraction=fraction)

    def memory_limit(self, index=None) -> int:
        with self.device_ctx(index):
            return int(self._cp.get_default_memory_pool().get_limit())

    def raw_alloc(self, size: int, index: int, stream_ptr: int):
        cuda = self._cp.cuda
        with self.device_ctx(index):
            stream = cuda.get_current_stream()
            if stream_ptr not in (int(stream.ptr), 0):
                # a stream gpuarr did not make: CuPy's pool keys its free blocks by stream
                with warnings.catch_warnings():  # deprecated in CuPy 14, still there
                    warnings.simplefilter("ignore", DeprecationWarning)
                    stream = cuda.ExternalStream(stream_ptr, index)
            elif stream_ptr == 0:
                stream = cuda.Stream.null
            try:
                with stream:  # the pool allocates for the current stream
                    return self._cp.get_default_memory_pool().malloc(size)
            except (MemoryError, RuntimeError) as e:
                raise_if_oom(e, self)
                raise

    def nccl_available(self) -> bool:
        try:
            from cupy.cuda import nccl
        except Exception:  # CuPy without its NCCL module
            return False
        return bool(nccl.available)

    def nccl_unique_id(self) -> bytes:
        from cupy.cuda import nccl

        return nccl.get_unique_id()

    def nccl_communicator(self, nranks, unique_id, rank, index=None):
        from cupy.cuda import nccl

        with self.device_ctx(index) as dev:
            return _NcclComm(nccl.NcclCommunicator(nranks, unique_id, rank), dev.id)

    def _nccl_codes(self):
        codes = getattr(self, "_nccl_cache", None)  # built once (the module loads libnccl)
        if codes is None:
            from cupy.cuda import nccl

            dtypes = {np.dtype(np.int8): nccl.NCCL_INT8, np.dtype(np.uint8): nccl.NCCL_UINT8,
                      np.dtype(np.int32): nccl.NCCL_INT32, np.dtype(np.uint32): nccl.NCCL_UINT32,
                      np.dtype(np.int64): nccl.NCCL_INT64, np.dtype(np.uint64): nccl.NCCL_UINT64,
                      np.dtype(np.float16): nccl.NCCL_FLOAT16,
                      np.dtype(np.float32): nccl.NCCL_FLOAT32,
                      np.dtype(np.float64): nccl.NCCL_FLOAT64}
            ops = {"sum": nccl.NCCL_SUM, "prod": nccl.NCCL_PROD, "max": nccl.NCCL_MAX,
                   "min": nccl.NCCL_MIN, "avg": nccl.NCCL_AVG}
            codes = self._nccl_cache = (dtypes, ops)
        return codes

    def nccl_call(self, comm, func, send, recv, *, op=None, root=None, peer=None):
        dtypes, ops = self._nccl_codes()
        arr = recv if send is None else send
        dt = dtypes.get(arr.dtype)
        if dt is None:
            raise TypeError(f"NCCL has no {arr.dtype} type (it moves int8, uint8, int32, uint32, "
                            "int64, uint64, float16, float32 and float64)")
        c = comm.comm
        with self.device_ctx(comm.index):
            stream = self._cp.cuda.get_current_stream().ptr
            if func == "send":
                c.send(send.data.ptr, send.size, dt, peer, stream)
            elif func == "recv":
                c.recv(recv.data.ptr, recv.size, dt, peer, stream)
            elif func == "allReduce":
                c.allReduce(send.data.ptr, recv.data.ptr, recv.size, dt, ops[op], stream)
            elif func == "reduce":
                c.reduce(send.data.ptr, recv.data.ptr, send.size, dt, ops[op], root, stream)
            elif func == "broadcast":
                c.broadcast(send.data.ptr, recv.data.ptr, recv.size, dt, root, stream)
            elif func == "allGather":
                c.allGather(send.data.ptr, recv.data.ptr, send.size, dt, stream)
            elif func == "reduceScatter":
                c.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, dt, ops[op], stream)
            else:
                raise ValueError(f"unknown NCCL function {func!r}")

    def nccl_group(self):
        return _NcclGroup()


class _NcclComm:
    """An NCCL communicator and the device it was made on."""

    __slots__ = ("comm", "index")

    def __init__(self, comm, index: int) -> None:
        self.comm, self.index = comm, index

    def destroy(self) -> None:
        self.comm.destroy()


class _NcclGroup:
    """``with`` block around ncclGroupStart / ncclGroupEnd."""

    def __enter__(self):
        from cupy.cuda import nccl

        nccl.groupStart()
        return self

    def __exit__(self, *exc):
        from cupy.cuda import nccl

        nccl.groupEnd()
        return False
