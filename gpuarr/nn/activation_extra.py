"""Shrinkage and randomised activations, and ``Softmax2d`` (modules over
:mod:`gpuarr.nn.functional._activation_extra`)."""

from __future__ import annotations

from .._tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["Hardshrink", "Softshrink", "RReLU", "Softmax2d"]


class Hardshrink(Module):
    """Hard shrinkage: ``0`` where ``-lambd <= x <= lambd``, else ``x``.

    Args:
        lambd: the half width of the band set to zero (default 0.5).

    Example:
        >>> nn.Hardshrink()(gpuarr.tensor([-1.0, 0.3, 0.7]))
        tensor([-1.0000,  0.0000,  0.7000])
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """Soft shrinkage: ``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0.

    Args:
        lambd: the shrinkage, at least 0 (default 0.5).

    Example:
        >>> nn.Softshrink(0.5)(gpuarr.tensor([-1.0, 0.3, 0.75]))
        tensor([-0.5000,  0.0000,  0.2500])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class RReLU(Module):
    """Randomised leaky ReLU: while training, each negative element gets a slope drawn
    uniformly from ``[lower, upper]``; in eval mode the slope is ``(lower + upper) / 2``.

    Args:
        lower, upper: the range of the negative slope (default 1/8 and 1/3).
        inplace: overwrite the input with the result.

    Example:
        >>> nn.RReLU(0.1, 0.3).eval()(gpuarr.tensor([-1.0, 2.0]))
        tensor([-0.2000,  2.0000])
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace
                                                            else "")


class Softmax2d(Module):
    """Softmax over the channels (dim -3) at every spatial position of a (N, C, H, W) or
    (C, H, W) input.

    Example:
        >>> nn.Softmax2d()(gpuarr.zeros(2, 1, 1)).flatten()
        tensor([0.5000, 0.5000])
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (3, 4):
            raise ValueError(
                f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead")
        return F.softmax(input, -3)
