"""``Conv3d``: 3-d convolution over (N, C, D, H, W) input."""

from __future__ import annotations

from .conv import _ConvNd
from .functional._conv3d import _same_or_valid, conv3d

__all__ = ["Conv3d"]


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) or unbatched (C_in, D, H, W) input.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, dilation: int or (d, h, w).
        padding: int, (d, h, w), 'valid' or 'same'.
        groups: blocked connections between input and output channels.
        bias: learn a per-output-channel bias.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Example:
        >>> conv = nn.Conv3d(2, 4, 3, padding=1)
        >>> conv(gpuarr.randn(1, 2, 5, 6, 7)).shape
        gpuarr.Size([1, 4, 5, 6, 7])
    """

    _n = 3
    _conv = staticmethod(conv3d)

    def _mode_pad(self) -> tuple:
        """F.pad amounts (last dim first) for a non-zeros padding_mode."""
        lo, hi = _same_or_valid(self.padding, self.kernel_size, self.dilation, (1, 1, 1))
        return (lo[2], hi[2], lo[1], hi[1], lo[0], hi[0])
