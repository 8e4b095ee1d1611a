"""Helpers shared by the op families: argument checks, promotion, torch-style errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import _dtype as D
from .._core.function import Function, apply_raw
from .._core.grad_mode import _state
from .._core.tensor import TensorBase, _common_device, _make, _wrap_dim
from .._creation import tensor

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = [
    "Function", "TensorBase", "_make", "_state", "wrap_dim", "broadcast_error", "broadcast_shapes",
    "as_tensor_arg", "promote_operands", "dims_arg", "check_same_device", "dtype_name",
]

wrap_dim = _wrap_dim

def dtype_name(d) -> str:
    """torch's capitalised scalar-type name ('Float', 'Long') used in its error texts."""
    return D._SCALAR_NAMES[D.as_dtype(d).name]


def broadcast_shapes(*shapes) -> tuple:
    """The broadcast shape of ``shapes``; RuntimeError with torch's text when they clash.

    Example:
        >>> broadcast_shapes((3, 1), (1, 4))
        (3, 4)
    """
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for k, s in enumerate(shapes):
        off = ndim - len(s)
        for i, n in enumerate(s):
            j = off + i
            if out[j] == 1:
                out[j] = n
            elif n != 1 and n != out[j]:
                # torch names the first two tensors a and b, sizes as seen at that dim
                raise broadcast_error(shapes[0] if k else s, s if k else shapes[0], j, ndim)
    return tuple(out)


def inplace_shape_error(out_shape, other_shape) -> RuntimeError:
    """torch's error for writing a result broadcast from ``other_shape`` into ``out_shape``."""
    try:
        shape = np.broadcast_shapes(tuple(out_shape), tuple(other_shape))
    except ValueError:
        return broadcast_error(out_shape, other_shape)
    return RuntimeError(f"output with shape {list(out_shape)} doesn't match the broadcast shape "
                        f"{list(shape)}")


def broadcast_error(sa, sb, dim: int | None = None, ndim: int | None = None) -> RuntimeError:
    """torch's broadcasting RuntimeError for shapes ``sa`` and ``sb``."""
    sa, sb = tuple(sa), tuple(sb)
    n = max(len(sa), len(sb))
    pa = (1,) * (n - len(sa)) + sa
    pb = (1,) * (n - len(sb)) + sb
    for j in range(n - 1, -1, -1):
        if pa[j] != pb[j] and pa[j] != 1 and pb[j] != 1:
            return RuntimeError(
                f"The size of tensor a ({pa[j]}) must match the size of tensor b ({pb[j]}) at "
                f"non-singleton dimension {j}"
            )
    return RuntimeError(f"shapes {list(sa)} and {list(sb)} cannot be broadcast together")


def check_same_device(*tensors) -> None:
    """Raise torch's error unless the tensors among ``tensors`` can run together: all on one
    device, or 0-dim CPU tensors (scalars) next to one other device, which ``Function.apply``
    moves there."""
    dev = None
    for t in tensors:
        if isinstance(t, TensorBase):
            if dev is None:
                dev = t._device
            elif t._device is not dev:
                _common_device([x for x in tensors if isinstance(x, TensorBase)])
                return


def same_device(*tensors) -> tuple:
    """``tensors`` with 0-dim CPU tensors moved to the others' device (torch treats them as
    scalars); raises torch's error for any other mix of devices."""
    ts = [t for t in tensors if isinstance(t, TensorBase)]
    if all(t._device is ts[0]._device for t in ts):
        return tensors
    dev = _common_device(ts)
    return tuple(t.to(dev) if isinstance(t, TensorBase) and t._device is not dev else t
                 for t in tensors)


_SCALARS = (int, float, complex, bool, np.number, np.bool_)


def as_tensor_arg(x, like: Tensor | None = None, name: str = "input") -> Tensor:
    """Accept a Tensor, or turn a scalar / list / array into one on ``like``'s device."""
    if isinstance(x, TensorBase):
        return x
    dev = like._device if like is not None else None
    if isinstance(x, _SCALARS):
        dt = D.result_type(like, x) if like is not None else None
        return tensor(x, dtype=dt, device=dev)
    try:
        return tensor(x, device=dev)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a Tensor, got {type(x).__name__}") from e


def scalar_as(x, d: D.dtype):
    """A Python/NumPy scalar as a NumPy scalar of dtype ``d`` (wrapping like torch on overflow)."""
    try:
        return d.np.type(x)
    except (OverflowError, ValueError):
        return np.array(x).astype(d.np)[()]


def promote_operands(a, b, op: str, force_float: bool = False):
    """Cast operands of a binary op to their common dtype by torch's rules.

    Args:
        a, b: Tensors or scalars (at least one Tensor).
        op: op name for error messages.
        force_float: promote integer results to the default float dtype (true division).

    Returns:
        ``(a, b, dtype)`` with tensors cast (differentiably) and scalars as NumPy scalars.
    """
    if isinstance(a, TensorBase) and isinstance(b, TensorBase) and a._device is not b._device:
        a, b = same_device(a, b)
    if not isinstance(a, (TensorBase, *_SCALARS)):
        a = as_tensor_arg(a, b if isinstance(b, TensorBase) else None)
    if not isinstance(b, (TensorBase, *_SCALARS)):
        b = as_tensor_arg(b, a if isinstance(a, TensorBase) else None)
    res = D.result_type(a, b)
    if force_float and not (res.is_floating_point or res.is_complex):
        res = D.get_default_dtype()
    return _cast(a, res), _cast(b, res), res


def _cast(x, d: D.dtype):
    if isinstance(x, TensorBase):
        return x if x._data.dtype == d.np else x.to(d)
    return scalar_as(x, d)


def dims_arg(dim, ndim: int) -> tuple | None:
    """Normalise a reduction's ``dim`` (None, int, or tuple/list of ints) to a tuple."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        out = tuple(wrap_dim(d, ndim) for d in dim)
        if len(set(out)) != len(out):
            raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
        return out
    return (wrap_dim(dim, ndim),)


__all__ += ["scalar_as"]


def check_tensor(x, name: str, op: str, position: int | None = None) -> Tensor:
    """Raise torch's TypeError when ``x`` is not a Tensor (``position``: the argument's
    place, which some of torch's messages name)."""
    if not isinstance(x, TensorBase):
        where = f" (position {position})" if position is not None else ""
        raise TypeError(f"{op}(): argument '{name}'{where} must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def no_grad_needed(*tensors) -> bool:
    """True when no graph has to be recorded for an op on ``tensors`` (grad mode is off, or
    none of them requires grad; entries that are not Tensors, such as None or numbers, are
    skipped)."""
    if not _state.enabled:
        return True
    for t in tensors:
        if isinstance(t, TensorBase) and t._rg:
            return False
    return True


def apply_joined(cls, tensors: list, *args) -> Tensor:
    """``cls.apply(*args, *tensors)`` for an op that joins ``tensors`` (one device, checked by
    the caller), such as ``cat``. When none of them needs a graph, the Function's ``_compute``
    runs on their arrays directly."""
    if _state.enabled:
        for t in tensors:
            if t._rg:
                return cls.apply(*args, *tensors)
    dev = tensors[0]._device
    return _make(cls._compute(dev._xp(), *args, *[t._data for t in tensors]), dev)


def float_dtype_check(x: Tensor, op: str) -> None:
    """Raise torch's error for integer inputs to ops that need floats."""
    if x._data.dtype.kind not in "fV":
        raise RuntimeError(f'"{op}" not implemented for \'{dtype_name(x.dtype)}\'')


__all__ += ["apply_joined", "apply_raw", "check_tensor", "float_dtype_check", "no_grad_needed",
            "not_float", "opmath", "round_back"]


def not_float(input: Tensor, kernel: str) -> None:
    """torch's NotImplementedError for an input that is not floating point."""
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{dtype_name(input.dtype)}\'')


def opmath(a):
    """``(a in the dtype torch computes it in, the dtype to round the result to)``: float16
    and bfloat16 are computed in float32 and rounded once, as torch does."""
    if a.dtype.kind == "V" or a.dtype.itemsize < 4:
        return a.astype(np.float32), a.dtype
    return a, None


def round_back(r, dtype):
    """``r`` rounded to ``dtype`` (the second value :func:`opmath` returns; None: as is)."""
    return r if dtype is None else r.astype(dtype)
