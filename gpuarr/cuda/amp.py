"""``gpuarr.cuda.amp``: torch's deprecated CUDA spellings of ``gpuarr.amp``.

``autocast(...)`` is ``gpuarr.amp.autocast('cuda', ...)`` and ``GradScaler(...)`` is
``gpuarr.amp.GradScaler('cuda', ...)``; both emit torch's FutureWarning, naming the new form.
"""

from __future__ import annotations

import functools
import warnings

from .. import _dtype as D
from ..amp import autocast_mode as _am
from ..amp.grad_scaler import GradScaler as _GradScaler
from ..amp.grad_scaler import OptState  # noqa: F401 - torch keeps this import here too

__all__ = ["autocast", "custom_fwd", "custom_bwd", "GradScaler"]


class autocast(_am.autocast):
    """Deprecated: ``gpuarr.amp.autocast('cuda', ...)``.

    Example:
        >>> with gpuarr.cuda.amp.autocast():   # FutureWarning
        ...     y = model(x)
    """

    def __init__(self, enabled: bool = True, dtype=D.float16, cache_enabled: bool = True) -> None:
        warnings.warn("`gpuarr.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`gpuarr.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """Deprecated: ``gpuarr.amp.GradScaler('cuda', ...)``."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`gpuarr.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`gpuarr.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """Deprecated: ``gpuarr.amp.custom_fwd(..., device_type='cuda')``."""
    warnings.warn("`gpuarr.cuda.amp.custom_fwd(args...)` is deprecated. Please use "
                  "`gpuarr.amp.custom_fwd(args..., device_type='cuda')` instead.",
                  FutureWarning, stacklevel=2)
    return functools.partial(_am.custom_fwd, device_type="cuda")(fwd=fwd,
                                                                 cast_inputs=cast_inputs)


def custom_bwd(bwd):
    """Deprecated: ``gpuarr.amp.custom_bwd(..., device_type='cuda')``."""
    warnings.warn("`gpuarr.cuda.amp.custom_bwd(args...)` is deprecated. Please use "
                  "`gpuarr.amp.custom_bwd(args..., device_type='cuda')` instead.",
                  FutureWarning, stacklevel=2)
    return _am.custom_bwd(bwd, device_type="cuda")
