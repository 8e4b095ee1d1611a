"""Matrix products: ``matmul`` (``@``), ``mm``, ``mv``, ``bmm``, ``dot``, ``inner``, ``outer``,
``einsum``, ``tensordot``, ``trace``, ``addmm``/``addmv``/``baddbmm`` and ``kron``.

Every product is one backend call (``xp.matmul`` or ``xp.einsum``) on the operands as given:
no dtype detour and no copies on the hot path (only float16 on NumPy, which has no half-precision
GEMM, is computed in float32). Errors follow PyTorch's texts for the kernel torch would pick
(dot, mv, mm or bmm), including which of them a batched ``matmul`` folds into. Gradients are
written with these same ops, so second derivatives work.
"""

from __future__ import annotations

import functools
import string
from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._autocast import state as _amp
from ..backends import of_module
from ._common import (
    Function,
    TensorBase,
    _make,
    _state,
    broadcast_shapes,
    check_same_device,
    dtype_name,
    wrap_dim,
)
from ._out import _CPP_NAMES
from ._registry import mixin, register
from .elementwise import mul

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "matmul", "mm", "mv", "bmm", "dot", "vdot", "inner", "outer", "ger", "einsum", "tensordot",
    "trace", "addmm", "addmv", "baddbmm", "kron",
]

# torch's C++ type names, used by the mm/addmm dtype error


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def half_via_float32(xp, dt: np.dtype) -> bool:
    """Whether products of ``dt`` arrays run in float32 and round once: bfloat16 always
    (ml_dtypes has no BLAS; torch also accumulates in float32), float16 where the backend
    has no native half GEMM."""
    return D.is_half_np(dt) and (dt.kind == "V" or not of_module(xp).native_half_matmul)


def _raw_matmul(xp, a, b):
    """``xp.matmul``, through float32 for the half types that :func:`half_via_float32`
    names."""
    dt = a.dtype
    if half_via_float32(xp, dt):
        return xp.matmul(a.astype(np.float32), b.astype(np.float32)).astype(dt)
    return xp.matmul(a, b)


def _not_bool(op: str, t: Tensor) -> None:
    if t._data.dtype == np.bool_:
        raise NotImplementedError(f'"{op}" not implemented for \'Bool\'')


def _need_tensor(fn: str, name: str, pos: int, x) -> None:
    if not isinstance(x, TensorBase):
        raise TypeError(
            f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}"
        )


def _need_pair(fn: str, names: tuple, a, b, same_device: bool = True) -> None:
    """torch's TypeError for a non-tensor first or second operand, then its device check."""
    _need_tensor(fn, names[0], 1, a)
    _need_tensor(fn, names[1], 2, b)
    if same_device:
        check_same_device(a, b)


# --------------------------------------------------------------------------------------------
# torch's shape/dtype checks, one per kernel


def _check_mm(s1, s2, a: Tensor, b: Tensor) -> None:
    if s1[1] != s2[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({s1[0]}x{s1[1]} and {s2[0]}x{s2[1]})"
        )
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{_CPP_NAMES[a.dtype.name]} != {_CPP_NAMES[b.dtype.name]}"
        )
    _not_bool("addmm_impl_cpu_", a)


def _check_mv(sm, sv, m: Tensor, v: Tensor) -> None:
    if sm[1] != sv[0]:
        raise RuntimeError(
            f"size mismatch, got input ({sm[0]}), mat ({sm[0]}x{sm[1]}), vec ({sv[0]})"
        )
    if m._data.dtype != v._data.dtype:
        dv, dm = dtype_name(v.dtype), dtype_name(m.dtype)
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got {dv}, {dm}, and {dv}"
        )
    _not_bool("addmv_impl_cpu", m)


def _check_dot(a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{dtype_name(a.dtype)} and {dtype_name(b.dtype)}"
        )
    na, nb = a._data.shape[0], b._data.shape[0]
    if na != nb:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{na}] and src [{nb}] to have the same "
            f"number of elements, but got {na} and {nb} elements respectively"
        )
    _not_bool("dot", a)


def _check_bmm(s1, s2, a: Tensor, b: Tensor) -> None:
    if s2[0] != s1[0] or s2[1] != s1[2]:
        raise RuntimeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{s1[0]}, {s1[2]}] but got: [{s2[0]}, {s2[1]}]."
        )
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected scalar type {dtype_name(a.dtype)} but found {dtype_name(b.dtype)}"
        )
    _not_bool("bmm", a)


def _should_fold(a: Tensor, b: Tensor) -> bool:
    """torch's rule for running a batched matmul as one mm/mv on a folded operand.

    It only changes which error text a bad call gets; the result is the same either way.
    """
    na, nb = a._data.ndim, b._data.ndim
    larger = na >= nb
    dim_t1, dim_t2 = (na, nb) if larger else (nb, na)
    if not (dim_t1 >= 3 and dim_t2 <= 2):
        return False
    if (b if larger else a)._rg:
        return True
    if na == 2:
        return False
    t1 = a._data if larger else b._data
    if t1.size == 0:
        return True
    shape, strides = list(t1.shape), list(t1.strides)
    if not larger:  # torch folds b.mT
        shape[-1], shape[-2] = shape[-2], shape[-1]
        strides[-1], strides[-2] = strides[-2], strides[-1]
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(dim_t1 - 2))


def _check_matmul(a: Tensor, b: Tensor) -> None:
    """Raise torch's error for ``matmul(a, b)``, if it has one."""
    check_same_device(a, b)
    na, nb = a._data.ndim, b._data.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D"
        )
    sa, sb = a._data.shape, b._data.shape
    if na == 1 and nb == 1:
        _check_dot(a, b)
    elif na == 2 and nb == 1:
        _check_mv(sa, sb, a, b)
    elif na <= 2 and nb == 2:
        _check_mm(sa if na == 2 else (1, sa[0]), sb, a, b)
    elif _should_fold(a, b):
        if na >= nb:
            t1 = (_prod(sa[:-1]), sa[-1])
            (_check_mm if nb == 2 else _check_mv)(t1, sb, a, b)
        else:
            t1 = (_prod(sb[:-2]) * sb[-1], sb[-2])
            if na == 2:
                _check_mm(t1, (sa[1], sa[0]), b, a)
            else:
                _check_mv(t1, sa, b, a)
    else:
        batch = broadcast_shapes(sa[:-2], sb[:-2])
        n = _prod(batch)
        k2 = sb[-2] if nb >= 2 else sb[0]
        _check_bmm((n, 1, sa[-1]), (n, k2, 1), a, b)


# --------------------------------------------------------------------------------------------
# matmul and its special cases


class Matmul(Function):
    """``xp.matmul`` with torch's rules for 1-D operands and broadcast batch dims.

    One op for every shape; the subclasses below only name its graph node as torch's matmul
    does (torch's top node for a batched product is the reshape of a bmm/mm).
    """

    _raw = True
    _node_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, a, b):
        nig = ctx.needs_input_grad
        ctx.save_for_backward(a if nig[1] else None, b if nig[0] else None)
        ctx.shapes = (a.shape, b.shape)
        return _raw_matmul(ctx.xp, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        na, nb = len(sa), len(sb)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if nb == 1:
                ga = g * b if na == 1 else g.unsqueeze(-1) * b
            elif na == 1:
                ga = _product(b, g.unsqueeze(-1)).squeeze(-1)
            else:
                ga = _product(g, b.mT)
        if ctx.needs_input_grad[1]:
            if na == 1:
                gb = g * a if nb == 1 else a.unsqueeze(-1) * g.unsqueeze(-2)
            elif nb == 1:
                # fold the batch into one mv instead of summing a batch of products
                rows = _prod(sa[:-1])
                gb = _product(g.reshape(rows), a.reshape(rows, sa[-1]))
            elif nb == 2:
                rows = _prod(sa[:-1])
                gb = _product(a.reshape(rows, sa[-1]).mT, g.reshape(rows, sb[-1]))
            else:
                gb = _product(a.mT, g)
        return ga, gb


class Dot(Matmul):
    pass


class Mv(Matmul):
    pass


class Mm(Matmul):
    pass


class Bmm(Matmul):
    pass


class _MatmulSqueeze(Matmul):
    _node_name = "SqueezeBackward4"  # vector @ matrix: torch squeezes an mm


class _MatmulClone(Matmul):
    _node_name = "CloneBackward0"  # matrix @ batch: torch copies a transposed bmm


# (input.ndim, other.ndim) -> the node torch's matmul ends in (others: UnsafeViewBackward0)
_MATMUL_NODES = {(1, 1): Dot, (1, 2): _MatmulSqueeze, (2, 1): Mv, (2, 2): Mm}
_PRODUCT_NODES = {(1, 1): Dot, (2, 1): Mv, (2, 2): Mm, (3, 3): Bmm}  # dot, mv, mm, bmm


def _matmul_node(na: int, nb: int) -> type:
    cls = _MATMUL_NODES.get((na, nb))
    if cls is None:
        cls = _MatmulClone if na == 2 else Matmul
    return cls


def _product(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for operands already checked: a direct backend call when no grad is needed."""
    if not (_state.enabled and (a._rg or b._rg)):
        return _make(_raw_matmul(a._device._xp(), a._data, b._data), a._device)
    return _PRODUCT_NODES.get((a._data.ndim, b._data.ndim), Matmul).apply(a, b)


def _fast_matmul(a: Tensor, b: Tensor):
    """The no-grad hot path: one backend call, or None when checks or a graph are needed."""
    da, db = a._data, b._data
    dt = da.dtype
    if (
        dt == db.dtype
        and a._device is b._device
        and da.ndim
        and db.ndim
        and dt.kind != "b"
        and not (_state.enabled and (a._rg or b._rg))
    ):
        try:
            if dt.itemsize == 2 and dt.kind in "fV" and a._device.type == "cpu":
                return _make(_raw_matmul(np, da, db), a._device)
            return _make(a._device._xp().matmul(da, db), a._device)
        except ValueError:
            return None  # diagnosed by the caller with torch's text
    return None


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with torch's rules: 1-D @ 1-D is a dot product, a 1-D operand is treated
    as a row (left) or column (right) vector, and batch dims broadcast.

    Args:
        input: tensor with at least 1 dim.
        other: tensor with at least 1 dim and ``input``'s dtype (integers allowed, bool not).

    Returns:
        The product; see PyTorch's ``torch.matmul`` for the shape rules.

    Raises:
        RuntimeError: for 0-d operands, mismatched inner sizes, batch dims that do not
            broadcast, or different dtypes (torch's texts).

    Example:
        >>> (gpuarr.ones(2, 4) @ gpuarr.ones(4, 3)).shape
        gpuarr.Size([2, 3])
    """
    if _amp.on:
        return _amp.run("matmul", matmul, input, other)
    if isinstance(input, TensorBase) and isinstance(other, TensorBase):
        out = _fast_matmul(input, other)
        if out is not None:
            return out
    _need_pair("matmul", ("input", "other"), input, other, same_device=False)
    _check_matmul(input, other)
    return _matmul_node(input._data.ndim, other._data.ndim).apply(input, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only; see :func:`matmul` for batches and vectors).

    Example:
        >>> gpuarr.mm(gpuarr.ones(2, 3), gpuarr.ones(3, 4)).shape
        gpuarr.Size([2, 4])
    """
    if _amp.on:
        return _amp.run("mm", mm, input, mat2)
    _need_pair("mm", ("input", "mat2"), input, mat2)
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _check_mm(input._data.shape, mat2._data.shape, input, mat2)
    return _product(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix (n x m) times vector (m) -> vector (n).

    Example:
        >>> gpuarr.mv(gpuarr.ones(2, 3), gpuarr.ones(3))
        tensor([3., 3.])
    """
    if _amp.on:
        return _amp.run("mv", mv, input, vec)
    _need_pair("mv", ("input", "vec"), input, vec)
    na, nv = input._data.ndim, vec._data.ndim
    if na != 2 or nv != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {na}, {nv}")
    _check_mv(input._data.shape, vec._data.shape, input, vec)
    return _product(input, vec)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p) tensors; no broadcasting.

    Example:
        >>> gpuarr.bmm(gpuarr.ones(5, 2, 3), gpuarr.ones(5, 3, 4)).shape
        gpuarr.Size([5, 2, 4])
    """
    if _amp.on:
        return _amp.run("bmm", bmm, input, mat2)
    _need_pair("bmm", ("input", "mat2"), input, mat2)
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _check_bmm(input._data.shape, mat2._data.shape, input, mat2)
    return _product(input, mat2)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Dot product of two 1-D tensors of the same length and dtype (a 0-d tensor).

    Example:
        >>> gpuarr.dot(gpuarr.tensor([1., 2.]), gpuarr.tensor([3., 4.]))
        tensor(11.)
    """
    if _amp.on:
        return _amp.run("dot", dot, input, tensor)
    _need_pair("dot", ("input", "tensor"), input, tensor)
    na, nb = input._data.ndim, tensor._data.ndim
    if na != 1 or nb != 1:
        raise RuntimeError(f"1D tensors expected, but got {na}D and {nb}D tensors")
    _check_dot(input, tensor)
    return _product(input, tensor)


vdot = dot  # real tensors only: conjugation is a no-op


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Inner product over the last dim: ``out[i..., j...] = sum_k a[i..., k] * b[j..., k]``.

    A 0-d operand multiplies elementwise. For 1-D inputs this is the dot product.

    Example:
        >>> gpuarr.inner(gpuarr.ones(2, 3), gpuarr.ones(4, 3)).shape
        gpuarr.Size([2, 4])
    """
    _need_pair("inner", ("input", "other"), input, other)
    if input._data.ndim == 0 or other._data.ndim == 0:
        return mul(input, other)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    return tensordot(input, other, ([-1], [-1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: an ``n x m`` matrix (dtypes promote).

    Example:
        >>> gpuarr.outer(gpuarr.ones(2), gpuarr.ones(3)).shape
        gpuarr.Size([2, 3])
    """
    _need_pair("outer", ("input", "vec2"), input, vec2, same_device=False)
    if input._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input._data.ndim}-D")
    if vec2._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2._data.ndim}-D")
    return mul(input.unsqueeze(1), vec2)


ger = outer


# --------------------------------------------------------------------------------------------
# tensordot, trace, fused multiply-adds, kron


def _dims_lists(dims, na: int, nb: int):
    if isinstance(dims, TensorBase):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
        dims = int(dims)
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(-dims, 0)), list(range(dims))
    if isinstance(dims, (list, tuple)):
        if len(dims) != 2:
            raise ValueError(
                f"not enough values to unpack (expected 2, got {len(dims)})" if len(dims) < 2
                else "too many values to unpack (expected 2)"
            )
        out = []
        for name, d in zip(("dims_self", "dims_other"), dims):
            if isinstance(d, (int, np.integer)):
                raise TypeError(
                    f"tensordot(): argument '{name}' (position {3 + len(out)}) must be tuple of "
                    f"ints, not {type(d).__name__}"
                )
            out.append([int(x) for x in d])
        return out[0], out[1]
    raise RuntimeError(
        "tensordot expects dims to be int or tuple[list[int], list[int]] or list[list[int]] "
        f"containing two lists, but got dims={dims}"
    )


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract ``dims`` of ``a`` with ``dims`` of ``b`` (a generalised matrix product).

    Args:
        a, b: tensors of one dtype.
        dims: an int ``d`` (the last ``d`` dims of ``a`` with the first ``d`` of ``b``) or a
            pair of lists ``([dims of a], [dims of b])``.

    Returns:
        A tensor of shape ``free dims of a + free dims of b``.

    Example:
        >>> gpuarr.tensordot(gpuarr.ones(2, 3, 4), gpuarr.ones(3, 4, 5)).shape
        gpuarr.Size([2, 5])
    """
    if _amp.on:
        return _amp.run("tensordot", tensordot, a, b, dims=dims)
    _need_pair("tensordot", ("a", "b"), a, b)
    na, nb = a._data.ndim, b._data.ndim
    da, db = _dims_lists(dims, na, nb)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    wa = [wrap_dim(d, na) for d in da]
    wb = [wrap_dim(d, nb) for d in db]
    for w in (wa, wb):
        if len(set(w)) != len(w):
            raise RuntimeError(f"dim {w[0]} appears multiple times in the list of dims")
    sa, sb = a._data.shape, b._data.shape
    for i, (x, y) in enumerate(zip(wa, wb)):
        s1, s2 = sa[x], sb[y]
        if s1 != s2 and s1 != 1 and s2 != 1:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {s1} in dim {da[i]} "
                f"and second has size {s2} in dim {db[i]}"
            )
        if s1 == 1 and s2 != 1:  # a broadcasts along this dim: sum b over it first
            b = b.sum(y, keepdim=True)
        elif s2 == 1 and s1 != 1:
            a = a.sum(x, keepdim=True)
    _not_bool("addmm_impl_cpu_", a)
    free_a = [i for i in range(na) if i not in wa]
    free_b = [i for i in range(nb) if i not in wb]
    k = _prod(a._data.shape[i] for i in wa)
    left = a.permute(free_a + wa).reshape(_prod(sa[i] for i in free_a), k)
    right = b.permute(wb + free_b).reshape(k, _prod(sb[i] for i in free_b))
    out = _product(left, right)
    return out.reshape(tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


class Trace(Function):
    _raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        xp = ctx.xp
        if x.dtype.kind in "iub":
            return xp.asarray(xp.trace(x, dtype=np.int64))
        if half_via_float32(xp, x.dtype):
            return xp.asarray(xp.trace(x, dtype=np.float32)).astype(x.dtype)
        return xp.asarray(xp.trace(x))

    @staticmethod
    def backward(ctx, g):
        n, m = ctx.shape
        eye = g._device._xp().eye(n, m, dtype=g._data.dtype)
        return g * _make(eye, g._device)


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-D tensor (integer inputs give int64).

    Example:
        >>> gpuarr.trace(gpuarr.eye(3))
        tensor(3.)
    """
    if _amp.on:
        return _amp.run("trace", trace, input)
    _need_tensor("trace", "input", 1, input)
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    _not_bool("trace", input)
    return Trace.apply(input)


def _fma(kind: str, input, prod: Tensor, beta, alpha) -> Tensor:
    """``beta * input + alpha * prod`` with ``input`` broadcast to ``prod`` (torch's addmm)."""
    if not isinstance(input, TensorBase):
        raise TypeError(f"{kind}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.dtype != prod._data.dtype:
        raise RuntimeError(
            f"self and mat2 must have the same dtype, but got {dtype_name(input.dtype)} and "
            f"{dtype_name(prod.dtype)}"
        )
    base = input.expand(prod.shape)  # torch's expand error for a bad input shape
    dt = prod.dtype
    out = prod if alpha == 1 else (prod * alpha).to(dt)
    if beta == 0:  # torch ignores input entirely (nan/inf in it do not propagate)
        return out
    return out + (base if beta == 1 else (base * beta).to(dt))


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to the product's shape.

    Example:
        >>> gpuarr.addmm(gpuarr.zeros(3), gpuarr.ones(2, 4), gpuarr.ones(4, 3)).shape
        gpuarr.Size([2, 3])
    """
    if _amp.on:
        return _amp.run("addmm", addmm, input, mat1, mat2, beta=beta, alpha=alpha)
    _need_tensor("addmm", "mat1", 2, mat1)
    _need_tensor("addmm", "mat2", 3, mat2)
    if _half_via_f32(input, mat1, mat2):
        return _half_fma(addmm, input, mat1, mat2, beta, alpha)
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if m._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {m._data.ndim}-D tensor")
    if isinstance(input, TensorBase) and input._data.dtype != mat2._data.dtype:
        raise RuntimeError(
            f"self and mat2 must have the same dtype, but got {dtype_name(input.dtype)} and "
            f"{dtype_name(mat2.dtype)}"
        )
    _check_mm(mat1._data.shape, mat2._data.shape, mat1, mat2)
    return _fma("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``.

    Example:
        >>> gpuarr.addmv(gpuarr.zeros(2), gpuarr.ones(2, 3), gpuarr.ones(3))
        tensor([3., 3.])
    """
    if _amp.on:
        return _amp.run("addmv", addmv, input, mat, vec, beta=beta, alpha=alpha)
    if _half_via_f32(input, mat, vec):
        return _half_fma(addmv, input, mat, vec, beta, alpha)
    return _fma("addmv", input, mv(mat, vec), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``.

    Example:
        >>> gpuarr.baddbmm(gpuarr.zeros(3), gpuarr.ones(2, 2, 4), gpuarr.ones(2, 4, 3)).shape
        gpuarr.Size([2, 2, 3])
    """
    if _amp.on:
        return _amp.run("baddbmm", baddbmm, input, batch1, batch2, beta=beta, alpha=alpha)
    if _half_via_f32(input, batch1, batch2):
        return _half_fma(baddbmm, input, batch1, batch2, beta, alpha)
    return _fma("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def _half_via_f32(*ts) -> bool:
    """Whether ``ts`` are tensors of one half dtype whose products run in float32 on their
    backend (:func:`half_via_float32`: bfloat16 everywhere, float16 on NumPy)."""
    if not all(isinstance(t, TensorBase) for t in ts):
        return False
    dt = ts[0]._data.dtype
    return (all(t._data.dtype == dt for t in ts)
            and half_via_float32(ts[0]._device._xp(), dt))


def _half_fma(fn, input: Tensor, a: Tensor, b: Tensor, beta, alpha) -> Tensor:
    """A half-precision addmm/addmv/baddbmm as torch computes it on the CPU: in
    float32, rounded once (the product rounded to half before the addition rounds twice)."""
    f32 = D.float32
    return fn(input.to(f32), a.to(f32), b.to(f32), beta=beta, alpha=alpha).to(input.dtype)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product; the operand with fewer dims gets leading size-1 dims.

    Example:
        >>> gpuarr.kron(gpuarr.eye(2), gpuarr.ones(2, 2)).shape
        gpuarr.Size([4, 4])
    """
    _need_pair("kron", ("input", "other"), input, other, same_device=False)
    nd = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (nd - input._data.ndim) + tuple(input._data.shape)
    sb = (1,) * (nd - other._data.ndim) + tuple(other._data.shape)
    a = input.reshape(tuple(x for s in sa for x in (s, 1)))
    b = other.reshape(tuple(x for s in sb for x in (1, s)))
    return mul(a, b).reshape(tuple(x * y for x, y in zip(sa, sb)))


# --------------------------------------------------------------------------------------------
# einsum

# torch's label order: 'A'-'Z' are labels 0-25, 'a'-'z' are 26-51 (also NumPy's letters)
_LETTERS = string.ascii_uppercase + string.ascii_lowercase
_ELL = -1


def _label_index(c: str) -> int:
    return ord(c) - 65 if c <= "Z" else ord(c) - 97 + 26


def _parse_operand_labels(lhs: str, n_ops: int) -> list:
    op_labels: list = [[]]
    ell_seen = False
    i = 0
    while i < len(lhs):
        c = lhs[i]
        cur = len(op_labels) - 1
        if c == " ":
            pass
        elif c == ".":
            if ell_seen:
                raise RuntimeError(
                    f"einsum(): found '.' for operand {cur} for which an ellipsis was already "
                    "found"
                )
            if not (i + 2 < len(lhs) + 0 and lhs[i + 1:i + 3] == ".."):
                raise RuntimeError(
                    f"einsum(): found '.' for operand {cur} that is not part of any ellipsis"
                )
            i += 2
            op_labels[-1].append(_ELL)
            ell_seen = True
        elif c == ",":
            if cur + 1 >= n_ops:
                raise RuntimeError(
                    "einsum(): fewer operands were provided than specified in the equation"
                )
            op_labels.append([])
            ell_seen = False
        elif c in _LETTERS:
            op_labels[-1].append(_label_index(c))
        else:
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {i} in the equation string, "
                "subscripts must be in [a-zA-Z]"
            )
        i += 1
    if len(op_labels) != n_ops:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    return op_labels


def _parse_output_labels(rhs: str, offset: int, counts: list, ell_ndim: int) -> list:
    out: list = []
    ell_seen = False
    i = 0
    while i < len(rhs):
        c = rhs[i]
        if c == " ":
            pass
        elif c == ".":
            if ell_seen:
                raise RuntimeError(
                    "einsum(): found '.' for output but an ellipsis (...) was already found"
                )
            if rhs[i + 1:i + 3] != ".." or i + 2 >= len(rhs):
                raise RuntimeError(
                    "einsum(): found '.' for output that is not part of any ellipsis (...)"
                )
            i += 2
            out.extend(("ell", j) for j in range(ell_ndim))
            ell_seen = True
        elif c in _LETTERS:
            k = _label_index(c)
            if counts[k] == 0 or k in out:
                why = (" appears more than once in the output" if k in out
                       else " does not appear in the equation for any input operand")
                raise RuntimeError(f"einsum(): output subscript {c}{why}")
            out.append(k)
        else:
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {offset + i} in the equation "
                "string, subscripts must be in [a-zA-Z]"
            )
        i += 1
    return out


def _einsum_plan(equation: str, shapes: tuple):
    """Parse ``equation`` with torch's rules and checks.

    Returns:
        ``(labels, out)``: per operand, one label per dim (an int for letters, ``("ell", j)``
        for the j-th ellipsis dim counted in the common ellipsis shape), and the output labels.
    """
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    op_labels = _parse_operand_labels(lhs, len(shapes))
    counts = [0] * 52
    ell_ndim = 0
    for i, (labels, shape) in enumerate(zip(op_labels, shapes)):
        nd = len(shape)
        n = len([x for x in labels if x != _ELL])
        has_ell = _ELL in labels
        for x in labels:
            if x != _ELL:
                counts[x] += 1
        if has_ell:
            ell_ndim = max(ell_ndim, nd - n)
        if (n > nd) if has_ell else (n != nd):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({n}) "
                f"{'is more than' if has_ell else 'does not match'} the number of dimensions "
                f"({nd}) for operand {i}{'' if has_ell else ' and no ellipsis was given'}"
            )
    if arrow < 0:  # implicit output: the ellipsis dims, then labels used once, in order
        out = [("ell", j) for j in range(ell_ndim)] + [k for k in range(52) if counts[k] == 1]
    else:
        out = _parse_output_labels(equation[arrow + 2:], arrow + 2, counts, ell_ndim)
    labels = []
    for lab, shape in zip(op_labels, shapes):
        nd = len(shape)
        full = []
        for x in lab:
            if x == _ELL:
                covered = nd - (len(lab) - 1)
                full.extend(("ell", ell_ndim - covered + j) for j in range(covered))
            else:
                full.append(x)
        labels.append(full)
    return labels, out


def _einsum_sizes(labels: list, shapes: tuple) -> dict:
    sizes: dict = {}
    for i, (lab, shape) in enumerate(zip(labels, shapes)):
        own: dict = {}
        for d, x in enumerate(lab):
            s = shape[d]
            if x in own and own[x] != s:
                raise RuntimeError(
                    f"einsum(): subscript {_LETTERS[x]} is repeated for operand {i} but the "
                    f"sizes don't match, {s} != {own[x]}"
                )
            own[x] = s
        for x, s in own.items():
            prev = sizes.get(x)
            if prev is None or prev == 1:
                sizes[x] = s
            elif s != 1 and s != prev:
                if isinstance(x, tuple):
                    raise RuntimeError(
                        f"einsum(): dimension {x[1]} covered by ellipsis in operand {i}has size "
                        f"{s} which does not broadcast with previously seen ellipsis with size "
                        f"{prev} for the respective dimension"
                    )
                raise RuntimeError(
                    f"einsum(): subscript {_LETTERS[x]} has size {s} for operand {i} which does "
                    f"not broadcast with previously seen size {prev}"
                )
    return sizes


class Einsum(Function):
    """``xp.einsum`` on a canonical equation (letters only, explicit output, no broadcasting).

    The gradient of operand ``i`` is itself an einsum: of the output gradient with the other
    operands, into operand ``i``'s subscripts. A label repeated in operand ``i`` (a diagonal)
    is renamed and tied back with an identity matrix; a label summed only inside operand ``i``
    comes back through a vector of ones.
    """

    _raw = True

    @staticmethod
    def forward(ctx, spec, *arrays):
        ctx.spec = spec
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(*arrays)
        return _raw_einsum(ctx.xp, spec, arrays)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        subs, out_sub, sizes = ctx.spec
        grads: list = [None]
        for i in range(len(subs)):
            grads.append(_einsum_grad(g, ops, i, subs, out_sub, sizes)
                         if ctx.needs_input_grad[i + 1] else None)
        return tuple(grads)


def _raw_einsum(xp, spec, arrays):
    subs, out_sub, _ = spec
    eq = ",".join(subs) + "->" + out_sub
    bk = of_module(xp)
    dt = arrays[0].dtype
    half = half_via_float32(xp, dt)
    if half:  # no half GEMM (never one for bfloat16): compute in float32
        arrays = tuple(a.astype(np.float32) for a in arrays)
    if bk.einsum_optimize and len(arrays) > 1 and (
            len(arrays) > 2 or _prod(spec[2].values()) > 4096):
        # pairwise BLAS contractions; not worth planning for tiny ones
        out = xp.einsum(eq, *arrays, optimize=True)
    else:
        out = xp.einsum(eq, *arrays)
    out = xp.asarray(out)
    if any(xp.may_share_memory(out, a) for a in arrays):
        out = out.copy()  # einsum may return a view (e.g. 'ij->ji'); torch's result is fresh
    return out.astype(dt) if half else out


def _einsum_grad(g: Tensor, ops: tuple, i: int, subs: tuple, out_sub: str, sizes: dict):
    used = set("".join(subs)) | set(out_sub)
    fresh = iter(c for c in _LETTERS if c not in used)
    xp, dev, dt = g._device._xp(), g._device, g._data.dtype
    operands = [g] + [op for j, op in enumerate(ops) if j != i]
    in_subs = [out_sub] + [s for j, s in enumerate(subs) if j != i]
    target = []
    seen: set = set()
    for c in subs[i]:
        if c in seen:
            f = next(fresh, None)
            if f is None:
                raise RuntimeError("einsum(): too many subscripts to differentiate this equation")
            target.append(f)
            operands.append(_make(xp.eye(sizes[c], dtype=dt), dev))
            in_subs.append(c + f)
        else:
            seen.add(c)
            target.append(c)
    have = set("".join(in_subs))
    for c in seen:
        if c not in have:  # summed inside operand i only: its gradient is constant along c
            operands.append(_make(xp.ones(sizes[c], dtype=dt), dev))
            in_subs.append(c)
    return _run_einsum((tuple(in_subs), "".join(target), sizes), operands)


def _run_einsum(spec, operands: list) -> Tensor:
    if not (_state.enabled and any(op._rg for op in operands)):
        xp = operands[0]._device._xp()
        return _make(_raw_einsum(xp, spec, tuple(op._data for op in operands)),
                     operands[0]._device)
    return Einsum.apply(spec, *operands)


def _sublist_equation(args) -> tuple:
    def conv(sub) -> str:
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, int) and 0 <= s < 52:
                out.append(_LETTERS[s])
            else:
                raise ValueError(
                    "einsum(): subscript in subscript list is not within the valid range [0, 52)"
                )
        return "".join(out)

    ops, subs = list(args[0::2]), list(args[1::2])
    out = None
    if len(ops) > len(subs):  # a trailing output sublist sits in the operand slot
        out = ops.pop()
    eq = ",".join(conv(s) for s in subs)
    if out is not None:
        eq += "->" + conv(out)
    return eq, ops


def einsum(*args) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum('ij,jk->ik', a, b)``.

    Supports implicit outputs, ``...`` (broadcast batch dims), repeated subscripts (diagonals,
    traces), size-1 broadcasting and torch's sublist form ``einsum(a, [0, 1], b, [1, 2])``.

    Args:
        equation: the subscripts, e.g. ``'bij,bjk->bik'``.
        *operands: tensors of one dtype (or one list of them).

    Returns:
        The contracted tensor.

    Example:
        >>> gpuarr.einsum('ii->', gpuarr.eye(3))
        tensor(3.)
    """
    if _amp.on:
        return _amp.run("einsum", einsum, *args)
    if not args or (len(args) == 1 and isinstance(args[0], str)):
        raise ValueError(
            "einsum(): must specify the equation string and at least one operand, or at least "
            "one operand and its subscripts list"
        )
    if isinstance(args[0], TensorBase):
        equation, operands = _sublist_equation(args)
    elif isinstance(args[0], str):
        equation = args[0]
        operands = list(args[1]) if len(args) == 2 and isinstance(args[1], (list, tuple)) \
            else list(args[1:])
    else:
        raise TypeError(
            f"einsum(): argument 'equation' (position 1) must be str, not {type(args[0]).__name__}"
        )
    for k, op in enumerate(operands):
        _need_tensor("einsum", "operands", 2 + k, op)
    check_same_device(*operands)
    keeps, spec, contracted = _einsum_compile(equation, tuple(o._data.shape for o in operands))
    first = operands[0]
    for op in operands[1:]:
        if op._data.dtype != first._data.dtype:
            raise RuntimeError(f"expected scalar type {dtype_name(first.dtype)} but found "
                               f"{dtype_name(op.dtype)}")
    prepared = [op if keep is None else op.reshape(keep) for op, keep in zip(operands, keeps)]
    kind = first._data.dtype.kind
    if len(prepared) == 1 and kind in "biu" and contracted:
        prepared = [prepared[0].to(D.int64)]  # a reduction of ints sums into int64, as torch
    elif kind == "b" and contracted:
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    return _run_einsum(spec, prepared)


@functools.lru_cache(maxsize=512)
def _einsum_compile(equation: str, shapes: tuple):
    """Parse and check ``equation`` for operands of ``shapes`` (cached: models call einsum
    with the same equation and shapes over and over).

    Returns:
        ``(keeps, spec, contracted)``: per operand None or the shape to reshape it to first
        (size-1 dims that broadcast are dropped: the operand is constant along them), the
        canonical ``(subscripts, output, sizes)`` spec, and whether any label is summed.
    """
    labels, out = _einsum_plan(equation, shapes)
    sizes = _einsum_sizes(labels, shapes)
    letters: dict = {}  # canonical letters, in order of first use
    for x in [x for lab in labels for x in lab] + out:
        if x not in letters:
            if len(letters) == 52:
                raise RuntimeError("einsum(): more than 52 distinct subscripts")
            letters[x] = _LETTERS[len(letters)]
    keeps, subs = [], []
    for lab, shape in zip(labels, shapes):
        keep = [d for d, x in enumerate(lab) if not (shape[d] == 1 and sizes[x] != 1)]
        keeps.append(tuple(shape[d] for d in keep) if len(keep) != len(lab) else None)
        subs.append("".join(letters[lab[d]] for d in keep))
    out_sub = "".join(letters[x] for x in out)
    contracted = bool(set("".join(subs)) - set(out_sub))
    spec = (tuple(subs), out_sub, {letters[x]: s for x, s in sizes.items()})
    return tuple(keeps), spec, contracted


# --------------------------------------------------------------------------------------------
# Tensor methods


def _rmatmul(self: Tensor, other):
    if not isinstance(other, TensorBase):
        return NotImplemented
    return matmul(other, self)


def _matmul_op(self: Tensor, other):
    if _amp.on:  # autocast: through matmul, which casts
        return matmul(self, other) if isinstance(other, TensorBase) else NotImplemented
    if isinstance(other, TensorBase):
        out = _fast_matmul(self, other)
        if out is not None:
            return out
    elif not isinstance(other, TensorBase):
        return NotImplemented
    return matmul(self, other)


register(__name__, {
    "__matmul__": _matmul_op, "__rmatmul__": _rmatmul,
    "matmul": matmul, "mm": mm, "mv": mv, "bmm": bmm, "dot": dot, "vdot": vdot,
    "inner": inner, "outer": outer, "ger": ger, "trace": trace, "addmm": addmm,
    "addmv": addmv, "baddbmm": baddbmm, "kron": kron,
})

MatmulMethods = mixin("MatmulMethods", __name__)
