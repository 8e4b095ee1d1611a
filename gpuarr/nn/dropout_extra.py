"""Dropout3d and FeatureAlphaDropout: channel-wise dropout layers (identity in eval mode)."""

from __future__ import annotations

from .._tensor import Tensor
from .dropout import _DropoutNd
from .functional._dropout_extra import dropout3d, feature_alpha_dropout

__all__ = ["Dropout3d", "FeatureAlphaDropout"]


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p``
    in training mode (kept channels are scaled by ``1 / (1 - p)``); see
    :func:`gpuarr.nn.functional.dropout3d`. Draws from gpuarr's default generator.

    Args:
        p: probability of zeroing a channel.
        inplace: overwrite the input.

    Example:
        >>> m = nn.Dropout3d(0.2)
        >>> m(gpuarr.randn(2, 16, 4, 8, 8)).shape
        gpuarr.Size([2, 16, 4, 8, 8])
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout3d(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels, for SELU networks: in training mode a masked channel
    takes SELU's negative saturation value, then all is scaled and shifted to keep zero mean
    and unit variance; see :func:`gpuarr.nn.functional.feature_alpha_dropout`.

    Args:
        p: probability of masking a channel.
        inplace: overwrite the input.

    Example:
        >>> m = nn.FeatureAlphaDropout(0.2)
        >>> m(gpuarr.randn(2, 16, 4, 8)).shape
        gpuarr.Size([2, 16, 4, 8])
    """

    def forward(self, input: Tensor) -> Tensor:
        return feature_alpha_dropout(input, self.p, self.training, self.inplace)
