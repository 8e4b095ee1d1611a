"""``torch.autograd.grad_mode``'s public names; they live in ``gpuarr._core.grad_mode``."""

from __future__ import annotations

from .._core.grad_mode import (
    _state,  # noqa: F401 - the flag that gpuarr's layers above the core read
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled"]
