"""The dispatch layer: from a device to the backend (array module) that serves it.

``backend_for(device)`` gives the backend of a device; ``backend_of(array)`` the backend of an
array. The CUDA backend is built on first use; when CUDA cannot be used it raises a RuntimeError
saying why and what to install.
"""

from __future__ import annotations

from .base import Backend
from .numpy_backend import NumpyBackend

__all__ = ["Backend", "backend_for", "backend_of", "cuda_backend", "cuda_status", "NUMPY"]

NUMPY = NumpyBackend()
_cuda: Backend | None = None
_cuda_reason: str | None = None


def cuda_status() -> tuple[bool, str]:
    """(usable, reason): whether CUDA can be used, and why not. Probes once and caches."""
    global _cuda, _cuda_reason
    if _cuda is None and _cuda_reason is None:
        from .cupy_backend import CupyBackend, _probe

        cp, why = _probe()
        if cp is None:
            _cuda_reason = why
        else:
            _cuda = CupyBackend(cp)
    return _cuda is not None, _cuda_reason or ""


def cuda_backend():
    """The CUDA backend; raises RuntimeError explaining why when CUDA is not usable."""
    if _cuda is not None:
        return _cuda
    ok, why = cuda_status()
    if not ok:
        from .cupy_backend import INSTALL_HINT

        raise RuntimeError(f"CUDA is not available: {why}. {INSTALL_HINT}")
    return _cuda


def backend_for(device) -> Backend:
    """Backend serving a :class:`gpuarr.device` (or its type string)."""
    typ = device if isinstance(device, str) else device.type
    if typ == "cpu":
        return NUMPY
    return cuda_backend()


def backend_of(array) -> Backend:
    """Backend owning an array object (NumPy or CuPy)."""
    if NUMPY.is_array(array):
        return NUMPY
    if _cuda is not None and _cuda.is_array(array):
        return _cuda
    mod = type(array).__module__
    if mod.startswith("cupy"):
        return cuda_backend()
    raise TypeError(f"expected a NumPy or CuPy array, got {type(array).__name__}")
