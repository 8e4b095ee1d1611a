"""Image transforms and utilities in torchvision's style: ``gpuarr.vision``.

* :mod:`gpuarr.vision.functional` (``F``): ``to_tensor``, ``to_pil_image``, ``pil_to_tensor``,
  ``normalize``, ``resize``, ``pad``, ``crop``, ``center_crop``, ``hflip``, ``vflip``.
* :mod:`gpuarr.vision.transforms`: composable transforms (``Compose``, ``ToTensor``,
  ``Normalize``, ``Resize``, ``CenterCrop``, ``RandomCrop``, ``RandomHorizontalFlip``, ...).
* :mod:`gpuarr.vision.utils`: ``make_grid`` and ``save_image`` for image batches.

Tensor images are ``(..., C, H, W)`` gpuarr tensors on any device; PIL images are converted on
the host. The most used names are also available here directly.

Example:
    >>> from PIL import Image
    >>> from gpuarr.vision import transforms
    >>> image_tensor = transforms.ToTensor()(Image.open('cat.jpg'))   # (3, H, W) in [0, 1]
    >>> transforms.ToPILImage()(image_tensor)                          # the same pixels back
"""

from . import functional, transforms, utils
from .functional import (
    InterpolationMode,
    center_crop,
    crop,
    hflip,
    normalize,
    pad,
    pil_to_tensor,
    resize,
    to_pil_image,
    to_tensor,
    vflip,
)
from .transforms import (
    CenterCrop,
    Compose,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomCrop,
    RandomHorizontalFlip,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
    ToTensor,
)
from .utils import make_grid, save_image

__all__ = [
    "functional", "transforms", "utils", "InterpolationMode", "to_tensor", "pil_to_tensor",
    "to_pil_image", "normalize", "resize", "pad", "crop", "center_crop", "hflip", "vflip",
    "Compose", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize", "CenterCrop",
    "Pad", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "Lambda", "make_grid",
    "save_image",
]
