"""More of torch's top-level names: ``get_device_module``, ``empty_permuted`` and the legacy
autocast setters (``set_autocast_cpu_enabled``, ``set_autocast_cpu_dtype``,
``set_autocast_gpu_dtype``) that torch keeps, deprecated, next to the getters gpuarr already
has (``gpuarr.amp.autocast_mode``).

torch's IPU and XLA spellings (``get_autocast_ipu_dtype``, ``set_autocast_xla_enabled``...)
are left out: gpuarr has neither device type, and ``gpuarr.get_autocast_dtype('ipu')`` raises.
"""

from __future__ import annotations

import numbers
import types
import warnings

from . import _creation, cpu, cuda
from . import _dtype as D
from ._core.tensor import TensorBase
from ._device import device as _device_cls
from .amp.autocast_mode import set_autocast_dtype, set_autocast_enabled
from .ops import tensor_info as ti
from .ops.tensor_extra import _empty_strided

__all__ = ["get_device_module", "empty_permuted", "set_autocast_cpu_enabled",
           "set_autocast_cpu_dtype", "set_autocast_gpu_dtype"]

# the device modules gpuarr has, by device type (torch looks ``torch.<type>`` up)
_DEVICE_MODULES = {"cpu": cpu, "cuda": cuda}


def get_device_module(device: _device_cls | str | None = None) -> types.ModuleType:
    """The module of a device type: ``gpuarr.cuda`` for 'cuda' (any index), ``gpuarr.cpu`` for
    'cpu'; with no device, the accelerator's (``gpuarr.cuda`` when a GPU is usable, else
    ``gpuarr.cpu``).

    Args:
        device: a ``gpuarr.device``, a device string ('cuda:1'), or None.

    Raises:
        RuntimeError: ``device`` is of another type, or a string gpuarr cannot parse.

    Example:
        >>> gpuarr.get_device_module("cuda:0") is gpuarr.cuda
        True
    """
    if isinstance(device, _device_cls):
        kind = device.type
    elif isinstance(device, str):
        kind = _device_cls(device).type
    elif device is None:
        kind = "cuda" if cuda.is_available() else "cpu"
    else:
        raise RuntimeError(
            f"Invalid value of device '{device}', expect gpuarr.device, str, or None")
    module = _DEVICE_MODULES.get(kind)
    if module is None:  # a device type gpuarr parses but has no module for
        raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered "
                           f"as 'gpuarr.{kind}'.")
    return module


def _int_tuple(value, arg: str, pos: int) -> tuple:
    """``value`` as a tuple of ints, with torch's argument-parsing errors."""
    where = f"empty_permuted(): argument '{arg}' (position {pos}) must be tuple of ints"
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{where}, not {type(value).__name__}")
    out = []
    for i, v in enumerate(value):
        if isinstance(v, TensorBase) and v.numel() == 1 and not v.is_floating_point():
            v = v.item()  # torch takes one-element integer tensors in int lists
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{where}, but found element of type {type(v).__name__} at pos {i}")
        out.append(int(v))
    return tuple(out)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False):
    """An uninitialised, dense tensor of ``size`` whose dimensions lie in memory in the order
    ``physical_layout`` gives, outermost first: ``(0, 2, 3, 1)`` is NHWC for an NCHW-shaped
    tensor. Its strides are those of a row-major tensor of the permuted size, given back to
    the logical dimensions (``t.stride(physical_layout[i])`` is the i-th contiguous stride),
    as torch's.

    Args:
        size: the logical shape (a tuple, list or ``gpuarr.Size`` of ints).
        physical_layout: a permutation of ``range(len(size))``.
        dtype: default ``gpuarr.get_default_dtype()``.
        layout: ``gpuarr.strided`` (the only layout) or None.
        device: default the default device.
        requires_grad: make the result a leaf that requires grad.
        pin_memory: allocate a CPU result in page-locked memory (needs a usable GPU).

    Returns:
        A new tensor whose values are whatever the memory held.

    Raises:
        TypeError: ``size`` or ``physical_layout`` is not a sequence of ints.
        RuntimeError: the layout is not a permutation of the dimensions, or a size is negative
            (torch's messages).

    Example:
        >>> gpuarr.empty_permuted((2, 3, 4, 5), (0, 2, 3, 1)).stride()
        (60, 1, 15, 3)
    """
    shape = _int_tuple(size, "size", 1)
    perm = _int_tuple(physical_layout, "physical_layout", 2)
    n = len(shape)
    if len(perm) != n:
        raise RuntimeError(
            "Number of dimensions in size does not match the length of the physical_layout; "
            f"i.e. len(size) = {n} is not equal to len(physical_layout) = {len(perm)}")
    seen = set()
    for i, d in enumerate(perm):
        if not 0 <= d < n:
            raise RuntimeError(
                f"Dimension out of range (expected to be between 0 and {n - 1}, but got {d} at "
                f"index {i}).  NB: negative dims not currently supported; file an issue if you "
                "want it.")
        if d in seen:
            raise RuntimeError("Duplicate dim not allowed")
        seen.add(d)
    physical = [shape[d] for d in perm]
    for s in physical:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{physical}")
    if layout is not None and layout is not ti.strided:
        raise RuntimeError(f"empty_permuted: gpuarr supports only the strided layout, got "
                           f"{layout!r}")
    stride = [0] * n
    step = 1
    for d in reversed(perm):  # innermost first; empty dimensions count as 1, as torch's
        stride[d] = step
        step *= max(shape[d], 1)
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    out = _empty_strided(shape, tuple(stride), dt, _creation.factory_device(device), pin_memory)
    return out.requires_grad_(True) if requires_grad else out


# --------------------------------------------------------------------------------------------
# legacy autocast setters (torch keeps them, deprecated)


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """Deprecated: ``gpuarr.set_autocast_enabled('cpu', enabled)``.

    Example:
        >>> gpuarr.set_autocast_cpu_enabled(False)  # DeprecationWarning
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool (got {type(enabled).__name__})")
    warnings.warn("gpuarr.set_autocast_cpu_enabled(enabled) is deprecated. Please use "
                  "gpuarr.set_autocast_enabled('cpu', enabled) instead.", DeprecationWarning,
                  stacklevel=2)
    set_autocast_enabled("cpu", enabled)


def _check_dtype(dtype) -> None:
    if not isinstance(dtype, D.dtype):
        raise TypeError(f"dtype must be a gpuarr.dtype (got {type(dtype).__name__})")


def set_autocast_cpu_dtype(dtype) -> None:
    """Deprecated: ``gpuarr.set_autocast_dtype('cpu', dtype)``.

    Example:
        >>> gpuarr.set_autocast_cpu_dtype(gpuarr.bfloat16)  # DeprecationWarning
    """
    _set_dtype_deprecated("set_autocast_cpu_dtype", "cpu", dtype)


def set_autocast_gpu_dtype(dtype) -> None:
    """Deprecated: ``gpuarr.set_autocast_dtype('cuda', dtype)``.

    Example:
        >>> gpuarr.set_autocast_gpu_dtype(gpuarr.float16)  # DeprecationWarning
    """
    _set_dtype_deprecated("set_autocast_gpu_dtype", "cuda", dtype)


def _set_dtype_deprecated(name: str, device_type: str, dtype) -> None:
    """The legacy setter ``name``: check, warn as torch does, then set ``device_type``'s dtype
    (``stacklevel`` 3: the warning names the caller of the public setter)."""
    _check_dtype(dtype)
    warnings.warn(f"gpuarr.{name}(dtype) is deprecated. Please use "
                  f"gpuarr.set_autocast_dtype('{device_type}', dtype) instead.",
                  DeprecationWarning, stacklevel=3)
    set_autocast_dtype(device_type, dtype)
