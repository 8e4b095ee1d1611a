"""The CPU backend: NumPy arrays (SciPy for special functions and LAPACK's triangular solve and
LU when it is importable)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from . import _np_special, cpu_native
from .base import Backend

_NULL = contextlib.nullcontext()


def _scipy_linalg():
    try:
        import scipy.linalg as sl
    except ImportError:  # SciPy is optional: the generic Backend versions take over
        return None
    return sl


def _scipy_special():
    try:
        import scipy.special as sps
    except ImportError:  # SciPy is optional: the NumPy implementations take over
        return None
    return sps


_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}  # float itemsize -> int of that size
_AXPY_PIECE = 10_000  # the most elements OpenBLAS's axpy runs on one thread
_AXPY: dict = {}  # dtype char -> SciPy's BLAS ?axpy (None: no BLAS for that dtype)
_SCIPY_BLAS: list = []  # [threadpoolctl's controller of SciPy's bundled BLAS, or None]


def _scipy_blas_threads() -> int:
    """How many threads SciPy's bundled BLAS runs now (threadpoolctl reads the library's
    current setting); 0 when unknown: no threadpoolctl, or a BLAS that is not SciPy's own."""
    if not _SCIPY_BLAS:
        _SCIPY_BLAS.append(_find_scipy_blas())
    lib = _SCIPY_BLAS[0]
    return lib.num_threads if lib is not None else 0


def _find_scipy_blas():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    for lib in ThreadpoolController().lib_controllers:
        where = Path(lib.filepath).parent  # scipy.libs/ (Linux, Windows), scipy/.dylibs/
        if where.name == "scipy.libs" or (where.name == ".dylibs"
                                          and where.parent.name == "scipy"):
            return lib
    return None


def _axpy_for(dtype: np.dtype):
    """SciPy's BLAS ``?axpy`` for ``dtype`` (float32/64, complex64/128), loaded on first use;
    None for other dtypes or without SciPy."""
    ch = dtype.char
    if ch not in _AXPY:
        f = None
        if ch in "fdFD":
            try:
                from scipy.linalg import blas
            except ImportError:
                pass
            else:
                f = getattr(blas, {"f": "s", "d": "d", "F": "c", "D": "z"}[ch] + "axpy")
        _AXPY[ch] = f
    return _AXPY[ch]


def fused_axpy(a: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y += a * x`` in place, one pass; returns ``y``.

    Each element is one fused multiply-add, ``fma(a, x, y)``, as torch's vectorised
    ``y.add_(x, alpha=a)`` computes it on the CPU: gpuarr's C kernel for contiguous float32/64
    arrays on x86-64 with AVX2 and FMA (:func:`cpu_native.axpy`), else SciPy's BLAS (which
    rounds a few tail elements twice on some builds), else NumPy's product then sum (two
    roundings). A compiled step records this as one call, so its replay rounds as eager does.

    Example:
        >>> y = np.ones(3, np.float32)
        >>> fused_axpy(-0.5, np.ones(3, np.float32), y)
        array([0.5, 0.5, 0.5], dtype=float32)
    """
    if cpu_native.axpy_fits(x, y):
        return cpu_native.axpy(a, x, y)
    dt = y.dtype
    f = _AXPY[dt.char] if dt.char in _AXPY else _axpy_for(dt)
    n = y.size
    # (the checks are ordered cheapest first: this runs once per parameter per step, and at
    # small sizes they cost as much as the update)
    if (f is None or x.dtype != dt or x.shape != y.shape or n == 0
            or not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable)
            or (x is not y and (x.base is not None or y.base is not None)
                and np.may_share_memory(x, y))):  # NumPy handles overlaps
        y += np.multiply(x, a)
        return y
    yf = y
    if y.ndim != 1:  # BLAS wants vectors (f2py copies anything else)
        x, yf = x.reshape(-1), y.reshape(-1)
    # One call where SciPy's BLAS runs one thread. Otherwise pieces of at most _AXPY_PIECE
    # elements, each a single-threaded call: OpenBLAS threads a longer axpy, and SciPy's
    # OpenBLAS threads, spinning after it, starve NumPy's own BLAS threads in the matrix
    # products that follow (a 1024x1024 step measured 3.6 ms with NumPy's two passes, 8.1 ms
    # with one threaded axpy, 3.4 ms in pieces). One call is faster than pieces (22 us vs 37 us
    # for 200k floats), so it is worth asking.
    if n <= _AXPY_PIECE or _scipy_blas_threads() == 1:
        r = f(x, yf, n, a)
        if r is not yf:  # f2py copied (an unaligned array): write the result back
            yf[...] = r
        return y
    for off in range(0, n, _AXPY_PIECE):
        r = f(x, yf, min(_AXPY_PIECE, n - off), a, off, 1, off, 1)
        if r is not yf:
            yf[...] = r
    return y


class NumpyBackend(Backend):
    """CPU backend on NumPy.

    Attributes:
        use_scipy: take special functions, the triangular solve and the LU factorisation from
            SciPy when it is importable (set False to use the NumPy / generic implementations;
            the tests compare both).
    """

    name = "numpy"
    device_type = "cpu"
    xp = np
    fast_partition = True
    strided_windows = True
    native_half_matmul = False  # NumPy has no half GEMM
    einsum_optimize = True
    chunked_updates = True
    use_scipy = True

    # ---- arrays ----
    def asarray(self, data, dtype=None, index=None):
        return np.asarray(data, dtype=dtype)

    def to_host(self, arr):
        return arr

    def is_array(self, obj) -> bool:
        return isinstance(obj, np.ndarray)

    def empty(self, shape, dtype, index=None):
        return np.empty(shape, dtype=dtype)

    def zeros(self, shape, dtype, index=None):
        return np.zeros(shape, dtype=dtype)

    def full(self, shape, value, dtype, index=None):
        return np.full(shape, value, dtype=dtype)

    def scalar(self, dtype, value):
        return value  # NumPy 2 keeps Python scalars weak

    def minmax(self, arr):
        return int(arr.min()), int(arr.max())

    # ---- devices ----
    def device_ctx(self, index):
        return _NULL

    def pinned_empty(self, shape, dtype):
        return np.empty(shape, dtype=dtype)  # nothing to pin for the CPU

    # ---- random numbers ----
    def new_generator(self, seed: int, index):
        return np.random.Generator(np.random.PCG64(seed))

    def generator_state(self, gen) -> bytes:
        st = gen.bit_generator.state  # PCG64: two 128-bit words and the cached half-draw
        return (st["state"]["state"].to_bytes(16, "little")
                + st["state"]["inc"].to_bytes(16, "little")
                + int(st["has_uint32"]).to_bytes(4, "little")
                + int(st["uinteger"]).to_bytes(4, "little"))

    def restore_generator(self, seed, state: bytes, index):
        if len(state) != 40:
            raise RuntimeError(f"CPU generator state must hold 40 bytes, got {len(state)}")
        gen = self.new_generator(seed, index)
        gen.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(state[:16], "little"),
                      "inc": int.from_bytes(state[16:32], "little")},
            "has_uint32": int.from_bytes(state[32:36], "little"),
            "uinteger": int.from_bytes(state[36:40], "little"),
        }
        return gen


    # ---- scatter and indexing ----
    def add_at(self, out, key, values) -> None:
        np.add.at(out, key, values)

    def multiply_at(self, out, key, values) -> None:
        np.multiply.at(out, key, values)

    def maximum_at(self, out, key, values) -> None:
        np.maximum.at(out, key, values)

    def minimum_at(self, out, key, values) -> None:
        np.minimum.at(out, key, values)

    def mask_key(self, mask) -> tuple:
        return (mask,)  # NumPy indexes faster with the mask itself

    def relu(self, x):
        if x.dtype.kind != "f":
            return super().relu(x)
        # NumPy's vectorised maximum takes two arrays; against a broadcast scalar it runs a
        # scalar loop about twice as slow (same results, measured to the bit on NaN, +-0, inf)
        return np.maximum(x, np.zeros(x.shape, x.dtype))

    def relu_backward(self, g, y):
        if cpu_native.fits(g, y):  # one C pass
            return cpu_native.relu_backward(g, y)
        it = _SAME_SIZE_INT.get(g.dtype.itemsize)
        if g.dtype.kind != "f" or it is None or y.dtype != g.dtype or y.shape != g.shape:
            return super().relu_backward(g, y)
        # A bit select instead of np.where, which runs 6-10x slower on a random mask: an int
        # mask of all ones where y > 0 (or NaN), zeros where y <= 0, ANDed with g's bits
        m = np.less_equal(y, 0).astype(it)  # 1 or 0
        m -= 1
        m &= g.view(it)
        return m.view(g.dtype)

    def add_bias(self, out, b):
        if cpu_native.bias_fits(out, b):  # one C call, without NumPy's per-row loop
            return cpu_native.add_bias_rows(out, b)
        out += b
        return out

    def linear_weight_grad(self, g, x):
        if cpu_native.wgrad_fits(g, x):  # a small float32 batch: faster than BLAS's sgemm
            return cpu_native.linear_weight_grad(g, x)
        return None

    def sum_axis0(self, x):
        if cpu_native.fits(x):  # one C call: the same sums in the same order
            return cpu_native.sum_axis0(x)
        return x.sum(axis=0)

    def log_softmax(self, x, dim: int):
        if dim == x.ndim - 1 and cpu_native.fits(x, rows=True):  # small: one C call, not six
            return cpu_native.log_softmax_rows(x)
        return super().log_softmax(x, dim)

    def log_softmax_backward(self, g, y, dim: int):
        if dim == g.ndim - 1 and cpu_native.fits(g, y, rows=True):
            return cpu_native.log_softmax_rows_backward(g, y)
        return super().log_softmax_backward(g, y, dim)

    def can_fuse_nll(self, logp, target) -> bool:
        return cpu_native.nll_fits(logp, target)

    def fused_nll(self, logp, target, ignore_index: int, mean: bool):
        return cpu_native.nll_rows(logp, target, ignore_index, mean)

    def axpy(self, a, x, y, tmp=None) -> None:
        fused_axpy(a, x, y)

    # ---- sorting ----
    def argsort_stable(self, arr, axis=-1):
        return np.argsort(arr, axis=axis, kind="stable")

    # ---- special functions ----
    def _sps(self):
        return _scipy_special() if self.use_scipy else None

    def erf(self, x):
        sps = self._sps()
        out = sps.erf(x) if sps is not None else _np_special.erf(x.astype(np.float64))
        return out.astype(x.dtype, copy=False)

    def erfinv(self, x):
        sps = self._sps()
        out = sps.erfinv(x) if sps is not None else _np_special.erfinv(x)
        return out.astype(x.dtype, copy=False)

    def gammaln(self, x):
        sps = self._sps()
        out = sps.gammaln(x) if sps is not None else _np_special.lgamma(x)
        return out.astype(x.dtype, copy=False)

    def digamma(self, x):
        sps = self._sps()
        out = sps.digamma(x) if sps is not None else _np_special.polygamma(0, x)
        return out.astype(x.dtype, copy=False)

    def polygamma(self, n, x):
        sps = self._sps()
        out = sps.polygamma(n, x) if sps is not None else _np_special.polygamma(n, x)
        return out.astype(x.dtype, copy=False)

    def erfc(self, x):
        sps = self._sps()
        out = sps.erfc(x) if sps is not None else _np_special.erfc(x)
        return out.astype(x.dtype, copy=False)

    def erfcx(self, x):
        sps = self._sps()
        out = sps.erfcx(x) if sps is not None else _np_special.erfcx(x)
        return out.astype(x.dtype, copy=False)

    def ndtri(self, x):
        sps = self._sps()
        out = sps.ndtri(x) if sps is not None else _np_special.ndtri(x)
        return out.astype(x.dtype, copy=False)

    def log_ndtr(self, x):
        sps = self._sps()
        out = sps.log_ndtr(x) if sps is not None else _np_special.log_ndtr(x)
        return out.astype(x.dtype, copy=False)

    def bessel_i(self, order, x, scaled=False):
        sps = self._sps()
        if sps is not None:
            f = {(0, False): sps.i0, (0, True): sps.i0e, (1, False): sps.i1, (1, True): sps.i1e}
            out = f[order, scaled](x)
        else:
            out = _np_special.bessel_i(order, x, scaled)
        return out.astype(x.dtype, copy=False)

    def zeta(self, x, q):
        sps = self._sps()
        out = sps.zeta(x, q) if sps is not None else _np_special.zeta(x, q)
        return out.astype(x.dtype, copy=False)

    def bessel_k(self, order, x, scaled=False):
        sps = self._sps()
        if sps is not None:
            f = {(0, False): sps.k0, (0, True): sps.k0e, (1, False): sps.k1, (1, True): sps.k1e}
            out = f[order, scaled](x)
        else:
            out = _np_special.bessel_k(order, x, scaled)
        return out.astype(x.dtype, copy=False)

    def gammainc(self, a, x, upper=False):
        sps = self._sps()
        if sps is not None:
            out = (sps.gammaincc if upper else sps.gammainc)(a, x)
        else:
            out = _np_special.gammainc(a, x, upper)
        return out.astype(x.dtype, copy=False)

    # ---- linear algebra ----
    def linalg_errstate(self):
        return _NULL  # NumPy always raises LinAlgError

    def solve_triangular(self, a, b, upper, unit_diagonal=False):
        sl = _scipy_linalg() if self.use_scipy else None
        if sl is None or a.size == 0 or b.size == 0:
            return super().solve_triangular(a, b, upper, unit_diagonal)
        try:  # LAPACK's trtrs, batched by SciPy
            x = sl.solve_triangular(a, b, lower=not upper, unit_diagonal=unit_diagonal,
                                    check_finite=False)
        except np.linalg.LinAlgError:  # an exactly zero diagonal: substitution gives inf/nan
            return super().solve_triangular(a, b, upper, unit_diagonal)
        return x.astype(b.dtype, copy=False)

    def lu_factor(self, a, pivot=True):
        sl = _scipy_linalg() if self.use_scipy else None
        if sl is None or a.size == 0 or not pivot:
            return super().lu_factor(a, pivot)
        import warnings

        with warnings.catch_warnings():  # a singular matrix is reported through info
            warnings.simplefilter("ignore", sl.LinAlgWarning)
            lu, piv = sl.lu_factor(a, check_finite=False)
        m, n = a.shape[-2:]
        k = min(m, n)
        info = self._lu_info(np, lu.reshape((-1, m, n)), k).reshape(a.shape[:-2])
        return lu.astype(a.dtype, copy=False), (piv + 1).astype(np.int32), info
