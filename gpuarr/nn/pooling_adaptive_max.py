"""Adaptive max pooling layers: ``AdaptiveMaxPool1d`` and ``AdaptiveMaxPool2d``."""

from __future__ import annotations

from .._tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


class _AdaptiveMaxPoolNd(Module):
    """Base of the adaptive max-pooling layers."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, L) or (C, L) to a fixed length.

    Args:
        output_size: the output length.
        return_indices: also return the index of every maximum.

    Example:
        >>> nn.AdaptiveMaxPool1d(3)(gpuarr.randn(2, 4, 10)).shape
        gpuarr.Size([2, 4, 3])
    """

    def forward(self, input: Tensor):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, H, W) or (C, H, W) to a fixed output size.

    Args:
        output_size: ``oh`` or ``(oh, ow)``; a None keeps that input size.
        return_indices: also return the flat (H*W) index of every maximum.

    Example:
        >>> nn.AdaptiveMaxPool2d((None, 2))(gpuarr.randn(1, 3, 5, 7)).shape
        gpuarr.Size([1, 3, 5, 2])
    """

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
