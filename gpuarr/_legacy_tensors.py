"""PyTorch's legacy typed constructors: ``gpuarr.FloatTensor``, ``LongTensor``, ... and their
CUDA twins ``gpuarr.cuda.FloatTensor``, ... (which make tensors on the current CUDA device),
and ``set_default_tensor_type``.

As in torch, each is a tensor type of one dtype and one device type (not a subclass of
:class:`gpuarr.Tensor`):

* ``FloatTensor(2, 3)`` or ``FloatTensor(Size([2, 3]))``: an uninitialised tensor of that shape;
* ``FloatTensor([1, 2])`` (any sequence): a tensor of that data, cast to the dtype;
* ``FloatTensor()``: an empty 1-d tensor; ``FloatTensor(t)``: ``t`` itself (shared memory),
  which must already have that dtype;
* ``isinstance(t, gpuarr.FloatTensor)``: ``t`` is a float32 CPU tensor
  (``gpuarr.cuda.FloatTensor``: a float32 CUDA tensor);
* ``t.type(gpuarr.LongTensor)`` / ``t.type('torch.LongTensor')``: ``t`` cast to int64.

Example:
    >>> gpuarr.LongTensor([1.7, 2])
    tensor([1, 2])
    >>> isinstance(gpuarr.ones(2), gpuarr.FloatTensor)
    True
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

import numpy as np

from . import _dtype as D
from ._core.tensor import Size, TensorBase
from ._creation import empty, set_factory_device, tensor
from ._device import as_device

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from _tensor import Tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
           "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor", "set_default_tensor_type"]

_TYPES = {"FloatTensor": D.float32, "DoubleTensor": D.float64, "HalfTensor": D.float16,
          "LongTensor": D.int64, "IntTensor": D.int32, "ShortTensor": D.int16,
          "CharTensor": D.int8, "ByteTensor": D.uint8, "BoolTensor": D.bool}


def _is_int(x) -> bool:
    return isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, (bool, np.bool_))


class _LegacyTensorType(type):
    """Metaclass of the legacy constructors: calling one builds a tensor, ``isinstance``
    checks dtype and device type."""

    dtype: D.dtype
    device_type: str

    def __instancecheck__(cls, obj) -> bool:
        return (isinstance(obj, TensorBase) and obj.dtype is cls.dtype
                and obj.device.type == cls.device_type)

    def __call__(cls, *args, device=None) -> Tensor:
        dt, kind = cls.dtype, cls.device_type
        if device is not None and as_device(device).type != kind:
            raise RuntimeError(f"legacy constructor expects device type: {kind} but device "
                               f"type: {as_device(device).type} was passed")
        dev = kind if device is None else device
        if not args:
            return empty(0, dtype=dt, device=dev)
        if len(args) == 1:
            a = args[0]
            if isinstance(a, TensorBase):
                if a.dtype is not dt or a.device.type != kind:
                    raise TypeError(f"expected a {dt.name} {kind.upper()} tensor for "
                                    f"{cls.__module__}.{cls.__name__} (got a {a.dtype.name} "
                                    f"tensor on {a.device}); convert it with .to() first")
                return a.detach()
            if isinstance(a, Size):
                return empty(tuple(a), dtype=dt, device=dev)
            if _is_int(a):
                return empty(int(a), dtype=dt, device=dev)
            if isinstance(a, (numbers.Number, np.generic)) or not hasattr(a, "__len__"):
                raise TypeError(f"new(): data must be a sequence (got {_qualname(a)})")
            return tensor(a, dtype=dt, device=dev)
        for a in args:
            if not _is_int(a):
                raise TypeError("new(): argument 'size' must be tuple of ints, but found element "
                                f"of type {type(a).__name__}")
        return empty(tuple(int(a) for a in args), dtype=dt, device=dev)


def _qualname(x) -> str:
    mod = type(x).__module__
    return type(x).__name__ if mod == "builtins" else f"{mod}.{type(x).__name__}"


def _make_type(name: str, dt: D.dtype, device_type: str = "cpu") -> type:
    where = "CPU" if device_type == "cpu" else "CUDA"
    doc = (f"Legacy constructor of {dt.name} {where} tensors: ``{name}(2, 3)`` (uninitialised "
           f"shape), ``{name}([1, 2])`` (data); ``isinstance(t, {name})`` checks dtype and "
           "device.")
    module = "gpuarr" if device_type == "cpu" else "gpuarr.cuda"
    return _LegacyTensorType(name, (), {"dtype": dt, "device_type": device_type,
                                        "is_cuda": device_type == "cuda", "is_sparse": False,
                                        "__module__": module, "__doc__": doc})


FloatTensor = _make_type("FloatTensor", D.float32)
DoubleTensor = _make_type("DoubleTensor", D.float64)
HalfTensor = _make_type("HalfTensor", D.float16)
LongTensor = _make_type("LongTensor", D.int64)
IntTensor = _make_type("IntTensor", D.int32)
ShortTensor = _make_type("ShortTensor", D.int16)
CharTensor = _make_type("CharTensor", D.int8)
ByteTensor = _make_type("ByteTensor", D.uint8)
BoolTensor = _make_type("BoolTensor", D.bool)

# gpuarr.cuda.FloatTensor & co. (gpuarr.cuda re-exports them)
CUDA_TYPES = {name: _make_type(name, dt, "cuda") for name, dt in _TYPES.items()}

_DEFAULT_TYPES = {D.float32: FloatTensor, D.float64: DoubleTensor, D.float16: HalfTensor}


def default_tensor(*args, device=None) -> Tensor:
    """``gpuarr.Tensor(...)`` called as a constructor (older torch programs write
    ``torch.Tensor(rewards)`` or ``torch.Tensor(2, 3)``): the legacy constructor of the default
    dtype, so ``Tensor([1, 2])`` is ``FloatTensor([1, 2])`` unless the default was changed."""
    return _DEFAULT_TYPES[D.get_default_dtype()](*args, device=device)


def cast_to_type(self: Tensor, dtype) -> Tensor:
    """``Tensor.type(dtype)``: a copy cast to ``dtype``, a dtype, a legacy type
    (``gpuarr.LongTensor``) or its name ('torch.LongTensor', 'gpuarr.cuda.FloatTensor')."""
    if isinstance(dtype, _LegacyTensorType):
        return self.to(device=dtype.device_type, dtype=dtype.dtype)
    if isinstance(dtype, str) and dtype.rsplit(".", 1)[-1] in _TYPES:
        dev = "cuda" if ".cuda." in dtype else "cpu"
        return self.to(device=dev, dtype=_TYPES[dtype.rsplit(".", 1)[-1]])
    return self.to(dtype)


def set_default_tensor_type(t) -> None:
    """Deprecated (as in torch): make a legacy floating-point type the default: its dtype
    becomes the default dtype and its device type the factories' default device.

    Args:
        t: a legacy type (``gpuarr.cuda.FloatTensor``) or its name ('torch.DoubleTensor').

    Example:
        >>> gpuarr.set_default_tensor_type(gpuarr.DoubleTensor)
        >>> gpuarr.ones(1).dtype
        gpuarr.float64
    """
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    if isinstance(t, str):
        name = t.rsplit(".", 1)[-1]
        if name not in _TYPES:
            raise TypeError(f"invalid type: '{t}'")
        kind = "cuda" if ".cuda." in t else "cpu"
        dt = _TYPES[name]
    elif isinstance(t, _LegacyTensorType):
        kind, dt = t.device_type, t.dtype
    else:
        raise TypeError(f"invalid type: '{t}'")
    if not dt.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    D.set_default_dtype(dt)
    set_factory_device(None if kind == "cpu" else kind)
