"""The dispatch layer: from a device type to the backend (array module) that serves it.

Backends are registered by device type with a factory that builds them on first use
(:func:`register`); ``gpuarr.device`` accepts exactly the registered types. ``backend_for(device)``
gives the backend of a device, ``backend_of(array)`` the backend of an array. A factory may
decline (CUDA without a GPU): then asking for that device raises a RuntimeError saying why and
what to install.

Adding a backend is one module (a :class:`Backend` subclass) plus one :func:`register` line.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import _torch_backends
from .base import Backend
from .cupy_backend import INSTALL_HINT, CupyBackend, probe  # imports CuPy only when probed
from .numpy_backend import NumpyBackend

__all__ = ["Backend", "register", "device_types", "backend_for", "backend_of", "of_module",
           "status", "cuda_backend", "cuda_status", "NUMPY"]

# A factory returns (backend, "") or (None, reason it cannot be used).
Factory = Callable[[], "tuple[Backend | None, str]"]

NUMPY = NumpyBackend()
_factories: dict[str, Factory] = {}
_built: dict[str, Backend] = {}
_reasons: dict[str, str] = {}
_hints: dict[str, str] = {}
_by_module: dict[int, Backend] = {id(NUMPY.xp): NUMPY}


def register(device_type: str, factory: Factory, install_hint: str = "") -> None:
    """Serve ``device_type`` with the backend that ``factory`` builds on first use.

    Args:
        device_type: the device type string ('cpu', 'cuda', ...).
        factory: returns ``(backend, "")``, or ``(None, reason)`` when it cannot be used here.
        install_hint: appended to the error raised when the factory declines.
    """
    _factories[device_type] = factory
    _hints[device_type] = install_hint
    _built.pop(device_type, None)
    _reasons.pop(device_type, None)


def device_types() -> tuple[str, ...]:
    """The registered device types, in registration order."""
    return tuple(_factories)


def status(device_type: str) -> tuple[bool, str]:
    """(usable, reason): whether ``device_type`` can be used, and why not. Builds once."""
    if device_type in _built:
        return True, ""
    if device_type not in _reasons:
        backend, why = _factories[device_type]()
        if backend is None:
            _reasons[device_type] = why
        else:
            _built[device_type] = backend
            _by_module[id(backend.xp)] = backend
            return True, ""
    return False, _reasons[device_type]


def backend_for(device) -> Backend:
    """Backend serving a :class:`gpuarr.device` (or its type string); raises RuntimeError
    saying why when that device type cannot be used here."""
    typ = device if isinstance(device, str) else device.type
    bk = _built.get(typ)
    if bk is not None:
        return bk
    ok, why = status(typ)
    if not ok:
        raise RuntimeError(f"{typ.upper()} is not available: {why}. {_hints[typ]}".rstrip())
    return _built[typ]


def backend_of(array) -> Backend:
    """Backend owning an array object (a NumPy array, or a built backend's array)."""
    if NUMPY.is_array(array):
        return NUMPY
    for bk in _built.values():
        if bk.is_array(array):
            return bk
    if type(array).__module__.startswith("cupy"):
        return backend_for("cuda")  # a CuPy array before gpuarr used CUDA: build it now
    raise TypeError(f"expected a NumPy or CuPy array, got {type(array).__name__}")


def of_module(xp) -> Backend:
    """The backend whose array module is ``xp`` (for helpers that are handed ``xp``)."""
    return _by_module[id(xp)]


def cuda_status() -> tuple[bool, str]:
    """(usable, reason) for CUDA."""
    return status("cuda")


def cuda_backend() -> Backend:
    """The CUDA backend; raises RuntimeError explaining why when CUDA is not usable."""
    return backend_for("cuda")


def _cupy_factory() -> tuple[Backend | None, str]:
    cp, why = probe()
    return (CupyBackend(cp), "") if cp is not None else (None, why)


register("cpu", lambda: (NUMPY, ""))
register("cuda", _cupy_factory, install_hint=INSTALL_HINT)


def __getattr__(name: str):
    # torch.backends' flag namespaces: this package is gpuarr's dispatch layer, so they live in
    # gpuarr._torch_backends and are only handed out here, so that gpuarr.backends.cudnn.benchmark
    # and gpuarr.backends.mps.is_available() read as in torch.
    if name in ("cudnn", "cuda", "mps"):
        return getattr(_torch_backends, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
