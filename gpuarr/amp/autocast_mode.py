"""``autocast``: regions where torch's listed ops run in lower precision or in float32.

The cast policies (which op runs in which dtype, per device type) and the state the ops read
live in ``gpuarr._autocast``; this module is the public, torch-shaped interface to them: the
:class:`autocast` context manager / decorator, ``custom_fwd`` / ``custom_bwd`` for user
autograd Functions, and torch's ``is_autocast_enabled`` family of functions.
"""

from __future__ import annotations

import collections.abc
import copy
import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _dtype as D
from .. import cuda
from .._autocast import state as _state
from .._tensor import Tensor

__all__ = [
    "autocast", "is_autocast_available", "custom_fwd", "custom_bwd", "is_autocast_enabled",
    "set_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype", "get_autocast_cpu_dtype",
    "get_autocast_gpu_dtype", "is_autocast_cpu_enabled", "clear_autocast_cache",
    "is_autocast_cache_enabled", "set_autocast_cache_enabled", "autocast_increment_nesting",
    "autocast_decrement_nesting",
]

_DEVICE_TYPES = ("cpu", "cuda")


def is_autocast_available(device_type: str) -> bool:
    """Whether :class:`autocast` supports ``device_type`` ('cpu' and 'cuda' do).

    Example:
        >>> gpuarr.amp.is_autocast_available("cpu")
        True
    """
    return device_type in _DEVICE_TYPES


def _check_device_type(device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if not is_autocast_available(device_type):
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return device_type


# ---- torch's state functions (torch.is_autocast_enabled and friends) ----

def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is enabled for ``device_type`` (None: CUDA, as torch).

    Example:
        >>> with gpuarr.autocast("cpu"):
        ...     gpuarr.is_autocast_enabled("cpu")
        True
    """
    return _state.enabled[_check_device_type("cuda" if device_type is None else device_type)]


def set_autocast_enabled(device_type, enabled: bool | None = None) -> None:
    """Enable or disable autocast for a device type, outside any context manager.

    Accepts torch's two forms: ``set_autocast_enabled(device_type, enabled)`` and the older
    ``set_autocast_enabled(enabled)`` (CUDA).
    """
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _state.set_enabled(_check_device_type(device_type), bool(enabled))


def get_autocast_dtype(device_type: str) -> D.dtype:
    """The lower-precision dtype autocast uses on ``device_type`` (bfloat16 on 'cpu' and
    float16 on 'cuda' unless changed).

    Example:
        >>> gpuarr.get_autocast_dtype("cuda")
        gpuarr.float16
    """
    return _state.dtype[_check_device_type(device_type)]


def set_autocast_dtype(device_type: str, dtype) -> None:
    """Set the lower-precision dtype autocast uses on ``device_type``."""
    _state.dtype[_check_device_type(device_type)] = D.as_dtype(dtype)


def get_autocast_cpu_dtype() -> D.dtype:
    """Deprecated: ``get_autocast_dtype('cpu')``."""
    warnings.warn("gpuarr.get_autocast_cpu_dtype() is deprecated. Please use "
                  "gpuarr.get_autocast_dtype('cpu') instead.", DeprecationWarning, stacklevel=2)
    return _state.dtype["cpu"]


def get_autocast_gpu_dtype() -> D.dtype:
    """Deprecated: ``get_autocast_dtype('cuda')``."""
    warnings.warn("gpuarr.get_autocast_gpu_dtype() is deprecated. Please use "
                  "gpuarr.get_autocast_dtype('cuda') instead.", DeprecationWarning, stacklevel=2)
    return _state.dtype["cuda"]


def is_autocast_cpu_enabled() -> bool:
    """Deprecated: ``is_autocast_enabled('cpu')``."""
    warnings.warn("gpuarr.is_autocast_cpu_enabled() is deprecated. Please use "
                  "gpuarr.is_autocast_enabled('cpu') instead.", DeprecationWarning, stacklevel=2)
    return _state.enabled["cpu"]


def clear_autocast_cache() -> None:
    """Drop autocast's cached lower-precision copies of the weights."""
    _state.clear_cache()


def is_autocast_cache_enabled() -> bool:
    """Whether autocast caches the lower-precision casts of weights within a region."""
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Turn autocast's weight-cast cache on or off."""
    _state.cache_enabled = bool(enabled)


def autocast_increment_nesting() -> int:
    """Count one more open autocast region; returns the new depth."""
    _state.nesting += 1
    return _state.nesting


def autocast_decrement_nesting() -> int:
    """Count one autocast region closed; returns the new depth."""
    _state.nesting -= 1
    return _state.nesting


# ---- the context manager ----

class autocast:
    """Context manager (or decorator) for a region where ops run in mixed precision.

    Inside an enabled region, the ops on torch's autocast lists take their inputs on
    ``device_type`` in the dtype torch chooses per op: matmul, linear, convolutions, attention
    and friends in ``dtype`` (the lower precision); losses, softmax, norms, exp/log and the
    like in float32 (the lists differ between 'cuda' and 'cpu', as torch's). Other ops run in
    the widest type of their inputs. Only floating tensors on ``device_type`` are cast (never
    float64), and the casts are part of the autograd graph, so gradients reach each parameter
    in its own dtype. Wrap the forward pass and the loss; run ``backward()`` outside.

    Args:
        device_type: 'cuda' or 'cpu'.
        dtype: the lower precision: float16 (CUDA's default) or bfloat16 (the CPU's default).
            CUDA has no bfloat16 in gpuarr (CuPy cannot compute in it): asking for it raises.
        enabled: False makes the region a no-op (also disables autocast inside an enclosing
            enabled region).
        cache_enabled: cache the lower-precision casts of weights within the region (default:
            :func:`is_autocast_cache_enabled`).

    Raises:
        ValueError: ``device_type`` is not a string.
        RuntimeError: an unsupported device type, or bfloat16 on CUDA.

    Example:
        >>> with gpuarr.autocast("cpu"):
        ...     y = gpuarr.mm(a, b)          # bfloat16
        ...     p = gpuarr.softmax(y, 1)     # float32 on 'cuda'; bfloat16 on 'cpu' (torch)
        >>> @gpuarr.autocast("cuda")
        ... def forward(x): ...
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        self.device = _check_device_type(device_type)
        self.fast_dtype = _state.dtype[self.device] if dtype is None else D.as_dtype(dtype)
        self._cache_enabled = _state.cache_enabled if cache_enabled is None else cache_enabled
        if enabled:
            if self.device == "cuda":
                if not cuda.is_available():
                    warnings.warn("CUDA is not available. Disabling autocast.", stacklevel=2)
                    enabled = False
                elif self.fast_dtype is D.bfloat16 and not cuda.is_bf16_supported():
                    raise RuntimeError("Current CUDA Device does not support bfloat16. Please "
                                       "switch dtype to float16.")
            elif self.fast_dtype not in (D.bfloat16, D.float16):
                warnings.warn(
                    "In CPU autocast, but the target dtype is not supported. Disabling "
                    "autocast.\nCPU Autocast only supports dtypes of gpuarr.bfloat16, "
                    "gpuarr.float16 currently.", stacklevel=2)
                enabled = False
        self._enabled = bool(enabled)

    def __enter__(self) -> autocast:
        dev = self.device
        self.prev_cache_enabled = _state.cache_enabled
        self.prev = _state.enabled[dev]
        self.prev_fastdtype = _state.dtype[dev]
        _state.set_enabled(dev, self._enabled)
        _state.dtype[dev] = self.fast_dtype
        autocast_increment_nesting()
        _state.cache_enabled = self._cache_enabled
        return self

    def __exit__(self, *exc) -> bool:
        if autocast_decrement_nesting() == 0:
            _state.clear_cache()  # cached weight casts never outlive the outermost region
        dev = self.device
        _state.set_enabled(dev, self.prev)
        _state.dtype[dev] = self.prev_fastdtype
        _state.cache_enabled = self.prev_cache_enabled
        return False

    def __call__(self, func: Callable) -> Callable:
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                "Did you mean to use autocast as a context manager? For example:\n"
                "    with gpuarr.autocast(device_type=...):\n"
                "        output = model(input)")

        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with copy.copy(self):  # a fresh copy: recursive calls keep their own 'prev'
                return func(*args, **kwargs)

        return decorate_autocast


def _cast(value: Any, device_type: str, dtype: D.dtype) -> Any:
    """``value`` with its floating, non-float64 tensors on ``device_type`` cast to ``dtype``,
    looking inside lists, tuples and dicts (torch's ``autocast_mode._cast``)."""
    if isinstance(value, Tensor):
        ok = (value.is_floating_point() and value.device.type == device_type
              and value.dtype is not D.float64)
        return value.to(dtype) if ok else value
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype)
                for k, v in value.items()}
    if isinstance(value, collections.abc.Iterable):
        it = (_cast(v, device_type, dtype) for v in value)
        return type(value)(it) if isinstance(value, (list, tuple)) else it
    return value


def custom_fwd(fwd: Callable | None = None, *, device_type: str, cast_inputs=None):
    """Decorator for the ``forward`` of a custom :class:`gpuarr.autograd.Function`.

    Args:
        device_type: 'cuda' or 'cpu'.
        cast_inputs: if given, inside an autocast region cast the floating tensor inputs to
            this dtype and run ``forward`` with autocast disabled; if None, ``forward`` runs
            with the current autocast state.

    Example:
        >>> class MyMM(gpuarr.autograd.Function):
        ...     @staticmethod
        ...     @gpuarr.amp.custom_fwd(device_type="cuda", cast_inputs=gpuarr.float32)
        ...     def forward(ctx, a, b): ...
    """
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    to = None if cast_inputs is None else D.as_dtype(cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        if to is None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False
        if is_autocast_enabled(device_type):
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast(args, device_type, to), **_cast(kwargs, device_type, to))
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str):
    """Decorator for the ``backward`` of a custom Function: runs it with the autocast state
    its ``forward`` (decorated with :func:`custom_fwd`) ran with.

    Args:
        device_type: 'cuda' or 'cpu'.
    """
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast,
                      dtype=ctx._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
