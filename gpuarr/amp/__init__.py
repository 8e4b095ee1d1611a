"""``gpuarr.amp``: automatic mixed precision, as ``torch.amp``.

* :class:`autocast` runs the ops on torch's lists in a lower precision (float16 on CUDA,
  bfloat16 on the CPU) or in float32, whichever torch picks for each op;
* :class:`GradScaler` scales the loss so that float16 gradients do not underflow, unscales the
  gradients before the optimizer step and skips steps whose gradients hold inf or NaN.

Example:
    >>> scaler = gpuarr.amp.GradScaler("cuda")
    >>> with gpuarr.autocast("cuda"):
    ...     loss = loss_fn(model(x), y)
    >>> scaler.scale(loss).backward()
    >>> scaler.step(optimizer)
    >>> scaler.update()
"""

from __future__ import annotations

from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available", "GradScaler"]
