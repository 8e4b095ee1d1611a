"""Padding layers: ``ZeroPad``, ``ConstantPad``, ``ReflectionPad``, ``ReplicationPad`` and
``CircularPad`` in 1d, 2d and 3d (modules over :func:`gpuarr.nn.functional.pad`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .._tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d"]

_PaddingArg = int | Sequence[int]


def _amounts(padding: _PaddingArg, n: int) -> tuple:
    """torch's ``_ntuple(n)``: an int repeated ``n`` times; a sequence kept as it is (its
    length is not checked here: F.pad rejects a wrong one for the input it meets)."""
    if isinstance(padding, Iterable):
        return tuple(padding)
    return (padding,) * n


class _PadNd(Module):
    """Base of the padding layers: ``_mode`` is F.pad's mode, ``_n`` the padded dims."""

    _mode = "constant"
    _n = 1
    padding: tuple

    def __init__(self, padding: _PaddingArg) -> None:
        super().__init__()
        self.padding = _amounts(padding, 2 * self._n)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        # only the circular layers check the rank themselves (torch's ValueError)
        if input.ndim not in (self._n + 1, self._n + 2):
            raise ValueError(f"expected {self._n + 1}D or {self._n + 2}D input "
                             f"(got {input.ndim}D input)")
        return F.pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Pad the last dim of a (C, W) or (N, C, W) input circularly: the start of the dim fills
    the end and the end the start; negative amounts crop.

    Args:
        padding: an int for both sides, or (left, right); each at most the dim's size.

    Example:
        >>> nn.CircularPad1d((1, 2))(gpuarr.arange(3.0).view(1, 1, 3))
        tensor([[[2., 0., 1., 2., 0., 1.]]])
    """

    _n = 1


class CircularPad2d(_CircularPadNd):
    """Circular padding of the last 2 dims of a (C, H, W) or (N, C, H, W) input.

    Args:
        padding: an int for all sides, or (left, right, top, bottom).

    Example:
        >>> nn.CircularPad2d(1)(gpuarr.zeros(1, 1, 3, 3)).shape
        gpuarr.Size([1, 1, 5, 5])
    """

    _n = 2


class CircularPad3d(_CircularPadNd):
    """Circular padding of the last 3 dims of a (C, D, H, W) or (N, C, D, H, W) input.

    Args:
        padding: an int for all sides, or (left, right, top, bottom, front, back).

    Example:
        >>> nn.CircularPad3d(1)(gpuarr.zeros(1, 1, 2, 2, 2)).shape
        gpuarr.Size([1, 1, 4, 4, 4])
    """

    _n = 3


class _ConstantPadNd(_PadNd):
    value: float

    def __init__(self, padding: _PaddingArg, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value`` (any input with at least 1 dim); negative amounts crop.

    Args:
        padding: an int for both sides, or (left, right).
        value: the fill value.

    Example:
        >>> nn.ConstantPad1d((1, 2), 3.5)(gpuarr.zeros(1, 2))
        tensor([[3.5000, 0.0000, 0.0000, 3.5000, 3.5000]])
    """

    _n = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``.

    Args:
        padding: an int for all sides, or (left, right, top, bottom).
        value: the fill value.

    Example:
        >>> nn.ConstantPad2d(1, 3.5)(gpuarr.zeros(1, 2, 2)).shape
        gpuarr.Size([1, 4, 4])
    """

    _n = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value``.

    Args:
        padding: an int for all sides, or (left, right, top, bottom, front, back).
        value: the fill value.

    Example:
        >>> nn.ConstantPad3d(1, 3.5)(gpuarr.zeros(1, 2, 2, 2)).shape
        gpuarr.Size([1, 4, 4, 4])
    """

    _n = 3


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros.

    Args:
        padding: an int for both sides, or (left, right).

    Example:
        >>> nn.ZeroPad1d((1, 0))(gpuarr.ones(1, 2))
        tensor([[0., 1., 1.]])
    """

    def __init__(self, padding: _PaddingArg) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last 2 dims with zeros.

    Args:
        padding: an int for all sides, or (left, right, top, bottom).

    Example:
        >>> nn.ZeroPad2d((1, 1, 2, 0))(gpuarr.ones(1, 2, 2)).shape
        gpuarr.Size([1, 4, 4])
    """

    def __init__(self, padding: _PaddingArg) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last 3 dims with zeros.

    Args:
        padding: an int for all sides, or (left, right, top, bottom, front, back).

    Example:
        >>> nn.ZeroPad3d(1)(gpuarr.ones(1, 2, 2, 2)).shape
        gpuarr.Size([1, 4, 4, 4])
    """

    def __init__(self, padding: _PaddingArg) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last dim of a (C, W) or (N, C, W) input with its mirror image (the border
    element not repeated); each amount must be less than the dim's size.

    Args:
        padding: an int for both sides, or (left, right).

    Example:
        >>> nn.ReflectionPad1d(2)(gpuarr.arange(4.0).view(1, 1, 4))
        tensor([[[2., 1., 0., 1., 2., 3., 2., 1.]]])
    """

    _mode = "reflect"
    _n = 1


class ReflectionPad2d(_PadNd):
    """Reflection padding of the last 2 dims of a (C, H, W) or (N, C, H, W) input.

    Args:
        padding: an int for all sides, or (left, right, top, bottom).

    Example:
        >>> nn.ReflectionPad2d(1)(gpuarr.zeros(1, 1, 3, 3)).shape
        gpuarr.Size([1, 1, 5, 5])
    """

    _mode = "reflect"
    _n = 2


class ReflectionPad3d(_PadNd):
    """Reflection padding of the last 3 dims of a (C, D, H, W) or (N, C, D, H, W) input.

    Args:
        padding: an int for all sides, or (left, right, top, bottom, front, back).

    Example:
        >>> nn.ReflectionPad3d(1)(gpuarr.zeros(1, 1, 2, 2, 2)).shape
        gpuarr.Size([1, 1, 4, 4, 4])
    """

    _mode = "reflect"
    _n = 3


class ReplicationPad1d(_PadNd):
    """Pad the last dim of a (C, W) or (N, C, W) input by repeating its border elements.

    Args:
        padding: an int for both sides, or (left, right).

    Example:
        >>> nn.ReplicationPad1d((2, 1))(gpuarr.arange(3.0).view(1, 1, 3))
        tensor([[[0., 0., 0., 1., 2., 2.]]])
    """

    _mode = "replicate"
    _n = 1


class ReplicationPad2d(_PadNd):
    """Replication padding of the last 2 dims of a (C, H, W) or (N, C, H, W) input.

    Args:
        padding: an int for all sides, or (left, right, top, bottom).

    Example:
        >>> nn.ReplicationPad2d(1)(gpuarr.zeros(1, 1, 3, 3)).shape
        gpuarr.Size([1, 1, 5, 5])
    """

    _mode = "replicate"
    _n = 2


class ReplicationPad3d(_PadNd):
    """Replication padding of the last 3 dims of a (C, D, H, W) or (N, C, D, H, W) input.

    Args:
        padding: an int for all sides, or (left, right, top, bottom, front, back).

    Example:
        >>> nn.ReplicationPad3d(1)(gpuarr.zeros(1, 1, 2, 2, 2)).shape
        gpuarr.Size([1, 1, 4, 4, 4])
    """

    _mode = "replicate"
    _n = 3
