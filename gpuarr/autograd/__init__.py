"""Automatic differentiation: one define-by-run graph for every device.

Public API (PyTorch's names): :func:`backward`, :func:`grad`, :class:`Function`,
:mod:`functional` (jacobian, hessian, vjp, jvp, hvp, vhp), :func:`gradcheck`,
:func:`gradgradcheck`, and the grad-mode context managers.
"""

from __future__ import annotations

from .._core.function import Function, FunctionCtx, once_differentiable
from .._core.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from . import functional
from ._backward import backward, grad
from .gradcheck import gradcheck, gradgradcheck
from .variable import Variable

__all__ = [
    "Function", "FunctionCtx", "once_differentiable", "backward", "grad", "no_grad",
    "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode", "functional",
    "gradcheck", "gradgradcheck", "Variable",
]
