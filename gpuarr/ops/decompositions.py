"""``gpuarr.linalg``: norms, inverses, solvers, determinants and decompositions, as in
``torch.linalg``.

Every function takes a matrix or a batch of matrices (``(*, m, n)``), runs one backend routine
(``numpy.linalg`` / ``cupy.linalg``) and has a gradient written with gpuarr ops, so that
second derivatives work too. Errors follow ``torch.linalg``'s texts; a singular or non
positive-definite input raises :class:`LinAlgError` (a ``RuntimeError``), naming the batch
element and the failing pivot like PyTorch does.

Example:
    >>> A = gpuarr.tensor([[2., 0.], [0., 4.]])
    >>> gpuarr.linalg.inv(A)
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]])
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .. import return_types
from .._autocast import state as _amp
from .._core.function import Function
from .._core.tensor import TensorBase, _make
from ..backends import of_module, sync_debug
from ._common import (
    apply_raw,
    broadcast_shapes,
    check_same_device,
    dims_arg,
    dtype_name,
    no_grad_needed,
    wrap_dim,
)
from ._out import _CPP_NAMES
from .matmul import _product
from .matmul import matmul as matmul
from .reduction import Norm, _check_norm_nonempty

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "solve", "det", "slogdet",
    "matmul", "cross", "svd", "svdvals", "eigh", "eigvalsh", "cholesky", "multi_dot", "vecdot",
]


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (singular matrix, not positive-definite)."""


# torch's result types (gpuarr.return_types), under the names this module has used for them
SlogdetResult = return_types.linalg_slogdet
SVDResult = return_types.linalg_svd
EighResult = return_types.linalg_eigh


# --------------------------------------------------------------------------------------------
# argument checks (torch's texts)


def _need_tensor(fn: str, x, name: str = "A") -> None:
    if not isinstance(x, TensorBase):
        raise TypeError(f"linalg.{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def _check_matrix(fn: str, A: Tensor, name: str = "A") -> None:
    if A._data.ndim < 2:
        raise RuntimeError(f"linalg.{fn}: The input tensor {name} must have at least 2 dimensions.")


def _check_square(fn: str, A: Tensor) -> None:
    _check_matrix(fn, A)
    m, n = A._data.shape[-2:]
    if m != n:
        raise RuntimeError(
            f"linalg.{fn}: A must be batches of square matrices, but they are {m} by {n} matrices"
        )


def _check_float(fn: str, A: Tensor, low_precision: bool = True) -> None:
    if A._data.dtype.kind == "c":
        raise NotImplementedError(f"linalg.{fn}: gpuarr's linear algebra does not take complex "
                                  "inputs yet (linalg.eig and linalg.eigvals do)")
    if A._data.dtype.kind != "f":
        raise RuntimeError(
            f"linalg.{fn}: Expected a floating point or complex tensor as input. "
            f"Got {dtype_name(A.dtype)}"
        )
    if A._data.dtype == np.float16 and not low_precision:
        raise RuntimeError(f"linalg.{fn}: Low precision dtypes not supported. Got Half")


def _no_kernel(kernel: str, A: Tensor, kinds: str = "") -> None:
    """torch's NotImplementedError for dtypes its LAPACK kernel lacks (half, and ``kinds``)."""
    if A._data.dtype == np.float16 or A._data.dtype.kind in kinds:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_name(A.dtype)}\'')


def _check_norm_dtype(fn: str, A: Tensor, dtype):
    """torch's ``dtype=`` rule for norms: floating, and no narrowing of the input."""
    if dtype is None:
        return None
    dt = D.as_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(
            f"linalg.{fn}: dtype should be floating point or complex, but got {dtype_name(dt)}"
        )
    if dt.itemsize < A._data.dtype.itemsize:
        raise RuntimeError(
            f"linalg.{fn}: the dtype of the input ({dtype_name(A.dtype)}) should be convertible "
            f"without narrowing to the specified dtype ({dtype_name(dt)})"
        )
    return dt


def _const(arr, like: Tensor) -> Tensor:
    return _make(arr, like._device)


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


def _diag_embed(v: Tensor) -> Tensor:
    """A batch of diagonal matrices from a batch of vectors (differentiable)."""
    n = v._data.shape[-1]
    eye = v._device._xp().eye(n, dtype=v._data.dtype)
    return v.unsqueeze(-1) * _const(eye, v)


# --------------------------------------------------------------------------------------------
# small differentiable helpers: max/min along a dim, and narrowing the last dims


class _Extreme(Function):
    """amax/amin over one dim; ties share the gradient evenly, as in torch."""

    _raw = True

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_max):
        out = ctx.xp.asarray((ctx.xp.max if is_max else ctx.xp.min)(x, axis=dim, keepdims=keepdim))
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            g, out = g.unsqueeze(ctx.dim), out.unsqueeze(ctx.dim)
        mask = (x == out).to(g.dtype)
        return g * mask / mask.sum(ctx.dim, keepdim=True), None, None, None


def _extreme(x: Tensor, dim: int, keepdim: bool, is_max: bool) -> Tensor:
    d = wrap_dim(dim, x._data.ndim)
    if x._data.shape[d] == 0:
        raise IndexError(
            f"{'amax' if is_max else 'amin'}(): Expected reduction dim {dim} to have non-zero size."
        )
    return apply_raw(_Extreme, x, d, keepdim, is_max)


class _Narrow(Function):
    """``x[..., :rows, :cols]`` (a copy) with a zero-padding backward."""

    _raw = True

    @staticmethod
    def forward(ctx, x, rows, cols):
        ctx.shape = x.shape
        return x[..., :rows, :cols].copy()

    @staticmethod
    def backward(ctx, g):
        return _Pad.apply(g, ctx.shape[-2], ctx.shape[-1]), None, None


class _Pad(Function):
    """Zero-pad the last two dims of ``x`` to ``rows x cols`` (the adjoint of :class:`_Narrow`)."""

    _raw = True

    @staticmethod
    def forward(ctx, x, rows, cols):
        r, c = x.shape[-2:]
        ctx.rc = (r, c)
        out = ctx.xp.zeros(x.shape[:-2] + (rows, cols), dtype=x.dtype)
        out[..., :r, :c] = x
        return out

    @staticmethod
    def backward(ctx, g):
        return _Narrow.apply(g, *ctx.rc), None, None


def _narrow2(x: Tensor, rows: int, cols: int) -> Tensor:
    if x._data.shape[-2:] == (rows, cols):
        return x
    return _Narrow.apply(x, rows, cols)


# --------------------------------------------------------------------------------------------
# norms


def _fmt_ord(o) -> str:
    if isinstance(o, float) and o.is_integer():
        return str(int(o))
    return str(o)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Vector norm of ``x`` over ``dim`` (all elements by default).

    Args:
        x: a floating tensor.
        ord: any number: ``inf`` (max ``|x|``), ``-inf`` (min), 0 (count of nonzeros), or
            ``p`` for ``sum(|x|**p) ** (1/p)``. Default 2.
        dim: int, tuple of ints, or None (flatten).
        keepdim: keep reduced dims with size 1.
        dtype: compute and return in this (not narrower) floating dtype.

    Returns:
        The norms. At ``x == 0`` the gradient is the subgradient 0, as in torch.

    Example:
        >>> gpuarr.linalg.vector_norm(gpuarr.tensor([3., -4.]))
        tensor(5.)
    """
    if _amp.on:
        return _amp.run("vector_norm", vector_norm, x, ord=ord, dim=dim, keepdim=keepdim,
                        dtype=dtype)
    _need_tensor("vector_norm", x, "input")
    if isinstance(ord, bool) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(
            f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}"
        )
    ord = float(ord)
    if x._data.dtype.kind == "c":  # the norm of the moduli (a real tensor)
        return vector_norm((x if dtype is None else x.to(dtype)).abs(), ord, dim, keepdim)
    _check_float("vector_norm", x)
    dt = _check_norm_dtype("vector_norm", x, dtype)
    if dt is not None and dt.np != x._data.dtype:
        x = x.to(dt)
    nd = x._data.ndim
    axes = dims_arg(dim, nd)
    if axes == () or nd == 0:
        axes = None
    _check_norm_nonempty(x._data, ord, _fmt_ord(ord), axes)
    return apply_raw(Norm, x, ord, axes, keepdim)


_MATRIX_ORDS = (2.0, -2.0, 1.0, -1.0, math.inf, -math.inf)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """Matrix norm of ``A`` over the two dims ``dim``.

    Args:
        A: a (batch of) floating matrices.
        ord: 'fro' (default), 'nuc' (sum of singular values), 2 / -2 (largest / smallest
            singular value), 1 / -1 (max / min column abs-sum), inf / -inf (max / min row
            abs-sum).
        dim: a 2-tuple of dims.
        keepdim: keep the two reduced dims with size 1.
        dtype: compute in this (not narrower) floating dtype.

    Returns:
        The norms, of shape ``A.shape`` without ``dim``.

    Example:
        >>> gpuarr.linalg.matrix_norm(gpuarr.ones(2, 2))
        tensor(2.)
    """
    if _amp.on:
        return _amp.run("matrix_norm", matrix_norm, A, ord=ord, dim=dim, keepdim=keepdim,
                        dtype=dtype)
    _need_tensor("matrix_norm", A)
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
        low_ok = ord == "fro"
    else:
        if float(ord) not in _MATRIX_ORDS:
            raise RuntimeError(f"linalg.matrix_norm: Order {_fmt_ord(float(ord))} not supported.")
        ord = float(ord)
        low_ok = abs(ord) != 2
    if isinstance(dim, int):
        raise TypeError("linalg.matrix_norm(): argument 'dim' must be tuple of ints, not int")
    _check_matrix("matrix_norm", A)
    _check_float("matrix_norm", A, low_precision=low_ok)
    dims = list(dim)
    if len(dims) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(str(d) for d in dims)}"
        )
    nd = A._data.ndim
    d0, d1 = wrap_dim(dims[0], nd), wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    dt = _check_norm_dtype("matrix_norm", A, dtype)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim, dtype=dt)
    if dt is not None and dt.np != A._data.dtype:
        A = A.to(dt)
    if not isinstance(ord, str) and ord > 0 and A._data.size == 0:
        # torch gives 0 for the max-type norms of empty matrices (zeros, still in the graph)
        return vector_norm(A, 2.0, (d0, d1), keepdim)
    if ord == "nuc" or abs(ord) == 2:
        perm = [i for i in range(nd) if i not in (d0, d1)] + [d0, d1]
        sv = svdvals(A.permute(perm))
        res = sv.sum(-1) if ord == "nuc" else _extreme(sv, -1, False, ord > 0)
        if keepdim:
            res = res.unsqueeze(-1).unsqueeze(-1)
            inv = [0] * nd
            for i, p in enumerate(perm):
                inv[p] = i
            res = res.permute(inv)
        return res
    if math.isinf(ord):  # the inf norm is the 1 norm of the transpose
        d0, d1 = d1, d0
    if not keepdim and d0 < d1:
        d1 -= 1
    return _extreme(vector_norm(A, 1.0, (d0,), keepdim), d1, keepdim, ord > 0)


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Vector or matrix norm, as ``torch.linalg.norm``.

    With ``ord=None`` and ``dim=None`` this is the 2-norm of all elements (Frobenius for a
    matrix). A 1-D ``dim`` (or a 1-D input) gives :func:`vector_norm`; a 2-D ``dim`` (or a 2-D
    input with ``ord`` given) gives :func:`matrix_norm`.

    Example:
        >>> gpuarr.linalg.norm(gpuarr.tensor([[1., 2.], [2., 4.]]))
        tensor(5.)
    """
    _need_tensor("norm", A)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) not in (1, 2):
            raise RuntimeError(
                f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}"
            )
    elif ord is not None and A._data.ndim not in (1, 2):
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
            f"Got {A._data.ndim}D."
        )
    if isinstance(ord, str):
        return matrix_norm(A, ord, dim if dim is not None else (0, 1), keepdim, dtype=dtype)
    if ord is not None and ((dim is not None and len(dim) == 2)
                            or (dim is None and A._data.ndim == 2)):
        return matrix_norm(A, ord, dim if dim is not None else (0, 1), keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot products of vectors along ``dim`` (with broadcasting).

    Example:
        >>> gpuarr.linalg.vecdot(gpuarr.ones(2, 3), gpuarr.ones(3))
        tensor([3., 3.])
    """
    if _amp.on:
        return _amp.run("vecdot", vecdot, x, y, dim=dim)
    _need_tensor("vecdot", x, "x")
    _need_tensor("vecdot", y, "y")
    _check_float("vecdot", x)
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(
            "linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
            f"{dtype_name(x.dtype)} and y of type {dtype_name(y.dtype)} instead"
        )
    return (x * y).sum(dim)


# --------------------------------------------------------------------------------------------
# singular inputs: find the failing pivot / minor like LAPACK's info


def _first_zero_pivot(a: np.ndarray) -> int:
    """1-based index of the first exactly-zero pivot of LU with partial pivoting (getrf's
    ``info``), or 0."""
    a = np.array(a, copy=True)
    n = a.shape[0]
    for j in range(n):
        p = j + int(np.argmax(np.abs(a[j:, j])))
        if a[p, j] == 0:
            return j + 1
        if p != j:
            a[[j, p]] = a[[p, j]]
        a[j + 1:, j] /= a[j, j]
        a[j + 1:, j + 1:] -= np.outer(a[j + 1:, j], a[j, j + 1:])
    return 0


def _first_bad_minor(a: np.ndarray) -> int:
    """Order of the first leading minor that is not positive-definite (potrf's ``info``)."""
    n = a.shape[0]
    for k in range(1, n + 1):
        try:
            np.linalg.cholesky(a[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def _find_failure(A_host: np.ndarray, probe) -> tuple:
    """``(batch index or None, info)`` of the first matrix ``probe`` reports a failure for."""
    mats = A_host.reshape((-1,) + A_host.shape[-2:])
    for i, m in enumerate(mats):
        info = probe(m)
        if info:
            return (i if A_host.ndim > 2 else None), info
    return None, 0


def _batch_prefix(i) -> str:
    return "" if i is None else f"(Batch element {i}): "


def _host(t_arr, xp) -> np.ndarray:
    return of_module(xp).to_host(t_arr)


def _raise_singular(fn: str, A, xp, solver: bool) -> None:
    """Raise torch's LinAlgError for a singular ``A``, if LU finds an exactly zero pivot."""
    i, info = _find_failure(_host(A, xp), _first_zero_pivot)
    if not info:
        return
    if solver:
        raise LinAlgError(f"torch.linalg.{fn}: {_batch_prefix(i)}The solver failed because the "
                          "input matrix is singular.")
    raise LinAlgError(
        f"linalg.{fn}: {_batch_prefix(i)}The diagonal element {info} is zero, the inversion "
        "could not be completed because the input matrix is singular."
    )


def _errstate(xp):
    """Make the backend's solvers raise LinAlgError on a failed factorisation (CuPy's are
    silent by default)."""
    return of_module(xp).linalg_errstate()


def _guard(fn: str, xp, A, compute, raise_fn, each, out_shape):
    """Run ``compute()``. When the backend reports a failed factorisation, ``raise_fn`` raises
    torch's error if the failure is real (a zero pivot / a non positive-definite minor).
    Otherwise it came from NaNs: like torch, return NaNs for those matrices only (``each(i)``
    computes batch element ``i`` of an output of shape ``out_shape``)."""
    try:
        with _errstate(xp):
            return compute()
    except np.linalg.LinAlgError:
        raise_fn()
    out = xp.full(out_shape, np.nan, dtype=A.dtype)
    flat = out.reshape((-1,) + tuple(out_shape[-2:]))
    for i in range(flat.shape[0]):
        try:
            with _errstate(xp):
                flat[i] = each(i)
        except np.linalg.LinAlgError:
            pass  # stays NaN
    return out


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


# --------------------------------------------------------------------------------------------
# inverse, solve, determinants


def _inv_raw(xp, A):
    if A.size == 0:
        return xp.empty_like(A)
    mats = A.reshape((-1,) + A.shape[-2:])
    return _guard("inv", xp, A, lambda: xp.linalg.inv(A),
                  lambda: _raise_singular("inv", A, xp, solver=False),
                  lambda i: xp.linalg.inv(mats[i]), A.shape)


class Inv(Function):
    _raw = True

    @staticmethod
    def forward(ctx, A):
        out = _inv_raw(ctx.xp, A)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (X,) = ctx.saved_tensors
        Xt = _mT(X)
        return -_product(_product(Xt, g), Xt)


def inv(A: Tensor) -> Tensor:
    """Inverse of a square matrix or a batch of them.

    Raises:
        LinAlgError: if a matrix is singular (naming the zero pivot and batch element).

    Example:
        >>> gpuarr.linalg.inv(gpuarr.tensor([[2., 0.], [0., 4.]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    if _amp.on:
        return _amp.run("inv", inv, A)
    _need_tensor("inv", A)
    _check_square("inv", A)
    _check_float("inv", A, low_precision=False)
    return apply_raw(Inv, A)


def _solve_raw(xp, A, B):
    if A.size == 0 or B.size == 0:
        return xp.zeros(B.shape, dtype=B.dtype)
    if of_module(xp).contiguous_solve:  # CuPy wants matching, materialised batches
        A, B = xp.ascontiguousarray(A), xp.ascontiguousarray(B)
    ma, mb = A.reshape((-1,) + A.shape[-2:]), B.reshape((-1,) + B.shape[-2:])
    return _guard("solve", xp, A, lambda: xp.linalg.solve(A, B),
                  lambda: _raise_singular("solve", A, xp, solver=True),
                  lambda i: xp.linalg.solve(ma[i], mb[i]), B.shape)


class Solve(Function):
    """``X = A^-1 B`` for ``A (*, n, n)`` and ``B (*, n, k)`` with broadcast batch dims."""

    _raw = True

    @staticmethod
    def forward(ctx, A, B):
        xp = ctx.xp
        batch = broadcast_shapes(B.shape[:-2], A.shape[:-2])
        Ab = xp.broadcast_to(A, batch + A.shape[-2:])
        Bb = xp.broadcast_to(B, batch + B.shape[-2:])
        X = _solve_raw(xp, Ab, Bb)
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        gB = _solve(_mT(A), g)
        gA = -_product(gB, _mT(X)) if ctx.needs_input_grad[0] else None
        return gA, gB


def _solve(A: Tensor, B: Tensor) -> Tensor:
    return Solve.apply(A, B)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """Solve ``A X = B`` (or ``X A = B`` with ``left=False``) for square ``A``.

    ``B`` is a vector (or batch of vectors) when it is 1-D or has shape ``A.shape[:-1]``;
    otherwise a (batch of) ``n x k`` matrices. Batch dims broadcast.

    Raises:
        LinAlgError: if ``A`` is singular.

    Example:
        >>> gpuarr.linalg.solve(gpuarr.tensor([[2., 0.], [0., 4.]]), gpuarr.tensor([2., 4.]))
        tensor([1., 1.])
    """
    if _amp.on:
        return _amp.run("solve", solve, A, B, left=left)
    _need_tensor("solve", A)
    _need_tensor("solve", B, "B")
    check_same_device(A, B)
    _check_matrix("solve", A)
    if B._data.ndim == 0:
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    _check_square("solve", A)
    _check_float("solve", A)
    _no_kernel("lu_cpu", A)
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(
            "linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{dtype_name(A.dtype)} and B of type {dtype_name(B.dtype)} instead"
        )
    n = A._data.shape[-1]
    sa, sb = A._data.shape, B._data.shape
    vector = len(sb) == 1 or (len(sb) == len(sa) - 1 and sb == sa[:-1])
    if vector and not left:
        raise RuntimeError(
            "linalg.solve: Vector broadcasting of the left hand side is not supported for "
            "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)"
        )
    Bm = B.unsqueeze(-1) if vector else B
    if Bm._data.ndim < 2:
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    r, c = Bm._data.shape[-2:]
    if (r if left else c) != n:
        raise RuntimeError(
            "linalg.solve: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {r}x{c})"
        )
    broadcast_shapes(Bm._data.shape[:-2], sa[:-2])  # torch's broadcast error text
    if not left:
        return _mT(_solve(_mT(A), _mT(Bm)))
    X = _solve(A, Bm)
    return X.squeeze(-1) if vector else X


def _adjugate_t(xp, A):
    """Transposed adjugate (cofactor matrix) via SVD: the gradient of det, also where A is
    singular (``det * inv(A)^T`` is undefined there)."""
    U, s, Vh = xp.linalg.svd(A)
    n = s.shape[-1]
    ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    left = xp.cumprod(xp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([s[..., 1:], ones], axis=-1), -1), -1), -1)
    p = left * right if n else s  # product of all singular values but the i-th
    scale = xp.linalg.det(U) * xp.linalg.det(Vh)
    return (U * p[..., None, :]) @ Vh * scale[..., None, None]


class Det(Function):
    _raw = True

    @staticmethod
    def forward(ctx, A):
        d = ctx.xp.asarray(ctx.xp.linalg.det(A)) if A.shape[-1] else \
            ctx.xp.ones(A.shape[:-2], dtype=A.dtype)
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        xp = A._device._xp()
        if A._data.size == 0:
            return _const(xp.zeros(A._data.shape, dtype=A._data.dtype), A)
        gd = (g * d).unsqueeze(-1).unsqueeze(-1)
        sync_debug.check_array(d._data)
        if bool(xp.all(d._data != 0)):
            return gd * _mT(inv(A))
        # singular somewhere: the cofactor matrix (first order only at these points)
        return g.unsqueeze(-1).unsqueeze(-1) * _const(_adjugate_t(xp, A._data), A)


def det(A: Tensor) -> Tensor:
    """Determinant of a square matrix or a batch of them.

    The gradient is ``det(A) * inv(A)^T`` (the cofactor matrix where ``A`` is singular).

    Example:
        >>> gpuarr.linalg.det(gpuarr.tensor([[1., 2.], [3., 4.]]))
        tensor(-2.)
    """
    _need_tensor("det", A)
    _check_square("det", A)
    _check_float("det", A)
    _no_kernel("lu_cpu", A)
    return Det.apply(A)


class Slogdet(Function):
    _raw = True

    @staticmethod
    def forward(ctx, A):
        sign, lad = ctx.xp.linalg.slogdet(A)
        sign, lad = ctx.xp.asarray(sign), ctx.xp.asarray(lad)
        ctx.mark_non_differentiable(sign)
        ctx.save_for_backward(A)
        return sign, lad

    @staticmethod
    def backward(ctx, gsign, glad):
        (A,) = ctx.saved_tensors
        return glad.unsqueeze(-1).unsqueeze(-1) * _mT(inv(A))


def slogdet(A: Tensor):
    """Sign and log of the absolute value of the determinant: ``(sign, logabsdet)``.

    ``logabsdet`` is -inf and ``sign`` 0 for a singular matrix; only ``logabsdet`` has a
    gradient (``inv(A)^T``).

    Example:
        >>> gpuarr.linalg.slogdet(-gpuarr.eye(3))
        linalg_slogdet(sign=tensor(-1.), logabsdet=tensor(0.))
    """
    _need_tensor("slogdet", A)
    _check_square("slogdet", A)
    _check_float("slogdet", A, low_precision=False)
    return SlogdetResult(*Slogdet.apply(A))


# --------------------------------------------------------------------------------------------
# cross product, chained products


class Cross(Function):
    _raw = True

    @staticmethod
    def forward(ctx, a, b, dim):
        ctx.dim = dim
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return ctx.xp.cross(a, b, axis=dim)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = Cross.apply(b, g, ctx.dim) if ctx.needs_input_grad[0] else None
        gb = Cross.apply(g, a, ctx.dim) if ctx.needs_input_grad[1] else None
        return ga, gb, None


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (other dims broadcast).

    Example:
        >>> gpuarr.linalg.cross(gpuarr.tensor([1., 0., 0.]), gpuarr.tensor([0., 1., 0.]))
        tensor([0., 0., 1.])
    """
    if _amp.on:
        return _amp.run("cross", cross, input, other, dim=dim)
    _need_tensor("cross", input, "input")
    _need_tensor("cross", other, "other")
    check_same_device(input, other)
    if input._data.ndim != other._data.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, input._data.ndim)
    la, lb = input._data.shape[d], other._data.shape[d]
    if la != 3 or lb != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. "
                           f"Got {la} and {lb}")
    broadcast_shapes(input._data.shape, other._data.shape)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"expected scalar type {dtype_name(input.dtype)} but found "
                           f"{dtype_name(other.dtype)}")
    return Cross.apply(input, other, d)


def multi_dot(tensors) -> Tensor:
    """Product of a chain of matrices, multiplied in the cheapest order. The first and last
    may be 1-D (a row / column vector).

    Example:
        >>> gpuarr.linalg.multi_dot([gpuarr.ones(2, 3), gpuarr.ones(3, 4), gpuarr.ones(4)])
        tensor([12., 12.])
    """
    if _amp.on:
        return _amp.run("multi_dot", multi_dot, tensors)
    ts = list(tensors)
    n = len(ts)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(ts):
        _need_tensor("multi_dot", t, "tensors")
        nd = t._data.ndim
        if i in (0, n - 1):
            if nd not in (1, 2):
                which = "first" if i == 0 else "last"
                raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got "
                                   f"{nd}D")
        elif nd != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
    check_same_device(*ts)
    for i, t in enumerate(ts[1:], 1):
        if t._data.dtype != ts[0]._data.dtype:
            raise RuntimeError(
                "multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                f"{_CPP_NAMES[ts[0].dtype.name]} and tensor {i} {_CPP_NAMES[t.dtype.name]}"
            )
    first_vec, last_vec = ts[0]._data.ndim == 1, ts[-1]._data.ndim == 1
    mats = list(ts)
    if first_vec:
        mats[0] = ts[0].unsqueeze(0)
    if last_vec:
        mats[-1] = ts[-1].unsqueeze(-1)
    for i in range(n - 1):
        if mats[i]._data.shape[1] != mats[i + 1]._data.shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(ts[i].shape)} and "
                f"{list(ts[i + 1].shape)} cannot be multiplied"
            )
    out = _chain(mats, _chain_order(mats), 0, n - 1)
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


def _chain_order(mats) -> list:
    """Split points of the cheapest parenthesisation (the classic dynamic programme)."""
    dims = [m._data.shape[0] for m in mats] + [mats[-1]._data.shape[1]]
    n = len(mats)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(mats, split, i, j) -> Tensor:
    if i == j:
        return mats[i]
    k = split[i][j]
    return _product(_chain(mats, split, i, k), _chain(mats, split, k + 1, j))


# --------------------------------------------------------------------------------------------
# decompositions: svd, eigh, cholesky


def _skew(X: Tensor) -> Tensor:
    return X - _mT(X)


class Svd(Function):
    """``A = U diag(S) Vh``; the backward is torch's ``svd_backward`` for real inputs."""

    _raw = True

    @staticmethod
    def forward(ctx, A, full_matrices):
        xp = ctx.xp
        m, n = A.shape[-2:]
        k = min(m, n)
        ctx.mnk, ctx.full = (m, n, k), full_matrices
        ctx.set_materialize_grads(False)
        if k == 0:  # LAPACK refuses empty matrices: build the (trivial) factors by hand
            b = A.shape[:-2]
            mu, nv = (m, n) if full_matrices else (k, k)
            U = xp.broadcast_to(xp.eye(m, mu, dtype=A.dtype), b + (m, mu)).copy()
            Vh = xp.broadcast_to(xp.eye(nv, n, dtype=A.dtype), b + (nv, n)).copy()
            S = xp.zeros(b + (0,), dtype=A.dtype)
        else:
            U, S, Vh = xp.linalg.svd(A, full_matrices=full_matrices)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        m, n, k = ctx.mnk
        if k == 0:
            return _const(U._device._xp().zeros(U.shape[:-2] + (m, n), dtype=U._data.dtype),
                          U), None
        if ctx.full and m != n:  # only the first k singular vectors enter A
            U, Vh = _narrow2(U, m, k), _narrow2(Vh, k, n)
            gU = None if gU is None else _narrow2(gU, m, k)
            gVh = None if gVh is None else _narrow2(gVh, k, n)
        if gU is None and gVh is None:
            return _product(U * gS.unsqueeze(-2), Vh), None
        xp = S._device._xp()
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _const(xp.eye(k, dtype=S._data.dtype), S)
        V = _mT(Vh)
        gV = None if gVh is None else _mT(gVh)
        if gU is not None and gV is not None:
            ret = (_skew(_product(_mT(U), gU)) * S.unsqueeze(-2)
                   + S.unsqueeze(-1) * _skew(_product(Vh, gV))) / E
        elif gU is not None:
            ret = (_skew(_product(_mT(U), gU)) / E) * S.unsqueeze(-2)
        else:
            ret = S.unsqueeze(-1) * (_skew(_product(Vh, gV)) / E)
        if gS is not None:
            ret = ret + _diag_embed(gS)
        if m > k and gU is not None:
            gA = _product(U, ret)
            gUSinv = gU / S.unsqueeze(-2)
            gA = gA + gUSinv - _product(U, _product(_mT(U), gUSinv))
            gA = _product(gA, Vh)
        elif n > k and gV is not None:
            gA = _product(ret, Vh)
            SinvgVh = _mT(gV) / S.unsqueeze(-1)
            gA = gA + SinvgVh - _product(_product(SinvgVh, V), Vh)
            gA = _product(U, gA)
        else:
            gA = _product(U, _product(ret, Vh))
        return gA, None


def _check_decomp(fn: str, A: Tensor, kernel: str) -> None:
    _check_float(fn, A)
    _no_kernel(kernel, A)


def svd(A: Tensor, full_matrices: bool = True):
    """Singular value decomposition ``A = U @ diag(S) @ Vh`` (S descending).

    Args:
        A: a (batch of) ``m x n`` floating matrices.
        full_matrices: square ``U`` (m x m) and ``Vh`` (n x n); else ``k = min(m, n)`` columns.

    Returns:
        ``(U, S, Vh)``. Gradients are defined when the singular values are distinct (and,
        for U/Vh, nonzero); they are invariant to the sign choice of singular vectors only
        for functions that are.

    Example:
        >>> U, S, Vh = gpuarr.linalg.svd(gpuarr.eye(2))
        >>> S
        tensor([1., 1.])
    """
    if _amp.on:
        return _amp.run("svd", svd, A, full_matrices=full_matrices)
    _need_tensor("svd", A)
    _check_matrix("svd", A)
    _check_decomp("svd", A, "linalg_svd_cpu")
    return SVDResult(*Svd.apply(A, full_matrices))


def svdvals(A: Tensor) -> Tensor:
    """Singular values of a (batch of) matrices, in descending order.

    Example:
        >>> gpuarr.linalg.svdvals(gpuarr.tensor([[3., 0.], [0., -4.]]))
        tensor([4., 3.])
    """
    _need_tensor("svdvals", A)
    _check_matrix("svd", A)
    _check_decomp("svd", A, "linalg_svd_cpu")
    if not no_grad_needed(A):
        return Svd.apply(A, False)[1]
    xp = A._device._xp()
    if min(A._data.shape[-2:]) == 0:
        return _const(xp.zeros(A._data.shape[:-2] + (0,), dtype=A._data.dtype), A)
    return _const(xp.linalg.svd(A._data, compute_uv=False), A)


class Eigh(Function):
    """Eigen-decomposition of a symmetric matrix (reads one triangle, like LAPACK)."""

    _raw = True

    @staticmethod
    def forward(ctx, A, uplo):
        ctx.set_materialize_grads(False)
        if A.shape[-1] == 0:
            L, V = ctx.xp.zeros(A.shape[:-1], dtype=A.dtype), A.copy()
        else:
            L, V = ctx.xp.linalg.eigh(A, UPLO=uplo)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        if gV is None:
            return _product(V * gL.unsqueeze(-2), _mT(V)), None
        n = L._data.shape[-1]
        xp = L._device._xp()
        VhgV = _product(_mT(V), gV)
        VhgV = 0.5 * _skew(VhgV)
        E = L.unsqueeze(-2) - L.unsqueeze(-1) + _const(xp.eye(n, dtype=L._data.dtype), L)
        ret = VhgV / E
        if gL is not None:
            ret = ret + _diag_embed(gL)
        return _product(V, _product(ret, _mT(V))), None


def _check_uplo(UPLO: str) -> str:
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO.upper()


def eigh(A: Tensor, UPLO: str = "L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix.

    Only the ``UPLO`` triangle of ``A`` is read. Gradients need distinct eigenvalues.

    Returns:
        ``(eigenvalues, eigenvectors)`` with ``A = V @ diag(L) @ V.mT``.

    Example:
        >>> gpuarr.linalg.eigh(gpuarr.tensor([[2., 0.], [0., 1.]])).eigenvalues
        tensor([1., 2.])
    """
    if _amp.on:
        return _amp.run("eigh", eigh, A, UPLO=UPLO)
    _need_tensor("eigh", A)
    uplo = _check_uplo(UPLO)
    _check_square("eigh", A)
    _no_kernel("linalg_eigh_cpu", A, "iub")
    return EighResult(*Eigh.apply(A, uplo))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """Eigenvalues (ascending) of a symmetric matrix (see :func:`eigh`).

    Example:
        >>> gpuarr.linalg.eigvalsh(gpuarr.tensor([[2., 1.], [1., 2.]]))
        tensor([1., 3.])
    """
    _need_tensor("eigvalsh", A)
    uplo = _check_uplo(UPLO)
    _check_square("eigvalsh", A)
    _no_kernel("linalg_eigh_cpu", A, "iub")
    if not no_grad_needed(A):
        return Eigh.apply(A, uplo)[0]
    xp = A._device._xp()
    if A._data.shape[-1] == 0:
        return _const(xp.zeros(A._data.shape[:-1], dtype=A._data.dtype), A)
    return _const(xp.linalg.eigvalsh(A._data, UPLO=uplo), A)


def _raise_not_pd(A, xp) -> None:
    i, info = _find_failure(_host(A, xp), _first_bad_minor)
    if info:
        raise LinAlgError(
            f"linalg.cholesky: {_batch_prefix(i)}The factorization could not be completed "
            f"because the input is not positive-definite (the leading minor of order {info} is "
            "not positive-definite)."
        )


class Cholesky(Function):
    """Lower factor ``L`` with ``A = L L^T``; backward from Murray (2016), as torch."""

    _raw = True

    @staticmethod
    def forward(ctx, A):
        xp = ctx.xp
        if A.shape[-1] == 0:
            L = A.copy()
        else:
            mats = A.reshape((-1,) + A.shape[-2:])
            L = _guard("cholesky", xp, A, lambda: xp.linalg.cholesky(A),
                       lambda: _raise_not_pd(A, xp), lambda i: xp.linalg.cholesky(mats[i]),
                       A.shape)
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, gL):
        (L,) = ctx.saved_tensors
        n = L._data.shape[-1]
        xp = L._device._xp()
        tril = _const(xp.tri(n, dtype=L._data.dtype), L)
        strict = _const(xp.tri(n, k=-1, dtype=L._data.dtype), L)
        phi = _product(_mT(L), gL) * tril
        sym = 0.5 * (phi + _mT(phi * strict))
        X = _solve(_mT(L), sym)  # L^-T sym
        return _mT(_solve(_mT(L), _mT(X)))  # (L^-T sym) L^-1


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """Cholesky factor of a symmetric positive-definite matrix: lower ``L`` with
    ``A = L @ L.mT`` (or upper ``U = L.mT`` with ``upper=True``). Reads the lower triangle.

    Raises:
        LinAlgError: if a matrix is not positive-definite (naming the failing leading minor).

    Example:
        >>> gpuarr.linalg.cholesky(gpuarr.tensor([[4., 2.], [2., 2.]]))
        tensor([[2., 0.],
                [1., 1.]])
    """
    if _amp.on:
        return _amp.run("cholesky", cholesky, A, upper=upper)
    _need_tensor("cholesky", A)
    _check_square("cholesky", A)
    _check_float("cholesky", A)
    _no_kernel("cholesky_cpu", A)
    L = Cholesky.apply(A)
    return _mT(L) if upper else L
