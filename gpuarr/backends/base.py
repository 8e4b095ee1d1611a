"""What every backend provides: the array module and a few device services."""

from __future__ import annotations

from typing import Any


class Backend:
    """One array library (NumPy or CuPy) seen through the few calls gpuarr needs.

    Attributes:
        name: 'numpy' or 'cupy'.
        device_type: 'cpu' or 'cuda'.
        xp: the array module; ops are written once against it.
    """

    name: str = ""
    device_type: str = ""
    xp: Any = None

    def asarray(self, data, dtype=None, index: int | None = None):
        """Make a backend array from host data (lists, scalars, NumPy arrays)."""
        raise NotImplementedError

    def to_host(self, arr):
        """Return a NumPy array with the data of ``arr`` (a copy for device arrays)."""
        raise NotImplementedError

    def is_array(self, obj) -> bool:
        """Whether ``obj`` is this backend's array type."""
        raise NotImplementedError

    def device_index(self, arr) -> int | None:
        """Device index an array lives on (None on CPU)."""
        return None

    def device_ctx(self, index: int | None):
        """Context manager that makes ``index`` the current device for allocations."""
        raise NotImplementedError

    def synchronize(self, index: int | None = None) -> None:
        """Wait for queued work on the device to finish."""

    def new_generator(self, seed: int, index: int | None):
        """A fresh random generator for the device seeded with ``seed``."""
        raise NotImplementedError
