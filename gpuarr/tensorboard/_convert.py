"""Turn what users log (tensors, arrays, numbers, lists) into host NumPy data.

Conversion is duck-typed so that this package never imports the tensor core, CuPy or
PyTorch: anything with ``detach``/``cpu``/``numpy`` methods is treated as a tensor (gpuarr or
torch), anything with ``get`` and ``__cuda_array_interface__`` as a CuPy array. Tensors are
detached first, so logging never touches autograd.

The arrays returned by :func:`to_numpy` are owned by the caller: data that may share memory
with a user's tensor is copied, because the writer encodes it later on its own thread and the
user may modify the tensor in place in the meantime.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np

__all__ = ["to_numpy", "to_float", "to_step", "to_walltime", "check_tag", "check_text"]


def _is_host_device(device: Any) -> bool:
    """True when a tensor's ``device`` says CPU (str, torch.device or gpuarr.device)."""
    kind = getattr(device, "type", device)
    return isinstance(kind, str) and kind == "cpu"


def _tensor_to_numpy(x: Any) -> tuple[np.ndarray, bool]:
    """Host copy of a tensor-like object; the flag says whether it is already a fresh copy."""
    fresh = not _is_host_device(getattr(x, "device", "cpu"))
    t = x.detach().cpu()
    try:
        arr = t.numpy()
    except TypeError:
        # bfloat16 and similar dtypes have no NumPy equivalent: widen to float32 first.
        if not hasattr(t, "float"):
            raise
        arr = t.float().numpy()
        fresh = True
    return np.asarray(arr), fresh


def to_numpy(x: Any, what: str = "value", copy: bool = True) -> np.ndarray:
    """Convert a tensor, array, number or (nested) list to a host NumPy array.

    Args:
        x: A gpuarr or torch tensor (any device, any ``requires_grad``), a CuPy or NumPy
            array, a Python or NumPy number, or a (nested) list/tuple of numbers.
        what: How the value is named in error messages (e.g. ``"add_histogram(): values"``).
        copy: Guarantee that the result does not share memory with ``x``.

    Returns:
        A NumPy array.

    Raises:
        TypeError: if ``x`` is None, a string, or cannot be read as numbers.

    Example:
        >>> to_numpy([[1, 2], [3, 4]]).shape
        (2, 2)
    """
    if isinstance(x, np.ndarray):
        return x.copy() if copy else x
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{what} must be a tensor, an array or numbers, got {type(x).__name__}")
    if all(hasattr(x, name) for name in ("detach", "cpu", "numpy")):
        arr, fresh = _tensor_to_numpy(x)
        return arr.copy() if copy and not fresh else arr
    if hasattr(x, "__cuda_array_interface__") and hasattr(x, "get"):
        return np.asarray(x.get())  # CuPy: .get() is already a fresh host copy
    if isinstance(x, (list, tuple)) and any(
        not isinstance(e, (numbers.Number, np.generic, list, tuple)) for e in x
    ):
        # A list of tensors: convert each element (lists of 0-d tensors are common).
        return np.asarray([to_numpy(e, what, copy=False) for e in x])
    try:
        arr = np.array(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} could not be converted to an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(
            f"{what} must be numeric, got {type(x).__name__} with dtype {arr.dtype}"
        )
    return arr


def to_float(x: Any, what: str = "scalar_value") -> float:
    """Read one real number from a number, a one-element tensor/array or a one-element list.

    Args:
        x: The value.
        what: How the value is named in error messages.

    Returns:
        The value as a Python float (NaN and infinities pass through).

    Raises:
        TypeError: for strings, None, complex numbers and other non-numeric objects.
        ValueError: for tensors/arrays with more than one element.

    Example:
        >>> to_float(3)
        3.0
    """
    kind = type(x)
    if kind is float or kind is int:  # the common case first: no further checks
        return float(x)
    if isinstance(x, (numbers.Real, np.bool_)) and not isinstance(x, np.ndarray):
        return float(x)
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, (complex, np.complexfloating)):
        raise TypeError(
            f"{what} must be a real number or a one-element tensor, got {kind.__name__}"
            + (f" {x!r}" if isinstance(x, (str, bytes)) and len(x) < 40 else "")
        )
    if hasattr(x, "detach") and hasattr(x, "item"):
        # One-element tensor (gpuarr or torch): .item() is the cheapest way to the host and
        # never records autograd history. Anything unusual takes the general path below.
        try:
            value = x.item()
        except (RuntimeError, ValueError, TypeError):
            pass
        else:
            if isinstance(value, (int, float)):
                return float(value)
    arr = to_numpy(x, what, copy=False)
    if arr.size != 1:
        raise ValueError(
            f"{what} must hold exactly one element, got shape {tuple(arr.shape)} "
            f"({arr.size} elements)"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be a real number, got dtype {arr.dtype}")
    return float(arr.reshape(()))


def to_step(step: Any) -> int | None:
    """Validate ``global_step``: None, an integer, or an integral float/one-element tensor.

    Raises:
        TypeError: for non-numeric steps.
        ValueError: for fractional or non-finite steps.
    """
    if step is None:
        return None
    try:
        return operator.index(step)
    except TypeError:
        pass
    value = to_float(step, "global_step")
    if not value.is_integer():
        raise ValueError(f"global_step must be an integer, got {value!r}")
    return int(value)


def to_walltime(walltime: Any, default: float) -> float:
    """Validate ``walltime`` (seconds since the epoch); None means ``default``."""
    if walltime is None:
        return default
    return to_float(walltime, "walltime")


def check_text(text: str, what: str) -> str:
    """Raise ValueError if the str ``text`` cannot be stored as UTF-8; return it.

    Event files store strings as UTF-8, which has no encoding for a lone surrogate
    (``'\\ud800'``, e.g. from ``os.fsdecode`` of undecodable bytes). ASCII strings are
    accepted without encoding them.
    """
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            char = text[exc.start]
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise ValueError(
                f"{what} {shown!r} is not valid Unicode: it holds the lone surrogate "
                f"{char!r} at index {exc.start}, which cannot be stored as UTF-8"
            ) from None
    return text


def check_tag(tag: Any, what: str = "tag") -> str:
    """Return ``tag`` if it is a non-empty ``str`` that can be stored as UTF-8.

    Raises:
        TypeError: if ``tag`` is not a str (bytes included).
        ValueError: if ``tag`` is empty or holds a lone surrogate such as ``'\\ud800'``.

    Example:
        >>> check_tag("loss/train")
        'loss/train'
    """
    if not isinstance(tag, str):
        raise TypeError(f"{what} must be a str, got {type(tag).__name__}")
    if not tag:
        raise ValueError(f"{what} must not be empty")
    return check_text(tag, what)
