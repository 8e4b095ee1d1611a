"""Random number generators: ``gpuarr.Generator`` objects and the per-device defaults.

A Generator wraps the backend's generator (NumPy PCG64 on CPU, CuPy's XORWOW on CUDA). Same
seed and same device give the same numbers. ``manual_seed`` seeds the default generator of every
device, including CUDA devices first used later. Until then the default generators start from
a seed drawn from OS entropy once per process (``initial_seed()`` differs between runs, as in
torch); a ``Generator()`` made by hand starts from torch's fixed default seed.
"""

from __future__ import annotations

import numpy as np

from ._core.tensor import _make
from ._device import as_device

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state"]

_DEFAULT_SEED = 67280421310721  # torch's default CPU seed
_STATE_MAGIC = b"GARS"  # first bytes of a get_state() snapshot


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
        """The backend generator, with its device made current (CuPy draws only there)."""
        self.device._xp()
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
        """A snapshot of the generator: a uint8 CPU tensor (as torch's), which later draws do
        not change and which :func:`gpuarr.save` can store.

        Example:
            >>> s = g.get_state(); a = gpuarr.rand(3, generator=g)
            >>> g.set_state(s); b = gpuarr.rand(3, generator=g)   # a == b
        """
        payload = self.device._backend().generator_state(self._backend_gen)
        raw = (_STATE_MAGIC + self.device.type.encode().ljust(8, b"\0")
               + self._seed.to_bytes(8, "little") + payload)
        return _make(np.frombuffer(raw, dtype=np.uint8).copy(), as_device("cpu"))

    def set_state(self, new_state) -> Generator:
        """Restore a snapshot taken by :meth:`get_state` of a generator of the same device
        type; returns self."""
        data = getattr(new_state, "_data", None)
        if data is None or data.dtype != np.uint8 or data.ndim != 1 or not isinstance(
                data, np.ndarray):
            raise TypeError("expected a torch.ByteTensor (a 1-D uint8 CPU tensor from "
                            f"get_state()), got {type(new_state).__name__}")
        raw = data.tobytes()
        typ = raw[4:12].rstrip(b"\0").decode(errors="replace")
        if raw[:4] != _STATE_MAGIC or len(raw) < 20:
            raise RuntimeError("not a generator state made by get_state()")
        if typ != self.device.type:
            raise RuntimeError(f"the state belongs to a {typ} generator, this one is on "
                               f"{self.device.type}")
        seed = int.from_bytes(raw[12:20], "little")
        gen = self.device._backend().restore_generator(seed, raw[20:], self.device.index)
        self._seed, self._gen = seed, gen
        return self


def _entropy_seed() -> int:
    """A 64-bit seed from OS entropy."""
    return int(np.random.SeedSequence().entropy % 2**64)


_defaults: dict = {}
# As torch's, the default generators start from a fresh seed in every process (unseeded
# programs differ between runs); manual_seed makes a run reproducible. A Generator() made by
# hand starts from torch's fixed default seed instead.
_global_seed = [_entropy_seed()]


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
    """The seed of the CPU default generator: the last :func:`manual_seed`, else the seed
    this process drew from OS entropy at import."""
    return default_generator("cpu").initial_seed()


def get_rng_state():
    """Snapshot of the CPU default generator."""
    return default_generator("cpu").get_state()


def set_rng_state(state) -> None:
    """Restore the CPU default generator from :func:`get_rng_state`."""
    default_generator("cpu").set_state(state)
