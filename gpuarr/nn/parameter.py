"""``Parameter`` (a Tensor a Module registers as learnable) and ``Buffer``."""

from __future__ import annotations

import numpy as np

from .._creation import empty
from .._device import CPU
from .._tensor import Tensor, _format, _make

__all__ = ["Parameter", "Buffer"]


def _init_from(obj: Tensor, data: Tensor, requires_grad: bool) -> None:
    """Fill the Tensor fields of ``obj`` so it shares ``data``'s array and version counter."""
    obj._data = data._data
    obj._device = data._device
    obj._rg = bool(requires_grad)
    obj._gfn = None
    obj._version = data._shared_version()


class Parameter(Tensor):
    """A Tensor that is a module's learnable parameter (``requires_grad=True`` by default).

    Assigning a Parameter as a Module attribute registers it, so it shows up in
    ``parameters()`` and ``state_dict()``. It shares memory with the tensor it wraps.

    Args:
        data: the initial value (default: an empty float tensor).
        requires_grad: whether the parameter needs a gradient.

    Example:
        >>> p = gpuarr.nn.Parameter(gpuarr.zeros(3))
        >>> isinstance(p, gpuarr.Tensor), p.requires_grad
        (True, True)
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        if requires_grad and data._data.dtype.kind not in "fV":
            raise RuntimeError("Only Tensors of floating point dtype can require gradients")
        obj = object.__new__(cls)
        _init_from(obj, data, requires_grad)
        return obj

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything is set in __new__ (Tensor.__init__ refuses direct construction)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + _format(self)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._host(), str(self._device), self._rg))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        res = Parameter(_make(self._data.copy(), self._device), self._rg)
        if self.grad is not None:
            res.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = res
        return res


def _rebuild_parameter(arr, dev: str, rg: bool) -> Parameter:
    t = _make(np.array(arr), CPU)
    if dev != "cpu":
        t = t.to(dev)
    return Parameter(t, rg)


class Buffer(Tensor):
    """Marks a tensor to be registered as a module buffer when assigned as an attribute.

    Args:
        data: the buffer's value.
        persistent: include it in ``state_dict()``.

    Example:
        >>> m.steps = gpuarr.nn.Buffer(gpuarr.tensor(0))
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            data = empty(0)
        obj = object.__new__(cls)
        _init_from(obj, data, data._rg)
        obj.persistent = persistent
        return obj

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return _format(self)
