"""``gpuarr.nn``: modules, layers, losses, initialisation and ``functional``.

Example:
    >>> from gpuarr import nn
    >>> model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    >>> loss = nn.CrossEntropyLoss()(model(x), y)
"""

from __future__ import annotations

from . import functional, init, parallel, utils
from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .containers import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .embedding import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .module import Module
from .normalization import *  # noqa: F403
from .parameter import Buffer, Parameter
from .pooling import *  # noqa: F403
from .rnn import *  # noqa: F403
from .transformer import *  # noqa: F403
from .conv_transpose import *  # noqa: F403, E402
from .normalization_extra import *  # noqa: F403, E402
from .resample import *  # noqa: F403, E402
from .padding import *  # noqa: F403, E402
from .channel import *  # noqa: F403, E402
from .distance import *  # noqa: F403, E402
from .loss_extra import *  # noqa: F403, E402
from .activation_extra import *  # noqa: F403, E402
from .pooling_adaptive_max import *  # noqa: F403, E402
from .embedding_bag import *  # noqa: F403, E402
from .bilinear import *  # noqa: F403, E402
from .conv3d import *  # noqa: F403, E402
from .pooling3d import *  # noqa: F403, E402
from .pooling_extra import *  # noqa: F403, E402
from .conv_transpose3d import *  # noqa: F403, E402
from .dropout_extra import *  # noqa: F403, E402
from .lazy import *  # noqa: F403, E402
from .ctc import *  # noqa: F403, E402
from .adaptive_softmax import *  # noqa: F403, E402
from .parallel import DataParallel  # noqa: E402
from .sync_batchnorm import *  # noqa: F403, E402
from .linear_cross_entropy import *  # noqa: F403, E402
