"""``Variable``: the pre-0.4 PyTorch wrapper, kept (as torch keeps it) for older programs.

Since PyTorch 0.4 every Tensor is a Variable: ``Variable(t)`` returns a tensor that shares
``t``'s data, detached from its graph, with ``requires_grad`` as asked; ``volatile`` has no
effect (with a warning); ``isinstance(t, Variable)`` is True for every tensor.

Example:
    >>> x = Variable(gpuarr.ones(2), requires_grad=True)
    >>> isinstance(x, gpuarr.Tensor), x.is_leaf
    (True, True)
"""

from __future__ import annotations

import warnings

from .._core.tensor import TensorBase
from .._creation import empty

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, TensorBase)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False, volatile=False)``: ``data`` as a new leaf tensor
    (shared memory), needing gradients when ``requires_grad``."""

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        if data is None:
            data = empty(0)
        if not isinstance(data, TensorBase):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out
