"""Image-batch utilities: :func:`make_grid` and :func:`save_image` (torchvision's layout)."""

from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor, _make

__all__ = ["make_grid", "save_image"]


def _stack(tensors: list) -> Tensor:
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"tensor or list of tensors expected, got a list containing {type(t)}")
    if not tensors:
        raise ValueError("make_grid: expected a non-empty list of tensors")
    first = tensors[0]
    for k, t in enumerate(tensors[1:], 1):
        if t.shape != first.shape:
            raise RuntimeError(
                "stack expects each tensor to be equal size, but got "
                f"{list(first.shape)} at entry 0 and {list(t.shape)} at entry {k}"
            )
        if t._device is not first._device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{first._device} and {t._device}!"
            )
        if t._data.dtype != first._data.dtype:
            raise TypeError(
                f"make_grid: all tensors must share a dtype, got {first.dtype} at entry 0 and "
                f"{t.dtype} at entry {k}"
            )
    xp = first._device._xp()
    return _make(xp.stack([t.detach()._data for t in tensors]), first._device)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile a batch of images into one image, laid out exactly as torchvision does.

    Images fill rows of ``min(nrow, B)`` from left to right, each framed by ``padding``
    pixels of ``pad_value``; the result has shape
    ``(C, ceil(B / ncols) * (H + padding) + padding, ncols * (W + padding) + padding)``.
    Single-channel images are repeated to 3 channels; a batch of one image is returned
    without padding. The grid is a new tensor on the input's device, outside the autograd graph.

    Args:
        tensor: (B, C, H, W) tensor, a (C, H, W) or (H, W) image, or a list of equal-shaped
            (C, H, W) tensors.
        nrow: images per row of the grid.
        padding: pixels between (and around) the images.
        normalize: rescale to [0, 1], by ``value_range`` if given else by the min and max.
        value_range: (min, max) used by ``normalize``; values outside are clamped.
        scale_each: normalize each image by its own min and max.
        pad_value: value of the padding pixels.

    Returns:
        Tensor of shape (C', H', W').

    Raises:
        TypeError: not a tensor or a list of tensors, ``value_range`` not a tuple, or
            ``normalize`` on an integer tensor.
        ValueError: a tensor that is not 2-, 3- or 4-dimensional.

    Example:
        >>> make_grid(gpuarr.rand(10, 3, 32, 32), nrow=5).shape
        gpuarr.Size([3, 70, 172])
    """
    if isinstance(tensor, list):
        tensor = _stack(tensor)
    elif not isinstance(tensor, Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    dev = tensor._device
    xp = dev._xp()
    x = tensor.detach()._data
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        if x.shape[0] == 1:
            x = xp.concatenate([x, x, x], axis=0)
        x = x[None]
    if x.ndim != 4:
        raise ValueError(
            f"make_grid expects a 4-D batch (B, C, H, W) or a 2-D/3-D image, got shape "
            f"{list(tensor.shape)}"
        )
    if x.shape[1] == 1:
        x = xp.concatenate([x, x, x], axis=1)

    if normalize:
        if x.dtype.kind != "f":
            raise TypeError(f"make_grid(normalize=True) needs a float tensor, got {tensor.dtype}")
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError(
                "value_range has to be a tuple (min, max) if specified. min and max are numbers"
            )
        x = x.copy()  # never touch the caller's data
        blocks = [x[k] for k in range(x.shape[0])] if scale_each else [x]
        for b in blocks:
            if value_range is not None:
                low, high = value_range
            elif b.size:
                low, high = float(b.min()), float(b.max())
            else:
                continue
            xp.clip(b, low, high, out=b)
            b -= low
            b /= max(high - low, 1e-5)

    if x.shape[0] == 1:
        return _make(x[0].copy(), dev)
    nmaps, channels = x.shape[0], x.shape[1]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = x.shape[2] + padding, x.shape[3] + padding
    grid = xp.full((channels, height * ymaps + padding, width * xmaps + padding), pad_value,
                   dtype=x.dtype)
    for k in range(nmaps):
        y0 = (k // xmaps) * height + padding
        x0 = (k % xmaps) * width + padding
        grid[:, y0:y0 + height - padding, x0:x0 + width - padding] = x[k]
    return _make(grid, dev)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Save a tensor (or a batch, tiled by :func:`make_grid`) as an image file.

    Float values in [0, 1] are scaled to 0..255 with rounding, as torchvision does; uint8
    tensors are written as they are.

    Args:
        tensor: image, batch or list of images (see :func:`make_grid`), on any device.
        fp: file name or binary file object.
        format: image format (e.g. 'PNG'); by default taken from the file name.
        **kwargs: passed to :func:`make_grid` (nrow, padding, normalize, ...).

    Example:
        >>> save_image(gpuarr.rand(4, 3, 8, 8), 'batch.png', nrow=2)
    """
    from PIL import Image  # lazy: Pillow loads only once an image is saved

    grid = make_grid(tensor, **kwargs)
    arr = grid._host()
    if arr.dtype != np.uint8:
        # torchvision: grid.mul(255).add_(0.5).clamp_(0, 255) then truncate to uint8
        arr = np.clip(arr * 255 + 0.5, 0, 255).astype(np.uint8)
    arr = arr.transpose(1, 2, 0)
    Image.fromarray(np.ascontiguousarray(arr)).save(fp, format=format)
