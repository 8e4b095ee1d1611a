"""Device arguments of gpuarr.cuda's functions: an index, ``'cuda:N'``, a
:class:`gpuarr.device`, or None for the current device."""

from __future__ import annotations

from .._device import device as _device_cls
from ..backends import cuda_backend, cuda_status


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
    """A device argument as a CUDA index, the current device for None."""
    idx = _index(device)
    return cuda_backend().current_device() if idx is None else idx


def _available() -> bool:
    """Whether CUDA is usable (probed once, cached by the backend registry)."""
    return cuda_status()[0]


def _device_count() -> int:
    """Number of CUDA devices (0 when CUDA is not usable)."""
    return cuda_backend().device_count() if _available() else 0
