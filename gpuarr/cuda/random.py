"""The CUDA devices' default random generators: seeds and states, one device or all.

Example:
    >>> gpuarr.cuda.manual_seed_all(0)
    >>> states = gpuarr.cuda.get_rng_state_all()
    >>> a = gpuarr.rand(2, device="cuda")
    >>> gpuarr.cuda.set_rng_state_all(states)
    >>> b = gpuarr.rand(2, device="cuda")       # equal to a
"""

from __future__ import annotations

from collections.abc import Iterable

from .._random import default_generator as _default_generator
from ._devices import _available, _device_count, _resolved

__all__ = ["get_rng_state", "set_rng_state", "get_rng_state_all", "set_rng_state_all",
           "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed"]


def get_rng_state(device="cuda"):
    """Snapshot of a CUDA device's default generator (a uint8 CPU tensor, as torch's)."""
    return _default_generator(f"cuda:{_resolved(device)}").get_state()


def set_rng_state(new_state, device="cuda") -> None:
    """Restore a CUDA device's default generator from :func:`get_rng_state`."""
    _default_generator(f"cuda:{_resolved(device)}").set_state(new_state)


def get_rng_state_all() -> list:
    """Snapshots of every CUDA device's default generator, by device index."""
    return [get_rng_state(i) for i in range(_device_count())]


def set_rng_state_all(new_states: Iterable) -> None:
    """Restore the default generators of devices 0, 1, ... from ``new_states``."""
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def manual_seed(seed: int) -> None:
    """Seed the default generator of the current CUDA device."""
    if _available():
        _default_generator("cuda").manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the default generators of all CUDA devices."""
    for i in range(_device_count()):
        _default_generator(f"cuda:{i}").manual_seed(seed)


def seed() -> None:
    """Seed the current CUDA device's default generator from OS entropy."""
    if _available():
        _default_generator("cuda").seed()


def seed_all() -> None:
    """Seed every CUDA device's default generator with one seed from OS entropy."""
    if _available():
        s = _default_generator("cuda").seed()
        manual_seed_all(s)


def initial_seed() -> int:
    """The seed of the current CUDA device's default generator."""
    return _default_generator(f"cuda:{_resolved(None)}").initial_seed()
