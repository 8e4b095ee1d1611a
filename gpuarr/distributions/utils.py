"""Helpers shared by the distributions: ``broadcast_all``, ``lazy_property``, conversions between
probabilities and logits, and ``clamp_probs`` (as in ``torch.distributions.utils``)."""

from __future__ import annotations

import numbers

from .. import _dtype as D
from .._creation import tensor
from .._tensor import Size, Tensor
from ..ops.shape import broadcast_tensors
from ._ops import finfo

__all__ = ["broadcast_all", "lazy_property", "logits_to_probs", "probs_to_logits",
           "clamp_probs", "euler_constant"]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def _is_number(v) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, bool)


def broadcast_all(*values) -> tuple:
    """Turn numbers into tensors and broadcast everything to one shape.

    Numbers take the dtype and device of the first tensor among ``values`` (the default float
    dtype on the CPU when there is none).

    Raises:
        ValueError: if a value is neither a number nor a Tensor.

    Example:
        >>> loc, scale = broadcast_all(gpuarr.zeros(3), 1.0)
        >>> scale.shape
        gpuarr.Size([3])
    """
    if not all(isinstance(v, Tensor) or _is_number(v) for v in values):
        raise ValueError(
            "Input arguments must all be instances of Number or gpuarr.Tensor, got "
            + ", ".join(type(v).__name__ for v in values)
        )
    if not all(isinstance(v, Tensor) for v in values):
        ref = next((v for v in values if isinstance(v, Tensor)), None)
        dtype = ref.dtype if ref is not None else D.get_default_dtype()
        device = ref.device if ref is not None else None
        values = tuple(v if isinstance(v, Tensor) else tensor(v, dtype=dtype, device=device)
                       for v in values)
    return broadcast_tensors(*values)


class lazy_property:
    """A property computed on first access and then cached in the instance's ``__dict__``.

    Distributions use it for parameters derivable from another (``probs`` from ``logits``):
    whichever was given is stored, the other is computed only if asked for.
    """

    def __init__(self, wrapped) -> None:
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp probabilities to ``[eps, 1 - eps]`` (``eps`` of the dtype) so logs stay finite."""
    eps = float(finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Log-probabilities (or log-odds when ``is_binary``) from probabilities."""
    p = clamp_probs(probs)
    if is_binary:
        return p.log() - (-p).log1p()
    return p.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from logits: sigmoid when ``is_binary``, else softmax over the last dim."""
    if is_binary:
        return logits.sigmoid()
    return (logits - logits.logsumexp(-1, keepdim=True)).exp()


def as_size(shape) -> Size:
    """A ``Size`` from an int, a tuple/list of ints or a Size."""
    if isinstance(shape, numbers.Integral):
        return Size((int(shape),))
    return Size(tuple(int(s) for s in shape))
