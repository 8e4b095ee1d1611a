"""More of torch.linalg: qr, lstsq, pinv, matrix_rank, matrix_power, matrix_exp, solve_triangular,
lu_factor, lu, lu_solve, cond, householder_product and the *_ex forms.

They build on :mod:`gpuarr.ops.decompositions` (svd, eigh, inv, solve, cholesky and their
torch-compatible checks). The backend is asked for what NumPy and CuPy do differently: a
triangular solve (``Backend.solve_triangular``) and an LU factorisation
(``Backend.lu_factor``). Gradients are written with gpuarr ops, so second derivatives work.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .. import return_types
from .._core.function import Function
from .._core.grad_mode import no_grad
from .._core.tensor import TensorBase
from ..backends import of_module, sync_debug
from ._common import broadcast_shapes, check_same_device, dtype_name
from ._out import write_out
from .decompositions import (
    Cholesky,
    Inv,
    LinAlgError,
    Solve,
    _batch_prefix,
    _check_float,
    _check_matrix,
    _check_square,
    _const,
    _first_bad_minor,
    _first_zero_pivot,
    _guard,
    _host,
    _mT,
    _need_tensor,
    _no_kernel,
    _solve_raw,
    eigvalsh,
    inv,
    matrix_norm,
    solve,
    svdvals,
)
from .elementwise import exp, where
from .matmul import _product
from .stacking import cat

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "qr", "pinv", "matrix_rank", "lstsq", "matrix_power", "matrix_exp", "solve_triangular",
    "lu_factor", "lu_factor_ex", "lu", "lu_solve", "inv_ex", "cholesky_ex", "solve_ex",
    "cond", "tensorinv", "tensorsolve", "vander", "diagonal", "householder_product",
]

_LAPACK_KINDS = "iubV"  # int, uint, bool, bfloat16: torch's LAPACK kernels have none of them


def _backend(xp):
    return of_module(xp)


def _eye(n: int, like: Tensor, m: int | None = None) -> Tensor:
    return _const(like._device._xp().eye(n, n if m is None else m, dtype=like._data.dtype), like)


def _zeros(shape, like: Tensor, dtype=None) -> Tensor:
    xp = like._device._xp()
    return _const(xp.zeros(tuple(shape), dtype=dtype or like._data.dtype), like)


# --------------------------------------------------------------------------------------------
# solve_triangular


class SolveTriangular(Function):
    """``X = A^-1 B`` for triangular ``A (*, n, n)`` and ``B (*, n, k)``; batch dims broadcast.

    Only the ``upper`` (or lower) triangle of ``A`` is read, so its gradient is that triangle
    of ``-A^-T g X^T`` (strictly, when ``unit``), as torch's.
    """

    _node_name = "LinalgSolveTriangularBackward0"

    _raw = True

    @staticmethod
    def forward(ctx, A, B, upper, unit):
        xp = ctx.xp
        batch = broadcast_shapes(A.shape[:-2], B.shape[:-2])
        Ab = xp.broadcast_to(A, batch + A.shape[-2:])
        Bb = xp.broadcast_to(B, batch + B.shape[-2:])
        if Ab.size == 0 or Bb.size == 0:
            X = xp.zeros(Bb.shape, dtype=B.dtype)
        else:
            X = _backend(xp).solve_triangular(xp.ascontiguousarray(Ab), xp.ascontiguousarray(Bb),
                                              upper, unit)
        ctx.flags = (upper, unit)
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        upper, unit = ctx.flags
        gB = SolveTriangular.apply(_mT(A), g, not upper, unit)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -_product(gB, _mT(X))
            gA = gA.triu(1 if unit else 0) if upper else gA.tril(-1 if unit else 0)
        return gA, gB, None, None


def _trsolve(A: Tensor, B: Tensor, upper: bool, left: bool = True, unit: bool = False) -> Tensor:
    """Triangular solve of checked operands: ``A X = B`` (``left``) or ``X A = B``."""
    if left:
        return SolveTriangular.apply(A, B, upper, unit)
    return _mT(SolveTriangular.apply(_mT(A), _mT(B), not upper, unit))


def _check_same_dtype(fn: str, A: Tensor, B: Tensor, a: str = "A", b: str = "B") -> None:
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(
            f"{fn}: Expected {a} and {b} to have the same dtype, but found {a} of type "
            f"{dtype_name(A.dtype)} and {b} of type {dtype_name(B.dtype)} instead"
        )


def _check_system(fn: str, A: Tensor, B: Tensor, left: bool) -> None:
    """torch's shape check for ``A X = B`` / ``X A = B`` (``A`` square, ``B`` a matrix)."""
    if B._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor B must have at least 2 dimensions.")
    n = A._data.shape[-1]
    r, c = B._data.shape[-2:]
    if (r if left else c) != n:
        raise RuntimeError(
            f"{fn}: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {r}x{c})"
        )
    broadcast_shapes(A._data.shape[:-2], B._data.shape[:-2])


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool | None = None, left: bool = True,
                     unitriangular: bool = False, out=None) -> Tensor:
    """Solve ``A X = B`` (or ``X A = B`` with ``left=False``) for triangular ``A``.

    Args:
        A: ``(*, n, n)``: only its upper (``upper=True``) or lower triangle is read.
        B: ``(*, n, k)`` (``(*, k, n)`` when ``left=False``); batch dims broadcast with A's.
            It is cast to ``A``'s dtype, as torch does.
        upper: whether ``A`` is upper triangular (required, as in torch).
        left: solve ``A X = B`` (True) or ``X A = B``.
        unitriangular: take ``A``'s diagonal as ones (it is not read).

    Returns:
        ``X``. A zero on the diagonal gives inf/nan, as in torch (no error).

    Example:
        >>> A = gpuarr.tensor([[2., 1.], [0., 4.]])
        >>> gpuarr.linalg.solve_triangular(A, gpuarr.tensor([[3.], [4.]]), upper=True)
        tensor([[1.],
                [1.]])
    """
    fn = "linalg.solve_triangular"
    if upper is None:  # required, as in torch (keyword-only, so it has to default to something)
        raise TypeError('linalg_solve_triangular() missing 1 required positional arguments: '
                        '"upper"')
    _need_tensor("solve_triangular", A)
    _need_tensor("solve_triangular", B, "B")
    check_same_device(A, B)
    _check_matrix("solve_triangular", A)
    _check_square("solve_triangular", A)
    _check_system(fn, A, B, left)
    _no_kernel("triangular_solve_cpu", A, _LAPACK_KINDS)
    if B._data.dtype != A._data.dtype:  # torch computes in A's dtype
        B = B.to(A.dtype)
    res = _trsolve(A, B, upper, left, unitriangular)
    return res if out is None else write_out(res, out, "linalg_solve_triangular", rule="exact")


# --------------------------------------------------------------------------------------------
# qr


_QR_MODES = ("reduced", "complete", "r")


class Qr(Function):
    """``A = Q R``; the backward is torch's (real case), from the reduced factorisation."""

    _node_name = "LinalgQrBackward0"

    _raw = True

    @staticmethod
    def forward(ctx, A, mode):
        xp = ctx.xp
        m, n = A.shape[-2:]
        k = min(m, n)
        ctx.mn, ctx.mode = (m, n), mode
        ctx.set_materialize_grads(False)
        b = A.shape[:-2]
        mq = m if mode == "complete" else k
        if k == 0:  # LAPACK refuses empty matrices: the factors are trivial
            Q = xp.broadcast_to(xp.eye(m, mq, dtype=A.dtype), b + (m, mq)).copy()
            R = xp.zeros(b + (mq, n), dtype=A.dtype)
        elif mode == "r":
            R = xp.linalg.qr(A, mode="r")
        else:
            Q, R = xp.linalg.qr(A, mode=mode)
        if mode == "r":  # torch returns an empty Q
            Q = xp.zeros((0,), dtype=A.dtype)
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        m, n = ctx.mn
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        Q, R = ctx.saved_tensors
        gQ = gQ if gQ is not None else _zeros(Q.shape, Q)
        gR = gR if gR is not None else _zeros(R.shape, R)
        if m >= n:
            return _qr_grad(gQ, gR, Q, R), None
        # wide: A = Q [U V] with U square; the last columns Y = Q V enter like a product
        U, V = R[..., :, :m], R[..., :, m:]
        gU, gV = gR[..., :, :m], gR[..., :, m:]
        gX = _qr_grad(gQ + _product(_product(Q, V), _mT(gV)), gU, Q, U)
        return cat([gX, _product(Q, gV)], -1), None


def _qr_grad(gQ: Tensor, gR: Tensor, Q: Tensor, R: Tensor) -> Tensor:
    """Gradient of a tall/square QR: ``(gQ + Q copyltu(M)) R^-T`` with
    ``M = R gR^T - gQ^T Q`` (copyltu: the lower triangle mirrored upwards)."""
    M = _product(R, _mT(gR)) - _product(_mT(gQ), Q)
    low = M.tril(-1)
    sym = M.tril() + _mT(low)
    return _trsolve(_mT(R), gQ + _product(Q, sym), upper=False, left=False)


def _lapack_dtype(fn: str, A: Tensor, kernel: str) -> None:
    """torch's errors for a LAPACK routine: integers are refused as non-floating, half and
    bfloat16 as kernels it lacks."""
    if A._data.dtype.kind in "iub":
        _check_float(fn, A)
    _no_kernel(kernel, A, "V")


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """QR decomposition ``A = Q R`` with orthonormal ``Q`` and upper-triangular ``R``.

    Args:
        A: a (batch of) ``m x n`` floating matrices.
        mode: 'reduced' (``Q`` is ``m x k``, ``R`` ``k x n``, ``k = min(m, n)``), 'complete'
            (``Q`` is ``m x m``, ``R`` ``m x n``) or 'r' (``R`` only; ``Q`` is empty).

    Returns:
        ``(Q, R)`` as ``return_types.linalg_qr``. Differentiable except for mode 'r' and for
        'complete' with ``m > n`` (torch's errors, at backward time).

    Example:
        >>> Q, R = gpuarr.linalg.qr(gpuarr.tensor([[3., 0.], [4., 5.]]))
        >>> (Q @ R).round()
        tensor([[3., 0.],
                [4., 5.]])
    """
    _need_tensor("qr", A)
    if mode not in _QR_MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    _check_matrix("qr", A)
    _lapack_dtype("qr", A, "geqrf_cpu")
    res = return_types.linalg_qr(*Qr.apply(A, mode))
    return res if out is None else write_out(res, out, "linalg_qr", rule="exact")


# --------------------------------------------------------------------------------------------
# pinv, matrix_rank


def _tol_array(x, like: Tensor):
    """A tolerance (None, number or Tensor) as an array on ``like``'s device (None stays)."""
    if x is None:
        return None
    xp = like._device._xp()
    real = like._data.dtype if like._data.dtype.kind == "f" else np.float64
    if isinstance(x, TensorBase):
        check_same_device(x, like)
        return x._data.astype(real, copy=False)
    return xp.asarray(float(x), dtype=real)


def _tolerances(A: Tensor, atol, rtol):
    """torch's ``(atol, rtol)``: atol defaults to 0; rtol to ``eps * max(m, n)``, or 0 where
    a positive atol is given."""
    xp = A._device._xp()
    m, n = A._data.shape[-2:]
    real = np.dtype(A._data.dtype if A._data.dtype.kind == "f" else np.float64)
    default = xp.asarray(np.finfo(real).eps * max(m, n), dtype=real)
    a = _tol_array(atol, A)
    r = _tol_array(rtol, A)
    if r is None:
        r = default if a is None else xp.where(a > 0, real.type(0), default)
    if a is None:
        a = xp.zeros((), dtype=real)
    return a, r


def _threshold(xp, smax, atol, rtol):
    """``max(atol, rtol * smax)`` per matrix, shaped to compare with ``S (*, k)``."""
    return xp.maximum(atol[..., None], rtol[..., None] * smax)


class Pinv(Function):
    """Moore-Penrose pseudo-inverse from the SVD (or ``eigh`` when ``hermitian``); the
    backward is torch's ``pinv_backward``, written with matrix products."""

    _node_name = "LinalgPinvBackward0"

    _raw = True

    @staticmethod
    def forward(ctx, A, tols, hermitian):
        xp = ctx.xp
        atol, rtol = tols
        m, n = A.shape[-2:]
        if A.size == 0:
            P = xp.zeros(A.shape[:-2] + (n, m), dtype=A.dtype)
        elif hermitian:
            L, U = xp.linalg.eigh(A)
            S = xp.abs(L)
            tol = _threshold(xp, S.max(-1, keepdims=True), atol, rtol)
            keep = S > tol
            Sinv = xp.where(keep, 1 / xp.where(keep, L, 1), 0).astype(A.dtype)
            P = xp.matmul(U * Sinv[..., None, :], xp.swapaxes(U, -1, -2))
        else:
            U, S, Vh = xp.linalg.svd(A, full_matrices=False)
            tol = _threshold(xp, S[..., :1], atol, rtol)
            keep = S > tol
            Sinv = xp.where(keep, 1 / xp.where(keep, S, 1), 0).astype(A.dtype)
            P = xp.matmul(xp.swapaxes(Vh, -1, -2) * Sinv[..., None, :], xp.swapaxes(U, -1, -2))
        ctx.save_for_backward(A, P)
        return P

    @staticmethod
    def backward(ctx, g):
        A, P = ctx.saved_tensors
        m, n = A._data.shape[-2:]
        Ph, gh = _mT(P), _mT(g)
        if m <= n:
            K = _product(gh, P)
            KPh = _product(K, Ph)
            gA = (-_mT(_product(P, K)) + KPh - _product(_product(A, P), KPh)
                  + _product(_product(Ph, P), gh - _product(K, A)))
        else:
            K = _product(P, gh)
            PhK = _product(Ph, K)
            gA = (-_mT(_product(K, P)) + _product(_product(gh - _product(A, K), P), Ph)
                  + PhK - _product(_product(PhK, P), A))
        return gA, None, None


def _pinv_check(A) -> None:
    if not isinstance(A, TensorBase):
        raise TypeError(f"linalg_pinv(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(A).__name__}")
    if A._data.ndim < 2 or A._data.dtype not in (np.float32, np.float64):
        raise RuntimeError(
            f"linalg.pinv({dtype_name(A.dtype)}{{{list(A.shape)}}}): expected a tensor with 2 "
            "or more dimensions of float, double, cfloat or cdouble types"
        )


def pinv(A: Tensor, rcond=None, hermitian: bool = False, *, atol=None, rtol=None,
         out=None) -> Tensor:
    """Moore-Penrose pseudo-inverse of a (batch of) matrices.

    Singular values at most ``max(atol, rtol * sigma_max)`` are treated as zero.

    Args:
        A: ``(*, m, n)`` float32/float64.
        rcond: torch's older spelling of ``rtol`` (positional, as ``pinv(A, rcond)``).
        hermitian: ``A`` is symmetric: use ``eigh`` (reads the lower triangle).
        atol: absolute tolerance (number or Tensor broadcasting with the batch). Default 0.
        rtol: relative tolerance. Default ``eps * max(m, n)``, or 0 when a positive
            ``atol`` is given.

    Returns:
        ``(*, n, m)``. Gradients follow torch's formula (valid where the rank is constant).

    Example:
        >>> gpuarr.linalg.pinv(gpuarr.tensor([[2., 0.], [0., 0.]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.0000]])
    """
    _pinv_check(A)
    if rcond is not None:
        atol, rtol = 0.0, rcond
    res = Pinv.apply(A, _tolerances(A, atol, rtol), hermitian)
    return res if out is None else write_out(res, out, "linalg_pinv", rule="exact")


def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None,
                out=None) -> Tensor:
    """Numerical rank: the number of singular values above ``max(atol, rtol * sigma_max)``.

    Args:
        A: ``(*, m, n)`` float32/float64.
        tol: torch's older spelling of ``atol`` (with ``rtol = 0``).
        hermitian: ``A`` is symmetric: use its eigenvalues' magnitudes.
        atol, rtol: as for :func:`pinv`.

    Returns:
        An int64 tensor of shape ``(*)``.

    Example:
        >>> gpuarr.linalg.matrix_rank(gpuarr.ones(3, 3))
        tensor(1)
    """
    _need_tensor("matrix_rank", A, "input")
    if A._data.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at "
                           "least 2 dimensions.")
    if A._data.dtype not in (np.float32, np.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    xp = A._device._xp()
    a, r = _tolerances(A, atol, rtol)
    with no_grad():
        S = (eigvalsh(A).abs() if hermitian else svdvals(A))._data
    if S.shape[-1] == 0:
        res = xp.zeros(S.shape[:-1], dtype=np.int64)
    else:
        smax = S.max(-1, keepdims=True)
        res = (S > _threshold(xp, smax, a, r)).sum(-1).astype(np.int64)
    res = _const(xp.asarray(res), A)
    return res if out is None else write_out(res, out, "linalg_matrix_rank", rule="exact")


# --------------------------------------------------------------------------------------------
# lstsq

_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _lstsq_checks(A, B, driver):
    fn = "torch.linalg.lstsq"
    _need_tensor("lstsq", A, "input")
    _need_tensor("lstsq", B, "b")
    check_same_device(A, B)
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dimensions.")
    if B._data.ndim < 1:
        raise RuntimeError(f"{fn}: other must have at least 1 dimension.")
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(
            f"{fn}: Expected input and other to have the same dtype, but got input's dtype "
            f"{dtype_name(A.dtype)} and other's dtype {dtype_name(B.dtype)}"
        )
    if A._data.dtype not in (np.float32, np.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    dim_diff = A._data.ndim - B._data.ndim
    if not 0 <= dim_diff <= 1:
        raise RuntimeError(f"{fn}: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vector = dim_diff == 1
    broadcast_shapes(A._data.shape[:-2], B._data.shape[:-1] if vector else B._data.shape[:-2])
    rows_b = B._data.shape[-1] if vector else B._data.shape[-2]
    if A._data.shape[-2] != rows_b:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size(-2)")
    if driver is not None and driver not in _DRIVERS:
        raise RuntimeError(f"{fn}: parameter `driver` should be one of "
                           "(gels, gelsy, gelsd, gelss)")
    return vector


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None, out=None):
    """Least-squares solution of ``A X = B``: ``X`` minimising ``||A X - B||``.

    The solution is the minimum-norm one ``pinv(A) @ B`` (singular values at most
    ``rcond * sigma_max`` dropped), for every driver and on every device (torch's CPU
    semantics; its CUDA build has only 'gels'). LAPACK's 'gelsy' estimates the rank from a
    pivoted QR instead: where ``rcond`` cuts off a singular value that is not negligible, its
    solution differs from this one; 'gels' on a rank-deficient matrix gives garbage in torch.

    Args:
        A: ``(*, m, n)`` float32/float64.
        B: ``(*, m, k)``, or ``(*, m)`` (one fewer dim than ``A``: a batch of vectors).
        rcond: relative cut-off for small singular values (default ``eps * max(m, n)``).
        driver: 'gelsy' (default), 'gels', 'gelsd' or 'gelss': chooses which fields are
            filled, as on torch's CPU.

    Returns:
        ``(solution, residuals, rank, singular_values)`` (``return_types.linalg_lstsq``):
        ``residuals`` (squared residual norms) when ``m > n``, the driver is not 'gelsy' and
        every matrix has full rank, else empty; ``rank`` (int64) except for 'gels';
        ``singular_values`` for 'gelsd' / 'gelss'. ``solution`` and ``residuals`` have
        gradients.

    Example:
        >>> A = gpuarr.tensor([[1., 0.], [0., 1.], [0., 0.]])
        >>> gpuarr.linalg.lstsq(A, gpuarr.tensor([[1.], [2.], [3.]])).solution
        tensor([[1.],
                [2.]])
    """
    vector = _lstsq_checks(A, B, driver)
    driver = driver or "gelsy"
    Bm = B.unsqueeze(-1) if vector else B
    broadcast_shapes(A._data.shape[:-2], Bm._data.shape[:-2])
    xp = A._device._xp()
    m, n = A._data.shape[-2:]
    eps = float(np.finfo(A._data.dtype).eps)
    rc = eps * max(m, n) if rcond is None or rcond < 0 else float(rcond)
    empty = _zeros((0,), A)
    X = _product(pinv(A, atol=0.0, rtol=rc), Bm)
    with no_grad():
        S_arr = svdvals(A)._data
    rank_arr = (S_arr > rc * S_arr[..., :1]).sum(-1).astype(np.int64)
    resid = empty
    if m > n and driver != "gelsy":
        full = True
        if driver in ("gelsd", "gelss"):
            sync_debug.check_array(rank_arr)
            full = bool(xp.all(rank_arr == n))  # torch synchronises here too
        if full:
            resid = ((_product(A, X) - Bm) ** 2).sum(-2)
    if vector:
        X = X.squeeze(-1)
    rank = _const(rank_arr, A) if driver != "gels" else _zeros((0,), A, np.int64)
    sv = _const(S_arr, A) if driver in ("gelsd", "gelss") else empty
    res = return_types.linalg_lstsq(X, resid, rank, sv)
    return res if out is None else write_out(res, out, "linalg_lstsq", rule="exact")


# --------------------------------------------------------------------------------------------
# matrix_power, matrix_exp


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """``A`` to the integer power ``n`` (repeated squaring; ``n < 0`` uses ``inv(A)``,
    ``n == 0`` gives the identity).

    Example:
        >>> gpuarr.linalg.matrix_power(gpuarr.tensor([[1., 1.], [0., 1.]]), 3)
        tensor([[1., 3.],
                [0., 1.]])
    """
    _need_tensor("matrix_power", A)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    _check_matrix("matrix_power", A)
    _check_square("matrix_power", A)
    res = _matrix_power(A, int(n))
    return res if out is None else write_out(res, out, "linalg_matrix_power", rule="exact")


class _Identity(Function):
    """Identity matrices shaped like ``A`` (``A ** 0``, an empty Householder product), in the
    graph with a zero gradient, as torch's."""

    _node_name = "CopyBackwards"

    _raw = True

    @staticmethod
    def forward(ctx, A):
        eye = ctx.xp.eye(*A.shape[-2:], dtype=A.dtype)
        return ctx.xp.broadcast_to(eye, A.shape).copy()

    @staticmethod
    def backward(ctx, g):
        return g * 0


def _matrix_power(A: Tensor, n: int) -> Tensor:
    if n == 0:
        return _Identity.apply(A)
    if n < 0:
        A, n = inv(A), -n
    if n == 1:
        return A.clone()
    result = None
    base = A
    while n:  # binary powering: the set bits of n, lowest first
        if n & 1:
            result = base if result is None else _product(result, base)
        n >>= 1
        if n:
            base = _product(base, base)
    return result


# Pade [13/13] coefficients and the largest 1-norm it handles in double precision
# (Higham, "The scaling and squaring method for the matrix exponential revisited", 2005)
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def _expm(A: Tensor) -> Tensor:
    """Scaling and squaring with the [13/13] Pade approximant, per matrix of the batch,
    written with differentiable matmul/solve (one host synchronisation: the squarings)."""
    xp = A._device._xp()
    n = A._data.shape[-1]
    batch = A._data.shape[:-2]
    norm = xp.abs(A._data).sum(-2).max(-1)  # the 1-norm of each matrix
    norm_h = np.atleast_1d(np.asarray(_backend(xp).to_host(norm), dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        s_h = np.ceil(np.log2(norm_h / _THETA13))
    s_h = np.where(np.isfinite(s_h) & (s_h > 0), s_h, 0).astype(np.int64)
    scale = _const(xp.asarray((0.5 ** s_h).reshape(batch + (1, 1)), dtype=A._data.dtype), A)
    X = A * scale
    b = _PADE13
    eye = _eye(n, A)
    X2 = _product(X, X)
    X4 = _product(X2, X2)
    X6 = _product(X4, X2)
    U = _product(X, _product(X6, b[13] * X6 + b[11] * X4 + b[9] * X2)
                 + b[7] * X6 + b[5] * X4 + b[3] * X2 + b[1] * eye)
    V = (_product(X6, b[12] * X6 + b[10] * X4 + b[8] * X2)
         + b[6] * X6 + b[4] * X4 + b[2] * X2 + b[0] * eye)
    R = Solve.apply(V - U, V + U)
    smax = int(s_h.max()) if s_h.size else 0
    for i in range(smax):  # square each matrix its own number of times
        mask = _const(xp.asarray((s_h > i).reshape(batch + (1, 1))), A)
        R = where(mask, _product(R, R), R)
    return R


def matrix_exp(A: Tensor) -> Tensor:
    """Matrix exponential ``sum_k A^k / k!`` of a (batch of) square matrices.

    Computed by scaling and squaring with a Pade approximant (each matrix scaled by its own
    power of two); gradients are those of that computation (matmul and solve), which match
    the exact derivative to rounding.

    Example:
        >>> gpuarr.linalg.matrix_exp(gpuarr.zeros(2, 2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    _need_tensor("matrix_exp", A)
    _check_matrix("matrix_exp", A)
    _check_square("matrix_exp", A)
    _check_float("matrix_exp", A)
    n = A._data.shape[-1]
    if n == 0:
        res = A.clone()
    elif n == 1:
        res = exp(A)
    elif A._data.dtype.itemsize == 2:  # no half-precision solver: compute in float32
        res = _expm(A.to(D.float32)).to(A.dtype)
    else:
        res = _expm(A)
    return res


# --------------------------------------------------------------------------------------------
# LU


def _perm_from_pivots(xp, piv, m: int):
    """The row order ``perm`` with ``(P^T A)[j] = A[perm[j]]`` from LAPACK's 1-based pivots
    (the swaps applied in order), for a batch ``(*, k)`` of pivots."""
    k = piv.shape[-1]
    batch = piv.shape[:-1]
    nb = _prod(batch)
    p = piv.reshape((nb, k)).astype(np.int64) - 1
    perm = xp.broadcast_to(xp.arange(m), (nb, m)).copy()
    rows = xp.arange(nb)
    for i in range(k):
        t = perm[:, i].copy()
        perm[:, i] = perm[rows, p[:, i]]
        perm[rows, p[:, i]] = t
    return perm.reshape(batch + (m,))


def _perm_matrix(xp, piv, m: int, dtype):
    """``P`` (``A = P L U``) from pivots: ``P[perm[j], j] = 1``."""
    perm = _perm_from_pivots(xp, piv, m)
    batch = perm.shape[:-1]
    flat = perm.reshape((_prod(batch), m))
    P = xp.zeros((flat.shape[0], m, m), dtype=dtype)
    P[xp.arange(flat.shape[0])[:, None], flat, xp.arange(m)[None, :]] = 1
    return P.reshape(batch + (m, m))


def _unpack(LU: Tensor):
    """``(L, U)`` from packed factors (differentiable; ``L`` gets its unit diagonal)."""
    m, n = LU._data.shape[-2:]
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + _eye(m, LU, k)
    U = LU[..., :k, :].triu()
    return L, U


class LuFactor(Function):
    """``A = P L U`` packed as LAPACK's getrf; the backward is torch's ``linalg_lu_backward``
    (square, wide and tall cases) on the unpacked factors."""

    _node_name = "LinalgLuFactorExBackward0"

    _raw = True

    @staticmethod
    def forward(ctx, A, pivot):
        xp = ctx.xp
        m, n = A.shape[-2:]
        k = min(m, n)
        if A.size == 0:
            LU = A.copy()
            piv = xp.broadcast_to(xp.arange(1, k + 1, dtype=np.int32), A.shape[:-2] + (k,)).copy()
            info = xp.zeros(A.shape[:-2], dtype=np.int32)
        else:
            LU, piv, info = _backend(xp).lu_factor(xp.ascontiguousarray(A), pivot)
        ctx.mark_non_differentiable(piv, info)
        ctx.save_for_backward(LU, piv)
        return LU, piv, info

    @staticmethod
    def backward(ctx, gLU, gpiv, ginfo):
        LU, piv = ctx.saved_tensors
        m, n = LU._data.shape[-2:]
        k = min(m, n)
        xp = LU._device._xp()
        P = _const(_perm_matrix(xp, piv._data, m, LU._data.dtype), LU)
        L, U = _unpack(LU)
        gL = gLU[..., :, :k].tril(-1)
        gU = gLU[..., :k, :].triu()
        return _lu_backward(gL, gU, P, L, U), None


def _lu_backward(gL: Tensor, gU: Tensor, P: Tensor, L: Tensor, U: Tensor) -> Tensor:
    m, n = L._data.shape[-2], U._data.shape[-1]

    def inner(Lsq, Usq, phi):  # Lsq^-T phi Usq^-T
        X = _trsolve(_mT(Lsq), phi, upper=True, unit=True)
        return _trsolve(_mT(Usq), X, upper=False, left=False)

    if m == n:
        phi = _product(_mT(L), gL).tril(-1) + _product(gU, _mT(U)).triu()
        return _product(P, inner(L, U, phi))
    if m < n:  # wide: U = [U1 U2]; U2 = L^-1 (P^T A2) folds into gL
        U1, U2, gU1, gU2 = U[..., :, :m], U[..., :, m:], gU[..., :, :m], gU[..., :, m:]
        phi = (_product(_mT(L), gL) - _product(gU2, _mT(U2))).tril(-1) \
            + _product(gU1, _mT(U1)).triu()
        gA1 = inner(L, U1, phi)
        gA2 = _trsolve(_mT(L), gU2, upper=True, unit=True)
        return _product(P, cat([gA1, gA2], -1))
    # tall: L = [L1; L2]; L2 = (P^T A)_2 U^-1 folds into gU
    L1, L2, gL1, gL2 = L[..., :n, :], L[..., n:, :], gL[..., :n, :], gL[..., n:, :]
    phi = _product(_mT(L1), gL1).tril(-1) \
        + (_product(gU, _mT(U)) - _product(_mT(L2), gL2)).triu()
    gA1 = inner(L1, U, phi)
    gA2 = _trsolve(_mT(U), gL2, upper=False, left=False)
    return _product(P, cat([gA1, gA2], -2))


def _lu_checks(fn: str, A, pivot: bool, name: str | None = None) -> None:
    _need_tensor(fn, A)
    if A._data.ndim < 2:
        raise RuntimeError(f"{name or fn}: Expected tensor with 2 or more dimensions. Got size: "
                           f"{list(A.shape)} instead")
    _no_kernel("lu_cpu", A, _LAPACK_KINDS)
    if not pivot and A._device.type == "cpu":
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


def _raise_zero_pivot(fn: str, info: Tensor) -> None:
    """torch's error for ``lu_factor`` on a matrix whose ``U`` has a zero diagonal element."""
    xp = info._device._xp()
    host = _host(info._data, xp)  # torch synchronises here too
    flat = host.reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        i = int(bad[0])
        j = int(flat[i])
        raise RuntimeError(
            f"{fn}: {_batch_prefix(i if host.ndim else None)}U[{j},{j}] is zero and using it on "
            "lu_solve would result in a division by zero. If you still want to perform the "
            "factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
        )


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out=None):
    """LU factorisation with partial pivoting, packed as LAPACK's getrf, plus ``info``.

    Returns:
        ``(LU, pivots, info)`` (``return_types.linalg_lu_factor_ex``): ``pivots`` int32
        (1-based row swaps), ``info`` int32 (``i > 0``: ``U[i, i]`` (1-based) is exactly zero).
        With ``check_errors`` a nonzero ``info`` raises (one host synchronisation).

    Example:
        >>> gpuarr.linalg.lu_factor_ex(gpuarr.eye(2)).info
        tensor(0, dtype=gpuarr.int32)
    """
    _lu_checks("lu_factor_ex", A, pivot, "torch.lu_factor")
    res = return_types.linalg_lu_factor_ex(*LuFactor.apply(A, pivot))
    if check_errors:
        _raise_zero_pivot("torch.linalg.lu_factor_ex", res.info)
    return res if out is None else write_out(res, out, "linalg_lu_factor_ex", rule="exact")


def lu_factor(A: Tensor, *, pivot: bool = True, out=None):
    """LU factorisation with partial pivoting ``A = P L U``, packed as LAPACK's getrf.

    Args:
        A: ``(*, m, n)`` float32/float64.
        pivot: must be True on the CPU (torch's restriction); the CUDA backend also factors
            without row swaps.

    Returns:
        ``(LU, pivots)``: ``L`` (unit diagonal, not stored) below and ``U`` on and above the
        diagonal; ``pivots`` int32, 1-based. Differentiable in ``LU``.

    Raises:
        RuntimeError: a zero on ``U``'s diagonal (torch's text; one host synchronisation).

    Example:
        >>> LU, piv = gpuarr.linalg.lu_factor(gpuarr.tensor([[1., 2.], [3., 4.]]))
        >>> piv
        tensor([2, 2], dtype=gpuarr.int32)
    """
    _lu_checks("lu_factor", A, pivot, "torch.lu_factor")
    LU, piv, info = LuFactor.apply(A, pivot)
    _raise_zero_pivot("torch.linalg.lu_factor", info)
    res = return_types.linalg_lu_factor(LU, piv)
    return res if out is None else write_out(res, out, "linalg_lu_factor", rule="exact")


def lu(A: Tensor, *, pivot: bool = True, out=None):
    """LU decomposition ``A = P L U`` with its factors unpacked.

    Returns:
        ``(P, L, U)`` (``return_types.linalg_lu``): ``P`` ``(*, m, m)`` a permutation matrix,
        ``L`` ``(*, m, k)`` unit lower triangular, ``U`` ``(*, k, n)`` upper triangular,
        ``k = min(m, n)``. ``L`` and ``U`` are differentiable.

    Example:
        >>> P, L, U = gpuarr.linalg.lu(gpuarr.tensor([[1., 2.], [3., 4.]]))
        >>> U
        tensor([[3.0000, 4.0000],
                [0.0000, 0.6667]])
    """
    _lu_checks("lu", A, pivot, "linalg.lu")
    LU, piv, _ = LuFactor.apply(A, pivot)
    res = return_types.linalg_lu(*_lu_unpack(LU, piv))
    return res if out is None else write_out(res, out, "linalg_lu", rule="exact")


def _lu_unpack(LU: Tensor, piv: Tensor, data: bool = True, pivots: bool = True):
    m = LU._data.shape[-2]
    xp = LU._device._xp()
    if pivots:
        P = _const(_perm_matrix(xp, piv._data, m, LU._data.dtype), LU)
    else:
        P = _zeros((0,), LU)
    if data:
        L, U = _unpack(LU)
    else:
        L, U = _zeros((0,), LU), _zeros((0,), LU)
    return P, L, U


def _lu_solve(LU: Tensor, piv: Tensor, B: Tensor, left: bool, adjoint: bool) -> Tensor:
    """Solve with checked packed factors: differentiable in ``LU`` and ``B``."""
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _mT(_lu_solve(LU, piv, _mT(B), True, not adjoint))
    xp = LU._device._xp()
    P = _const(_perm_matrix(xp, piv._data, LU._data.shape[-1], LU._data.dtype), LU)
    if not adjoint:  # X = U^-1 L^-1 P^T B
        Y = _trsolve(LU, _product(_mT(P), B), upper=False, unit=True)
        return _trsolve(LU, Y, upper=True)
    # A^T X = B: X = P L^-T U^-T B
    Y = _trsolve(_mT(LU), B, upper=False)
    return _product(P, _trsolve(_mT(LU), Y, upper=True, unit=True))


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False, out=None) -> Tensor:
    """Solve ``A X = B`` from ``A``'s LU factorisation (:func:`lu_factor`).

    Args:
        LU, pivots: from :func:`lu_factor` of a square ``A``.
        B: ``(*, n, k)`` (``(*, k, n)`` when ``left=False``); batch dims broadcast.
        left: ``A X = B`` (True) or ``X A = B``.
        adjoint: solve with ``A^T`` instead of ``A``.

    Example:
        >>> A = gpuarr.tensor([[2., 0.], [0., 4.]])
        >>> gpuarr.linalg.lu_solve(*gpuarr.linalg.lu_factor(A), gpuarr.tensor([[2.], [4.]]))
        tensor([[1.],
                [1.]])
    """
    fn = "linalg.lu_solve"
    _need_tensor("lu_solve", LU, "LU")
    _need_tensor("lu_solve", pivots, "pivots")
    _need_tensor("lu_solve", B, "B")
    check_same_device(LU, B)
    if LU._data.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor LU must have at least 2 dimensions.")
    m, n = LU._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"torch.{fn}: A must be batches of square matrices, but they are "
                           f"{m} by {n} matrices")
    _check_system(fn, LU, B, left)
    _check_same_dtype(fn, LU, B, "LU", "B")
    _no_kernel("lu_solve_cpu", LU, _LAPACK_KINDS)
    if pivots._data.dtype != np.int32:
        raise RuntimeError(f"{fn}: pivots should be a Tensor of scalar type int32")
    res = _lu_solve(LU, pivots, B, left, adjoint)
    return res if out is None else write_out(res, out, "linalg_lu_solve", rule="exact")


# --------------------------------------------------------------------------------------------
# the *_ex forms: no error for singular / non positive-definite inputs, an info code instead


class _InvQuiet(Inv):
    """:class:`Inv` whose singular matrices give NaN instead of raising."""

    _node_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        xp = ctx.xp
        if A.size == 0:
            out = xp.empty_like(A)
        else:
            mats = A.reshape((-1,) + A.shape[-2:])
            out = _guard("inv", xp, A, lambda: xp.linalg.inv(A), lambda: None,
                         lambda i: xp.linalg.inv(mats[i]), A.shape)
        ctx.save_for_backward(out)
        return out


def _lu_info(A: Tensor) -> Tensor:
    """getrf's ``info`` for square ``A`` (int32, on the device, no synchronisation)."""
    xp = A._device._xp()
    if A._data.size == 0:
        return _const(xp.zeros(A._data.shape[:-2], dtype=np.int32), A)
    return _const(_backend(xp).lu_factor(xp.ascontiguousarray(A._data))[2], A)


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
    """Inverse of a (batch of) square matrices and a LAPACK ``info`` code per matrix.

    A singular matrix gives NaNs and ``info > 0`` (the 1-based index of the zero pivot)
    instead of an error, unless ``check_errors``.

    Example:
        >>> gpuarr.linalg.inv_ex(gpuarr.zeros(2, 2)).info
        tensor(1, dtype=gpuarr.int32)
    """
    _need_tensor("inv_ex", A)
    _check_square("inv", A)
    _check_float("inv", A, low_precision=False)
    info = _lu_info(A)
    if check_errors:
        _raise_ex("inv_ex", info, "linalg.inv_ex: {p}The diagonal element {j} is zero, the "
                  "inversion could not be completed because the input matrix is singular.")
    res = return_types.linalg_inv_ex(_InvQuiet.apply(A), info)
    return res if out is None else write_out(res, out, "linalg_inv_ex", rule="exact")


def _raise_ex(fn: str, info: Tensor, text: str) -> None:
    host = _host(info._data, info._device._xp())  # check_errors: torch synchronises too
    flat = host.reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        i = int(bad[0])
        raise LinAlgError(text.format(p=_batch_prefix(i if host.ndim else None), j=int(flat[i])))


class _SolveQuiet(Solve):
    """:class:`Solve` whose singular systems give NaN instead of raising."""

    _node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B):
        xp = ctx.xp
        batch = broadcast_shapes(B.shape[:-2], A.shape[:-2])
        Ab = xp.broadcast_to(A, batch + A.shape[-2:])
        Bb = xp.broadcast_to(B, batch + B.shape[-2:])
        try:
            X = _solve_raw(xp, Ab, Bb)
        except LinAlgError:  # singular somewhere: NaN for those systems only
            X = xp.full(Bb.shape, np.nan, dtype=B.dtype)
            ma = Ab.reshape((-1,) + Ab.shape[-2:])
            mb = Bb.reshape((-1,) + Bb.shape[-2:])
            flat = X.reshape((-1,) + X.shape[-2:])
            for i in range(flat.shape[0]):
                if not _first_zero_pivot(_host(ma[i], xp)):
                    flat[i] = xp.linalg.solve(ma[i], mb[i])
        ctx.save_for_backward(A, X)
        return X


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False,
             out=None):
    """:func:`gpuarr.linalg.solve` returning ``(result, info)``: a singular ``A`` gives NaNs
    and ``info > 0`` instead of an error, unless ``check_errors``.

    Example:
        >>> gpuarr.linalg.solve_ex(gpuarr.eye(2), gpuarr.ones(2)).result
        tensor([1., 1.])
    """
    _need_tensor("solve_ex", A)
    _need_tensor("solve_ex", B, "B")
    _check_square("solve", A)
    info = _lu_info(A)
    if check_errors:
        _raise_ex("solve_ex", info, "torch.linalg.solve_ex: {p}The solver failed because the "
                  "input matrix is singular.")
    try:  # solve's checks and result; it raises only for a singular A
        res = solve(A, B, left=left)
    except LinAlgError:  # torch returns LAPACK's garbage here; NaN marks the failed systems
        res = _quiet_solve(A, B, left)
    res = return_types.linalg_solve_ex(res, info)
    return res if out is None else write_out(res, out, "linalg_solve_ex", rule="exact")


def _quiet_solve(A: Tensor, B: Tensor, left: bool) -> Tensor:
    vector = B._data.ndim == 1 or (B._data.ndim == A._data.ndim - 1
                                   and B._data.shape == A._data.shape[:-1])
    Bm = B.unsqueeze(-1) if vector else B
    if not left:
        return _mT(_SolveQuiet.apply(_mT(A), _mT(Bm)))
    X = _SolveQuiet.apply(A, Bm)
    return X.squeeze(-1) if vector else X


class _CholeskyQuiet(Cholesky):
    """:class:`Cholesky` whose non positive-definite matrices give NaN instead of raising."""

    _node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A, failed):
        xp = ctx.xp
        if A.shape[-1] == 0:
            L = A.copy()
        else:
            mats = A.reshape((-1,) + A.shape[-2:])
            # ``failed`` (a list) learns whether some matrix failed: only then is info computed
            L = _guard("cholesky", xp, A, lambda: xp.linalg.cholesky(A),
                       lambda: failed.append(True), lambda i: xp.linalg.cholesky(mats[i]),
                       A.shape)
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, gL):
        return Cholesky.backward(ctx, gL), None


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None):
    """:func:`gpuarr.linalg.cholesky` returning ``(L, info)``: a matrix that is not
    positive-definite gives NaNs and ``info`` = the order of its first non positive-definite
    leading minor, instead of an error (unless ``check_errors``).

    Example:
        >>> gpuarr.linalg.cholesky_ex(-gpuarr.eye(2)).info
        tensor(1, dtype=gpuarr.int32)
    """
    _need_tensor("cholesky_ex", A)
    _check_square("cholesky", A)
    _check_float("cholesky", A)
    _no_kernel("cholesky_cpu", A)
    xp = A._device._xp()
    failed: list = []
    L = _CholeskyQuiet.apply(A, failed)
    batch = A._data.shape[:-2]
    if failed:  # (the backend's failure report has synchronised already)
        host = _host(A._data, xp).reshape((-1,) + A._data.shape[-2:])
        info_h = np.array([_first_bad_minor(a) for a in host], dtype=np.int32).reshape(batch)
        info = _const(xp.asarray(info_h), A)
    else:
        info = _const(xp.zeros(batch, dtype=np.int32), A)
    if check_errors:
        _raise_ex("cholesky_ex", info, "linalg.cholesky_ex: {p}The factorization could not be "
                  "completed because the input is not positive-definite (the leading minor of "
                  "order {j} is not positive-definite).")
    res = return_types.linalg_cholesky_ex(_mT(L) if upper else L, info)
    return res if out is None else write_out(res, out, "linalg_cholesky_ex", rule="exact")


# --------------------------------------------------------------------------------------------
# cond, tensorinv, tensorsolve, vander, diagonal


def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """Condition number of a (batch of) matrices in the norm ``p``.

    ``p`` None / 2 / -2: ratio of extreme singular values (any shape). Otherwise
    (``'fro'``, ``'nuc'``, ``inf``, ``-inf``, 1, -1) ``norm(A, p) * norm(inv(A), p)`` for
    square ``A``; a singular matrix gives inf.

    Example:
        >>> gpuarr.linalg.cond(gpuarr.tensor([[1., 0.], [0., 4.]]))
        tensor(4.)
    """
    _need_tensor("cond", A)
    if A._data.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    svd_based = p is None or (not isinstance(p, str) and abs(float(p)) == 2)
    if svd_based:  # torch's checks are those of the routine it calls
        _check_float("svd", A)
        _no_kernel("linalg_svd_cpu", A)
    else:
        _check_float("inv", A, low_precision=False)
    if svd_based:
        S = svdvals(A)
        if S._data.shape[-1] == 0:
            res = _zeros(S._data.shape[:-1], A)
        else:
            big, small = S[..., 0], S[..., -1]
            res = big / small if p is None or float(p) > 0 else small / big
    else:
        if isinstance(p, str) and p not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
        if not isinstance(p, str) and abs(float(p)) not in (1.0, math.inf):
            raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
        m, n = A._data.shape[-2:]
        if m != n:
            raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, "
                               f"but they are {m} by {n} matrices")
        if n == 0:
            res = _zeros(A._data.shape[:-2], A)
        else:
            xp = A._device._xp()
            bad = _lu_info(A) != 0
            zero = _const(xp.zeros((), dtype=A._data.dtype), A)
            # a singular matrix's NaN inverse would break the norm: zero it, report inf
            Ainv = where(bad.unsqueeze(-1).unsqueeze(-1), zero, _InvQuiet.apply(A))
            res = matrix_norm(A, p) * matrix_norm(Ainv, p)
            res = where(bad, _const(xp.asarray(np.inf, dtype=A._data.dtype), A), res)
    return res if out is None else write_out(res, out, "linalg_cond", rule="exact")


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def tensorinv(A: Tensor, ind: int = 2, *, out=None) -> Tensor:
    """Inverse of ``A`` seen as a map from its last dims to its first ``ind`` dims:
    ``tensordot(tensorinv(A, ind), A, ind)`` is the identity.

    Example:
        >>> gpuarr.linalg.tensorinv(gpuarr.eye(4).reshape(4, 2, 2), ind=1).shape
        gpuarr.Size([2, 2, 4])
    """
    _need_tensor("tensorinv", A)
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shape = tuple(A.shape)
    rows, cols = _prod(shape[:ind]), _prod(shape[ind:])
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"
        )
    res = inv(A.reshape(rows, cols)).reshape(shape[ind:] + shape[:ind])
    return res if out is None else write_out(res, out, "linalg_tensorinv", rule="exact")


def tensorsolve(A: Tensor, B: Tensor, dims=None, *, out=None) -> Tensor:
    """``X`` with ``tensordot(A, X, X.ndim) == B``; ``dims`` first moves those dims of ``A``
    to the end.

    Example:
        >>> gpuarr.linalg.tensorsolve(gpuarr.eye(6).reshape(2, 3, 6), gpuarr.ones(2, 3)).shape
        gpuarr.Size([6])
    """
    _need_tensor("tensorsolve", A)
    _need_tensor("tensorsolve", B, "B")
    nd = A._data.ndim
    if dims is not None:
        dims = [operator.index(d) % nd for d in dims]
        rest = [d for d in range(nd) if d not in dims]
        A = A.permute(rest + dims)
    bshape = tuple(B.shape)
    rows = _prod(bshape)
    xshape = tuple(A.shape)[B._data.ndim:]
    cols = _prod(xshape)
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got {cols} != {rows}"
        )
    res = solve(A.reshape(rows, cols), B.reshape(rows)).reshape(xshape)
    return res if out is None else write_out(res, out, "linalg_tensorsolve", rule="exact")


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Vandermonde matrix: ``out[..., i, j] = x[..., i] ** j`` for ``j < N`` (default
    ``x.shape[-1]``): increasing powers, as torch.linalg.vander (not NumPy's order).

    Example:
        >>> gpuarr.linalg.vander(gpuarr.tensor([1, 2, 3]))
        tensor([[1, 1, 1],
                [1, 2, 4],
                [1, 3, 9]])
    """
    _need_tensor("vander", x, "x")
    if x._data.dtype == np.bool_:
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, "
                           "but got Bool")
    n = (x._data.shape[-1] if x._data.ndim else 1) if N is None else operator.index(N)
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    ones = x.unsqueeze(-1) * 0 + 1
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)  # integers widen to int64
    return cat([ones, powers], -1)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of a (batch of) matrices: ``torch.diagonal`` with matrix defaults.

    Example:
        >>> gpuarr.linalg.diagonal(gpuarr.eye(2))
        tensor([1., 1.])
    """
    _need_tensor("diagonal", A)
    return A.diagonal(offset, dim1, dim2)


def _check_householder(A: Tensor, tau: Tensor) -> None:
    fn = "torch.linalg.householder_product"
    _need_tensor("householder_product", A, "input")
    _need_tensor("householder_product", tau, "tau")
    check_same_device(A, tau)
    if A._data.ndim < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dimensions.")
    m, n = A._data.shape[-2:]
    if m < n:
        raise RuntimeError(f"{fn}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if tau._data.ndim and n < tau._data.shape[-1]:
        raise RuntimeError(f"{fn}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if tau._data.ndim != A._data.ndim - 1:
        raise RuntimeError(f"{fn}: Expected tau to have one dimension less than input, but got "
                           f"tau.ndim equal to {tau._data.ndim} and input.ndim is equal to "
                           f"{A._data.ndim}")
    if tau._data.shape[:-1] != A._data.shape[:-2]:
        raise RuntimeError(f"{fn}: Expected batch dimensions of tau to be equal to "
                           f"input.shape[:-2], but got {list(tau._data.shape[:-1])}")
    if tau._data.dtype != A._data.dtype:
        raise RuntimeError(f"{fn}: tau dtype {dtype_name(tau.dtype)} does not match input dtype "
                           f"{dtype_name(A.dtype)}")
    _no_kernel("orgqr_cpu", A, _LAPACK_KINDS)


def householder_product(A: Tensor, tau: Tensor, *, out=None) -> Tensor:
    """The first ``n`` columns of ``H_1 H_2 ... H_k`` with ``H_i = I - tau_i v_i v_i^T``,
    where ``v_i`` is column ``i`` of ``A`` below the diagonal with a 1 on it (LAPACK's
    orgqr: ``Q`` from :func:`torch.geqrf`'s packed reflectors).

    Args:
        A: ``(*, m, n)`` with ``m >= n``: the reflectors.
        tau: ``(*, k)`` with ``k <= n``: their scales.

    Returns:
        ``(*, m, n)``; differentiable in ``A`` and ``tau`` (the reflectors are applied with
        matrix products).

    Example:
        >>> gpuarr.linalg.householder_product(gpuarr.zeros(2, 2), gpuarr.tensor([2., 0.]))
        tensor([[-1.,  0.],
                [ 0.,  1.]])
    """
    _check_householder(A, tau)
    m, n = A._data.shape[-2:]
    eye = _eye(m, A, n)
    V = A.tril(-1) + eye  # the reflectors' vectors, unit diagonal
    Q = eye.expand(A.shape)
    for i in reversed(range(tau._data.shape[-1])):  # H_i applied to the product of the rest
        v = V[..., :, i:i + 1]
        t = tau[..., i:i + 1].unsqueeze(-1)
        Q = Q - t * _product(v, _product(_mT(v), Q))
    res = Q if tau._data.shape[-1] else _Identity.apply(A)
    return res if out is None else write_out(res, out, "linalg_householder_product",
                                             rule="exact")
