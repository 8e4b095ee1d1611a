"""Fused CPU kernels: one C call where the NumPy form of an op takes several.

On small arrays NumPy's cost is per call (0.5-4 us each, whatever the size), so a chain of
calls costs more than the arithmetic: a cross-entropy on 16x10 logits is about 30 calls and
60 us. The C extension ``gpuarr.backends._cpu_kernels`` (gpuarr/backends/_cpu_kernels.c,
built when gpuarr is installed) does a few such chains in one pass each:

- ReLU's backward (``g`` where ``y > 0``);
- column sums of a 2-D array (a linear layer's bias gradient), bit for bit NumPy's;
- log-softmax over the last axis, and its backward;
- the negative log-likelihood of class indices without class weights (loss, gradient
  coefficients and the target range check).

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

__all__ = ["ENABLED", "KERNELS", "fits", "nll_fits", "relu_backward", "sum_axis0",
           "log_softmax_rows", "log_softmax_rows_backward", "nll_rows"]

# The functions that run a kernel: a compiled step records each call to one as one call
KERNELS = ("relu_backward", "sum_axis0", "log_softmax_rows", "log_softmax_rows_backward",
           "nll_rows")

# Whether the kernels are used; tests switch it off to run the NumPy forms.
ENABLED: bool = _k is not None

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
