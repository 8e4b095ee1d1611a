"""``local_response_norm`` and ``channel_shuffle``."""

from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from ...autograd.function import Function
from ._misc import pad
from ._pool import avg_pool2d
from ._utils import apply_raw, check_tensor

__all__ = ["local_response_norm", "channel_shuffle", "native_channel_shuffle"]


# --------------------------------------------------------------------------------------------
# local response normalisation


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalisation across channels (dim 1) of an (N, C, *) input:
    ``b_c = a_c / (k + alpha / size * sum_{c'} a_{c'}^2) ** beta``, the sum running over the
    ``size`` channels ``c - size // 2 .. c + (size - 1) // 2`` (zeros outside ``0..C-1``).

    Args:
        input: (N, C, L), (N, C, H, W) or any higher rank; at least 3 dims.
        size: the number of neighbouring channels summed over.
        alpha: multiplicative factor. beta: exponent. k: additive factor.

    Returns:
        A tensor of ``input``'s shape; ``input`` itself when it has no elements (as torch).

    Example:
        >>> F.local_response_norm(gpuarr.ones(1, 3, 2), 2).shape
        gpuarr.Size([1, 3, 2])
    """
    check_tensor(input, "input", "local_response_norm")
    dim = input.ndim
    if dim < 3:
        # torch's message carries a run of spaces from a line continuation; kept for matching
        raise ValueError(f"Expected 3D or higher dimensionality                          "
                         f"input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    if size <= 0:
        ks = f"kH: {size} kW: 1" if dim == 3 else f"kT: {size} kH: 1 kW: 1"
        raise RuntimeError(f"kernel size should be greater than zero, but got {ks}")
    sizes = tuple(input.shape)
    # channels become the pooled H axis of a one-channel image, every other trailing dim W;
    # a (size, 1) average pool over it is torch's avg_pool2d/avg_pool3d window of channels
    div = input.mul(input).reshape(sizes[0], 1, sizes[1], -1)
    div = pad(div, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(div, (size, 1), stride=1).reshape(sizes)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div


# --------------------------------------------------------------------------------------------
# channel shuffle


def _shuffle_array(xp, x, groups: int):
    """(N, g*m, *) -> (N, m*g, *): channel ``i*m + j`` moves to ``j*g + i``."""
    n, c = x.shape[0], x.shape[1]
    if c == 0:
        return x.copy()
    y = x.reshape((n, groups, c // groups) + x.shape[2:])
    # copy() always allocates (ascontiguousarray would hand back x's memory for groups 1)
    return xp.swapaxes(y, 1, 2).copy().reshape(x.shape)


class ChannelShuffleFn(Function):
    """Channel shuffle; the backward is the inverse shuffle (``C // groups`` groups)."""

    _raw = True
    _node_name = "ChannelShuffleBackward0"

    @staticmethod
    def forward(ctx, x, groups):
        ctx.groups, ctx.c = groups, x.shape[1]
        return _shuffle_array(ctx.xp, x, groups)

    @staticmethod
    def backward(ctx, g):
        inverse = ctx.c // ctx.groups if ctx.c else 1
        return apply_raw(ChannelShuffleFn, g, inverse), None


def _check_shuffle(input: Tensor, groups, op: str) -> int:
    check_tensor(input, "input", op)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{op}(): argument 'groups' (position 2) must be int, not "
                        f"{type(groups).__name__}")
    groups = int(groups)
    if input.ndim <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. "
                           f"Value of groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    return groups


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Split the channels (dim 1) of an (N, C, *) input into ``groups`` groups and
    interleave them: view as (N, groups, C // groups, *), swap dims 1 and 2, flatten back.

    Returns:
        A new tensor of ``input``'s shape (never a view of it).

    Example:
        >>> F.channel_shuffle(gpuarr.arange(4.0).view(1, 4, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    groups = _check_shuffle(input, groups, "channel_shuffle")
    return apply_raw(ChannelShuffleFn, input, groups)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """:func:`channel_shuffle` under torch's name for its kernel-level implementation (same
    checks and result; here it is differentiable too).

    Example:
        >>> F.native_channel_shuffle(gpuarr.arange(4.0).view(1, 4, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    groups = _check_shuffle(input, groups, "native_channel_shuffle")
    return apply_raw(ChannelShuffleFn, input, groups)
