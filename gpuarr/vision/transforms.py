"""Composable image transforms in torchvision's ``transforms`` style.

Each transform is a callable object; :class:`Compose` chains them. Tensor images may live on
any device: put ``ToTensor()`` first, move the tensor with a ``Lambda`` (or after the pipeline)
and the following transforms run on that device.

Random transforms draw from gpuarr's default CPU generator, so ``gpuarr.manual_seed(s)`` makes
them reproducible; pass ``generator=`` for an independent stream.

Example:
    >>> from gpuarr.vision import transforms as T
    >>> pipeline = T.Compose([
    ...     T.Resize(256), T.CenterCrop(224), T.ToTensor(),
    ...     T.Lambda(lambda x: x.to('cuda')),
    ...     T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ... ])
    >>> x = pipeline(Image.open('cat.jpg'))   # (3, 224, 224) on cuda
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

from ..ops.random import rand, randint
from . import functional
from . import functional as F
from .functional import InterpolationMode

__all__ = [
    "Compose", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize", "CenterCrop",
    "Pad", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "Lambda",
    "InterpolationMode", "functional",
]


class Transform:
    """Base class: ``t(img)`` calls ``t.forward(img)``."""

    def __call__(self, img):
        return self.forward(img)

    def forward(self, img):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class Compose:
    """Apply transforms one after the other.

    Args:
        transforms: list of callables.

    Example:
        >>> Compose([ToTensor(), Normalize([0.5] * 3, [0.5] * 3)])(img).shape
        gpuarr.Size([3, 853, 1280])
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = [f"    {t}" for t in self.transforms]
        return "\n".join([f"{self.__class__.__name__}(", *lines, ")"])


class Lambda(Transform):
    """Wrap a function of one image as a transform.

    Example:
        >>> Lambda(lambda x: x.to('cuda'))
    """

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def forward(self, img):
        return self.lambd(img)


class ToTensor(Transform):
    """PIL image or HWC ndarray -> CHW CPU tensor; uint8 is scaled to [0, 1] floats.

    See :func:`gpuarr.vision.functional.to_tensor`.
    """

    def forward(self, pic):
        return F.to_tensor(pic)


class PILToTensor(Transform):
    """PIL image -> CHW tensor keeping values and dtype (no scaling)."""

    def forward(self, pic):
        return F.pil_to_tensor(pic)


class ToPILImage(Transform):
    """CHW tensor (any device) or HWC ndarray -> PIL image; floats are scaled by 255.

    Args:
        mode: PIL mode; by default chosen from the channels and dtype.
    """

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def forward(self, pic):
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        inner = "" if self.mode is None else f"mode={self.mode}"
        return f"{self.__class__.__name__}({inner})"


class Normalize(Transform):
    """Per-channel ``(x - mean) / std`` on float tensor images (any device, differentiable).

    Args:
        mean: sequence of per-channel means.
        std: sequence of per-channel standard deviations.
        inplace: overwrite the input tensor.
    """

    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def forward(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Resize(Transform):
    """Resize to ``size``; an int resizes the shorter side and keeps the aspect ratio.

    Args:
        size: int or (h, w) (or None with ``max_size``).
        interpolation: :class:`InterpolationMode` (default bilinear), its string value or a
            Pillow filter code.
        max_size: cap for the longer side when ``size`` is an int.
        antialias: tensors only: antialias when downsampling (PIL always does).

    See :func:`gpuarr.vision.functional.resize`.
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        if size is not None and not (
            isinstance(size, numbers.Integral) or isinstance(size, Sequence)
        ):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size = size
        self.max_size = max_size
        self.interpolation = F._interpolation(interpolation)
        self.antialias = antialias

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(size={self.size}, "
                f"interpolation={self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


def _setup_size(size, error_msg: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(error_msg)
    return int(size[0]), int(size[1])


class CenterCrop(Transform):
    """Crop the center to ``size`` (int or (h, w)); smaller images are zero-padded first."""

    def __init__(self, size) -> None:
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size})"


class Pad(Transform):
    """Pad the borders; see :func:`gpuarr.vision.functional.pad`."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        F._padding_ltrb(padding)  # validate early, like torchvision
        if padding_mode not in F._PAD_MODES:
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


def _randint(high: int, generator) -> int:
    """One integer in [0, high) from ``generator`` (gpuarr's default CPU generator if None)."""
    dev = None if generator is None else generator.device
    return int(randint(0, high, (1,), generator=generator, device=dev).item())


def _rand(generator) -> float:
    dev = None if generator is None else generator.device
    return float(rand(1, generator=generator, device=dev).item())


class RandomCrop(Transform):
    """Crop at a random position.

    Args:
        size: int or (h, w) of the crop.
        padding: optional padding applied first (int, 2- or 4-sequence, as :class:`Pad`).
        pad_if_needed: pad an image smaller than the crop (each side by the shortfall, as
            torchvision does) instead of raising.
        fill: fill value for 'constant' padding.
        padding_mode: 'constant', 'edge', 'reflect' or 'symmetric'.
        generator: a :class:`gpuarr.Generator` to draw from (default: gpuarr's default one).

    Example:
        >>> gpuarr.manual_seed(0); a = RandomCrop(32, padding=4)(x)
        >>> gpuarr.manual_seed(0); b = RandomCrop(32, padding=4)(x)   # same crop as a
    """

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant", *, generator=None) -> None:
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        if padding is not None:
            F._padding_ltrb(padding)
        if padding_mode not in F._PAD_MODES:
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    @staticmethod
    def get_params(img, output_size, generator=None) -> tuple[int, int, int, int]:
        """Random ``(top, left, height, width)`` of a crop of ``output_size`` inside ``img``.

        Raises:
            ValueError: the crop is larger than the image.
        """
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"Required crop size {(th, tw)} is larger than input image size {(h, w)}"
            )
        if w == tw and h == th:
            return 0, 0, h, w
        i = _randint(h - th + 1, generator)
        j = _randint(w - tw + 1, generator)
        return i, j, th, tw

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size, self.generator)
        return F.crop(img, i, j, h, w)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(Transform):
    """Flip left-right with probability ``p`` (one uniform draw per call, like torchvision).

    Args:
        p: flip probability.
        generator: a :class:`gpuarr.Generator` to draw from (default: gpuarr's default one).
    """

    _flip = staticmethod(F.hflip)

    def __init__(self, p: float = 0.5, *, generator=None) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p should be a probability in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, img):
        F._check_image(img, self.__class__.__name__)
        if _rand(self.generator) < self.p:
            return self._flip(img)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Flip upside down with probability ``p``; see :class:`RandomHorizontalFlip`."""

    _flip = staticmethod(F.vflip)
