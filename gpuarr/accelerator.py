"""``gpuarr.accelerator``: torch's device-agnostic accelerator probes, answered for CUDA.

gpuarr's only accelerator is CUDA (through CuPy). Where torch answers with the accelerator it
was *compiled* for, gpuarr answers with the one that is *usable* here: gpuarr has no build
step, and a program that sends its model to :func:`current_accelerator` should never be handed
a device that raises on first use. So on a machine without a usable GPU,
``current_accelerator()`` is None and ``is_available()`` False, exactly as for torch's CPU
build; with one, ``current_accelerator()`` is ``device(type='cuda')``.

Example:
    >>> dev = gpuarr.accelerator.current_accelerator() or gpuarr.device("cpu")
    >>> model.to(dev)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from . import cuda as _cuda
from ._device import device as _device_cls

__all__ = [
    "is_available", "current_accelerator", "device_count", "current_device_index",
    "current_device_idx", "set_device_index", "set_device_idx", "synchronize", "device_index",
    "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved",
    "reset_peak_memory_stats",
]

_NONE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    """Whether an accelerator (a usable CUDA GPU) is present.

    Returns:
        ``gpuarr.cuda.is_available()``.

    Example:
        >>> gpuarr.accelerator.is_available()
        False
    """
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> _device_cls | None:
    """The accelerator's device type, or None when there is none.

    Args:
        check_available: accepted for torch compatibility; gpuarr always checks at run time
            (see the module docstring), so it changes nothing.

    Returns:
        ``device(type='cuda')`` (no index, as torch) when a CUDA GPU is usable, else None.

    Example:
        >>> acc = gpuarr.accelerator.current_accelerator()
        >>> dev = acc if acc is not None else gpuarr.device("cpu")
    """
    return _device_cls("cuda") if _cuda.is_available() else None


def device_count() -> int:
    """Number of accelerator devices (0 without a usable GPU).

    Returns:
        ``gpuarr.cuda.device_count()``.
    """
    return _cuda.device_count()


def _need() -> None:
    if not _cuda.is_available():
        raise RuntimeError(_NONE)


def current_device_index() -> int:
    """Index of the current accelerator device.

    Returns:
        The current CUDA device index.

    Raises:
        RuntimeError: when there is no accelerator (torch's text).
    """
    _need()
    return _cuda.current_device()


current_device_idx = current_device_index


def set_device_index(device) -> None:
    """Make ``device`` (an index, 'cuda:N' or a :class:`gpuarr.device`) the current one.

    Raises:
        RuntimeError: when there is no accelerator.
    """
    _need()
    _cuda.set_device(device)


set_device_idx = set_device_index


def synchronize(device=None) -> None:
    """Wait for the work queued on an accelerator device (the current one by default).

    Raises:
        RuntimeError: when there is no accelerator.
    """
    _need()
    _cuda.synchronize(device)


@contextlib.contextmanager
def device_index(device) -> Iterator[None]:
    """Make ``device`` current inside a ``with`` block (None: no change).

    Raises:
        RuntimeError: when there is no accelerator.

    Example:
        >>> with gpuarr.accelerator.device_index(1):
        ...     x = gpuarr.zeros(3, device="cuda")   # on cuda:1
    """
    _need()
    with _cuda.device(device):
        yield


def empty_cache() -> None:
    """Give cached, unused accelerator memory back to the driver.

    Raises:
        RuntimeError: when there is no accelerator.
    """
    _need()
    _cuda.empty_cache()


def memory_allocated(device=None) -> int:
    """Bytes held by live tensors on an accelerator device (see ``gpuarr.cuda``).

    Raises:
        RuntimeError: when there is no accelerator.
    """
    _need()
    return _cuda.memory_allocated(device)


def max_memory_allocated(device=None) -> int:
    """The peak of :func:`memory_allocated` gpuarr has seen (see ``gpuarr.cuda``).

    Raises:
        RuntimeError: when there is no accelerator.
    """
    _need()
    return _cuda.max_memory_allocated(device)


def memory_reserved(device=None) -> int:
    """Bytes the memory pool of an accelerator device holds from the driver.

    Raises:
        RuntimeError: when there is no accelerator.
    """
    _need()
    return _cuda.memory_reserved(device)


def reset_peak_memory_stats(device=None) -> None:
    """Restart the peak tracked by :func:`max_memory_allocated`.

    Raises:
        RuntimeError: when there is no accelerator.
    """
    _need()
    _cuda.reset_peak_memory_stats(device)
