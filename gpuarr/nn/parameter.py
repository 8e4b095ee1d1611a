"""``Parameter`` (a Tensor a Module registers as learnable) and ``Buffer``, and the
uninitialised ones lazy modules hold: ``UninitializedParameter`` and ``UninitializedBuffer``."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._creation import empty
from .._device import CPU
from .._tensor import Tensor, _format, _make

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


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
        if requires_grad and data._data.dtype.kind not in "fVc":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
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


_UNINIT_USE = (
    "Attempted to use an uninitialized parameter in {}. This error happens when you are "
    "using a `LazyModule` or explicitly manipulating `gpuarr.nn.parameter.{}` objects. When "
    "using LazyModules Call `forward` with a dummy batch to initialize the parameters before "
    "calling gpuarr functions"
)


class UninitializedTensorMixin:
    """What uninitialised parameters and buffers share: no shape until :meth:`materialize`.

    The object holds an empty (0,) array that only carries its dtype and device; moves and
    casts (``to``, ``double``, ``cuda``...) keep it uninitialised, as ``Module.to`` on a lazy
    module needs. ``materialize(shape)`` gives it real (uninitialised) storage and turns the
    object itself into ``cls_to_become``, so modules and optimizers holding it keep it.
    """

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor storage of ``shape`` (on ``device``, of ``dtype``: by default its
        own) and turn it into a regular ``cls_to_become`` object (values are arbitrary).

        Example:
            >>> p = gpuarr.nn.UninitializedParameter()
            >>> p.materialize((2, 3)); type(p).__name__, p.shape
            ('Parameter', gpuarr.Size([2, 3]))
        """
        device = self._device if device is None else device
        dtype = D.FROM_NP[self._data.dtype] if dtype is None else dtype
        new = empty(shape, device=device, dtype=dtype)
        self._data, self._device = new._data, new._device
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error "
            "usually happens in `load_state_dict` when trying to load an uninitialized "
            "parameter into an initialized one. Call `forward` to initialize the parameters "
            "before accessing their attributes."
        )

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`."
        )

    def _refuse(self, what: str):
        raise ValueError(_UNINIT_USE.format(what, type(self).__name__))

    # the uses torch refuses on an uninitialised tensor that would otherwise quietly see the
    # empty placeholder
    def dim(self):
        self._refuse("Tensor.dim")

    def numel(self):
        self._refuse("Tensor.numel")

    def detach(self):
        self._refuse("Tensor.detach")

    def to(self, *args, **kwargs):
        """A moved/cast copy that is still uninitialised (self when nothing changes)."""
        res = Tensor.to(self, *args, **kwargs)
        if res is self:
            return self
        out = object.__new__(type(self))
        _init_from(out, res, self._rg)
        if hasattr(self, "persistent"):
            out.persistent = self.persistent
        return out

    def copy_(self, src, non_blocking: bool = False):
        # loading an uninitialised state into an uninitialised module copies nothing (torch
        # copies an empty tensor into an empty one)
        if is_lazy(src):
            return self
        return Tensor.copy_(self, src, non_blocking)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (type(self), (self._rg,))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        res = object.__new__(type(self))
        _init_from(res, _make(self._data.copy(), self._device), self._rg)
        if hasattr(self, "persistent"):
            res.persistent = self.persistent
        memo[id(self)] = res
        return res


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (what lazy modules hold before their first
    forward). It becomes a regular :class:`Parameter` when materialised.

    Args:
        requires_grad: whether the materialised parameter needs a gradient.
        device, dtype: where and how the materialised parameter is made.

    Example:
        >>> m = gpuarr.nn.LazyLinear(3)
        >>> m.weight
        <UninitializedParameter>
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        obj = object.__new__(cls)
        _init_from(obj, empty(0, device=device, dtype=dtype), requires_grad)
        return obj

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (lazy normalisation layers' running statistics).
    It becomes a regular Tensor when materialised.

    Args:
        requires_grad: whether the materialised buffer needs a gradient.
        device, dtype: where and how the materialised buffer is made.
        persistent: whether the buffer belongs in ``state_dict()``.

    Example:
        >>> gpuarr.nn.LazyBatchNorm1d().running_mean
        <UninitializedBuffer>
    """

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        obj = object.__new__(cls)
        _init_from(obj, empty(0, device=device, dtype=dtype), requires_grad)
        obj.persistent = persistent
        return obj

    def __init__(self, requires_grad: bool = False, device=None, dtype=None,
                 persistent: bool = True) -> None:
        pass


def is_lazy(param) -> bool:
    """Whether ``param`` is an uninitialised parameter or buffer."""
    return isinstance(param, UninitializedTensorMixin)
