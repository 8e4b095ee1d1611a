"""``torch.autograd.function``'s public names; they live in the core, ``gpuarr._core.function``."""

from __future__ import annotations

from .._core.function import AccumulateGrad, Function, FunctionCtx, Node, once_differentiable

__all__ = ["Function", "FunctionCtx", "Node", "AccumulateGrad", "once_differentiable"]
