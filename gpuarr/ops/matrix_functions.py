"""torch's top-level matrix functions built on the decompositions: ``det``, ``inverse``,
``slogdet``, ``logdet``, ``chain_matmul`` and ``norm`` (with its ``'nuc'`` order), and their
Tensor methods. They sit above ``ops.decompositions`` (``gpuarr.linalg``), which builds on
``ops.matmul`` (products) and ``ops.reduction`` (vector norms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .. import return_types
from .._autocast import state as _amp
from .._core.tensor import _make
from ._common import apply_raw, dtype_name
from ._out import write_out
from ._registry import mixin, register
from .decompositions import det, inv, matrix_norm, multi_dot
from .decompositions import slogdet as _linalg_slogdet
from .elementwise import where
from .reduction import Norm, _check_norm_nonempty, _red_dims

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

# det is gpuarr.linalg.det itself
__all__ = ["det", "inverse", "slogdet", "logdet", "chain_matmul", "norm"]


def inverse(input: Tensor) -> Tensor:
    """Inverse of a (batch of) square matrices (see ``gpuarr.linalg.inv``)."""
    if _amp.on:
        return _amp.run("inverse", inverse, input)
    return inv(input)


def slogdet(input: Tensor):
    """``(sign, log|det|)`` of a (batch of) square matrices (see ``gpuarr.linalg.slogdet``),
    as ``return_types.slogdet`` (torch's type for the top-level function)."""
    return return_types.slogdet(*_linalg_slogdet(input))


def logdet(input: Tensor) -> Tensor:
    """``log(det(input))``: nan for a negative determinant, -inf for a singular matrix."""
    sign, lad = _linalg_slogdet(input)
    nan = _make(lad._device._xp().asarray(np.nan, dtype=lad._data.dtype), lad._device)
    return where(sign < 0, nan, lad)


def chain_matmul(*matrices) -> Tensor:
    """Product of a chain of 2-D matrices (prefer ``gpuarr.linalg.multi_dot``)."""
    if _amp.on:
        return _amp.run("chain_matmul", chain_matmul, *matrices)
    if len(matrices) == 1:
        return matrices[0]
    return multi_dot(list(matrices))


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None,
         dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (int or tuple; None: all elements).

    Args:
        input: a floating tensor.
        p: 'fro' (= 2), 'nuc' (nuclear norm over two dims, via ``gpuarr.linalg``), or a
            number: inf (max abs), -inf (min abs), 0 (count of nonzeros), 1, 2 or any other
            real p (``sum(|x|**p) ** (1/p)``).
        dim: dims to reduce.
        keepdim: keep reduced dims with size 1.
        dtype: cast the input to this floating dtype first.

    Raises:
        RuntimeError: for non-floating input, an unknown ``p``, or an inf-norm over an empty
            range.

    Example:
        >>> gpuarr.tensor([3., 4.]).norm()
        tensor(5.)
    """
    if _amp.on and out is None:
        return _amp.run("norm", norm, input, p=p, dim=dim, keepdim=keepdim, out=out, dtype=dtype)
    if out is not None:  # torch.norm takes out= positionally too; torch names the ATen op
        return write_out(norm(input, p, dim, keepdim, dtype=dtype), out, "linalg_vector_norm",
                         rule="exact")
    if dtype is not None:
        dt = D.as_dtype(dtype)
        if not (dt.is_floating_point or dt.is_complex):
            raise RuntimeError("linalg.vector_norm: dtype should be floating point or complex, "
                               f"but got {dtype_name(dt)}")
        input = input.to(dt)
    if input._data.dtype.kind == "c" and p != "nuc":
        input = input.abs()  # a vector norm of complex numbers is that of their moduli
    if input._data.dtype.kind not in "fV":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {dtype_name(input.dtype)}")
    if isinstance(p, str):
        if p not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        dims = dim if isinstance(dim, (list, tuple)) else ([dim] if dim is not None else None)
        if p == "nuc" and dims is None:
            if input._data.ndim < 2:
                raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                                   "dimensions.")
            dims = list(range(input._data.ndim))
        if dims is not None and (len(dims) > 2 or (p == "nuc" and len(dims) != 2)):
            raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got "
                               + " ".join(str(d) for d in dims))
        if p == "nuc":  # a matrix norm (singular values): lives with the linear algebra
            return matrix_norm(input, "nuc", tuple(dims), keepdim)
        p = 2.0
    p = float(p)
    axes = _red_dims(input, dim)
    _check_norm_nonempty(input._data, p, f"{p:g}", axes)
    return apply_raw(Norm, input, p, axes, keepdim)


register(__name__, {"det": det, "inverse": inverse, "slogdet": slogdet, "logdet": logdet,
                    "norm": norm})

MatrixFunctionMethods = mixin("MatrixFunctionMethods", __name__)
