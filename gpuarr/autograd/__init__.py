"""Automatic differentiation: one define-by-run graph for every device.

Public API (PyTorch's names): :func:`backward`, :func:`grad`, :class:`Function`,
:mod:`functional` (jacobian, hessian, vjp, jvp, hvp, vhp), :func:`gradcheck`,
:func:`gradgradcheck`, the grad-mode context managers, and anomaly detection
(:class:`detect_anomaly`, :class:`set_detect_anomaly`, :mod:`anomaly_mode`).
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
from . import anomaly_mode, functional
from ._backward import backward, grad
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .gradcheck import gradcheck, gradgradcheck
from .variable import Variable

__all__ = [
    "Function", "FunctionCtx", "once_differentiable", "backward", "grad", "no_grad",
    "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode", "functional",
    "gradcheck", "gradgradcheck", "Variable", "detect_anomaly", "set_detect_anomaly",
    "anomaly_mode",
]
