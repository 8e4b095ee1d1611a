"""Small helpers shared by the ``nn.functional`` modules."""

from __future__ import annotations

import warnings

import numpy as np

from ..._tensor import Tensor, _make

# the op layer's helpers, used by every functional module
from ...ops._common import (  # noqa: F401
    apply_raw,
    check_tensor,
    dtype_name,
    float_dtype_check,
    no_grad_needed,
    not_float,
    opmath,
    round_back,
)

__all__ = ["pair", "reduction_arg", "legacy_reduction", "reduce_loss", "check_tensor",
           "no_grad_needed", "apply_raw", "wrap", "float_dtype_check", "not_float", "opmath",
           "round_back"]


def pair(v, name: str = "argument", n: int = 2) -> tuple:
    """``v`` as an ``n``-tuple of ints (an int is repeated, a sequence must have length n)."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return tuple(int(v[0]) for _ in range(n))
        if len(v) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(x) for x in v)
    return (int(v),) * n


_REDUCTIONS = ("none", "mean", "sum")


def reduction_arg(reduction: str) -> str:
    """Validate a loss ``reduction`` string with torch's error text."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """Map the deprecated ``size_average`` / ``reduce`` flags to a ``reduction`` string."""
    if size_average is None and reduce is None:
        return reduction_arg(reduction)
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='"
        + ("none" if reduce is False else ("sum" if size_average is False else "mean"))
        + "' instead.",
        UserWarning,
        stacklevel=3,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Apply 'none' / 'mean' / 'sum' to an elementwise loss."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def wrap(arr, like: Tensor) -> Tensor:
    """A fresh tensor on ``like``'s device holding ``arr``."""
    return _make(arr, like._device)


def np_scalar(x, dtype):
    """``x`` as a NumPy scalar of ``dtype`` (keeps float32 math in float32)."""
    return np.dtype(dtype).type(x)
