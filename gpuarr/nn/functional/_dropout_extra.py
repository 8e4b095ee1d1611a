"""``dropout3d`` and ``feature_alpha_dropout``: channel-wise dropout.

Both follow torch's feature-dropout kernel: one Bernoulli draw per (sample, channel), i.e. a
noise tensor of shape ``(N, C, 1, ..., 1)`` over the first two dims, broadcast over the rest.
The draws come from gpuarr's default generator of the input's device, so ``gpuarr.manual_seed``
makes them reproducible (they differ from torch's own random numbers). The result is an
ordinary product (and sum) of gpuarr ops, so gradients, and their gradients, come with it.
"""

from __future__ import annotations

import warnings

from ..._tensor import Tensor, _make
from ...ops._common import dtype_name
from ...ops._registry import apply_inplace
from ._misc import _check_p, _keep_mask
from ._utils import check_tensor

__all__ = ["dropout3d", "feature_alpha_dropout"]

_ALPHA = 1.7580993408473766  # selu's scale * alpha: SELU's negative saturation value


def _noise_shape(shape: tuple) -> tuple:
    """torch's feature noise: ``(N, C, 1, ..., 1)`` for an input of ``shape``."""
    if len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return tuple(shape[:2]) + (1,) * (len(shape) - 2)


def _float_only(input: Tensor) -> None:
    # torch draws the noise in the input's dtype and then scales it by a float
    if input._data.dtype.kind not in "fV":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type "
            f"{dtype_name(input.dtype)}")


def _times_zero(input: Tensor, inplace: bool) -> Tensor:
    """p == 1: torch multiplies by a zero scalar (so NaN stays NaN, ints stay ints)."""
    zero = _make(input._device._xp().zeros((), dtype=input._data.dtype), input._device)
    return apply_inplace(input, lambda x: x * zero) if inplace else input * zero


def _feature_dropout(input: Tensor, shape: tuple, p: float, training: bool, inplace: bool,
                     lead: int) -> Tensor:
    """torch's feature_dropout of ``input`` viewed as ``shape`` (``lead`` leading 1s that the
    caller added are dropped from the noise again, so it broadcasts to ``input`` itself)."""
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        return _times_zero(input, inplace)
    noise = _noise_shape(shape)[lead:]
    _float_only(input)
    mask = _keep_mask(input, noise, p)
    return apply_inplace(input, lambda x: x * mask) if inplace else input * mask


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) input with
    probability ``p``, scaling the kept channels by ``1 / (1 - p)``.

    As in torch, other ranks are deprecated (a UserWarning): they are treated as unbatched,
    i.e. a leading batch dim of 1 is assumed, and dim 0 of the input plays the channel.

    Args:
        input: the tensor (floating point, unless nothing is dropped).
        p: probability of zeroing a channel.
        training: apply dropout; when False the input is returned as it is.
        inplace: write the result into ``input``.

    Returns:
        The result, the same shape as ``input`` (``input`` itself with ``inplace``).

    Example:
        >>> gpuarr.manual_seed(0)
        >>> F.dropout3d(gpuarr.ones(1, 4, 2, 2, 2), 0.5)[0, :, 0, 0, 0]  # each 0. or 2.
    """
    check_tensor(input, "input", "dropout3d")
    _check_p(p)
    nd = input.ndim
    if nd not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    lead = 0 if nd == 5 else 1
    shape = (1,) * lead + tuple(input.shape)
    return _feature_dropout(input, shape, p, training, inplace, lead)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels: every (sample, channel) of an (N, C, ...) input is,
    with probability ``p``, set to SELU's negative saturation value; then everything is
    scaled and shifted (``a * x + b``) to keep zero mean and unit variance.

    Args:
        input: the tensor, at least 2-d (floating point, unless nothing is dropped).
        p: probability of masking a channel.
        training: apply it; when False (the default) the input is returned as it is.
        inplace: write the result into ``input``.

    Returns:
        The result, the same shape as ``input`` (``input`` itself with ``inplace``).

    Example:
        >>> F.feature_alpha_dropout(gpuarr.zeros(2, 3, 4), 0.5, training=True)[:, :, 0]
    """
    check_tensor(input, "input", "feature_alpha_dropout")
    _check_p(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        return _times_zero(input, inplace)
    shape = _noise_shape(tuple(input.shape))
    _float_only(input)
    dt = input._data.dtype
    keep = _keep_mask(input, shape, p)._data != 0
    a = 1.0 / ((_ALPHA * _ALPHA * p + 1) * (1 - p)) ** 0.5
    # torch: b = (noise - 1) * alpha * a + alpha * a * p; the input is scaled by noise * a
    scale = _make((keep * a).astype(dt), input._device)
    shift = _make(((keep.astype(dt) - 1) * dt.type(_ALPHA * a)
                   + dt.type(_ALPHA * a * p)).astype(dt, copy=False), input._device)
    if inplace:
        return apply_inplace(input, lambda x: x * scale + shift)
    return input * scale + shift
