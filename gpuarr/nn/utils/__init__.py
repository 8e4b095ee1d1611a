"""``gpuarr.nn.utils``: gradient clipping, parameter vectors and packed sequences (``rnn``),
laid out as torch.nn.utils's submodules."""

from . import clip_grad, convert_parameters, rnn
from .clip_grad import *  # noqa: F403
from .convert_parameters import *  # noqa: F403

__all__ = clip_grad.__all__ + convert_parameters.__all__ + ["rnn"]
