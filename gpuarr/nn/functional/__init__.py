"""``gpuarr.nn.functional``: stateless layers, activations and losses (torch's names and
signatures). Every function is differentiable through gpuarr's autograd, twice where torch's is.

Example:
    >>> import gpuarr.nn.functional as F
    >>> F.cross_entropy(F.linear(x, w, b), labels)
"""

from __future__ import annotations

from ._activation import *  # noqa: F403
from ._activation import __all__ as _act_all
from ._attention import *  # noqa: F403
from ._attention import __all__ as _attn_all
from ._conv import *  # noqa: F403
from ._conv import __all__ as _conv_all
from ._linear import *  # noqa: F403
from ._linear import __all__ as _lin_all
from ._loss import *  # noqa: F403
from ._loss import __all__ as _loss_all
from ._misc import *  # noqa: F403
from ._misc import __all__ as _misc_all
from ._norm import *  # noqa: F403
from ._norm import __all__ as _norm_all
from ._pool import *  # noqa: F403
from ._pool import __all__ as _pool_all

__all__ = [*_act_all, *_conv_all, *_lin_all, *_loss_all, *_misc_all, *_norm_all, *_pool_all]
__all__ += _attn_all
from ._conv_transpose import *  # noqa: F403, E402
from ._conv_transpose import __all__ as _convt_all  # noqa: E402
from ._norm_extra import *  # noqa: F403, E402
from ._norm_extra import __all__ as _normx_all  # noqa: E402
from ._resample import *  # noqa: F403, E402
from ._resample import __all__ as _resample_all  # noqa: E402

__all__ += [*_convt_all, *_normx_all, *_resample_all]
from ._channel import *  # noqa: F403, E402
from ._elu import *  # noqa: F403, E402
from ._elu import __all__ as _elu_all  # noqa: E402
from ._channel import __all__ as _channel_all  # noqa: E402
from ._distance import *  # noqa: F403, E402
from ._distance import __all__ as _distance_all  # noqa: E402
from ._loss_extra import *  # noqa: F403, E402
from ._loss_extra import __all__ as _loss_extra_all  # noqa: E402
from ._activation_extra import *  # noqa: F403, E402
from ._activation_extra import __all__ as _activation_extra_all  # noqa: E402
from ._pool_adaptive_max import *  # noqa: F403, E402
from ._pool_adaptive_max import __all__ as _pool_adaptive_max_all  # noqa: E402

__all__ += [*_channel_all, *_elu_all, *_distance_all, *_loss_extra_all,
            *_activation_extra_all, *_pool_adaptive_max_all]
from ._embedding_bag import *  # noqa: F403, E402
from ._embedding_bag import __all__ as _embedding_bag_all  # noqa: E402
from ._bilinear import *  # noqa: F403, E402
from ._bilinear import __all__ as _bilinear_all  # noqa: E402
from ._gumbel import *  # noqa: F403, E402
from ._gumbel import __all__ as _gumbel_all  # noqa: E402
from ._grid import *  # noqa: F403, E402
from ._grid import __all__ as _grid_all  # noqa: E402

__all__ += [*_embedding_bag_all, *_bilinear_all, *_gumbel_all, *_grid_all]
from ._conv3d import *  # noqa: F403, E402
from ._conv3d import __all__ as _conv3d_all  # noqa: E402
from ._pool3d import *  # noqa: F403, E402
from ._pool3d import __all__ as _pool3d_all  # noqa: E402

__all__ += [*_conv3d_all, *_pool3d_all]
from ._pool_extra import *  # noqa: F403, E402
from ._pool_extra import __all__ as _pool_extra_all  # noqa: E402
from ._conv_transpose3d import *  # noqa: F403, E402
from ._conv_transpose3d import __all__ as _conv_transpose3d_all  # noqa: E402
from ._dropout_extra import *  # noqa: F403, E402
from ._dropout_extra import __all__ as _dropout_extra_all  # noqa: E402
from ._ctc import *  # noqa: F403, E402
from ._ctc import __all__ as _ctc_all  # noqa: E402

__all__ += [*_pool_extra_all, *_conv_transpose3d_all, *_dropout_extra_all, *_ctc_all]
from ._linear_cross_entropy import *  # noqa: F403, E402
from ._linear_cross_entropy import __all__ as _linear_cross_entropy_all  # noqa: E402

__all__ += _linear_cross_entropy_all
