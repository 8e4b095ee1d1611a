"""``gpuarr.nn.utils``, laid out as torch.nn.utils's submodules: gradient clipping, parameter
vectors, packed sequences (``rnn``), parametrizations (``parametrize``, ``parametrizations``:
orthogonal, weight_norm, spectral_norm), the hook forms of weight and spectral normalization,
BatchNorm fusion (``fusion``), ``skip_init``, ``stateless.functional_call`` and convolution
weights' memory formats."""

from . import (
    clip_grad,
    convert_parameters,
    fusion,
    init,
    memory_format,
    parametrizations,
    parametrize,
    rnn,
    stateless,
)
from .clip_grad import *  # noqa: F403
from .convert_parameters import *  # noqa: F403
from .fusion import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from .init import skip_init
from .memory_format import (
    convert_conv2d_weight_memory_format,
    convert_conv3d_weight_memory_format,
)
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = clip_grad.__all__ + convert_parameters.__all__ + [
    "rnn", "parametrize", "parametrizations", "stateless", "fusion",
    "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
    "fuse_linear_bn_weights", "skip_init", "weight_norm", "remove_weight_norm",
    "spectral_norm", "remove_spectral_norm", "init", "memory_format",
    "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format",
]
