"""Autograd anomaly mode (torch.autograd.anomaly_mode).

With anomaly detection on, every op recorded in the graph keeps the traceback of the forward
call that made it, and in backward:

* an error raised by a node's backward comes with a ``UserWarning`` that prints that forward
  traceback ("Error detected in MulBackward0. Traceback of forward call that caused the
  error: ...");
* with ``check_nan`` (the default), a node whose backward returns a gradient holding NaN raises
  ``RuntimeError("Function 'MulBackward0' returned nan values in its 0th output.")``.

Off, it costs nothing: the recording paths and the engine switch to checking versions only
while it is on.
"""

from __future__ import annotations

import functools
import warnings

from .._core.function import _anomaly, set_anomaly_mode

__all__ = ["detect_anomaly", "set_detect_anomaly"]


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on (``torch.is_anomaly_enabled``)."""
    return _anomaly[0]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection checks backward's gradients for NaN
    (``torch.is_anomaly_check_nan_enabled``)."""
    return _anomaly[1]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``torch.set_anomaly_enabled``).

    Args:
        enabled: record forward tracebacks and check backward.
        check_nan: with ``enabled``, raise when a backward returns NaN.

    Example:
        >>> gpuarr.set_anomaly_enabled(True)
        >>> gpuarr.is_anomaly_enabled()
        True
        >>> gpuarr.set_anomaly_enabled(False)
    """
    set_anomaly_mode(enabled, check_nan)


class detect_anomaly:
    """Context manager (or decorator) that turns anomaly detection on for the autograd engine.

    Ops run inside it keep the traceback of their forward call; an error in their backward then
    warns with that traceback, and (``check_nan=True``) a backward returning NaN raises a
    ``RuntimeError`` naming the node. Making one warns that the mode is on (it is slow:
    every recorded op keeps a stack, and every gradient is checked on the host).

    Args:
        check_nan: raise when a backward returns a gradient holding NaN. Default True.

    Example:
        >>> x = gpuarr.tensor([0.0], requires_grad=True)
        >>> with gpuarr.autograd.detect_anomaly():
        ...     y = x * float("nan")
        ...     y.sum().backward()  # RuntimeError: Function 'MulBackward0' returned nan ...
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and "
            "should only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)

    def __call__(self, fn):
        """Decorate ``fn``: each call runs with anomaly detection on."""
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = (is_anomaly_enabled(), is_anomaly_check_nan_enabled())
            set_anomaly_enabled(True, self.check_nan)
            try:
                return fn(*args, **kwargs)
            finally:
                set_anomaly_enabled(*prev)
        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off, as a function call or a context manager (which
    restores the previous setting on exit). See :class:`detect_anomaly`.

    Args:
        mode: enable (True) or disable (False) anomaly detection.
        check_nan: raise when a backward returns NaN.

    Example:
        >>> with gpuarr.autograd.set_detect_anomaly(False):
        ...     pass  # anomaly detection off here
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass  # the mode was set when this object was made, as in torch

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)
