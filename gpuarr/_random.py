"""Random number generators: ``gpuarr.Generator`` objects and the per-device defaults.

A Generator wraps the backend's generator (NumPy PCG64 on CPU, CuPy's XORWOW on CUDA). Same
seed and same device give the same numbers. ``manual_seed`` seeds the default generator of every
device, including CUDA devices first used later.
"""

from __future__ import annotations

import numpy as np

from ._device import as_device

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state"]

_DEFAULT_SEED = 67280421310721  # torch's default CPU seed


class Generator:
    """A seeded source of random numbers for one device.

    Args:
        device: where the numbers are made ('cpu' or 'cuda[:N]').

    Example:
        >>> g = gpuarr.Generator().manual_seed(0)
        >>> gpuarr.rand(3, generator=g)
    """

    def __init__(self, device="cpu") -> None:
        self.device = as_device(device)
        self._seed = _DEFAULT_SEED
        self._gen = None

    @property
    def _backend_gen(self):
        if self._gen is None:
            self._gen = self.device._backend().new_generator(self._seed, self.device.index)
        return self._gen

    def manual_seed(self, seed: int) -> Generator:
        """Reset the generator to ``seed``; returns self."""
        seed = int(seed)
        if seed < 0:
            seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self._gen = None
        return self

    def seed(self) -> int:
        """Seed from OS entropy; returns the seed used."""
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self):
        """An opaque snapshot of the generator state (for :meth:`set_state`)."""
        g = self._backend_gen
        if self.device.type == "cpu":
            return ("cpu", self._seed, g.bit_generator.state)
        return ("cuda", self._seed, g.bit_generator.__getstate__()
                if hasattr(g.bit_generator, "__getstate__") else None)

    def set_state(self, state) -> Generator:
        """Restore a snapshot taken by :meth:`get_state`."""
        kind, seed, st = state
        self._seed = seed
        self._gen = None
        if kind == "cpu":
            self._backend_gen.bit_generator.state = st
        elif st is not None:
            self._backend_gen.bit_generator.__setstate__(st)
        return self


_defaults: dict = {}
_global_seed = [_DEFAULT_SEED]


def default_generator(device=None) -> Generator:
    """The default generator of a device (created and seeded on first use)."""
    dev = as_device(device)
    g = _defaults.get(dev)
    if g is None:
        g = Generator(dev).manual_seed(_global_seed[0])
        _defaults[dev] = g
    return g


def manual_seed(seed: int) -> Generator:
    """Seed the default generators of all devices; returns the CPU default generator.

    Example:
        >>> gpuarr.manual_seed(0); a = gpuarr.rand(2)
        >>> gpuarr.manual_seed(0); b = gpuarr.rand(2)   # a == b
    """
    _global_seed[0] = int(seed)
    for g in _defaults.values():
        g.manual_seed(seed)
    return default_generator("cpu")


def seed() -> int:
    """Seed the default generators from OS entropy; returns the seed."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed of the CPU default generator."""
    return default_generator("cpu").initial_seed()


def get_rng_state():
    """Snapshot of the CPU default generator."""
    return default_generator("cpu").get_state()


def set_rng_state(state) -> None:
    """Restore the CPU default generator from :func:`get_rng_state`."""
    default_generator("cpu").set_state(state)
