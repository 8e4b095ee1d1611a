"""The CUDA backend: CuPy arrays.

CuPy is imported on first use only, so ``import gpuarr`` stays fast and works without it.
:func:`availability` explains why CUDA cannot be used, in words a user can act on.
"""

from __future__ import annotations

from .base import Backend

INSTALL_HINT = (
    "Install CuPy for your CUDA version, e.g. `pip install gpuarr[cuda12]` (cupy-cuda12x) or "
    "`pip install gpuarr[cuda13]` (cupy-cuda13x), on a machine with an NVIDIA GPU and driver."
)


def _probe() -> tuple[object | None, str]:
    """Import CuPy and count devices; return (cupy module or None, reason it is unusable)."""
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA install raising at import
        return None, f"CuPy is not installed or failed to import ({type(e).__name__}: {e})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver / no libcuda
        return None, f"CuPy is installed but no CUDA driver could be used ({type(e).__name__}: {e})"
    if n == 0:
        return None, "CuPy is installed and a CUDA driver found, but there is no CUDA device"
    return cupy, ""


class CupyBackend(Backend):
    """CUDA backend on CuPy. Constructed only when CUDA is usable."""

    name = "cupy"
    device_type = "cuda"

    def __init__(self, cupy) -> None:
        self.xp = cupy
        self._cp = cupy

    def device_count(self) -> int:
        return self._cp.cuda.runtime.getDeviceCount()

    def current_device(self) -> int:
        return self._cp.cuda.runtime.getDevice()

    def set_device(self, index: int) -> None:
        self._cp.cuda.runtime.setDevice(index)

    def asarray(self, data, dtype=None, index=None):
        cp = self._cp
        with self.device_ctx(index):
            if isinstance(data, cp.ndarray) and data.device.id != cp.cuda.Device().id:
                # asarray would hand back the array on its own device: copy it across
                return cp.array(data, dtype=dtype, copy=True)
            return cp.asarray(data, dtype=dtype)

    def to_host(self, arr):
        return self._cp.asnumpy(arr)

    def is_array(self, obj) -> bool:
        return isinstance(obj, self._cp.ndarray)

    def device_index(self, arr) -> int:
        return arr.device.id

    def device_ctx(self, index):
        return self._cp.cuda.Device(0 if index is None else index)

    def synchronize(self, index=None) -> None:
        with self.device_ctx(index):
            self._cp.cuda.Device().synchronize()

    def new_generator(self, seed: int, index):
        with self.device_ctx(index):
            return self._cp.random.Generator(self._cp.random.XORWOW(seed))

    def memory_allocated(self, index=None) -> int:
        return self._cp.get_default_memory_pool().used_bytes()

    def memory_reserved(self, index=None) -> int:
        return self._cp.get_default_memory_pool().total_bytes()


