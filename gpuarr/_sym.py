"""torch's ``sym_*`` helpers, on plain Python numbers (and tensors, as torch treats them).

In torch these accept symbolic ints/floats/bools (``SymInt``...) while tracing and act like the
Python builtins otherwise. gpuarr traces no symbolic shapes, so they are the builtins' behaviour
with torch's rules: ``sym_max``/``sym_min`` take numbers only and return a float when either
argument is a float; ``sym_ite`` wants a bool condition and two values of one type;
``sym_int``/``sym_float``/``sym_not``/``sym_sqrt`` convert anything Python can (a one-element
tensor through an explicit read of its value, a synchronisation on CUDA).
"""

from __future__ import annotations

import builtins
import math
import numbers
from typing import Any

import numpy as np

from ._core.tensor import TensorBase
from ._creation import tensor

__all__ = ["sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_sqrt", "sym_ite",
           "sym_sum", "sym_fresh_size", "sym_constrain_range", "sym_constrain_range_for_size"]

_NUMBER_TYPES = (np.integer, np.floating, builtins.int, builtins.float)
_FLOAT_TYPES = (np.floating, builtins.float)
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def sym_int(a: Any) -> int:
    """``int(a)``: floats truncate toward zero.

    Example:
        >>> gpuarr.sym_int(-2.7)
        -2
    """
    return builtins.int(a)


def sym_float(a: Any) -> float:
    """``float(a)``.

    Example:
        >>> gpuarr.sym_float(3)
        3.0
    """
    return builtins.float(a)


def _check_number(x: Any) -> None:
    if not isinstance(x, _NUMBER_TYPES):
        raise AssertionError(f"expected {_NUMBER_TYPES}, got {type(x)}")


def sym_max(a, b):
    """The larger of two numbers; a float when either is a float (``sym_max(2, 3.0) == 3.0``,
    unlike ``max``, which keeps the winner's type).

    Args:
        a, b: Python or NumPy ints/floats (tensors are refused, as in torch).

    Raises:
        AssertionError: an argument is not a number.

    Example:
        >>> gpuarr.sym_max(2, 3), gpuarr.sym_max(2, 1.0)
        (3, 2.0)
    """
    _check_number(a)
    _check_number(b)
    if isinstance(a, _FLOAT_TYPES) or isinstance(b, _FLOAT_TYPES):
        return builtins.float(builtins.max(a, b))
    return builtins.max(a, b)


def sym_min(a, b):
    """The smaller of two numbers; a float when either is a float (see :func:`sym_max`).

    Example:
        >>> gpuarr.sym_min(2, 3.0)
        2.0
    """
    _check_number(a)
    _check_number(b)
    if isinstance(a, _FLOAT_TYPES) or isinstance(b, _FLOAT_TYPES):
        return builtins.float(builtins.min(a, b))
    return builtins.min(a, b)


def sym_not(a: Any) -> bool:
    """Logical negation, ``not a`` (a tensor must have one element).

    Example:
        >>> gpuarr.sym_not(True)
        False
    """
    return not a


def sym_sqrt(a: Any) -> float:
    """``math.sqrt(a)`` (``ValueError`` for a negative number, as ``math``).

    Example:
        >>> gpuarr.sym_sqrt(4)
        2.0
    """
    return math.sqrt(a)


def sym_ite(b: bool, t, f):
    """``t if b else f``, with torch's checks.

    Args:
        b: a Python bool (not an int or a tensor).
        t, f: two values of the same type.

    Raises:
        AssertionError: ``b`` is not a bool, or ``t`` and ``f`` differ in type.

    Example:
        >>> gpuarr.sym_ite(False, 1, 2)
        2
    """
    if not isinstance(b, builtins.bool):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    if type(t) is not type(f):
        raise AssertionError(f"type mismatch: {type(t)} vs {type(f)}")
    return t if b else f


def sym_sum(*args):
    """The sum of the arguments: ``sym_sum([a, b, c])`` or ``sym_sum(a, b, c)`` (``sum``
    otherwise: numbers, or tensors, which add as tensors).

    Example:
        >>> gpuarr.sym_sum([1, 2, 3]), gpuarr.sym_sum(1, 2.5)
        (6, 3.5)
    """
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = args[0]
    return builtins.sum(args)


def sym_fresh_size(expr):
    """``expr`` as a Python number, read through a tensor as torch does
    (``tensor(expr).item()``); torch uses it to make a fresh unbacked size while tracing.

    Example:
        >>> gpuarr.sym_fresh_size(5)
        5
    """
    if isinstance(expr, TensorBase):
        return expr.item()  # what copying it into a new tensor first would give
    return tensor(expr).item()


def _size_value(size, op: str):
    if isinstance(size, TensorBase):
        return size.item()  # an explicit read of a one-element tensor
    if not isinstance(size, numbers.Number):
        raise TypeError(f"{op}(): argument 'size' (position 1) must be Number, not "
                        f"{type(size).__name__}")
    return size


def _check_range(value, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise RuntimeError(f"Invalid value range for {value} between [{lo}, {hi}].")


def sym_constrain_range(size, *, min: int | None = None, max: int | None = None) -> None:  # noqa: A002
    """Assert ``min <= size <= max`` (torch records this as a range for a symbolic size; on
    a plain number it is a check).

    Args:
        size: a number (or a one-element tensor).
        min, max: the bounds (default: the int64 range).

    Raises:
        RuntimeError: ``size`` is out of range (torch's message).
        TypeError: ``size`` is not a number.

    Example:
        >>> gpuarr.sym_constrain_range(5, min=0, max=10)
    """
    value = _size_value(size, "sym_constrain_range")
    _check_range(value, _INT64_MIN if min is None else min, _INT64_MAX if max is None else max)


def sym_constrain_range_for_size(size, *, min: int | None = None,  # noqa: A002
                                 max: int | None = None) -> None:  # noqa: A002
    """Like :func:`sym_constrain_range` for a size: ``min`` defaults to 0.

    Example:
        >>> gpuarr.sym_constrain_range_for_size(3, max=10)
    """
    value = _size_value(size, "sym_constrain_range_for_size")
    _check_range(value, 0 if min is None else min, _INT64_MAX if max is None else max)
