"""What every backend provides: the array module, device services, and every operation where
NumPy and CuPy differ.

The array contract ops rely on
------------------------------
Ops are written once against ``backend.xp`` (``numpy`` or ``cupy``) for everything the two
libraries share. They may assume that the arrays of ``xp``:

- are mutable, strided n-d arrays with NumPy's attributes (``shape``, ``dtype``, ``strides``,
  ``flags``, ``T``, ``ndim``, ``size``, ``nbytes``) and NumPy's basic and advanced indexing,
  including assignment through views (``out[idx] = v`` writes into ``out``);
- have ufuncs that take ``out=`` and ``dtype=`` and write in place, and ``astype(copy=False)``;
- follow NumPy's broadcasting and dtype rules for array-array operations (NumPy 2 rules for
  Python scalars);
- never convert implicitly to or from host memory: ``to_host`` and ``asarray`` are the only
  crossings (CuPy raises on ``numpy.asarray(cupy_array)`` and on NumPy operands);
- a backend whose arrays live on a device reports every read of device data to the host
  (``to_host``, ``item``, ``minmax``, ``nonzero``, ``mask_key``, ...) to the CUDA sync debug
  mode (:mod:`gpuarr.backends.sync_debug`) before it waits; code outside the backends that
  reads device data itself calls ``sync_debug.check_array`` first;
- return 0-d arrays (not host scalars) from reductions on the device; ``.item()`` copies to host.

Everything outside that contract is a named method here, implemented by each backend:
scatter-add/multiply, special functions, linalg error state, stable argsort, boolean-mask keys,
allocation on a given device, random generators and their state, fused optimizer updates (an
optional capability), and a few capability flags that choose the faster of two equivalent
algorithms. No module outside ``gpuarr/backends/`` imports CuPy or tests ``xp is np``.

Adding a backend: subclass :class:`Backend`, implement every method that raises
NotImplementedError here, and register it with :func:`gpuarr.backends.register`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

_NULL = contextlib.nullcontext()


class Backend:
    """One array library seen through the calls gpuarr needs.

    Attributes:
        name: 'numpy' or 'cupy'.
        device_type: the device type it serves ('cpu', 'cuda').
        xp: the array module; ops are written once against it.
        fast_partition: ``argpartition`` beats a full sort for small top-k (NumPy).
        strided_windows: sliding windows as strided views are cheap (conv/pool im2col on NumPy;
            on CuPy a loop over kernel offsets launches fewer, larger kernels).
        native_half_matmul: float16 matmul/einsum/trace run natively (else through float32).
        einsum_optimize: ``einsum(optimize=True)`` (pairwise BLAS contractions) pays off.
        chunked_updates: optimizer updates walk parameters in cache-sized pieces.
        contiguous_solve: ``linalg.solve`` wants contiguous, materialised batches.
        fused_optimizers: :meth:`fused_sgd_step` / :meth:`fused_adam_step` are implemented.
        bfloat16: arrays can hold and compute in bfloat16 (NumPy through ml_dtypes; not
            CuPy, whose kernels have no bfloat16 type: :meth:`check_dtype` refuses it).

    Collectives (optional): :meth:`nccl_available` says whether :meth:`nccl_unique_id`,
    :meth:`nccl_communicator`, :meth:`nccl_call` and :meth:`nccl_group` work (CUDA with NCCL);
    ``gpuarr.distributed`` uses them for CUDA tensors and MPI for everything else.
    """

    name: str = ""
    device_type: str = ""
    xp: Any = None
    fast_partition: bool = False
    strided_windows: bool = False
    native_half_matmul: bool = True
    einsum_optimize: bool = False
    chunked_updates: bool = False
    contiguous_solve: bool = False
    fused_optimizers: bool = False
    bfloat16: bool = True

    # ---- arrays and host transfers ----
    def asarray(self, data, dtype=None, index: int | None = None):
        """An array of this backend on device ``index`` (None: the current device) from host
        data (lists, scalars, NumPy arrays) or an array of this backend (copied across when it
        lives on another device)."""
        raise NotImplementedError

    def to_host(self, arr):
        """A NumPy array with the data of ``arr`` (a copy for device arrays)."""
        raise NotImplementedError

    def is_array(self, obj) -> bool:
        """Whether ``obj`` is this backend's array type."""
        raise NotImplementedError

    def empty(self, shape: tuple, dtype, index: int | None = None):
        """An uninitialised array on device ``index``."""
        raise NotImplementedError

    def zeros(self, shape: tuple, dtype, index: int | None = None):
        """A zero-filled array on device ``index``."""
        raise NotImplementedError

    def full(self, shape: tuple, value, dtype, index: int | None = None):
        """An array filled with ``value`` on device ``index``."""
        raise NotImplementedError

    def check_dtype(self, dtype) -> None:
        """Raise a TypeError saying why when this backend cannot hold arrays of ``dtype``
        (a NumPy dtype or None); allocations and casts to a new dtype call it."""

    def scalar(self, dtype, value):
        """``value`` as the second operand of a ufunc with a ``dtype`` array: what keeps the
        result in ``dtype`` on this backend."""
        raise NotImplementedError

    def item(self, arr):
        """The one element of ``arr`` as a Python number (one device sync on CUDA)."""
        return arr.item()

    def minmax(self, arr) -> tuple[int, int]:
        """``(min, max)`` of a non-empty integer array, with one device sync."""
        raise NotImplementedError

    # ---- devices ----
    def device_count(self) -> int:
        """Number of devices of this type."""
        return 1

    def current_device(self) -> int | None:
        """Index of the current device (None for the CPU)."""
        return None

    def set_device(self, index: int) -> None:
        """Make ``index`` the current device."""

    def activate(self, index: int | None):
        """Make device ``index`` the one where the following work runs and allocates; returns
        ``xp``. Called by every op before it touches its arrays."""
        return self.xp

    def device_index(self, arr) -> int | None:
        """Device index an array lives on (None on CPU)."""
        return None

    def device_ctx(self, index: int | None):
        """Context manager: device ``index`` (None: the current device) is where work runs
        inside, the previous one again after."""
        return _NULL

    def synchronize(self, index: int | None = None) -> None:
        """Wait for queued work on device ``index`` (None: the current device) to finish."""

    def memory_allocated(self, index: int | None = None) -> int:
        """Bytes held by live arrays on device ``index``."""
        return 0

    def memory_reserved(self, index: int | None = None) -> int:
        """Bytes the allocator holds from the driver on device ``index``."""
        return 0

    def empty_cache(self) -> None:
        """Give cached, unused memory back to the driver."""

    def pinned_empty(self, shape: tuple, dtype):
        """An uninitialised NumPy array in page-locked host memory (faster, asynchronous
        copies to this backend's devices); ordinary host memory where pinning means nothing."""
        raise NotImplementedError

    # ---- random numbers ----
    def new_generator(self, seed: int, index: int | None):
        """A fresh random generator for device ``index`` seeded with ``seed``."""
        raise NotImplementedError

    def generator_state(self, gen) -> bytes:
        """A snapshot of ``gen``: bytes that do not change with later draws."""
        raise NotImplementedError

    def restore_generator(self, seed: int, state: bytes, index: int | None):
        """A generator for device ``index`` continuing exactly from ``state`` (taken by
        :meth:`generator_state` from a generator seeded with ``seed``)."""
        raise NotImplementedError


    # ---- scatter and indexing ----
    def add_at(self, out, key, values) -> None:
        """``out[key] += values`` where repeated positions in ``key`` all add up."""
        raise NotImplementedError

    def multiply_at(self, out, key, values) -> None:
        """``out[key] *= values`` where repeated positions in ``key`` all multiply."""
        raise NotImplementedError

    def maximum_at(self, out, key, values) -> None:
        """``out[key] = max(out[key], values)`` where repeated positions all take part."""
        raise NotImplementedError

    def minimum_at(self, out, key, values) -> None:
        """``out[key] = min(out[key], values)`` where repeated positions all take part."""
        raise NotImplementedError

    def mask_key(self, mask) -> tuple:
        """The fastest index equivalent to ``[mask]`` for a boolean ``mask`` array."""
        raise NotImplementedError

    def nonzero(self, arr) -> tuple:
        """``xp.nonzero(arr)``: index arrays of the non-zero elements, in C order."""
        return self.xp.nonzero(arr)

    # ---- sorting ----
    def argsort_stable(self, arr, axis: int = -1):
        """Stable ascending argsort along ``axis`` (equal keys keep their order)."""
        raise NotImplementedError

    def sort_keys(self, arr):
        """``arr`` as something this backend's sorts and arg-reductions order correctly."""
        return arr

    # ---- special functions (float32/float64 in, same dtype out) ----
    def erf(self, x):
        """The error function."""
        raise NotImplementedError

    def erfinv(self, x):
        """The inverse error function."""
        raise NotImplementedError

    def gammaln(self, x):
        """log|Gamma(x)|."""
        raise NotImplementedError

    def digamma(self, x):
        """The logarithmic derivative of Gamma."""
        raise NotImplementedError

    def polygamma(self, n: int, x):
        """The n-th derivative of digamma (n >= 1)."""
        raise NotImplementedError

    def erfc(self, x):
        """The complementary error function ``1 - erf(x)``, accurate where erf is near 1."""
        raise NotImplementedError

    def erfcx(self, x):
        """The scaled complementary error function ``exp(x**2) * erfc(x)``."""
        raise NotImplementedError

    def ndtri(self, x):
        """The inverse of the standard normal CDF."""
        raise NotImplementedError

    def log_ndtr(self, x):
        """The log of the standard normal CDF, accurate in the far left tail."""
        raise NotImplementedError

    def bessel_i(self, order: int, x, scaled: bool = False):
        """The modified Bessel function of the first kind of order 0 or 1; with ``scaled``,
        times ``exp(-|x|)`` (``i0e``, ``i1e``)."""
        raise NotImplementedError

    def zeta(self, x, q):
        """The Hurwitz zeta function ``sum_k (k + q) ** -x``."""
        raise NotImplementedError

    def bessel_k(self, order: int, x, scaled: bool = False):
        """The modified Bessel function of the second kind of order 0 or 1; with ``scaled``,
        times ``exp(x)`` (``k0e``, ``k1e``)."""
        raise NotImplementedError

    def gammainc(self, a, x, upper: bool = False):
        """The regularized lower incomplete gamma function ``P(a, x)``; with ``upper``, the
        upper one ``Q(a, x) = 1 - P(a, x)``."""
        raise NotImplementedError

    # ---- linear algebra ----
    def linalg_errstate(self):
        """Context manager in which failed factorisations raise ``numpy.linalg.LinAlgError``
        (CuPy's solvers are silent by default)."""
        raise NotImplementedError

    def solve_triangular(self, a, b, upper: bool, unit_diagonal: bool = False):
        """``X`` with ``a @ X = b`` for triangular ``a`` (only its ``upper`` / lower triangle is
        read; with ``unit_diagonal`` its diagonal is taken as ones). ``a`` is ``(*, n, n)``,
        ``b`` ``(*, n, k)`` with the same batch dims. An exactly zero diagonal gives inf/nan,
        as LAPACK's trsm does (no error).

        This generic version substitutes one row at a time (n steps, each a batched product);
        backends override it with their library's triangular solver.
        """
        xp = self.xp
        n = a.shape[-1]
        x = xp.zeros(b.shape, dtype=b.dtype)
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            rest = slice(i + 1, n) if upper else slice(0, i)
            s = b[..., i:i + 1, :] - xp.matmul(a[..., i:i + 1, rest], x[..., rest, :])
            x[..., i:i + 1, :] = s if unit_diagonal else s / a[..., i:i + 1, i:i + 1]
        return x

    def lu_factor(self, a, pivot: bool = True):
        """LU factorisation with partial pivoting (LAPACK's getrf) of ``a`` ``(*, m, n)``.

        Returns:
            ``(LU, pivots, info)``: ``L`` (unit diagonal, not stored) and ``U`` packed in one
            array; ``pivots`` ``(*, min(m, n))`` int32, 1-based (row ``i`` was swapped with
            row ``pivots[i]``); ``info`` ``(*)`` int32, the 1-based index of the first exactly
            zero diagonal element of ``U`` (0: none). Nothing is raised for a singular ``a``.
            ``pivot=False`` factors without row swaps.

        This generic version eliminates one column at a time over the whole batch (no host
        synchronisation); backends override it with their library's getrf.
        """
        xp = self.xp
        m, n = a.shape[-2:]
        k = min(m, n)
        batch = a.shape[:-2]
        nb = 1
        for s in batch:
            nb *= s
        lu = a.reshape((nb, m, n)).copy()
        piv = xp.broadcast_to(xp.arange(1, k + 1, dtype=xp.int32), (nb, k)).copy()
        rows = xp.arange(nb)
        one = a.dtype.type(1)
        for j in range(k):
            if pivot and m > 1:
                p = xp.argmax(xp.abs(lu[:, j:, j]), axis=1) + j
                piv[:, j] = (p + 1).astype(xp.int32)
                row_j = lu[:, j, :].copy()
                lu[:, j, :] = lu[rows, p, :]
                lu[rows, p, :] = row_j
            d = lu[:, j:j + 1, j:j + 1]
            # a zero pivot leaves its column unscaled, as getrf does (it is zero below it)
            lu[:, j + 1:, j:j + 1] /= xp.where(d == 0, one, d)
            lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j:j + 1] * lu[:, j:j + 1, j + 1:]
        info = self._lu_info(xp, lu, k)
        return lu.reshape(batch + (m, n)), piv.reshape(batch + (k,)), info.reshape(batch)

    @staticmethod
    def _lu_info(xp, lu, k: int):
        """getrf's ``info`` from a batch ``(b, m, n)`` of packed LU factors."""
        zero = xp.diagonal(lu[:, :k, :k], axis1=-2, axis2=-1) == 0
        if k == 0:
            return xp.zeros(lu.shape[0], dtype=xp.int32)
        first = xp.argmax(zero, axis=-1).astype(xp.int32) + 1
        return xp.where(xp.any(zero, axis=-1), first, xp.int32(0)).astype(xp.int32)

    # ---- elementwise ----
    def relu(self, x):
        """``max(x, 0)`` elementwise, NaN kept: a new array."""
        return self.xp.maximum(x, x.dtype.type(0))

    def relu_backward(self, g, y):
        """ReLU's input gradient from its output ``y``: ``g`` where ``y > 0`` (or NaN), 0
        elsewhere, as torch's ``threshold_backward(g, y, 0)``; an inf or NaN ``g`` over a
        zero ``y`` gives 0 (a product with a 0/1 mask would give NaN)."""
        return self.xp.where(y <= 0, g.dtype.type(0), g)

    def add_bias(self, out, b):
        """``out += b`` in place (a linear layer's bias ``(cols,)`` added to each row of its
        ``(rows, cols)`` product); returns ``out``."""
        out += b
        return out

    def linear_weight_grad(self, g, x):
        """A linear layer's weight gradient ``g.T @ x`` (``g`` ``(K, M)``, ``x`` ``(K, N)``)
        from a kernel faster than the matrix product for these arrays, or None: the caller
        then takes the matrix product (the default, here)."""
        return None

    def sum_axis0(self, x):
        """``x.sum(axis=0)`` of a 2-D array of at least one row (a linear layer's bias
        gradient), in the array's dtype."""
        return x.sum(axis=0)

    def log_softmax(self, x, dim: int):
        """Log-softmax of float ``x`` along ``dim``: ``x - max - log(sum(exp(x - max)))``, a
        new array (NaN and infinities propagate through the formula)."""
        xp = self.xp
        y = x - x.max(axis=dim, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            y -= xp.log(xp.exp(y).sum(axis=dim, keepdims=True))
        return y

    def log_softmax_backward(self, g, y, dim: int):
        """Log-softmax's input gradient from its output ``y``: ``g - exp(y) * sum(g, dim)``."""
        return g - self.xp.exp(y) * g.sum(axis=dim, keepdims=True)

    def can_fuse_nll(self, logp, target) -> bool:
        """Whether :meth:`fused_nll` takes these ``(N, C)`` log-probabilities and targets."""
        return False

    def fused_nll(self, logp, target, ignore_index: int, mean: bool):
        """The unweighted NLL of ``target`` in one pass: ``(loss, coef)`` with the 0-d loss
        (a mean over kept targets, or a sum) and ``d(loss)/d(logp)``; raises IndexError for
        a target out of range. Only where :meth:`can_fuse_nll` says so."""
        raise NotImplementedError

    # ---- in-place updates ----
    def axpy(self, a: float, x, y, tmp=None) -> None:
        """``y += a * x`` in place (``x`` broadcastable to ``y``): torch's
        ``y.add_(x, alpha=a)``. ``tmp``: scratch shaped like ``y`` for the product, or None.
        The CPU backend fuses it into one pass (BLAS axpy: one rounding per element)."""
        y += self.xp.multiply(x, a, out=tmp)

    # ---- fused optimizer updates (optional: see ``fused_optimizers``) ----
    def can_fuse(self, param, grad) -> bool:
        """Whether a fused optimizer kernel can update ``param`` with ``grad``."""
        return False

    def fused_sgd_step(self, p, g, buf, *, lr: float, wd: float, sign: float,
                       momentum: float, damp1: float, first: bool, nesterov: bool) -> None:
        """One SGD update of arrays ``p`` (and momentum ``buf``) in place, in one kernel."""
        raise NotImplementedError

    def fused_adam_step(self, p, g, m, v, vmax, *, sign: float, wd: float, decay: float,
                        w1: float, b2: float, w2: float, bc2_sqrt: float, eps: float,
                        step_size: float) -> None:
        """One Adam/AdamW update of arrays ``p``, ``m``, ``v`` (``vmax`` for AMSGrad) in place,
        in one kernel. ``w1 = 1 - beta1`` and ``w2 = 1 - beta2`` come from the host."""
        raise NotImplementedError

    # ---- events and collectives (optional: see ``nccl_available``) ----
    def record_event(self, index: int | None = None):
        """An event recorded on the current stream of device ``index`` (None: the current
        device): its ``done`` is True once the work queued before it has finished, and its
        ``synchronize()`` waits for that. None where work is synchronous (the CPU)."""
        return None

    # ---- streams, events, device facts and pool limits (asynchronous devices only; the
    # CPU runs work synchronously and has none of these: gpuarr.cuda calls them) ----
    def _no_streams(self):
        raise RuntimeError(f"the {self.name} backend has no streams or device properties")

    def new_stream(self, index: int | None, priority: int = 0):
        """A new stream of device ``index`` (not synchronising with the default stream)."""
        self._no_streams()

    def current_stream(self, index: int | None = None):
        """The stream work on device ``index`` is queued on now."""
        self._no_streams()

    def null_stream(self):
        """The default (legacy) stream."""
        self._no_streams()

    def use_stream(self, stream, index: int | None) -> None:
        """Make ``stream`` the current stream of device ``index``."""
        self._no_streams()

    def new_event(self, index: int | None, timing: bool, blocking: bool, interprocess: bool):
        """A new event of device ``index``."""
        self._no_streams()

    def elapsed_ms(self, start, end) -> float:
        """Milliseconds between two recorded timing events."""
        self._no_streams()

    def device_properties(self, index: int) -> dict:
        """The driver's properties of device ``index`` (cudaGetDeviceProperties' fields)."""
        self._no_streams()

    def mem_get_info(self, index: int | None = None) -> tuple[int, int]:
        """(free, total) bytes of device ``index`` as the driver reports them."""
        self._no_streams()

    def set_memory_fraction(self, fraction: float, index: int | None = None) -> None:
        """Cap the memory pool of device ``index`` at ``fraction`` of its memory."""
        self._no_streams()

    def memory_limit(self, index: int | None = None) -> int:
        """The pool's cap in bytes (0: none)."""
        self._no_streams()

    def raw_alloc(self, size: int, index: int, stream_ptr: int):
        """``size`` bytes from the memory pool that arrays use, on device ``index``, ordered on
        the stream whose handle is ``stream_ptr``; returns the pool's allocation object (it
        has ``ptr``) and the memory goes back to the pool when that object is dropped."""
        self._no_streams()

    def nccl_available(self) -> bool:
        """Whether this backend runs NCCL collectives (the ``nccl_*`` methods below)."""
        return False

    def nccl_unique_id(self) -> bytes:
        """A fresh NCCL unique id (``ncclGetUniqueId``): one rank makes it and sends it to every
        rank of the communicator it is for."""
        raise RuntimeError(f"the {self.name} backend has no NCCL: NCCL moves CUDA tensors only")

    def nccl_communicator(self, nranks: int, unique_id: bytes, rank: int,
                          index: int | None = None):
        """This process's NCCL communicator of ``nranks`` ranks on device ``index`` (None: the
        current device), as rank ``rank``; every rank calls this at the same time with the same
        ``unique_id``. Returns an opaque object with ``destroy()``."""
        raise RuntimeError(f"the {self.name} backend has no NCCL: NCCL moves CUDA tensors only")

    def nccl_call(self, comm, func: str, send, recv, *, op: str | None = None,
                  root: int | None = None, peer: int | None = None) -> None:
        """Queue NCCL's ``func`` on ``comm`` on the current stream of its device.

        Args:
            comm: from :meth:`nccl_communicator`.
            func: 'allReduce', 'reduce', 'broadcast', 'allGather', 'reduceScatter' (counts from
                ``recv``), 'send' (``send`` only) or 'recv' (``recv`` only).
            send, recv: C-contiguous arrays on ``comm``'s device of a dtype NCCL knows
                (int8/uint8/int32/uint32/int64/uint64/float16/float32/float64; a TypeError
                names any other); the same array for in-place.
            op: 'sum', 'prod', 'max', 'min' or 'avg' for the reductions.
            root: the root rank (reduce, broadcast); peer: the other rank (send, recv).
        """
        raise RuntimeError(f"the {self.name} backend has no NCCL: NCCL moves CUDA tensors only")

    def nccl_group(self):
        """Context manager: the NCCL calls inside form one group (``ncclGroupStart`` /
        ``ncclGroupEnd``), e.g. matching sends and receives that would otherwise deadlock."""
        raise RuntimeError(f"the {self.name} backend has no NCCL: NCCL moves CUDA tensors only")
