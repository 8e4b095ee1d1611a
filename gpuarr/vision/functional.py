"""Image functions in torchvision's ``transforms.functional`` style.

Tensor images are gpuarr tensors shaped ``(..., C, H, W)`` (or ``(H, W)``) on any device: the
work runs on the tensor's own device (NumPy or CuPy) and float results are differentiable.
PIL images are handled with Pillow, which lives on the host; :func:`to_tensor` and
:func:`to_pil_image` are the only functions that move data between a PIL image and a device.

Example:
    >>> from PIL import Image
    >>> from gpuarr.vision import functional as F
    >>> img = Image.open('cat.jpg')
    >>> x = F.to_tensor(img)                       # (3, H, W) float32 in [0, 1]
    >>> x = F.normalize(F.resize(x.to('cuda'), 224), [0.5] * 3, [0.25] * 3)
"""

from __future__ import annotations

import numbers
import sys
import warnings
from collections.abc import Sequence
from enum import Enum

import numpy as np

from .. import _dtype as D
from .._device import CPU
from .._tensor import Tensor, _make
from ._ops import Remap, Resample, crop_map, nearest_map, pad_map, resize_taps, to_device

__all__ = [
    "InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
    "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "pad", "crop",
    "center_crop", "hflip", "vflip",
]


class InterpolationMode(Enum):
    """Interpolation methods for :func:`resize`, named as in torchvision.

    Tensors support NEAREST, NEAREST_EXACT, BILINEAR and BICUBIC; PIL images support all.
    """

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's resampling filter codes (Image.Resampling), as torchvision maps them
_PIL_CODES = {
    InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0,
    InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3, InterpolationMode.BOX: 4,
    InterpolationMode.HAMMING: 5, InterpolationMode.LANCZOS: 1,
}
_FROM_PIL_CODE = {0: InterpolationMode.NEAREST, 1: InterpolationMode.LANCZOS,
                  2: InterpolationMode.BILINEAR, 3: InterpolationMode.BICUBIC,
                  4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING}


def _interpolation(mode) -> InterpolationMode:
    """Accept an InterpolationMode, its string value or a Pillow filter code."""
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, str):
        try:
            return InterpolationMode(mode.lower())
        except ValueError:
            pass
    elif isinstance(mode, numbers.Integral) and int(mode) in _FROM_PIL_CODE:
        return _FROM_PIL_CODE[int(mode)]
    names = ", ".join(m.value for m in InterpolationMode)
    raise ValueError(f"interpolation should be an InterpolationMode (one of {names}), got {mode!r}")


# --------------------------------------------------------------------------------------------
# input checks


def _is_pil(obj) -> bool:
    # PIL is imported lazily: if PIL.Image was never imported, obj cannot be a PIL image
    mod = sys.modules.get("PIL.Image")
    return mod is not None and isinstance(obj, mod.Image)


def _pil():
    from PIL import Image  # lazy: Pillow loads only once a PIL image is needed

    return Image


def _check_tensor_image(img: Tensor, fname: str) -> None:
    if img.ndim < 2:
        raise TypeError(
            f"{fname}: a tensor image must have shape (..., H, W) with at least 2 dimensions, "
            f"got shape {list(img.shape)}"
        )


def _check_image(img, fname: str) -> None:
    """PIL image or tensor image, else TypeError."""
    if isinstance(img, Tensor):
        _check_tensor_image(img, fname)
    elif not _is_pil(img):
        raise TypeError(f"{fname}: img should be PIL Image or Tensor. Got {type(img)}")


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]`` of a PIL image or tensor image.

    Example:
        >>> get_dimensions(gpuarr.zeros(3, 4, 5))
        [3, 4, 5]
    """
    _check_image(img, "get_dimensions")
    if isinstance(img, Tensor):
        c = 1 if img.ndim == 2 else img.shape[-3]
        return [c, img.shape[-2], img.shape[-1]]
    return [len(img.getbands()), img.height, img.width]


def get_image_size(img) -> list[int]:
    """``[width, height]`` of a PIL image or tensor image (torchvision's order)."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img) -> int:
    """Number of channels of a PIL image or tensor image."""
    return get_dimensions(img)[0]


# --------------------------------------------------------------------------------------------
# conversion


def _from_host(arr: np.ndarray) -> Tensor:
    """A CPU tensor owning a contiguous copy of ``arr`` (dtypes gpuarr lacks are widened)."""
    if arr.dtype == np.uint16:
        arr = arr.astype(np.int32)  # gpuarr has no uint16: int32 holds every value exactly
    elif arr.dtype.byteorder not in ("=", "|") and arr.dtype.kind in "iuf":
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype not in D.FROM_NP:
        raise TypeError(
            f"image arrays of dtype {arr.dtype} are not supported; use uint8, int8, int16, int32, "
            "int64, float16, float32, float64 or bool"
        )
    return _make(np.array(arr, order="C", copy=True), CPU)


def _byte_to_float(arr: np.ndarray) -> Tensor:
    dt = D.get_default_dtype().np
    return _make(arr.astype(dt) / dt.type(255), CPU)


def to_tensor(pic) -> Tensor:
    """Convert a PIL image or an ``(H, W[, C])`` ndarray to a ``(C, H, W)`` CPU tensor.

    uint8 data (and PIL modes stored as bytes: L, RGB, RGBA, P, 1, ...) becomes the default
    float dtype scaled to [0, 1] by dividing by 255; other dtypes keep their values and dtype
    (PIL modes I -> int32, I;16 -> int16, F -> float32), as in torchvision.

    Args:
        pic: PIL image or NumPy array (HWC or HW).

    Returns:
        Tensor of shape (C, H, W) on the CPU; move it with ``.to('cuda')``.

    Raises:
        TypeError: ``pic`` is neither a PIL image nor an ndarray.
        ValueError: the array is not 2- or 3-dimensional.

    Example:
        >>> x = to_tensor(Image.open('cat.jpg'))
        >>> x.shape, float(x.min()) >= 0, float(x.max()) <= 1
        (gpuarr.Size([3, 853, 1280]), True, True)
    """
    if _is_pil(pic):
        ch = len(pic.getbands())
        mode_dtype = {"I": np.int32, "I;16": np.int16, "I;16B": np.int16, "F": np.float32}
        arr = np.array(pic, mode_dtype.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = arr * np.uint8(255)
        arr = arr.reshape(pic.size[1], pic.size[0], ch).transpose(2, 0, 1)
        if arr.dtype == np.uint8:
            return _byte_to_float(arr)
        return _from_host(arr)
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = (pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1)
        if arr.dtype == np.uint8:
            return _byte_to_float(arr)
        return _from_host(arr)
    hint = " (it is already a tensor)" if isinstance(pic, Tensor) else ""
    raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}{hint}")


def pil_to_tensor(pic) -> Tensor:
    """Convert a PIL image to a ``(C, H, W)`` CPU tensor keeping the pixel values and dtype
    (uint8 for byte modes, bool for mode '1', int32 for I and I;16, float32 for F).

    Example:
        >>> pil_to_tensor(Image.new('RGB', (4, 2))).dtype
        gpuarr.uint8
    """
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands())).transpose(2, 0, 1)
    return _from_host(arr)


_MODES_BY_CHANNELS = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}
_ONE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                      np.dtype(np.uint16): "I;16", np.dtype(np.int32): "I",
                      np.dtype(np.float32): "F", np.dtype(np.bool_): "1"}


def to_pil_image(pic, mode: str | None = None):
    """Convert a ``(C, H, W)`` tensor or an ``(H, W, C)`` ndarray to a PIL image.

    Float data is multiplied by 255 and truncated to uint8 (``pic.mul(255).byte()`` in
    torchvision), so ``to_pil_image(to_tensor(img))`` gives back ``img``'s exact pixels. Values
    outside [0, 1] are clipped first. The mode follows the channels and dtype: 1 channel ->
    L (uint8), I;16 (int16), I (int32), F (float32, with ``mode='F'``); 2 -> LA; 3 -> RGB;
    4 -> RGBA. Tensors on CUDA are copied to the host.

    Args:
        pic: tensor (C, H, W) or (H, W), or ndarray (H, W, C) or (H, W).
        mode: PIL mode to use; it must fit the data (e.g. 'YCbCr' or 'HSV' for 3 channels).

    Raises:
        TypeError: ``pic`` is neither a tensor nor an ndarray, or its dtype has no PIL mode.
        ValueError: wrong number of dimensions, more than 4 channels, or a mode that does not
            fit the data.

    Example:
        >>> to_pil_image(gpuarr.rand(3, 8, 8)).mode
        'RGB'
    """
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        arr = pic.detach()._host()
        if arr.ndim == 3:
            if arr.shape[0] > 4:
                raise ValueError(
                    f"pic should not have > 4 channels. Got {arr.shape[0]} channels. (Tensor "
                    "images are laid out as C x H x W; use permute(2, 0, 1) on H x W x C data.)"
                )
            arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        arr = pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
    if arr.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-1]} channels.")

    if arr.dtype.kind == "f" and mode != "F":
        # torchvision truncates x * 255 to uint8; clip first so out-of-range values saturate
        y = arr * 255
        np.clip(np.nan_to_num(y, copy=False), 0, 255, out=y)
        arr = y.astype(np.uint8)

    nch = arr.shape[2]
    if nch == 1:
        arr = arr[:, :, 0]
        expected = _ONE_CHANNEL_MODES.get(arr.dtype)
        if mode is not None and mode != expected:
            raise ValueError(
                f"Incorrect mode ({mode}) supplied for input type {arr.dtype}. Should be "
                f"{expected}"
            )
        mode = expected
    else:
        permitted = _MODES_BY_CHANNELS[nch]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {permitted} are supported for {nch}-channel inputs")
        if mode is None and arr.dtype == np.uint8:
            mode = permitted[0]
        elif mode is not None and arr.dtype != np.uint8:
            mode = None  # multi-channel PIL modes store bytes only
    if mode is None:
        raise TypeError(f"Input type {arr.dtype} is not supported")

    Image = _pil()
    arr = np.ascontiguousarray(arr)
    if mode == "I;16":
        # Pillow stores I;16 as little-endian unsigned 16-bit (int16 data keeps its bits)
        return Image.fromarray(arr.astype(arr.dtype.newbyteorder("<")).view("<u2"))
    if mode == "1":
        return Image.fromarray(arr)
    return Image.fromarray(arr, mode=mode)


# --------------------------------------------------------------------------------------------
# normalize


def _param_array(value, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach()._host()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} should be a number or a sequence of numbers, got {value!r}") \
            from None


def normalize(tensor: Tensor, mean, std, inplace: bool = False) -> Tensor:
    """Normalize a float tensor image per channel: ``(x - mean[c]) / std[c]``.

    Works on any device and is differentiable (with ``inplace=False``).

    Args:
        tensor: float tensor of shape (..., C, H, W).
        mean: per-channel means (a sequence of C numbers, or one number).
        std: per-channel standard deviations (same form, none zero).
        inplace: overwrite ``tensor`` instead of returning a new tensor.

    Returns:
        The normalized tensor (``tensor`` itself when ``inplace``).

    Raises:
        TypeError: not a tensor, or not a floating-point one.
        ValueError: fewer than 3 dimensions, a std that is zero, or a mean/std whose length
            is neither 1 nor C.

    Example:
        >>> normalize(gpuarr.ones(3, 2, 2), [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])[0, 0, 0]
        tensor(1.)
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(
            "Expected tensor to be a tensor image of size (..., C, H, W). Got "
            f"tensor.size() = {tensor.size()}"
        )
    dt = tensor._data.dtype
    c = tensor.shape[-3]
    params = []
    for name, value in (("mean", mean), ("std", std)):
        arr = _param_array(value, name).astype(dt)
        if arr.ndim == 1:
            if arr.shape[0] not in (1, c):
                raise ValueError(
                    f"normalize: {name} has {arr.shape[0]} values but the image has {c} channels"
                )
            arr = arr.reshape(-1, 1, 1)
        params.append(arr)
    m, s = params
    if np.any(s == 0):
        raise ValueError(
            f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by "
            "zero."
        )
    dev = tensor._device
    mt = _make(to_device(m, dev), dev)
    st = _make(to_device(s, dev), dev)
    if inplace:
        return tensor.sub_(mt).div_(st)
    return (tensor - mt) / st


# --------------------------------------------------------------------------------------------
# resize


def _output_size(h: int, w: int, size, max_size) -> list[int]:
    """torchvision's rule: an int resizes the shorter side (the longer keeps the aspect ratio,
    truncated), (h, w) is taken as is; ``max_size`` caps the longer side."""
    if size is None:
        if max_size is None:
            raise ValueError("resize: size=None needs max_size")
        long = max(h, w)
        new_short = int(max_size * min(h, w) / long)
        return [max_size, new_short] if h >= w else [new_short, max_size]
    if len(size) == 1:
        short, long = (w, h) if w <= h else (h, w)
        req = int(size[0])
        new_short, new_long = req, int(req * long / short)
        if max_size is not None:
            if max_size <= req:
                raise ValueError(
                    f"max_size = {max_size} must be strictly greater than the requested size "
                    f"for the smaller edge size = {size}"
                )
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        return [new_h, new_w]
    return [int(size[0]), int(size[1])]


def _size_arg(size) -> list | None:
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return [int(size)]
    if isinstance(size, Sequence) and not isinstance(size, str):
        if len(size) not in (1, 2):
            raise ValueError(
                f"Size must be an int or a 1 or 2 element tuple/list, not a {len(size)} element "
                "tuple/list"
            )
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size):
            raise TypeError(f"Size values must be ints, got {list(size)}")
        return list(size)
    raise TypeError(f"Size should be int or sequence. Got {type(size)}")


def _cast_back(y: Tensor, dt: np.dtype) -> Tensor:
    """Round float results back into an integer dtype (saturating), as torchvision does."""
    if dt.kind == "f":
        return y.to(D.FROM_NP[dt])
    arr = y._data
    xp = y._device._xp()
    if dt.kind == "b":
        return _make(xp.rint(arr) != 0, y._device)
    info = np.iinfo(dt)
    return _make(xp.clip(xp.rint(arr), info.min, info.max).astype(dt), y._device)


def _resize_tensor(img: Tensor, out_h: int, out_w: int, mode: InterpolationMode,
                   antialias: bool) -> Tensor:
    h, w = img.shape[-2], img.shape[-1]
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        exact = mode is InterpolationMode.NEAREST_EXACT
        rows = None if out_h == h else nearest_map(h, out_h, exact)
        cols = None if out_w == w else nearest_map(w, out_w, exact)
        return Remap.apply(img, rows, cols, 0)
    if mode not in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError(
            "Tensor images support only nearest, nearest-exact, bilinear and bicubic "
            f"interpolation, got {mode.value} (it is available for PIL images)"
        )
    if h == 0 or w == 0:
        raise ValueError(f"resize: cannot resize an empty image of shape {list(img.shape)}")
    dt = img._data.dtype
    x = img if dt in (np.float32, np.float64) else img.to(D.float32)

    def taps(n_in, n_out):
        if n_in == n_out:  # every method maps an unchanged axis to itself
            return None
        return resize_taps(n_in, n_out, mode.value, antialias)

    y = Resample.apply(x, taps(h, out_h), taps(w, out_w))
    return y if x is img else _cast_back(y, dt)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    """Resize a PIL image or tensor image.

    Args:
        img: PIL image, or tensor of shape (..., H, W) on any device.
        size: an int resizes the shorter side to ``size`` and the longer one to
            ``int(size * long / short)``; ``(h, w)`` gives the output size. None (with
            ``max_size``) resizes the longer side to ``max_size``.
        interpolation: an :class:`InterpolationMode` (default bilinear), its string value or a
            Pillow filter code. Tensors support nearest, nearest-exact, bilinear and bicubic.
        max_size: upper bound for the longer side when ``size`` is an int.
        antialias: tensors only: low-pass filter when downsampling, like PIL and
            ``interpolate(..., antialias=True)``. PIL images are always antialiased.

    Returns:
        The resized image, of ``img``'s type, device and dtype (integer tensors are rounded).
        Returns ``img`` itself when the size does not change.

    Example:
        >>> resize(gpuarr.rand(3, 100, 200), 50).shape
        gpuarr.Size([3, 50, 100])
    """
    _check_image(img, "resize")
    mode = _interpolation(interpolation)
    size = _size_arg(size)
    if max_size is not None and size is not None and len(size) != 1:
        raise ValueError(
            "max_size should only be passed if size specifies the length of the smaller edge, "
            "i.e. size should be an int or a sequence of length 1"
        )
    _, h, w = get_dimensions(img)
    out_h, out_w = _output_size(h, w, size, max_size)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"resize: the output size must be positive, got {[out_h, out_w]}")
    if [h, w] == [out_h, out_w]:
        return img
    if isinstance(img, Tensor):
        return _resize_tensor(img, out_h, out_w, mode, bool(antialias))
    if antialias is False:
        warnings.warn("Anti-alias option is always applied for PIL Image input. Argument "
                      "antialias is ignored.", stacklevel=2)
    return img.resize((out_w, out_h), _PIL_CODES[mode])


# --------------------------------------------------------------------------------------------
# padding, crops, flips


def _padding_ltrb(padding) -> tuple[int, int, int, int]:
    if isinstance(padding, bool) or not isinstance(padding, (numbers.Integral, tuple, list)):
        raise TypeError(f"Got inappropriate padding arg: {padding!r} (use an int or a sequence)")
    if isinstance(padding, numbers.Integral):
        p = int(padding)
        return p, p, p, p
    if len(padding) not in (1, 2, 4):
        raise ValueError(
            f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} "
            "element tuple"
        )
    if not all(isinstance(v, numbers.Integral) for v in padding):
        raise TypeError(f"Padding values must be ints, got {list(padding)}")
    if len(padding) == 1:
        return (int(padding[0]),) * 4
    if len(padding) == 2:
        lr, tb = int(padding[0]), int(padding[1])
        return lr, tb, lr, tb
    return tuple(int(v) for v in padding)  # type: ignore[return-value]


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _pil_fill(fill, img):
    bands = len(img.getbands())
    if fill is None:
        fill = 0
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = fill[0]
        elif len(fill) != bands:
            raise ValueError(
                "The number of elements in 'fill' does not match the number of bands of the "
                f"image ({len(fill)} != {bands})"
            )
    if not isinstance(fill, (list, tuple)):
        fill = (fill,) * bands
    cast = float if img.mode == "F" else int
    fill = tuple(cast(v) for v in fill)
    return fill[0] if bands == 1 else fill


def _pil_canvas(img, w: int, h: int, fill):
    Image = _pil()
    out = Image.new(img.mode, (w, h), fill)
    if img.mode in ("P", "PA") and img.getpalette() is not None:
        out.putpalette(img.getpalette())
    return out


def _pad_pil(img, ltrb, fill, mode: str):
    left, top, right, bottom = ltrb
    if mode == "constant":
        out = _pil_canvas(img, img.width + left + right, img.height + top + bottom,
                          _pil_fill(fill, img))
        out.paste(img, (left, top))
        return out
    rows = pad_map(img.height, top, bottom, mode)
    cols = pad_map(img.width, left, right, mode)
    arr = np.asarray(img)
    # Pillow infers '1' and 'I;16' from the dtype (bool, uint16) and refuses them as a mode
    mode = None if img.mode in ("1", "I;16") else img.mode
    out = _pil().fromarray(np.ascontiguousarray(arr[rows][:, cols]), mode=mode)
    if img.mode == "P" and img.getpalette() is not None:
        out.putpalette(img.getpalette())
    return out


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders of a PIL image or tensor image (negative padding crops).

    Args:
        img: PIL image or tensor of shape (..., H, W).
        padding: an int for all sides, ``(left/right, top/bottom)``, or
            ``(left, top, right, bottom)``.
        fill: value of the padded pixels in 'constant' mode (a per-band tuple for PIL images).
        padding_mode: 'constant', 'edge', 'reflect' (mirror, border not repeated) or
            'symmetric' (mirror, border repeated).

    Example:
        >>> pad(gpuarr.ones(1, 2, 2), 1).shape
        gpuarr.Size([1, 4, 4])
    """
    _check_image(img, "pad")
    ltrb = _padding_ltrb(padding)
    if padding_mode not in _PAD_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    _, h, w = get_dimensions(img)
    left, top, right, bottom = ltrb
    if padding_mode != "constant":
        for n, before, after, axis in ((h, top, bottom, "height"), (w, left, right, "width")):
            if n == 0 and (before > 0 or after > 0):
                raise ValueError(f"pad: cannot pad an empty image in {padding_mode!r} mode")
            if padding_mode == "reflect" and max(before, after) >= n:
                raise ValueError(
                    f"pad: in 'reflect' mode the padding ({before}, {after}) must be less than "
                    f"the image {axis} ({n})"
                )
    if w + left + right < 0 or h + top + bottom < 0:
        raise ValueError(f"pad: negative padding {list(ltrb)} removes more than the image")
    if not isinstance(img, Tensor):
        return _pad_pil(img, ltrb, fill, padding_mode)
    if fill is None:
        fill = 0
    if isinstance(fill, bool) or not isinstance(fill, numbers.Number):
        raise TypeError(f"Got inappropriate fill arg: {fill!r} (tensor images take a number)")
    rows = pad_map(h, top, bottom, padding_mode)
    cols = pad_map(w, left, right, padding_mode)
    return Remap.apply(img, rows, cols, fill)


def crop(img, top: int, left: int, height: int, width: int):
    """Crop a box of ``height`` x ``width`` pixels whose top-left corner is (top, left).

    Parts of the box outside the image are filled with zeros.

    Example:
        >>> crop(gpuarr.rand(3, 10, 10), 2, 3, 4, 5).shape
        gpuarr.Size([3, 4, 5])
    """
    _check_image(img, "crop")
    top, left, height, width = (int(v) for v in (top, left, height, width))
    if height < 0 or width < 0:
        raise ValueError(f"crop: height and width must be non-negative, got {height}, {width}")
    if not isinstance(img, Tensor):
        return img.crop((left, top, left + width, top + height))
    h, w = img.shape[-2], img.shape[-1]
    return Remap.apply(img, crop_map(h, top, height), crop_map(w, left, width), 0)


def _two_sizes(size, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{name}: size should be an int or a sequence (h, w), got {size!r}")


def center_crop(img, output_size):
    """Crop the center of an image; an image smaller than the crop is padded with zeros
    first (the extra pixel of an odd difference goes right/bottom, as in torchvision).

    Args:
        img: PIL image or tensor of shape (..., H, W).
        output_size: int (square) or (h, w).

    Example:
        >>> center_crop(gpuarr.rand(3, 10, 10), 4).shape
        gpuarr.Size([3, 4, 4])
    """
    _check_image(img, "center_crop")
    ch, cw = _two_sizes(output_size, "center_crop")
    _, h, w = get_dimensions(img)
    top = -((ch - h) // 2) if ch > h else int(round((h - ch) / 2.0))
    left = -((cw - w) // 2) if cw > w else int(round((w - cw) / 2.0))
    return crop(img, top, left, ch, cw)


def hflip(img):
    """Flip a PIL image or tensor image left to right."""
    _check_image(img, "hflip")
    if not isinstance(img, Tensor):
        return img.transpose(_pil().Transpose.FLIP_LEFT_RIGHT)
    w = img.shape[-1]
    return Remap.apply(img, None, np.arange(w - 1, -1, -1, dtype=np.int64), 0)


def vflip(img):
    """Flip a PIL image or tensor image upside down."""
    _check_image(img, "vflip")
    if not isinstance(img, Tensor):
        return img.transpose(_pil().Transpose.FLIP_TOP_BOTTOM)
    h = img.shape[-2]
    return Remap.apply(img, np.arange(h - 1, -1, -1, dtype=np.int64), None, 0)
