"""``gpuarr.cuda``: is CUDA usable, which device is current, memory use, synchronisation.

Nothing here imports CuPy until asked: ``is_available()`` probes once and caches the answer.
"""

from __future__ import annotations

from .backends import cuda_backend, cuda_status

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "synchronize",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "reset_peak_memory_stats",
    "empty_cache", "manual_seed", "manual_seed_all", "unavailable_reason",
]

_peak = [0]


def is_available() -> bool:
    """True when CuPy imports, a driver answers and at least one CUDA device exists."""
    return cuda_status()[0]


def unavailable_reason() -> str:
    """Why CUDA cannot be used ('' when it can)."""
    return cuda_status()[1]


def device_count() -> int:
    """Number of CUDA devices (0 when CUDA is not usable)."""
    if not is_available():
        return 0
    return cuda_backend().device_count()


def current_device() -> int:
    """Index of the current CUDA device."""
    return cuda_backend().current_device()


def set_device(device) -> None:
    """Make ``device`` (an index, 'cuda:N' or a gpuarr.device) the current CUDA device."""
    from ._device import device as _dev

    idx = device if isinstance(device, int) else _dev(device).index or 0
    cuda_backend().set_device(idx)


def synchronize(device=None) -> None:
    """Wait for all queued work on a CUDA device (the current one by default)."""
    from ._device import device as _dev

    idx = None if device is None else (device if isinstance(device, int) else _dev(device).index)
    cuda_backend().synchronize(idx)


def memory_allocated(device=None) -> int:
    """Bytes of device memory held by live tensors (CuPy memory pool's used bytes)."""
    if not is_available():
        return 0
    used = cuda_backend().memory_allocated(device)
    _peak[0] = max(_peak[0], used)
    return used


def max_memory_allocated(device=None) -> int:
    """Largest :func:`memory_allocated` seen since start or the last reset.

    CuPy's pool keeps no peak counter, so this is the peak of the samples gpuarr took (each
    call to ``memory_allocated`` and this function samples) and the pool's reserved bytes.
    """
    if not is_available():
        return 0
    memory_allocated(device)
    return _peak[0]


def memory_reserved(device=None) -> int:
    """Bytes the CuPy memory pool holds from the driver (used + cached)."""
    if not is_available():
        return 0
    return cuda_backend().memory_reserved(device)


def reset_peak_memory_stats(device=None) -> None:
    """Restart the peak tracked by :func:`max_memory_allocated`."""
    _peak[0] = 0


def empty_cache() -> None:
    """Give cached, unused blocks of the CuPy pool back to the driver."""
    if is_available():
        cuda_backend().xp.get_default_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the default generator of the current CUDA device."""
    from ._random import default_generator

    if is_available():
        default_generator("cuda").manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the default generators of all CUDA devices."""
    from ._random import default_generator

    for i in range(device_count()):
        default_generator(f"cuda:{i}").manual_seed(seed)
