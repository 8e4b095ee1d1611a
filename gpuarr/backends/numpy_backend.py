"""The CPU backend: NumPy arrays."""

from __future__ import annotations

import contextlib

import numpy as np

from .base import Backend

_null = contextlib.nullcontext()


class NumpyBackend(Backend):
    """CPU backend on NumPy."""

    name = "numpy"
    device_type = "cpu"
    xp = np

    def asarray(self, data, dtype=None, index=None):
        return np.asarray(data, dtype=dtype)

    def to_host(self, arr):
        return arr

    def is_array(self, obj) -> bool:
        return isinstance(obj, np.ndarray)

    def device_ctx(self, index):
        return _null

    def new_generator(self, seed: int, index):
        return np.random.Generator(np.random.PCG64(seed))
