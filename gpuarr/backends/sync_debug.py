"""The CUDA sync debug mode (``gpuarr.cuda.set_sync_debug_mode``): report operations that make
the host wait for the device.

Every place where gpuarr reads device data to the host, and so waits for the queued kernels
to finish, calls :func:`check` (code that knows it holds a device array: the CUDA backend's
``to_host``, ``item``, ``nonzero``, ...) or :func:`check_array` (device-agnostic code: a
value check's ``bool(cond)``, a CuPy routine that reads a count) just before the read. With
mode 0 that costs one read of the module-level :data:`mode`; with mode 1 it warns and with
mode 2 it raises, with torch's message, before the read happens.

The mode is global to the process, as torch's is (not per thread, not per device).
Explicit waits (``gpuarr.cuda.synchronize()``, ``Stream.synchronize()``,
``Event.synchronize()``) are not reported, as in torch: they are what the user asked for.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

__all__ = ["MESSAGE", "mode", "check", "check_array"]

MESSAGE = "called a synchronizing CUDA operation"  # torch's text, for the warning and the error

# 0: silent, 1: warn, 2: raise. Written only by gpuarr.cuda.set_sync_debug_mode.
mode: int = 0

# what is already host data: reading it waits for nothing
_HOST = (np.ndarray, np.generic, bool, int, float, complex)


def check() -> None:
    """Report a device-to-host synchronisation about to happen, as the mode asks.

    Raises:
        RuntimeError: ``called a synchronizing CUDA operation`` in mode 2 ("error").

    Example:
        >>> sync_debug.check()  # in mode 1, a UserWarning
    """
    if mode:
        _report()


def check_array(arr) -> None:
    """:func:`check` when ``arr`` is device data (not a NumPy array or a Python number):
    for code that runs on both backends and is about to read ``arr`` to the host.

    Args:
        arr: the array (or number) about to be read.
    """
    if mode and not isinstance(arr, _HOST):
        _report()


def _report() -> None:
    if mode == 2:
        raise RuntimeError(MESSAGE)
    warnings.warn(MESSAGE, UserWarning, stacklevel=_user_level())


def _user_level() -> int:
    """``warnings.warn``'s stacklevel (seen from :func:`_report`) of the innermost frame
    outside gpuarr: the warning names the user's line, as torch's names the Python line
    that called into C++, and Python's default filter then shows it once per line."""
    level = 1
    frame = sys._getframe(1)  # _report's frame
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "gpuarr":
        frame = frame.f_back
        level += 1
    return level
