"""``ConvTranspose3d``: the 3-d transposed convolution layer."""

from __future__ import annotations

from .._tensor import Tensor
from .conv_transpose import _ConvTransposeNd
from .functional._conv_transpose3d import conv_transpose3d

__all__ = ["ConvTranspose3d"]


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W) or unbatched (C_in, D, H, W) input;
    weight ``(C_in, C_out / groups, KD, KH, KW)`` and initialisation as torch's.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, padding, output_padding, dilation: int or (d, h, w).
        groups: blocked connections between input and output channels.
        bias: learn a per-output-channel bias.
        padding_mode: only 'zeros' (as torch).

    ``forward(input, output_size=None)``: ``output_size`` (3 spatial sizes, or the full
    shape) picks the output padding that gives that size.

    Example:
        >>> m = nn.ConvTranspose3d(4, 2, 3, stride=2)
        >>> m(gpuarr.randn(1, 4, 3, 4, 5)).shape
        gpuarr.Size([1, 2, 7, 9, 11])
        >>> m(gpuarr.randn(1, 4, 3, 4, 5), output_size=(8, 9, 12)).shape
        gpuarr.Size([1, 2, 8, 9, 12])
    """

    _n = 3

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output padding that gives ``output_size`` (torch's checks and texts)."""
        if output_size is None:
            return self.output_padding
        n = self._n
        lead = 2 if input.ndim == n + 2 else 1
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(
                f"ConvTranspose{n}D: for {input.ndim}D input, output_size must have {n} or "
                f"{lead + n} elements (got {len(output_size)})")
        mins = [(input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(n)]
        maxs = [m + s - 1 for m, s in zip(mins, self.stride)]
        for size, lo, hi in zip(output_size, mins, maxs):
            if size < lo or size > hi:
                # (torch prints input.size()[2:], which drops a spatial dim of unbatched
                # input; the spatial sizes are what it means)
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from "
                    f"{mins} to {maxs} (for an input of {input.shape[-n:]})")
        return tuple(int(size) - lo for size, lo in zip(output_size, mins))

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        op = self._output_padding(input, output_size)
        return conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, op,
                                self.groups, self.dilation)
