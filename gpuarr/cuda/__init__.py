"""``gpuarr.cuda``: is CUDA usable, which device is current, synchronisation, and torch.cuda's
submodules: memory (``memory.py``), default generators (``random.py``), streams and events
(``streams.py``) and device properties (``properties.py``).

Nothing here imports CuPy until asked: ``is_available()`` probes once and caches the answer.
``gpuarr.cuda.amp`` holds torch's deprecated ``autocast`` and ``GradScaler`` aliases.
Functions that take ``device`` accept an index, ``'cuda:N'`` or a :class:`gpuarr.device`;
None means the current device.
"""

from __future__ import annotations

from .._legacy_tensors import CUDA_TYPES as _CUDA_TYPES
from ..backends import cuda_backend, cuda_status
from . import graphs, memory, misc, properties, random, streams
from ._devices import _available, _device_count, _index, _resolved  # noqa: F401 - used by the modules above and tests
from .graphs import *  # noqa: F403
from .memory import *  # noqa: F403
from .misc import *  # noqa: F403
from .properties import *  # noqa: F403
from .random import *  # noqa: F403
from .streams import *  # noqa: F403

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "device", "device_of",
    "synchronize", "unavailable_reason", "is_bf16_supported", "init", "is_initialized",
    "ipc_collect", "graphs", "memory", "properties", "random", "streams", *graphs.__all__,
    *memory.__all__, *misc.__all__, *properties.__all__, *random.__all__, *streams.__all__,
    *_CUDA_TYPES,
]

# the legacy typed constructors of CUDA tensors: gpuarr.cuda.FloatTensor, LongTensor, ...
globals().update(_CUDA_TYPES)


def is_available() -> bool:
    """True when CuPy imports, a driver answers, a CUDA device exists and NVRTC loads."""
    return _available()


def unavailable_reason() -> str:
    """Why CUDA cannot be used ('' when it can)."""
    return cuda_status()[1]


def device_count() -> int:
    """Number of CUDA devices (0 when CUDA is not usable)."""
    return _device_count()


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


class device_of(device):
    """Context manager that makes the device of tensor ``obj`` current (no change for a CPU
    tensor).

    Args:
        obj: a tensor.

    Example:
        >>> with gpuarr.cuda.device_of(x):
        ...     y = gpuarr.zeros(3, device="cuda")   # on x's device
    """

    def __init__(self, obj) -> None:
        super().__init__(obj.device if obj.device.type == "cuda" else None)


def init() -> None:
    """Initialise CUDA now (it happens on first use anyway); raises RuntimeError saying why
    when CUDA is not usable."""
    cuda_backend()


def is_initialized() -> bool:
    """Whether CUDA has been probed and is usable."""
    return is_available()


def ipc_collect() -> None:
    """torch frees memory released by other processes through CUDA IPC here; gpuarr shares no
    device memory between processes, so there is nothing to collect."""
