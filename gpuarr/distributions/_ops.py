"""Small differentiable helpers the distributions need (kept private to this package).

``logsumexp``, ``softplus``, batched ``matmul``, ``solve``, ``solve_triangular``,
``cholesky`` and ``tril`` are written here as gpuarr Functions (forward on the backend array,
backward with gpuarr ops) so that the distributions depend only on the core. Boolean
reductions used by constraint checks (``all_``, ``any_``) run on the backend array directly.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._creation import eye, tensor
from .._tensor import Tensor, _make
from ..autograd.function import Function
from ..autograd.grad_mode import _state
from ..ops.elementwise import sigmoid, where

__all__ = [
    "all_", "any_", "is_all_true", "max_item", "min_item", "argmax_last", "logsumexp",
    "softplus", "matmul", "solve", "solve_triangular", "cholesky", "tril", "diagonal",
    "one_hot", "take_last", "finfo",
]


def finfo(dtype: D.dtype) -> np.finfo:
    """NumPy's float info for a gpuarr float dtype (eps, tiny, min, max)."""
    return np.finfo(dtype.np)


def all_(t: Tensor, dim: int | None = None) -> Tensor:
    """Logical AND over ``dim`` (all dims when None) as a bool tensor; no gradient."""
    xp = t._device._xp()
    return _make(xp.all(t._data, axis=dim), t._device)


def any_(t: Tensor, dim: int | None = None) -> Tensor:
    """Logical OR over ``dim`` (all dims when None) as a bool tensor; no gradient."""
    xp = t._device._xp()
    return _make(xp.any(t._data, axis=dim), t._device)


def max_item(t: Tensor) -> float:
    """The largest element as a Python float (0.0 for an empty tensor); no gradient."""
    if t.numel() == 0:
        return 0.0
    return float(t._device._xp().max(t._data))


def min_item(t: Tensor) -> float:
    """The smallest element as a Python float (0.0 for an empty tensor); no gradient."""
    if t.numel() == 0:
        return 0.0
    return float(t._device._xp().min(t._data))


def argmax_last(t: Tensor) -> Tensor:
    """Index of the largest entry along the last dim (int64; no gradient)."""
    return _make(t._device._xp().argmax(t._data, axis=-1).astype(np.int64), t._device)


def is_all_true(t: Tensor) -> bool:
    """True if every element of a bool tensor is True (one device sync)."""
    return bool(t._device._xp().all(t._data))


def logsumexp(x: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x), dim))`` computed stably; differentiable (the gradient is softmax)."""
    xp = x._device._xp()
    with np.errstate(invalid="ignore"):
        m = xp.max(x._data, axis=dim, keepdims=True) if x._data.shape[dim] else None
    if m is None:  # an empty dim: log(0)
        return (x.exp().sum(dim, keepdim=keepdim)).log()
    # rows that are all -inf (or +inf) would give inf - inf: shift by 0 there instead
    m = xp.where(xp.isinf(m), 0, m).astype(x._data.dtype, copy=False)
    mt = _make(m, x._device)
    out = (x - mt).exp().sum(dim, keepdim=True).log() + mt
    return out if keepdim else out.squeeze(dim)


class Softplus(Function):
    """``log(1 + exp(x))`` without overflow; the gradient is ``sigmoid(x)``."""

    _raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.logaddexp(x.dtype.type(0), x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sigmoid(x)


def softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` elementwise, stable for large ``|x|``."""
    if not (_state.enabled and x._rg):
        xp = x._device._xp()
        return _make(xp.logaddexp(x._data.dtype.type(0), x._data), x._device)
    return Softplus.apply(x)


def _mT(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _mT_arr(a):
    return a.swapaxes(-1, -2)


def _tril_arr(xp, a, k: int):
    """Lower triangle of the last two dims of an array (batched; same on NumPy and CuPy)."""
    mask = xp.tri(a.shape[-2], a.shape[-1], k, dtype=bool)
    return xp.where(mask, a, a.dtype.type(0))


def _bcast_batch(xp, a, b):
    """Broadcast the batch dims (all but the last two) of two stacks of matrices."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    # contiguous copies: CuPy's batched solvers want equal batch dims and real strides
    return (xp.ascontiguousarray(xp.broadcast_to(a, batch + a.shape[-2:])),
            xp.ascontiguousarray(xp.broadcast_to(b, batch + b.shape[-2:])))


class Matmul(Function):
    """Batched matrix product of two stacks of matrices (batch dims broadcast)."""

    _raw = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return ctx.xp.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = matmul(g, _mT(b)) if ctx.needs_input_grad[0] else None
        gb = matmul(_mT(a), g) if ctx.needs_input_grad[1] else None
        return ga, gb  # the engine sums broadcast batch dims


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for tensors of at least two dims (batch dims broadcast)."""
    return Matmul.apply(a, b)


class Solve(Function):
    """``X = A^-1 B`` for stacks of square ``A`` (..., n, n) and ``B`` (..., n, k)."""

    _raw = True

    @staticmethod
    def forward(ctx, a, b, lower):
        xp = ctx.xp
        if lower is not None:
            # a triangular solve reads only one triangle of A (as torch's solve_triangular)
            a = _tril_arr(xp, a, 0) if lower else _mT_arr(_tril_arr(xp, _mT_arr(a), 0))
        a2, b2 = _bcast_batch(xp, a, b)
        x = xp.linalg.solve(a2, b2)
        ctx.save_for_backward(a, x)
        ctx.lower = lower
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = solve(_mT(a), g)
        ga = None
        if ctx.needs_input_grad[0]:
            ga = -matmul(gb, _mT(x))
            if ctx.lower is not None:
                ga = tril(ga) if ctx.lower else _mT(tril(_mT(ga)))
        return ga, gb, None


def solve(a: Tensor, b: Tensor) -> Tensor:
    """Solve ``a @ x = b`` for ``x`` (``b`` is a stack of matrices)."""
    return Solve.apply(a, b, None)


def solve_triangular(a: Tensor, b: Tensor, *, upper: bool = False) -> Tensor:
    """Solve ``a @ x = b`` reading only the lower (or upper) triangle of ``a``."""
    return Solve.apply(a, b, not upper)


class Tril(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return _tril_arr(ctx.xp, x, k)

    @staticmethod
    def backward(ctx, g):
        return tril(g, ctx.k), None


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (entries above ``diagonal`` set to 0)."""
    if not (_state.enabled and x._rg):
        return _make(_tril_arr(x._device._xp(), x._data, diagonal), x._device)
    return Tril.apply(x, diagonal)


class Cholesky(Function):
    """Lower Cholesky factor of a stack of symmetric positive-definite matrices."""

    _raw = True

    @staticmethod
    def forward(ctx, a):
        out = _cholesky_arr(ctx.xp, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (L,) = ctx.saved_tensors
        # dA = L^-T Phi(L^T dL) L^-1, symmetrised; Phi keeps the lower triangle with the
        # diagonal halved (the standard result for A = L L^T)
        p = tril(matmul(_mT(L), g))
        p = 0.5 * (p + _mT(tril(p, -1)))
        ga = solve_triangular(_mT(L), p, upper=True)
        # right-multiply by L^-1: X L = ga  <=>  L^T X^T = ga^T
        ga = _mT(solve_triangular(_mT(L), _mT(ga), upper=True))
        return ga


def _cholesky_arr(xp, a):
    try:
        if xp is np:
            return np.linalg.cholesky(a)
        import cupyx

        # CuPy only reports a failed factorisation when asked to raise
        with cupyx.errstate(linalg="raise"):
            return xp.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise _not_pd_error() from None


def _not_pd_error() -> RuntimeError:
    return RuntimeError(
        "linalg.cholesky: The factorization could not be completed because the input is not "
        "positive-definite."
    )


def cholesky(a: Tensor) -> Tensor:
    """Lower Cholesky factor ``L`` with ``a = L @ L.mT``; differentiable."""
    return Cholesky.apply(a)


def diagonal(x: Tensor) -> Tensor:
    """The main diagonals of a stack of square matrices, shape (..., n); differentiable."""
    n = x.shape[-1]
    return (x * eye(n, dtype=x.dtype, device=x.device)).sum(-1)


def one_hot(idx: Tensor, num_classes: int, dtype: D.dtype) -> Tensor:
    """One-hot encoding of integer ``idx`` along a new last dim, as ``dtype`` (no gradient)."""
    xp = idx._device._xp()
    ar = xp.arange(num_classes)
    return _make((idx._data[..., None] == ar).astype(dtype.np), idx._device)


def take_last(x: Tensor, idx: Tensor) -> Tensor:
    """``x[..., idx]`` per batch element: ``x`` (..., K), integer ``idx`` (...), broadcast.

    Differentiable in ``x`` (the gradient lands on the picked entries only).
    """
    mask = one_hot(idx, x.shape[-1], D.bool)
    zero = tensor(0.0, dtype=x.dtype, device=x.device)
    return where(mask, x, zero).sum(-1)
