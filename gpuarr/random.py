"""``gpuarr.random``: torch.random's namespace: the default generators' seeds and states, and
:func:`fork_rng`, which runs a block and then puts every generator it touched back.

Example:
    >>> with gpuarr.random.fork_rng(devices=[]):
    ...     a = gpuarr.rand(2)
    >>> b = gpuarr.rand(2)          # the same numbers as a: the fork did not advance the RNG
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator

from . import cuda
from ._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]

_warned = [False]


@contextlib.contextmanager
def fork_rng(devices: Iterable[int] | None = None, enabled: bool = True,
             _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type: str | None = None) -> Iterator[None]:
    """Fork the random number generators: on exit, the CPU generator and those of ``devices``
    are restored to their state on entry.

    Args:
        devices: CUDA device indices whose generators to fork (default: every device, with
            torch's warning when there are several).
        enabled: False makes this a no-op.
        device_type: 'cuda' (the only accelerator type gpuarr has) or 'meta' (no-op).

    Example:
        >>> with gpuarr.random.fork_rng():
        ...     gpuarr.manual_seed(0)   # reseeding inside does not leak out
    """
    if device_type == "meta" or not enabled:
        yield
        return
    device_type = device_type or "cuda"
    if device_type != "cuda":
        raise RuntimeError(f"torch has no module of `{device_type}`, you should register a "
                           "module by `torch._register_device_module`.")
    if devices is None:
        n = cuda.device_count()
        if n > 1 and not _warned[0]:
            warnings.warn(
                f"CUDA reports that you have {n} available devices, and you have used "
                f"{_caller} without explicitly specifying which devices are being used. For "
                "safety, we initialize *every* CUDA device by default, which can be quite slow "
                "if you have a lot of CUDAs. If you know that you are only making use of a few "
                "CUDA devices, set the environment variable CUDA_VISIBLE_DEVICES or the "
                f"'{_devices_kw}' keyword argument of {_caller} with the set of devices you are "
                "actually using. For example, if you are using CPU only, set "
                "device.upper()_VISIBLE_DEVICES= or devices=[]; if you are using device 0 only, "
                "set CUDA_VISIBLE_DEVICES=0 or devices=[0].  To initialize all devices and "
                f"suppress this warning, set the '{_devices_kw}' keyword argument to "
                "`range(torch.cuda.device_count())`.", stacklevel=3)
            _warned[0] = True
        devices = list(range(n))
    else:
        devices = list(devices)  # a generator argument must be walked once only
    cpu_state = get_rng_state()
    device_states = [cuda.get_rng_state(d) for d in devices]
    try:
        yield
    finally:
        set_rng_state(cpu_state)
        for d, state in zip(devices, device_states, strict=True):
            cuda.set_rng_state(state, d)
