"""Transposed convolution layers: ``ConvTranspose1d`` and ``ConvTranspose2d``."""

from __future__ import annotations

from .._creation import empty
from .._tensor import Tensor
from .conv import _ConvNd
from .functional import _conv_transpose as FT
from .module import Module
from .parameter import Parameter

__all__ = ["ConvTranspose1d", "ConvTranspose2d"]


def _tuple(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _ConvTransposeNd(Module):
    _n = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise ValueError(
                f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n)
        self.stride = _tuple(stride, n)
        self.padding = _tuple(padding, n)
        self.dilation = _tuple(dilation, n)
        self.output_padding = _tuple(output_padding, n)
        self.transposed = True
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty((in_channels, out_channels // groups) + self.kernel_size,
                                      device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    # the same default initialisation as the convolutions (torch shares it too)
    reset_parameters = _ConvNd.reset_parameters

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """torch's output_padding for a requested ``output_size``."""
        if output_size is None:
            return self.output_padding
        n = self._n
        output_size = list(output_size)
        if len(output_size) == n + 2 or (len(output_size) == n + 1
                                         and input.ndim == n + 1):
            output_size = output_size[-n:]
        if len(output_size) != n:
            raise ValueError(
                f"ConvTranspose{n}D: for {input.ndim}D input, output_size must have {n} "
                f"or {n + 2} elements (got {len(output_size)})")
        res = []
        for i in range(n):
            dim = input.shape[input.ndim - n + i]
            mn = ((dim - 1) * self.stride[i] - 2 * self.padding[i]
                  + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            mx = mn + self.stride[i] - 1
            if not mn <= output_size[i] <= mx:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from "
                    f"{mn} to {mx} (for an input of {list(input.shape[2:])})")
            res.append(output_size[i] - mn)
        return tuple(res)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution; weight ``(C_in, C_out / groups, KH, KW)`` (as torch).

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, padding, output_padding, dilation: int or (h, w).
        groups: blocked connections.
        bias: learn a per-output-channel bias.

    Example:
        >>> nn.ConvTranspose2d(4, 2, 3, stride=2)(gpuarr.randn(1, 4, 5, 5)).shape
        gpuarr.Size([1, 2, 11, 11])
    """

    _n = 2

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        op = self._output_padding(input, output_size)
        return FT.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                   op, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution; weight ``(C_in, C_out / groups, K)`` (as torch).

    Example:
        >>> nn.ConvTranspose1d(4, 2, 3)(gpuarr.randn(1, 4, 5)).shape
        gpuarr.Size([1, 2, 7])
    """

    _n = 1

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        op = self._output_padding(input, output_size)
        return FT.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                   op, self.groups, self.dilation)
