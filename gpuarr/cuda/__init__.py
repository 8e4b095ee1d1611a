"""``gpuarr.cuda``: is CUDA usable, which device is current, memory use, synchronisation.

Nothing here imports CuPy until asked: ``is_available()`` probes once and caches the answer.
``gpuarr.cuda.amp`` holds torch's deprecated ``autocast`` and ``GradScaler`` aliases.
Functions that take ``device`` accept an index, ``'cuda:N'`` or a :class:`gpuarr.device`;
None means the current device.
"""

from __future__ import annotations

from .._device import device as _device_cls
from .._random import default_generator as _default_generator
from ..backends import cuda_backend, cuda_status

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "device", "synchronize",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "reset_peak_memory_stats",
    "empty_cache", "manual_seed", "manual_seed_all", "unavailable_reason", "is_bf16_supported",
    "get_rng_state", "set_rng_state",
]

_peak: dict[int, int] = {}


def _index(device) -> int | None:
    """A device argument as a CUDA index (None: the current device)."""
    if device is None:
        return None
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    d = _device_cls(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return d.index


def _resolved(device) -> int:
    idx = _index(device)
    return cuda_backend().current_device() if idx is None else idx


def is_available() -> bool:
    """True when CuPy imports, a driver answers, a CUDA device exists and NVRTC loads."""
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
    """Index of the current CUDA device (where ``device='cuda'`` lands)."""
    return cuda_backend().current_device()


def set_device(device) -> None:
    """Make ``device`` (an index, 'cuda:N' or a gpuarr.device) the current CUDA device."""
    idx = _index(device)
    cuda_backend().set_device(0 if idx is None else idx)


class device:
    """Context manager that makes ``device`` the current CUDA device inside the block.

    Args:
        device: an index, ``'cuda:N'``, a :class:`gpuarr.device`, or None (no change).

    Example:
        >>> with gpuarr.cuda.device(1):
        ...     x = gpuarr.zeros(3, device='cuda')   # on cuda:1
    """

    def __init__(self, device) -> None:
        self.idx = _index(device)
        self.prev: int | None = None

    def __enter__(self):
        if self.idx is not None:
            bk = cuda_backend()
            self.prev = bk.current_device()
            bk.set_device(self.idx)
        return self

    def __exit__(self, *exc) -> None:
        if self.prev is not None:
            cuda_backend().set_device(self.prev)


def synchronize(device=None) -> None:
    """Wait for all queued work on a CUDA device (the current one by default)."""
    cuda_backend().synchronize(_index(device))


def memory_allocated(device=None) -> int:
    """Bytes of device memory held by live arrays on ``device`` (its CuPy pool's used bytes)."""
    if not is_available():
        return 0
    idx = _resolved(device)
    used = cuda_backend().memory_allocated(idx)
    if used > _peak.get(idx, 0):
        _peak[idx] = used
    return used


def max_memory_allocated(device=None) -> int:
    """The largest :func:`memory_allocated` of ``device`` that gpuarr has seen since the start
    or the last :func:`reset_peak_memory_stats`.

    CuPy's pool keeps no peak counter, so this is the largest of the samples taken: each call
    to :func:`memory_allocated` or to this function samples the current usage. A short-lived
    peak between two samples is missed (torch's allocator counts every allocation).
    """
    if not is_available():
        return 0
    idx = _resolved(device)
    memory_allocated(idx)
    return _peak.get(idx, 0)


def memory_reserved(device=None) -> int:
    """Bytes the CuPy memory pool of ``device`` holds from the driver (used + cached)."""
    if not is_available():
        return 0
    return cuda_backend().memory_reserved(_resolved(device))


def reset_peak_memory_stats(device=None) -> None:
    """Restart the peak tracked by :func:`max_memory_allocated` for ``device``."""
    if is_available():
        _peak.pop(_resolved(device), None)


def empty_cache() -> None:
    """Give cached, unused blocks of the CuPy pool back to the driver."""
    if is_available():
        cuda_backend().empty_cache()


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether CUDA tensors can be bfloat16: always False in gpuarr.

    CUDA tensors are CuPy arrays, and CuPy's kernels have no bfloat16 type, so gpuarr keeps
    bfloat16 on the CPU (through ml_dtypes): making or moving a bfloat16 tensor on CUDA raises
    a TypeError that says so. Use float16 on CUDA (``autocast('cuda')``'s default).

    Args:
        including_emulation: accepted for torch compatibility; the answer is the same.

    Returns:
        False.
    """
    return False


def get_rng_state(device="cuda"):
    """Snapshot of a CUDA device's default generator (a uint8 CPU tensor, as torch's)."""
    return _default_generator(f"cuda:{_resolved(device)}").get_state()


def set_rng_state(new_state, device="cuda") -> None:
    """Restore a CUDA device's default generator from :func:`get_rng_state`."""
    _default_generator(f"cuda:{_resolved(device)}").set_state(new_state)


def manual_seed(seed: int) -> None:
    """Seed the default generator of the current CUDA device."""
    if is_available():
        _default_generator("cuda").manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the default generators of all CUDA devices."""
    for i in range(device_count()):
        _default_generator(f"cuda:{i}").manual_seed(seed)
