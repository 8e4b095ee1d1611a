"""Give convolution weights a memory format (torch.nn.utils.memory_format):
``convert_conv2d_weight_memory_format`` / ``convert_conv3d_weight_memory_format``."""

from __future__ import annotations

from ..._memory_format import preserve_format, relayout
from ..._tensor import _make
from ..conv import Conv2d
from ..conv3d import Conv3d
from ..conv_transpose import ConvTranspose2d
from ..conv_transpose3d import ConvTranspose3d
from ..module import Module

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module: Module, memory_format, classes: tuple) -> Module:
    """Re-lay the weights of every ``classes`` module in ``module`` (itself included) out in
    ``memory_format``; the parameters stay the same objects."""
    for mod in module.modules():
        if isinstance(mod, classes):
            if memory_format is preserve_format:
                raise RuntimeError("Unsupported memory formatPreserve")
            w = mod.weight.detach()
            arr = relayout(w._data, w._device, memory_format)  # torch's rank errors
            mod.weight.data = w.clone().contiguous() if arr is None else _make(arr, w._device)
    return module


def convert_conv2d_weight_memory_format(module: Module, memory_format) -> Module:
    """Lay out the weights of the ``Conv2d`` / ``ConvTranspose2d`` layers in ``module`` in
    ``memory_format`` (``gpuarr.channels_last`` or ``gpuarr.contiguous_format``), in place.

    Args:
        module: a model (its submodules are searched too).
        memory_format: the layout to give the 4-d weights.

    Returns:
        ``module``.

    Raises:
        RuntimeError: for ``preserve_format`` or a format of another rank.

    Example:
        >>> m = convert_conv2d_weight_memory_format(nn.Conv2d(2, 3, 3), gpuarr.channels_last)
        >>> m.weight.stride()
        (18, 1, 6, 2)
    """
    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module: Module, memory_format) -> Module:
    """Lay out the weights of the ``Conv3d`` / ``ConvTranspose3d`` layers in ``module`` in
    ``memory_format`` (``gpuarr.channels_last_3d`` or ``gpuarr.contiguous_format``), in place.

    Returns:
        ``module``.

    Raises:
        RuntimeError: for ``preserve_format`` or a format of another rank.

    Example:
        >>> m = convert_conv3d_weight_memory_format(nn.Conv3d(2, 2, 1), gpuarr.channels_last_3d)
        >>> m.weight.stride()
        (2, 1, 2, 2, 2)
    """
    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
