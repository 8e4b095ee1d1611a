"""The weight-norm arithmetic shared by both weight_norm forms (torch's ``norm_except_dim``
and ``_weight_norm``), as composites of differentiable gpuarr ops."""

from __future__ import annotations

from ..._tensor import Tensor


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dim but ``dim``, kept as size-1 dims; over all of
    ``v`` (a 0-d tensor) when ``dim`` is -1."""
    if dim == -1:
        return v.norm(pow)
    dim = dim % v.ndim if v.ndim else 0
    others = tuple(d for d in range(v.ndim) if d != dim)
    if not others:
        return v.abs() if pow == 1 else (v.abs() ** pow) ** (1.0 / pow)
    return v.norm(pow, dim=others, keepdim=True)


def weight_norm_apply(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """``v * (g / norm_except_dim(v, 2, dim))``: weight from direction ``v`` and magnitude
    ``g``."""
    return v * (g / norm_except_dim(v, 2, dim))
