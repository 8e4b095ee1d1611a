"""3-d pooling layers: ``MaxPool3d``, ``AvgPool3d``, ``AdaptiveAvgPool3d`` and
``AdaptiveMaxPool3d``."""

from __future__ import annotations

from .._tensor import Tensor
from .functional._pool3d import adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, max_pool3d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, _MaxPoolNd
from .pooling_adaptive_max import _AdaptiveMaxPoolNd

__all__ = ["MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d"]


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W) (see
    :func:`gpuarr.nn.functional.max_pool3d`).

    Example:
        >>> nn.MaxPool3d(2)(gpuarr.randn(1, 3, 4, 6, 8)).shape
        gpuarr.Size([1, 3, 2, 3, 4])
    """

    _pool = staticmethod(max_pool3d)


class AvgPool3d(AvgPool2d):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W) (see
    :func:`gpuarr.nn.functional.avg_pool3d`).

    Example:
        >>> nn.AvgPool3d(2, stride=1)(gpuarr.randn(1, 3, 4, 4, 4)).shape
        gpuarr.Size([1, 3, 3, 3, 3])
    """

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Average pooling to a fixed (od, oh, ow) output size (None keeps that input dim).

    Example:
        >>> nn.AdaptiveAvgPool3d((1, 2, 2))(gpuarr.randn(2, 8, 5, 7, 7)).shape
        gpuarr.Size([2, 8, 1, 2, 2])
    """

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed output size.

    Args:
        output_size: ``o`` or ``(od, oh, ow)``; a None keeps that input size.
        return_indices: also return the flat (D*H*W) index of every maximum.

    Example:
        >>> nn.AdaptiveMaxPool3d((None, 2, 2))(gpuarr.randn(1, 3, 5, 7, 7)).shape
        gpuarr.Size([1, 3, 5, 2, 2])
    """

    def forward(self, input: Tensor):
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)
