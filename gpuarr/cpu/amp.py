"""``gpuarr.cpu.amp``: torch's deprecated CPU spellings of ``gpuarr.amp``."""

from __future__ import annotations

import warnings

from .. import _dtype as D
from ..amp import autocast_mode as _am
from ..amp.grad_scaler import GradScaler as _GradScaler

__all__ = ["autocast", "GradScaler"]


class autocast(_am.autocast):
    """Deprecated: ``gpuarr.amp.autocast('cpu', ...)``."""

    def __init__(self, enabled: bool = True, dtype=D.bfloat16, cache_enabled: bool = True) -> None:
        warnings.warn("`gpuarr.cpu.amp.autocast(args...)` is deprecated. Please use "
                      "`gpuarr.amp.autocast('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """Deprecated: ``gpuarr.amp.GradScaler('cpu', ...)``."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`gpuarr.cpu.amp.GradScaler(args...)` is deprecated. Please use "
                      "`gpuarr.amp.GradScaler('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
