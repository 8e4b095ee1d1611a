"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm``,
``clip_grads_with_norm_`` (torch.nn.utils.clip_grad)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np

from ..._core.capture import raise_if
from ..._creation import tensor
from ..._tensor import Tensor, _make

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _vector_norm(xp, a, norm_type: float):
    """The ``norm_type``-norm of all elements of array ``a``, as a 0-d array on its device."""
    a = a.reshape(-1)
    if a.dtype == xp.float16:
        a = a.astype(xp.float32)
    if norm_type == math.inf:
        return xp.abs(a).max() if a.size else xp.zeros((), a.dtype)
    if norm_type == 2.0:
        return xp.sqrt(xp.dot(a, a))
    return (xp.abs(a) ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors: Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` taken together (as one long vector)."""
    ts = [t for t in _as_list(tensors) if t is not None]
    if not ts:
        return tensor(0.0)
    norm_type = float(norm_type)
    dev = ts[0]._device
    for t in ts:
        if t._device is not dev:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{dev} and {t._device}!")
    xp = dev._xp()
    # as torch: the norm of the per-tensor norms, each in its tensor's precision (float16 in
    # float32)
    norms = xp.stack([_vector_norm(xp, t._data, norm_type) for t in ts])
    # the total stays on the device (as torch's): nothing waits for the GPU unless
    # error_if_nonfinite asks to look at it
    total = _vector_norm(xp, norms, norm_type)
    if error_if_nonfinite:
        raise_if(~xp.isfinite(total), _nonfinite_error, norm_type)
    return _make(xp.asarray(total, dtype=ts[0]._data.dtype), dev)


def _nonfinite_error(norm_type: float) -> RuntimeError:
    return RuntimeError(
        f"The total norm of order {norm_type} for gradients from `parameters` is "
        "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
        "by the non-finite norm anyway, set `error_if_nonfinite=False`"
    )


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor,
                          foreach=None) -> None:
    """Scale gradients in place by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    # min(1, max_norm / (norm + 1e-6)) in float64 on the device: no host read, no GPU wait
    xp = grads[0]._device._xp()
    # asarray: a total_norm given on another device than the gradients' (torch accepts it)
    c = float(max_norm) / (xp.asarray(total_norm._data).astype(np.float64) + 1e-6)
    c = xp.fmin(1.0, c)  # fmin: 1 for a NaN quotient, as Python's min(1.0, nan)
    for g in grads:
        g._data *= c.astype(g._data.dtype)
        g._bump_version()


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Rescale gradients in place so their total norm is at most ``max_norm``.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm (``math.inf`` for the max norm).
        error_if_nonfinite: raise if the total norm is nan or inf.

    Returns:
        The total norm before clipping (a 0-d tensor).

    Example:
        >>> loss.backward()
        >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if grads:
        clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Deprecated name of :func:`clip_grad_norm_` (older PyTorch programs call it); warns as
    torch does, then clips."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    v = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is not None:
            xp = g._device._xp()
            xp.clip(g._data, -v, v, out=g._data)
            g._bump_version()
