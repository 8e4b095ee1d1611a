"""torch's top-level linear algebra not in matmul.py: cholesky, qr, svd, pinverse, matrix_power,
matrix_exp, lu, triangular_solve, orgqr, addr, addbmm and the in-place matmul forms.

Most are torch's older spellings of ``gpuarr.linalg`` functions
(:mod:`gpuarr.ops.decompositions_extra`), with torch's argument orders, result types and error
texts. ``cholesky_solve`` and ``cholesky_inverse`` are ops of their own, with torch's gradients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .. import return_types
from .._core.function import Function
from .._core.tensor import TensorBase
from ..backends import of_module
from ._common import broadcast_shapes, check_same_device, dtype_name
from ._out import write_out
from ._registry import apply_inplace, mixin, register
from .decompositions import LinAlgError, _batch_prefix, _const, _host, _mT, _no_kernel, svdvals
from .decompositions import cholesky as _linalg_cholesky
from .decompositions import svd as _svd
from .decompositions_extra import (
    _LAPACK_KINDS,
    _lu_unpack,
    _trsolve,
    householder_product,
    lu_factor_ex,
    matrix_exp,
    matrix_power,
    pinv,
)
from .decompositions_extra import (
    lu_solve as _linalg_lu_solve,
)
from .decompositions_extra import qr as _linalg_qr
from .matmul import _fma, _half_via_f32, addmm, addmv, baddbmm, bmm, outer

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "cholesky", "cholesky_solve", "cholesky_inverse", "qr", "svd", "pinverse", "matrix_power",
    "matrix_exp", "lu", "lu_solve", "lu_unpack", "triangular_solve", "addr", "addbmm",
    "orgqr", "lstsq", "symeig", "eig", "matrix_rank",
]


def _need(fn: str, x, name: str, pos: int) -> None:
    if not isinstance(x, TensorBase):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _check_pair(fn: str, b: Tensor, A: Tensor, a_name: str, kernel: str) -> None:
    """torch's checks of ``(b, A)`` for cholesky_solve / triangular_solve."""
    check_same_device(b, A)
    if b._data.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {b._data.ndim} "
                           "dimensions instead")
    if A._data.ndim < 2:
        raise RuntimeError(f"{a_name} should have at least 2 dimensions, but has "
                           f"{A._data.ndim} dimensions instead")
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"A must be batches of square matrices, but they are {m} by {n} "
                           "matrices")
    if b._data.shape[-2] != n:
        raise RuntimeError(
            f"Incompatible matrix sizes for {fn}: each A matrix is {n} by {n} but each b matrix "
            f"is {b._data.shape[-2]} by {b._data.shape[-1]}"
        )
    if b._data.dtype != A._data.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{dtype_name(b.dtype)} and A of type {dtype_name(A.dtype)} instead.")
    _no_kernel(kernel, A, _LAPACK_KINDS)
    broadcast_shapes(b._data.shape[:-2], A._data.shape[:-2])


# --------------------------------------------------------------------------------------------
# cholesky, cholesky_solve, cholesky_inverse


def cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """Cholesky factor of a symmetric positive-definite matrix (torch's older
    ``torch.cholesky``; prefer ``gpuarr.linalg.cholesky``).

    Example:
        >>> gpuarr.cholesky(gpuarr.tensor([[4., 2.], [2., 2.]]))
        tensor([[2., 0.],
                [1., 1.]])
    """
    _need("cholesky", input, "input", 1)
    _no_kernel("cholesky_cpu", input, _LAPACK_KINDS)
    try:
        res = _linalg_cholesky(input, upper=upper)
    except RuntimeError as e:  # torch names this function plainly
        text = str(e).replace("linalg.cholesky: ", "cholesky: ", 1)
        raise type(e)(text) from None
    return res if out is None else write_out(res, out, "cholesky", rule="exact")


def _cholesky_solve_raw(xp, B, L, upper: bool):
    """``(L L^T)^-1 B`` (``(U^T U)^-1 B`` when ``upper``) with broadcast batch dims."""
    batch = broadcast_shapes(B.shape[:-2], L.shape[:-2])
    Lb = xp.ascontiguousarray(xp.broadcast_to(L, batch + L.shape[-2:]))
    Bb = xp.ascontiguousarray(xp.broadcast_to(B, batch + B.shape[-2:]))
    if Lb.size == 0 or Bb.size == 0:
        return xp.zeros(Bb.shape, dtype=B.dtype)
    bk = of_module(xp)
    Lt = xp.ascontiguousarray(xp.swapaxes(Lb, -1, -2))
    if upper:  # U^T Y = B, then U X = Y
        return bk.solve_triangular(Lb, bk.solve_triangular(Lt, Bb, False), True)
    return bk.solve_triangular(Lt, bk.solve_triangular(Lb, Bb, False), True)


class CholeskySolve(Function):
    """``X = A^-1 B`` with ``A = L L^T``; the backward is torch's (not restricted to ``L``'s
    triangle, as torch's is not)."""

    _raw = True

    @staticmethod
    def forward(ctx, B, L, upper):
        X = _cholesky_solve_raw(ctx.xp, B, L, upper)
        ctx.upper = upper
        ctx.save_for_backward(L, X)
        return X

    @staticmethod
    def backward(ctx, g):
        L, X = ctx.saved_tensors
        gB = CholeskySolve.apply(g, L, ctx.upper)
        gL = None
        if ctx.needs_input_grad[1]:
            common = gB @ _mT(X)
            common = common + _mT(common)
            gL = -(L @ common) if ctx.upper else -(common @ L)
        return gB, gL, None


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """Solve ``A X = B`` given the Cholesky factor of ``A``.

    Args:
        input: ``B`` ``(*, n, k)``.
        input2: ``L`` (lower, ``A = L L^T``) or ``U`` (``upper=True``, ``A = U^T U``),
            ``(*, n, n)``; only that triangle is read. Batch dims broadcast.

    Example:
        >>> L = gpuarr.tensor([[2., 0.], [1., 1.]])
        >>> gpuarr.cholesky_solve(gpuarr.tensor([[4.], [2.]]), L)
        tensor([[1.],
                [0.]])
    """
    _need("cholesky_solve", input, "input", 1)
    _need("cholesky_solve", input2, "input2", 2)
    _check_pair("cholesky_solve", input, input2, "u", "cholesky_solve_cpu")
    res = CholeskySolve.apply(input, input2, upper)
    return res if out is None else write_out(res, out, "cholesky_solve", rule="exact")


class CholeskyInverse(Function):
    """``(L L^T)^-1`` from a Cholesky factor; the backward is torch's."""

    _raw = True

    @staticmethod
    def forward(ctx, L, upper):
        xp = ctx.xp
        n = L.shape[-1]
        eye = xp.broadcast_to(xp.eye(n, dtype=L.dtype), L.shape)
        X = _cholesky_solve_raw(xp, eye, L, upper)
        ctx.upper = upper
        ctx.save_for_backward(L, X)
        return X

    @staticmethod
    def backward(ctx, g):
        L, X = ctx.saved_tensors
        common = X @ ((g + _mT(g)) @ X)
        return (-(L @ common) if ctx.upper else -(common @ L)), None


def _raise_zero_diagonal(L: Tensor) -> None:
    """torch's error for a Cholesky factor with a zero on its diagonal (one synchronisation,
    as in torch, which checks LAPACK's info)."""
    xp = L._device._xp()
    zero = xp.diagonal(L._data, axis1=-2, axis2=-1) == 0
    host = _host(zero, xp)
    flat = host.reshape((-1, host.shape[-1]))
    for i, row in enumerate(flat):
        if row.any():
            j = int(np.argmax(row)) + 1
            raise LinAlgError(
                f"cholesky_inverse: {_batch_prefix(i if host.ndim > 1 else None)}The diagonal "
                f"element {j} is zero, the inversion could not be completed because the input "
                "matrix is singular."
            )


def cholesky_inverse(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """Inverse of ``A = L L^T`` (``U^T U`` when ``upper``) from its Cholesky factor.

    Raises:
        LinAlgError: a zero on the factor's diagonal.

    Example:
        >>> gpuarr.cholesky_inverse(gpuarr.tensor([[2., 0.], [0., 1.]]))
        tensor([[0.2500, 0.0000],
                [0.0000, 1.0000]])
    """
    _need("cholesky_inverse", input, "input", 1)
    if input._data.ndim < 2:
        raise RuntimeError("cholesky_inverse: The input tensor A must have at least 2 "
                           "dimensions.")
    m, n = input._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"cholesky_inverse: A must be batches of square matrices, but they "
                           f"are {m} by {n} matrices")
    _no_kernel("cholesky_inverse_out_cpu", input, _LAPACK_KINDS)
    if input._data.size:
        _raise_zero_diagonal(input)
    res = CholeskyInverse.apply(input, upper)
    return res if out is None else write_out(res, out, "cholesky_inverse", rule="exact")


# --------------------------------------------------------------------------------------------
# qr, svd, pinverse


def qr(input: Tensor, some: bool = True, *, out=None):
    """QR decomposition (torch's older ``torch.qr``): ``some=True`` is mode 'reduced',
    ``some=False`` mode 'complete' (see ``gpuarr.linalg.qr``).

    Returns:
        ``(Q, R)`` as ``return_types.qr``.

    Example:
        >>> gpuarr.qr(gpuarr.eye(2)).R
        tensor([[1., 0.],
                [0., 1.]])
    """
    res = return_types.qr(*_linalg_qr(input, "reduced" if some else "complete"))
    return res if out is None else write_out(res, out, "qr", rule="exact")


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None):
    """Singular value decomposition ``input = U diag(S) V^T`` (torch's older ``torch.svd``:
    it returns ``V``, not ``V^T``).

    Args:
        some: reduced factors (``k = min(m, n)`` columns) instead of square ones.
        compute_uv: with False, only ``S`` is computed; ``U`` and ``V`` are zero matrices
            (``m x m`` and ``n x n``), as torch's.

    Returns:
        ``(U, S, V)`` as ``return_types.svd``.

    Example:
        >>> gpuarr.svd(gpuarr.tensor([[3., 0.], [0., -4.]])).S
        tensor([4., 3.])
    """
    _need("svd", input, "input", 1)
    if input._data.ndim < 2:
        raise RuntimeError("linalg.svd: input should have at least 2 dimensions, but has "
                           f"{input._data.ndim} dimensions instead")
    if compute_uv:
        U, S, Vh = _svd(input, full_matrices=not some)
        res = return_types.svd(U, S, _mT(Vh))
    else:
        xp = input._device._xp()
        m, n = input._data.shape[-2:]
        batch, dt = input._data.shape[:-2], input._data.dtype
        res = return_types.svd(_const(xp.zeros(batch + (m, m), dtype=dt), input),
                               svdvals(input),
                               _const(xp.zeros(batch + (n, n), dtype=dt), input))
    return res if out is None else write_out(res, out, "svd", rule="exact")


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """Pseudo-inverse with singular values at most ``rcond * sigma_max`` dropped
    (``gpuarr.linalg.pinv(input, rtol=rcond)``).

    Example:
        >>> gpuarr.pinverse(gpuarr.tensor([[2., 0.], [0., 0.]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.0000]])
    """
    return pinv(input, rcond)


# --------------------------------------------------------------------------------------------
# LU


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out=None):
    """LU factorisation (torch's older ``torch.lu``; see ``gpuarr.linalg.lu_factor``).

    Returns:
        ``(LU, pivots)``, or ``(LU, pivots, infos)`` with ``get_infos``. A singular matrix
        raises nothing (its ``infos`` entry is positive).

    Example:
        >>> LU, piv = gpuarr.lu(gpuarr.tensor([[1., 2.], [3., 4.]]))
        >>> piv
        tensor([2, 2], dtype=gpuarr.int32)
    """
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    res = (LU, piv, info) if get_infos else (LU, piv)
    if out is not None:
        write_out(res, out, "lu", rule="exact")
        return tuple(out)
    return res


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out=None) -> Tensor:
    """Solve ``A X = b`` from :func:`lu`'s factors (torch's older argument order; see
    ``gpuarr.linalg.lu_solve``).

    Example:
        >>> A = gpuarr.tensor([[2., 0.], [0., 4.]])
        >>> gpuarr.lu_solve(gpuarr.tensor([[2.], [4.]]), *gpuarr.lu(A))
        tensor([[1.],
                [1.]])
    """
    res = _linalg_lu_solve(LU_data, LU_pivots, b)
    return res if out is None else write_out(res, out, "lu_solve", rule="exact")


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True, *, out=None):
    """``(P, L, U)`` from packed LU factors and pivots (``A = P L U``).

    ``unpack_data=False`` leaves ``L`` and ``U`` empty, ``unpack_pivots=False`` ``P``.
    ``L`` and ``U`` are differentiable in ``LU_data``.

    Example:
        >>> P, L, U = gpuarr.lu_unpack(*gpuarr.linalg.lu_factor(gpuarr.eye(2)))
        >>> P
        tensor([[1., 0.],
                [0., 1.]])
    """
    _need("lu_unpack", LU_data, "LU_data", 1)
    _need("lu_unpack", LU_pivots, "LU_pivots", 2)
    if LU_pivots._data.dtype != np.int32:
        raise RuntimeError(
            "torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 "
            "dtype.\nNote: this function is intended to be used with the output produced by "
            "torch.linalg.lu_factor"
        )
    if LU_data._data.ndim < 2:
        raise RuntimeError("torch.lu_unpack: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(LU_data.shape)} instead")
    res = return_types.lu_unpack(*_lu_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots))
    return res if out is None else write_out(res, out, "lu_unpack", rule="exact")


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False, *, out=None):
    """Solve ``A X = b`` (``A^T X = b`` with ``transpose``) for triangular ``A`` (torch's
    older ``torch.triangular_solve``; prefer ``gpuarr.linalg.solve_triangular``).

    Returns:
        ``(solution, cloned_coefficient)``: ``X`` and a copy of ``A`` broadcast to the batch.

    Example:
        >>> A = gpuarr.tensor([[2., 1.], [0., 4.]])
        >>> gpuarr.triangular_solve(gpuarr.tensor([[3.], [4.]]), A).solution
        tensor([[1.],
                [1.]])
    """
    _need("triangular_solve", input, "input", 1)
    _need("triangular_solve", A, "A", 2)
    if input._data.ndim < 2:
        raise RuntimeError("torch.triangular_solve: Expected b to have at least 2 dimensions, "
                           f"but it has {input._data.ndim} dimensions instead")
    if A._data.ndim < 2:
        raise RuntimeError("torch.triangular_solve: Expected A to have at least 2 dimensions, "
                           f"but it has {A._data.ndim} dimensions instead")
    _check_pair("triangular_solve", input, A, "A", "triangular_solve_cpu")
    if transpose:
        X = _trsolve(_mT(A), input, upper=not upper, unit=unitriangular)
    else:
        X = _trsolve(A, input, upper=upper, unit=unitriangular)
    batch = broadcast_shapes(input._data.shape[:-2], A._data.shape[:-2])
    res = return_types.triangular_solve(X, A.expand(batch + tuple(A.shape[-2:])).clone())
    return res if out is None else write_out(res, out, "triangular_solve", rule="exact")


# --------------------------------------------------------------------------------------------
# addr, addbmm and the in-place product forms


def _check_integral_scalars(input: Tensor, beta, alpha) -> None:
    if input._data.dtype.kind in "iu":
        for name, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, float):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a "
                                   "floating point number.")


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``; ``input`` broadcasts to ``n x m`` and the
    dtypes promote. With ``beta=0`` ``input`` is ignored (its nan/inf do not propagate).

    For bool tensors ``beta`` and ``alpha`` act as logical masks (and/or), as in torch.

    Example:
        >>> gpuarr.addr(gpuarr.zeros(2, 2), gpuarr.ones(2), gpuarr.ones(2), alpha=3)
        tensor([[3., 3.],
                [3., 3.]])
    """
    _need("addr", input, "input", 1)
    _need("addr", vec1, "vec1", 2)
    _need("addr", vec2, "vec2", 3)
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v._data.ndim}-D")
    _check_integral_scalars(input, beta, alpha)
    prod = outer(vec1, vec2)
    rd = D.promote_types(input.dtype, prod.dtype)
    if rd is D.bool:  # logical: alpha and beta select the terms
        base = input.expand(prod.shape)
        res = (prod & bool(alpha)) | (base & bool(beta))
    else:
        res = _fma("addr", input.to(rd), prod.to(rd), beta, alpha)
    return res if out is None else write_out(res, out, "addr")


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1,
           out=None) -> Tensor:
    """``beta * input + alpha * sum_i batch1[i] @ batch2[i]`` (a batch of products summed).

    Example:
        >>> gpuarr.addbmm(gpuarr.zeros(2, 2), gpuarr.ones(3, 2, 4), gpuarr.ones(3, 4, 2))
        tensor([[12., 12.],
                [12., 12.]])
    """
    _need("addbmm", input, "input", 1)
    _need("addbmm", batch1, "batch1", 2)
    _need("addbmm", batch2, "batch2", 3)
    for name, b in (("batch1", batch1), ("batch2", batch2)):
        if b._data.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    s1, s2 = batch1._data.shape, batch2._data.shape
    if s1[0] != s2[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {s1[0]} "
                           f"and {s2[0]}")
    if s1[2] != s2[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({s1[1]}x{s1[2]} and "
                           f"{s2[1]}x{s2[2]})")
    _check_integral_scalars(input, beta, alpha)
    if _half_via_f32(input, batch1, batch2) and s1[0]:
        # torch's CPU kernel for the half types: one addmm per batch, each in float32 and
        # rounded once to the half type
        res = addmm(input, batch1[0], batch2[0], beta=beta, alpha=alpha)
        for i in range(1, s1[0]):
            res = addmm(res, batch1[i], batch2[i], alpha=alpha)
    else:
        res = _fma("addbmm", input, bmm(batch1, batch2).sum(0, dtype=batch1.dtype), beta,
                   alpha)
    return res if out is None else write_out(res, out, "addbmm", rule="exact")


def _product_shape(name: str, args) -> tuple | None:
    """The shape of ``name``'s product term for in-place checks (None: malformed operands,
    left to the op's own errors)."""
    try:
        a, b = args[0]._data.shape, args[1]._data.shape
        return {"addmm": lambda: (a[0], b[1]), "addmv": lambda: (a[0],),
                "baddbmm": lambda: (a[0], a[1], b[2]), "addr": lambda: (a[0], b[0]),
                "addbmm": lambda: (a[1], b[2])}[name]()
    except (AttributeError, IndexError, TypeError):
        return None


def _inplace_product(name: str, fn):
    """``Tensor.<name>_``: the product op written into ``self``, whose shape must be the
    result's (torch's errors: no broadcasting of ``self``)."""

    def method(self: Tensor, *args, **kwargs):
        shape = _product_shape(name, args)
        if shape is not None and tuple(self.shape) != shape:
            if name == "addmv":
                m = args[0]._data.shape
                raise RuntimeError(f"size mismatch, got input ({self.shape[0] if self.ndim else 1}"
                                   f"), mat ({m[0]}x{m[1]}), vec ({args[1]._data.shape[0]})")
            if name == "addr" and self._data.ndim != 2:
                raise RuntimeError(f"2D tensor expected, got {self._data.ndim}D tensor for "
                                   "input")
            raise RuntimeError(f"Bad in-place call: input tensor size {list(self.shape)} and "
                               f"output tensor size {list(shape)} should match")
        return apply_inplace(self, fn, *args, **kwargs)

    method.__name__ = name + "_"
    method.__qualname__ = "Tensor." + name + "_"
    method.__doc__ = f"In-place :func:`{name}`; returns self."
    return method


def orgqr(input: Tensor, tau: Tensor, *, out=None) -> Tensor:
    """``Q`` from Householder reflectors (torch's name for
    ``gpuarr.linalg.householder_product``).

    Example:
        >>> gpuarr.orgqr(gpuarr.zeros(2, 2), gpuarr.tensor([0., 0.]))
        tensor([[1., 0.],
                [0., 1.]])
    """
    return householder_product(input, tau, out=out)


# --------------------------------------------------------------------------------------------
# functions torch has removed: calling them raises torch's error

_REMOVED = "This function was deprecated since version 1.9 and is now removed."


def lstsq(input, A, *args, **kwargs):
    """Removed from torch: raises its error (use ``gpuarr.linalg.lstsq(A, B)``)."""
    raise RuntimeError(
        f"{_REMOVED} `torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n"
        "`torch.linalg.lstsq` has reversed arguments and does not return the QR decomposition "
        "in the returned tuple (although it returns other information about the problem).\n\n"
        "To get the QR decomposition consider using `torch.linalg.qr`.\n\n"
        "The returned solution in `torch.lstsq` stored the residuals of the solution in the "
        "last m - n columns of the returned value whenever m > n. In torch.linalg.lstsq, the "
        "residuals are in the field 'residuals' of the returned named tuple.\n\n"
        "The unpacking of the solution, as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]\n"
        "should be replaced with:\nX = torch.linalg.lstsq(A, B).solution"
    )


def symeig(input, *args, **kwargs):
    """Removed from torch: raises its error (use ``gpuarr.linalg.eigh``)."""
    raise RuntimeError(
        f"{_REMOVED} The default behavior has changed from using the upper triangular portion "
        "of the matrix by default to using the lower triangular portion.\n\n"
        "L, _ = torch.symeig(A, upper=upper) should be replaced with:\n"
        "L = torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\n"
        "L, V = torch.symeig(A, eigenvectors=True) should be replaced with:\n"
        "L, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')"
    )


def eig(input, *args, **kwargs):
    """Removed from torch: raises its error."""
    raise RuntimeError(
        f"{_REMOVED} `torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` "
        "rather than real tensors mimicking complex tensors.\n\n"
        "L, _ = torch.eig(A) should be replaced with:\nL_complex = torch.linalg.eigvals(A)\n\n"
        "and\n\nL, V = torch.eig(A, eigenvectors=True) should be replaced with:\n"
        "L_complex, V_complex = torch.linalg.eig(A)"
    )


def matrix_rank(input, *args, **kwargs):
    """Removed from torch: raises its error (use ``gpuarr.linalg.matrix_rank``)."""
    raise RuntimeError(
        f"{_REMOVED}\nPlease use the `torch.linalg.matrix_rank` function instead. The parameter "
        "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'."
    )


register(__name__, {
    "cholesky": cholesky, "cholesky_solve": cholesky_solve,
    "cholesky_inverse": cholesky_inverse, "qr": qr, "svd": svd, "pinverse": pinverse,
    "matrix_power": matrix_power, "matrix_exp": matrix_exp, "lu": lu, "lu_solve": lu_solve,
    "triangular_solve": triangular_solve, "addr": addr, "addbmm": addbmm, "orgqr": orgqr,
    "lstsq": lstsq, "symeig": symeig, "eig": eig,
    "addmm_": _inplace_product("addmm", addmm), "addmv_": _inplace_product("addmv", addmv),
    "baddbmm_": _inplace_product("baddbmm", baddbmm), "addr_": _inplace_product("addr", addr),
    "addbmm_": _inplace_product("addbmm", addbmm),
})

LinalgExtraMethods = mixin("LinalgExtraMethods", __name__)
