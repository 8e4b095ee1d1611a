"""Unpooling, power-average and fractional max pooling layers: MaxUnpool1d/2d/3d, LPPool1d/2d/3d,
FractionalMaxPool2d/3d."""

from __future__ import annotations

from .._tensor import Tensor
from .functional import _pool_extra as FP
from .functional._pool_extra import _tuple
from .module import Module

__all__ = ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "LPPool1d", "LPPool2d", "LPPool3d",
           "FractionalMaxPool2d", "FractionalMaxPool3d"]


class _MaxUnpoolNd(Module):
    """Base of the unpooling layers; subclasses set ``_n`` and ``_unpool``."""

    _n = 2

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        n = self._n
        self.kernel_size = _tuple(kernel_size, n)
        self.stride = _tuple(stride if stride is not None else kernel_size, n)
        self.padding = _tuple(padding, n)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return self._unpool(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d: ``forward(input, indices, output_size=None)`` puts each
    value at its index in a zero signal (see :func:`gpuarr.nn.functional.max_unpool1d`).

    Example:
        >>> pool, unpool = nn.MaxPool1d(2, return_indices=True), nn.MaxUnpool1d(2)
        >>> unpool(*pool(gpuarr.tensor([[[1., 2., 3., 4.]]])))
        tensor([[[0., 2., 0., 4.]]])
    """

    _n = 1
    _unpool = staticmethod(FP.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d (see :func:`gpuarr.nn.functional.max_unpool2d`).

    Example:
        >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        >>> unpool(*pool(gpuarr.randn(1, 1, 4, 4))).shape
        gpuarr.Size([1, 1, 4, 4])
    """

    _n = 2
    _unpool = staticmethod(FP.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of MaxPool3d (see :func:`gpuarr.nn.functional.max_unpool3d`).

    Example:
        >>> pool, unpool = nn.MaxPool3d(2, return_indices=True), nn.MaxUnpool3d(2)
        >>> unpool(*pool(gpuarr.randn(1, 1, 4, 4, 4))).shape
        gpuarr.Size([1, 1, 4, 4, 4])
    """

    _n = 3
    _unpool = staticmethod(FP.max_unpool3d)


class _LPPoolNd(Module):
    """Base of the power-average pooling layers; subclasses set ``_pool``."""

    def __init__(self, norm_type: float, kernel_size, stride=None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return self._pool(input, float(self.norm_type), self.kernel_size, self.stride,
                          self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """1-D power-average pooling: ``(sum over window of x^p)^(1/p)`` (see
    :func:`gpuarr.nn.functional.lp_pool1d`).

    Args:
        norm_type: the power ``p`` (``inf``: max pooling of ``|x|``).
        kernel_size, stride (default: kernel_size): int.
        ceil_mode: round the output length up.

    Example:
        >>> nn.LPPool1d(2, 3, stride=2)(gpuarr.randn(2, 4, 9)).shape
        gpuarr.Size([2, 4, 4])
    """

    _pool = staticmethod(FP.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """2-D power-average pooling (see :func:`gpuarr.nn.functional.lp_pool2d`).

    Example:
        >>> nn.LPPool2d(1.5, (3, 2))(gpuarr.randn(2, 4, 9, 8)).shape
        gpuarr.Size([2, 4, 3, 4])
    """

    _pool = staticmethod(FP.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """3-D power-average pooling (see :func:`gpuarr.nn.functional.lp_pool3d`).

    Example:
        >>> nn.LPPool3d(2, 2)(gpuarr.randn(2, 4, 4, 6, 8)).shape
        gpuarr.Size([2, 4, 2, 3, 4])
    """

    _pool = staticmethod(FP.lp_pool3d)


class _FractionalMaxPoolNd(Module):
    """Base of the fractional max pooling layers; subclasses set ``_n`` and ``_pool``."""

    _n = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples=None) -> None:
        super().__init__()
        n, name = self._n, type(self).__name__
        if n == 3 and min(_tuple(kernel_size, n)) <= 0:
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = _tuple(kernel_size, n)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _tuple(output_size, n) if output_size is not None else None
        self.output_ratio = _tuple(output_ratio, n) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor):
        return self._pool(input, self.kernel_size, self.output_size, self.output_ratio,
                          self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-D fractional max pooling (see :func:`gpuarr.nn.functional.fractional_max_pool2d`);
    the window steps are drawn from gpuarr's default generator on every call unless
    ``_random_samples`` (an ``(N, C, 2)`` buffer) fixes them.

    Args:
        kernel_size: int or (kh, kw).
        output_size: int or (oh, ow); or ``output_ratio``: a number or pair in (0, 1).
        return_indices: also return the flat (H*W) indices of the maxima.

    Example:
        >>> nn.FractionalMaxPool2d(3, output_ratio=0.5)(gpuarr.randn(2, 4, 10, 12)).shape
        gpuarr.Size([2, 4, 5, 6])
    """

    _n = 2
    _pool = staticmethod(FP.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-D fractional max pooling (see :func:`gpuarr.nn.functional.fractional_max_pool3d`);
    ``_random_samples``, when given, is an ``(N, C, 3)`` buffer.

    Example:
        >>> nn.FractionalMaxPool3d(2, output_size=(3, 4, 4))(gpuarr.randn(1, 2, 7, 8, 9)).shape
        gpuarr.Size([1, 2, 3, 4, 4])
    """

    _n = 3
    _pool = staticmethod(FP.fractional_max_pool3d)
