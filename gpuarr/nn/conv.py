"""Convolution layers: ``Conv1d`` and ``Conv2d``."""

from __future__ import annotations

import math

from .._creation import empty
from .._tensor import Tensor
from . import functional as F
from . import init
from .functional._conv import _conv_padding
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d"]

_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(v, n: int) -> tuple:
    if isinstance(v, (tuple, list)):
        return tuple(v)
    return (v,) * n


class _ConvNd(Module):
    _n = 2  # spatial dims
    _conv = staticmethod(F.conv2d)  # the functional form

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of "
                    "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in _tuple(stride, n)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _MODES:
            raise ValueError(
                f"padding_mode must be one of {set(_MODES)}, but got padding_mode="
                f"'{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n)
        self.stride = _tuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, n)
        self.dilation = _tuple(dilation, n)
        self.transposed = False
        self.output_padding = (0,) * n
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty((out_channels, in_channels // groups) + self.kernel_size,
                                      device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw weight and bias with the default initialisation (as torch)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode != "zeros":
            x = F.pad(input, self._mode_pad(), mode=self.padding_mode)
            return self._conv(x, self.weight, self.bias, self.stride, 0, self.dilation,
                              self.groups)
        return self._conv(input, self.weight, self.bias, self.stride, self.padding,
                          self.dilation, self.groups)

    def _mode_pad(self) -> tuple:
        """F.pad amounts (last dim first) for a non-zeros padding_mode."""
        k = self.kernel_size if self._n == 2 else (1,) + self.kernel_size
        d = self.dilation if self._n == 2 else (1,) + self.dilation
        p = self.padding
        if not isinstance(p, str) and self._n == 1:
            p = (0,) + p
        pt, pb, pl, pr = _conv_padding(p, k[0], k[1], d[0], d[1], (1, 1))
        return (pl, pr) if self._n == 1 else (pl, pr, pt, pb)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) input.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, dilation: int or (h, w).
        padding: int, (h, w), 'valid' or 'same'.
        groups: blocked connections between input and output channels.
        bias: learn a per-output-channel bias.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Example:
        >>> conv = nn.Conv2d(3, 16, 3, padding=1)
        >>> conv(gpuarr.randn(8, 3, 32, 32)).shape
        gpuarr.Size([8, 16, 32, 32])
    """

    _n = 2
    _conv = staticmethod(F.conv2d)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) input (arguments as :class:`Conv2d`, 1-D)."""

    _n = 1
    _conv = staticmethod(F.conv1d)
