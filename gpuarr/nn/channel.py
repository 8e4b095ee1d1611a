"""Channel-wise layers: ``LocalResponseNorm`` and ``ChannelShuffle``."""

from __future__ import annotations

from .._tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["LocalResponseNorm", "ChannelShuffle"]


class LocalResponseNorm(Module):
    """Local response normalisation across channels (see
    :func:`gpuarr.nn.functional.local_response_norm`); input (N, C, *) with at least 3 dims.

    Args:
        size: the number of neighbouring channels summed over.
        alpha: multiplicative factor (default 1e-4). beta: exponent (default 0.75).
        k: additive factor (default 1).

    Example:
        >>> nn.LocalResponseNorm(2)(gpuarr.randn(4, 5, 8, 8)).shape
        gpuarr.Size([4, 5, 8, 8])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class ChannelShuffle(Module):
    """Shuffle the channels of an (N, C, *) input across ``groups`` groups (see
    :func:`gpuarr.nn.functional.channel_shuffle`).

    Example:
        >>> nn.ChannelShuffle(2)(gpuarr.arange(4.0).view(1, 4, 1)).flatten()
        tensor([0., 2., 1., 3.])
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
