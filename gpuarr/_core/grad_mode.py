"""Grad mode: whether ops record the autograd graph.

The flag lives in one module-level object that the hot path reads directly
(``_state.enabled``), so no-grad code pays a single attribute lookup.
"""

from __future__ import annotations

import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled"]


class _GradState:
    __slots__ = ("enabled", "inference")

    def __init__(self) -> None:
        self.enabled = True
        self.inference = False  # inside inference_mode(True)


_state = _GradState()


def is_grad_enabled() -> bool:
    """Whether gradient recording is currently on."""
    return _state.enabled


def is_inference_mode_enabled() -> bool:
    """Whether code runs inside ``inference_mode(True)``."""
    return _state.inference


class _Mode:
    """Base for the grad-mode context managers; also usable as a decorator."""

    _target = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._target
        return self

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__.__new__(self.__class__)._init_like(self):
                return fn(*args, **kwargs)

        return wrapper

    def _init_like(self, other):
        self._target = other._target
        return self


class no_grad(_Mode):
    """Context manager / decorator that turns gradient recording off.

    Example:
        >>> with gpuarr.no_grad():
        ...     y = x * 2   # y.requires_grad is False
    """

    _target = False


class enable_grad(_Mode):
    """Context manager / decorator that turns gradient recording on (e.g. inside no_grad)."""

    _target = True


class set_grad_enabled(_Mode):
    """Set grad mode to ``mode``; takes effect at once, and as a context manager restores the
    previous mode on exit (like torch).

    Args:
        mode: True to record gradients, False not to.
    """

    def __init__(self, mode: bool) -> None:
        self._prev = _state.enabled
        self._target = bool(mode)
        _state.enabled = self._target

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev


class inference_mode(_Mode):
    """Like :class:`no_grad` (gpuarr has no separate inference tensors).

    Args:
        mode: True (default) disables grad recording; False leaves it as it is.
    """

    def __init__(self, mode: bool = True) -> None:
        self._mode = mode

    def __enter__(self):
        self._prev = _state.enabled
        self._prev_inference = _state.inference
        _state.inference = bool(self._mode)
        if self._mode:
            _state.enabled = False
        return self

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev
        _state.inference = self._prev_inference

    def _init_like(self, other):
        self._mode = other._mode
        return self
