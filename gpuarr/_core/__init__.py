"""gpuarr's core: the tensor, the autograd Function and graph node, the backward engine.

Everything else stands on these modules and they import nothing above them (only dtypes,
devices and backends)::

    grad_mode, hooks  <-  tensor (TensorBase)  <-  function (Function, Node)  <-  engine

``gpuarr.Tensor`` (``gpuarr/_tensor.py``) is ``TensorBase`` plus the op methods of every op
family; it registers itself here with :func:`register_tensor_class` so that the core makes
its results as ``gpuarr.Tensor`` objects without importing anything above it.
"""

from __future__ import annotations

from . import engine, function, grad_mode, hooks, tensor

__all__ = ["engine", "function", "grad_mode", "hooks", "tensor", "register_tensor_class"]


def register_tensor_class(cls: type) -> None:
    """Make ``cls`` (a ``TensorBase`` subclass: ``gpuarr.Tensor``) the class of every tensor
    the core creates. Called once, where ``gpuarr.Tensor`` is defined."""
    if not issubclass(cls, tensor.TensorBase):
        raise TypeError(f"{cls.__name__} is not a TensorBase subclass")
    tensor._Tensor = cls
    function._Tensor = cls
