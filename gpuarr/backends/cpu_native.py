"""Fused CPU kernels: one C call where the NumPy form of an op takes several.

On small arrays NumPy's cost is per call (0.5-4 us each, whatever the size), so a chain of
calls costs more than the arithmetic: a cross-entropy on 16x10 logits is about 30 calls and
60 us. The C extension ``gpuarr.backends._cpu_kernels`` (gpuarr/backends/_cpu_kernels.c,
built when gpuarr is installed) does a few such chains in one pass each:

- ReLU's backward (``g`` where ``y > 0``);
- a linear layer's bias added to each row of its product, with ReLU's output beside it when a
  compiled step fuses the two;
- column sums of a 2-D array (a linear layer's bias gradient), bit for bit NumPy's;
- log-softmax over the last axis, and its backward;
- the negative log-likelihood of class indices without class weights (loss, gradient
  coefficients and the target range check);
- on x86-64 with AVX2 and FMA: ``y += a * x`` as one fused multiply-add per element (SGD's
  update), and a linear layer's float32 weight gradient ``g.T @ x`` for small batches, alone or
  with that update fused in (see :func:`linear_weight_grad`).

The C build is optional: without it (no compiler at install time) :data:`ENABLED` is False
and the callers run their NumPy forms. The callers ask :func:`fits` first; eager ops and a
compiled step's replay then make the same calls (the tracer records each function here as
one call), so a replay's results equal eager's bit for bit either way. The kernels' own
results differ from the NumPy forms' in the last bits (libm's ``exp``/``log`` and the
summation order), as two BLAS builds do.

Example:
    >>> from gpuarr.backends import cpu_native
    >>> x = np.array([[1.0, 2.0]], np.float32)
    >>> cpu_native.log_softmax_rows(x) if cpu_native.fits(x) else None  # doctest: +SKIP
    array([[-1.3132616 , -0.31326166]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

try:
    from . import _cpu_kernels as _k
except ImportError:  # built without a C compiler: the NumPy forms run instead
    _k = None

__all__ = ["ENABLED", "FMA", "IN_PLACE", "KERNELS", "WGRAD_MAX_K", "add_bias_rows",
           "add_bias_rows_relu", "axpy", "axpy_fits", "bias_fits", "fits",
           "linear_weight_grad", "linear_weight_grad_sgd", "log_softmax_rows",
           "log_softmax_rows_backward", "nll_fits", "nll_rows", "relu_backward", "sum_axis0",
           "wgrad_fits"]

# The functions that run a kernel: a compiled step records each call to one as one call
KERNELS = ("relu_backward", "sum_axis0", "log_softmax_rows", "log_softmax_rows_backward",
           "nll_rows", "linear_weight_grad", "add_bias_rows")
# those of them that write an operand (the others only read theirs and return new arrays)
IN_PLACE = ("add_bias_rows",)

# Whether the kernels are used; tests switch it off to run the NumPy forms.
ENABLED: bool = _k is not None
# Whether the AVX2/FMA kernels (axpy, the weight gradient) exist on this machine.
FMA: bool = ENABLED and _k.fma_available()
# The largest batch whose weight gradient the kernel computes. Measured on one x86 core against
# OpenBLAS's sgemm, 256x784 gradients: batch 16 71 vs 107 us, 24 114 vs 138, 32 167 vs 171,
# 48 262 vs 251 (with SGD's update fused: 32 184 vs 197 us, 48 277 vs 265).
WGRAD_MAX_K = 32

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# Above this many elements the log-softmax kernels give way to NumPy, whose SIMD exp runs
# several times faster than libm's scalar one once the per-call cost stops mattering. Measured
# on a 2-core x86 VM, float32, C against NumPy: 16x10 1.9 vs 7.7 us, 64x10 5.3 vs 12.8 us,
# 16x256 30 vs 16 us.
ROWS_MAX_SIZE = 1024


def fits(*arrays: np.ndarray, rows: bool = False) -> bool:
    """Whether the kernels take these CPU arrays: float32/float64 arrays of one dtype and
    shape, C-contiguous, with at least one element; ``rows``: a log-softmax kernel, which also
    wants at most :data:`ROWS_MAX_SIZE` elements and at least one dimension.

    Args:
        arrays: the operands (same dtype and shape).
        rows: whether a row kernel will run.

    Returns:
        True when the kernel may run; False sends the caller to its NumPy form.
    """
    if not ENABLED:
        return False
    # (no type test: the CPU backend calls this with its arrays, which a compiled step's trace
    # wraps in stand-ins that answer dtype, shape and flags as the arrays do)
    a = arrays[0]
    if a.dtype not in _FLOATS or a.size == 0:
        return False
    if rows and (a.ndim == 0 or a.size > ROWS_MAX_SIZE):
        return False
    for b in arrays:
        if b.dtype != a.dtype or b.shape != a.shape or not b.flags.c_contiguous:
            return False
    return True


def bias_fits(x: np.ndarray, b: np.ndarray) -> bool:
    """Whether :func:`add_bias_rows` takes ``x`` ``(rows, cols)`` and ``b`` ``(cols,)``:
    float32/float64 of one dtype, C-contiguous, ``x`` writable with at least one element, the
    two sharing no memory."""
    if not ENABLED:
        return False
    dt = x.dtype
    return (dt in _FLOATS and b.dtype == dt and x.ndim == 2 and b.ndim == 1
            and x.shape[1] == b.shape[0] and x.size > 0 and x.flags.c_contiguous
            and x.flags.writeable and b.flags.c_contiguous
            and ((x.base is None and b.base is None) or not np.may_share_memory(x, b)))


def add_bias_rows(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x += b`` for each row of ``x`` in place (a linear layer's bias): NumPy's broadcast
    add, bit for bit, without its per-row loop.

    Args:
        x, b: arrays that :func:`bias_fits` (at a compiled step's replay, a non-contiguous
            ``x`` takes NumPy's add: the same bits).

    Returns:
        ``x``.
    """
    if x.flags.c_contiguous and x.flags.writeable:
        _k.bias_rows(x, _c(b), None, x.shape[1])
    else:
        x += b
    return x


def add_bias_rows_relu(x: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`add_bias_rows`, then ReLU of the result into a new array (as the CPU backend's
    ReLU, ``maximum(x, 0)``: NaN passes, -0.0 becomes 0.0), in one pass. A compiled step runs
    this where eager added the bias and then ran the ReLU layer; the bits are the same.

    Args:
        x, b: as for :func:`add_bias_rows`.

    Returns:
        ``(x, relu(x))``.
    """
    out = np.empty(x.shape, x.dtype)
    if x.flags.c_contiguous and x.flags.writeable:
        _k.bias_rows(x, _c(b), out, x.shape[1])
    else:
        x += b
        np.maximum(x, np.zeros(x.shape, x.dtype), out=out)
    return x, out


def _c(a: np.ndarray) -> np.ndarray:
    """``a`` as the C-contiguous array the kernels read. The callers' :func:`fits` saw
    contiguous arrays, but a compiled step's replay calls these functions again on whatever
    arrays that replay gets (a gradient may come as a transposed view), and must compute what
    eager computed."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def relu_backward(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ReLU's input gradient from its output: ``g`` where ``y > 0`` (or NaN), else 0.

    Args:
        g, y: arrays that :func:`fits`.

    Returns:
        A new array (an inf or NaN ``g`` over ``y <= 0`` gives 0, as torch's threshold).
    """
    out = np.empty(g.shape, g.dtype)
    _k.relu_backward(_c(g), _c(y), out)
    return out


def sum_axis0(x: np.ndarray) -> np.ndarray:
    """``x.sum(axis=0)`` of a 2-D array, in NumPy's order (so bit for bit its result).

    Args:
        x: a 2-D array that :func:`fits`.

    Returns:
        A new ``(x.shape[1],)`` array.
    """
    out = np.empty(x.shape[1:], x.dtype)
    _k.sum_axis0(_c(x), out, x.shape[1])
    return out


def log_softmax_rows(x: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis: ``x - max - log(sum(exp(x - max)))`` per row.

    Args:
        x: an array that :func:`fits` with ``rows=True``.

    Returns:
        A new array shaped like ``x``.
    """
    out = np.empty(x.shape, x.dtype)
    _k.log_softmax_rows(_c(x), out, x.shape[-1])
    return out


def log_softmax_rows_backward(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Log-softmax's input gradient from its output ``y``: ``g - exp(y) * sum(g)`` per row.

    Args:
        g, y: arrays that :func:`fits` with ``rows=True``.

    Returns:
        A new array shaped like ``g``.
    """
    out = np.empty(g.shape, g.dtype)
    _k.log_softmax_rows_backward(_c(g), _c(y), out, g.shape[-1])
    return out


def nll_fits(logp: np.ndarray, target: np.ndarray) -> bool:
    """Whether :func:`nll_rows` takes ``(N, C)`` log-probabilities and ``(N,)`` targets."""
    return (logp.ndim == 2 and fits(logp) and target.dtype == np.int64
            and target.shape == logp.shape[:1] and target.flags.c_contiguous)


def nll_rows(logp: np.ndarray, target: np.ndarray, ignore_index: int,
             mean: bool) -> tuple[np.ndarray, np.ndarray]:
    """Negative log-likelihood of ``target`` classes under ``(N, C)`` log-probabilities.

    Args:
        logp, target: arrays that :func:`nll_fits`.
        ignore_index: targets equal to it count for nothing.
        mean: divide by the number of kept targets (NaN when there are none), else the sum.

    Returns:
        ``(loss, coef)``: the 0-d loss and ``d(loss)/d(logp)``, which is ``-1/max(n, 1)`` (or
        -1 for a sum) at each kept target and 0 elsewhere.

    Raises:
        IndexError: for a target outside ``[0, C)`` that is not ``ignore_index``, as torch.
    """
    coef = np.zeros(logp.shape, logp.dtype)
    loss = np.empty((), logp.dtype)
    bad = _k.nll_rows(_c(logp), _c(target), coef, loss, logp.shape[1], ignore_index, mean)
    if bad >= 0:
        raise IndexError(f"Target {int(target[bad])} is out of bounds.")
    return loss, coef


def axpy_fits(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether :func:`axpy` takes ``x`` and ``y``: float32/float64 arrays of one dtype and
    shape, C-contiguous, ``y`` writable, not overlapping unless they are the same array."""
    if not (FMA and ENABLED):
        return False
    dt = y.dtype
    return (dt in _FLOATS and x.dtype == dt and x.shape == y.shape
            and x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable
            and (x is y or (x.base is None and y.base is None)
                 or not np.may_share_memory(x, y)))


def axpy(a: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y += a * x`` in place, each element ``fma(a, x, y)`` (one rounding), as torch's
    vectorised ``y.add_(x, alpha=a)`` computes it on the CPU.

    Args:
        a: the scale (rounded to ``y``'s dtype first, as BLAS's ``?axpy`` takes it).
        x, y: arrays that :func:`axpy_fits`.

    Returns:
        ``y``.
    """
    _k.axpy(x, y, a)
    return y


def wgrad_fits(g: np.ndarray, x: np.ndarray) -> bool:
    """Whether :func:`linear_weight_grad` takes a linear layer's output gradient ``g``
    ``(K, M)`` and input ``x`` ``(K, N)``: float32, 2-D, C-contiguous, one batch size
    ``1 <= K <=`` :data:`WGRAD_MAX_K` and at least one output and input feature."""
    if not (FMA and ENABLED):
        return False
    f32 = _FLOATS[0]
    return (g.dtype == f32 and x.dtype == f32 and g.ndim == 2 and x.ndim == 2
            and 0 < g.shape[0] == x.shape[0] <= WGRAD_MAX_K and g.shape[1] > 0
            and x.shape[1] > 0 and g.flags.c_contiguous and x.flags.c_contiguous)


def linear_weight_grad(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A linear layer's weight gradient ``g.T @ x`` for a small batch, float32.

    Each element is one chain of fused multiply-adds over the batch in order, so the result
    does not depend on the shapes' tiling (it differs from a BLAS's in the last bits, as two
    BLAS builds do).

    Args:
        g: the output gradient ``(K, M)``; x: the layer's input ``(K, N)`` (arrays that
            :func:`wgrad_fits`).

    Returns:
        A new ``(M, N)`` array.

    Example:
        >>> g, x = np.ones((2, 3), np.float32), np.ones((2, 4), np.float32)
        >>> linear_weight_grad(g, x)[0] if wgrad_fits(g, x) else None  # doctest: +SKIP
        array([2., 2., 2., 2.], dtype=float32)
    """
    g, x = _c(g), _c(x)
    k, m = g.shape
    n = x.shape[1]
    out = np.empty((m, n), np.float32)
    _k.linear_wgrad(g, x, out, k, m, n, None, 0.0)
    return out


def linear_weight_grad_sgd(g: np.ndarray, x: np.ndarray, a: float, w: np.ndarray) -> np.ndarray:
    """:func:`linear_weight_grad` and then ``w += a * grad`` (:func:`axpy`), in one pass: each
    gradient element updates ``w`` while it is still in a register. The results are the bits
    of the two calls.

    Args:
        g, x: as for :func:`linear_weight_grad`.
        a: the update's scale (SGD's ``-lr``).
        w: the weight, ``(M, N)`` float32, C-contiguous, writable, sharing no memory with
            ``g`` or ``x``; updated in place.

    Returns:
        The new gradient array.
    """
    g, x = _c(g), _c(x)
    k, m = g.shape
    n = x.shape[1]
    out = np.empty((m, n), np.float32)
    _k.linear_wgrad(g, x, out, k, m, n, w, a)
    return out
