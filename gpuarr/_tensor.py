"""``gpuarr.Tensor``: the core's ``TensorBase`` plus the methods of every op family.

``TensorBase`` (``gpuarr/_core/tensor.py``) holds what every tensor is: data, device, autograd
fields, Python protocols. Each op family in ``gpuarr.ops`` declares its Tensor methods in the op
registry (``gpuarr/ops/_registry.py``) and exposes them as one mixin class; ``Tensor`` lists
them all below, so every method is found from the class definition. This module adds what
needs more than the core: device and dtype moves (``to``, ``cuda``, ``float``...), printing,
pickling, ``backward`` and torch's legacy ``Tensor(data)`` constructor.
"""

from __future__ import annotations

import numpy as np

from . import _dtype as D
from ._core import register_tensor_class
from ._core.tensor import (  # the core's helpers are re-exported for the layers above
    Size,
    TensorBase,
    _common_device,  # noqa: F401
    _device_mismatch,  # noqa: F401
    _make,
    _wrap_dim,  # noqa: F401
)
from ._device import CPU, as_device, cuda_device, device
from ._legacy_tensors import cast_to_type, default_tensor
from ._memory_format import check_memory_format, preserve_format
from ._tensor_str import format_tensor
from .autograd import backward as _backward
from .backends import cuda_backend
from .ops.activation import ActivationMethods
from .ops.conversion import ConversionMethods, to_impl, to_memory_format
from .ops.counting import CountingMethods
from .ops.elementwise import ElementwiseMethods
from .ops.elementwise_extra import ElementwiseExtraMethods
from .ops.indexing import IndexingMethods
from .ops.indexing_extra import IndexingExtraMethods
from .ops.linalg_extra import LinalgExtraMethods
from .ops.matmul import MatmulMethods
from .ops.matrix_functions import MatrixFunctionMethods
from .ops.misc_ops import MiscMethods
from .ops.random import RandomMethods
from .ops.reduction import ReductionMethods
from .ops.sampling import SamplingMethods
from .ops.shape import ShapeMethods
from .ops.shape_extra import ShapeExtraMethods
from .ops.sorting import SortingMethods
from .ops.special import SpecialMethods
from .ops.spectral import SpectralMethods
from .ops.stacking import StackingMethods
from .ops.stats import StatisticsMethods
from .ops.tensor_extra import TensorExtraMethods, mark_pinned
from .ops.tensor_info import TensorInfoMethods

__all__ = ["Tensor", "Size"]

_new = object.__new__


class Tensor(
    TensorBase,
    ElementwiseMethods,     # arithmetic, comparisons, unary math, operators, in-place forms
    ReductionMethods,       # sum, mean, max, cumsum, ...
    ShapeMethods,           # view, reshape, permute, T, ...
    StackingMethods,        # split, chunk, flip, roll, tril, diagonal, ...
    IndexingMethods,        # __getitem__/__setitem__, gather, scatter, index_add, ...
    IndexingExtraMethods,   # scatter_reduce, index_fill, index_copy
    MatmulMethods,          # matmul (@), mm, bmm, addmm, dot, ...
    MatrixFunctionMethods,  # det, inverse, slogdet, norm
    ActivationMethods,      # relu, softmax, log_softmax
    SpecialMethods,         # erf, erfinv, lgamma, digamma, polygamma, xlogy
    SpectralMethods,        # stft, istft
    SortingMethods,         # sort, topk, argsort, unique, ...
    CountingMethods,        # bincount, histc
    ConversionMethods,      # clone, contiguous, copy_, fill_, zero_
    RandomMethods,          # uniform_, normal_, random_
    SamplingMethods,        # bernoulli, multinomial, exponential_, ...
    MiscMethods,            # new_*, addcmul, copysign, diff, t_, squeeze_, ...
    ElementwiseExtraMethods,  # logaddexp, hypot, fmax, logit, sinc, in-place aliases, ...
    ShapeExtraMethods,      # rot90, unfold, *_scatter, index_put, searchsorted, ...
    StatisticsMethods,      # quantile, mode, logcumsumexp, cov, histogram, ...
    LinalgExtraMethods,     # cholesky, qr, svd, pinverse, matrix_power, addr, ...
    TensorInfoMethods,      # is_cpu, get_device, storage_offset, is_signed, ...
    TensorExtraMethods,     # apply_, resize_, as_strided_, angle, real, dim_order, cauchy_, ...
):
    """A multi-dimensional array on a device, with optional gradient tracking.

    Create tensors with :func:`gpuarr.tensor`, :func:`gpuarr.zeros` and friends rather than
    calling the class. Attributes mirror PyTorch's: ``shape``, ``dtype``, ``device``,
    ``requires_grad``, ``grad``, ``grad_fn``, ``is_leaf``.

    Example:
        >>> x = gpuarr.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4.])
    """

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        # Tensor(data) / Tensor(2, 3): torch's legacy constructor, a CPU tensor of the default
        # dtype (as FloatTensor(...) for float32); gpuarr itself builds tensors with _new/_make
        if cls is Tensor:
            return default_tensor(*args, **kwargs)
        return _new(cls)

    def __init__(self, *args, **kwargs) -> None:
        if type(self) is Tensor:  # made by __new__ above
            return
        raise TypeError(
            "use gpuarr.tensor(data), gpuarr.empty(shape) or another factory function to make "
            "a Tensor"
        )

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate the gradient of this tensor w.r.t. graph leaves into their ``.grad``.

        Args:
            gradient: d(out)/d(self); required unless this tensor has one element.
            retain_graph: keep the graph for another backward (defaults to ``create_graph``).
            create_graph: record the backward pass, for higher-order derivatives.
            inputs: accumulate only into these leaves.
        """
        _backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def __repr__(self) -> str:
        return _format(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # as torch: a 0-dim plain tensor formats as its number (f"{loss}" gives "2.3026")
        if self._data.ndim == 0 and (spec or type(self) is Tensor):
            return format(self.item(), spec)
        return repr(self)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._host(), str(self._device), self._rg))

    def type(self, dtype=None, non_blocking: bool = False, **kwargs):
        """Without arguments, the type name (e.g. 'gpuarr.FloatTensor'); else a copy cast to
        ``dtype``: a dtype, a legacy type (``gpuarr.LongTensor``) or its name
        ('torch.LongTensor', 'gpuarr.cuda.FloatTensor')."""
        if dtype is None:
            names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                     "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                     "bool": "Bool", "bfloat16": "BFloat16", "complex64": "ComplexFloat",
                     "complex128": "ComplexDouble"}
            pre = "gpuarr.cuda." if self._device.type == "cuda" else "gpuarr."
            return f"{pre}{names[self.dtype.name]}Tensor"
        return cast_to_type(self, dtype)

    def to(self, *args, **kwargs) -> Tensor:
        """Return the tensor on another device and/or with another dtype (self if no change).

        Accepts ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)`` and
        keywords ``device=``, ``dtype=``, ``copy=``, ``non_blocking=`` (ignored) and
        ``memory_format=`` (a channels-last format lays the result out that way).

        Example:
            >>> x.to('cuda', gpuarr.float16)
        """
        fmt = kwargs.pop("memory_format", None)
        dev, dt, copy = _parse_to(args, kwargs)
        out = to_impl(self, dev, dt, copy)
        if fmt is not None and check_memory_format(fmt, "to") is not preserve_format:
            out = to_memory_format(out, fmt)
        return out

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        """Copy to a CUDA device (the current one by default)."""
        return self.to(cuda_device(device))

    def cpu(self) -> Tensor:
        """Copy to host memory (self if already there)."""
        return self.to(CPU)

    def pin_memory(self, device=None) -> Tensor:
        """A copy of this CPU tensor in page-locked host memory, from which ``.to('cuda',
        non_blocking=True)`` copies fast (torch.Tensor.pin_memory); needs a usable GPU."""
        if self._device is not CPU:
            raise RuntimeError(f"cannot pin '{self._type_str()}' only dense CPU tensors can be "
                               "pinned")
        try:
            pinned_empty = cuda_backend().pinned_empty
        except RuntimeError:
            raise RuntimeError("Cannot access accelerator device when none is available.") \
                from None
        return _pinned_copy(self, pinned_empty)

    def float(self) -> Tensor:
        return self.to(D.float32)

    def double(self) -> Tensor:
        return self.to(D.float64)

    def half(self) -> Tensor:
        return self.to(D.float16)

    def cfloat(self) -> Tensor:
        """``self.to(gpuarr.complex64)``."""
        return self.to(D.complex64)

    def cdouble(self) -> Tensor:
        """``self.to(gpuarr.complex128)``."""
        return self.to(D.complex128)

    def bfloat16(self) -> Tensor:
        """``self.to(gpuarr.bfloat16)`` (CPU only: CuPy cannot compute in bfloat16)."""
        return self.to(D.bfloat16)

    def long(self) -> Tensor:
        return self.to(D.int64)

    def int(self) -> Tensor:
        return self.to(D.int32)

    def short(self) -> Tensor:
        return self.to(D.int16)

    def char(self) -> Tensor:
        return self.to(D.int8)

    def byte(self) -> Tensor:
        return self.to(D.uint8)

    def bool(self) -> Tensor:
        return self.to(D.bool)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)


register_tensor_class(Tensor)


def _rebuild(arr, dev, rg):
    t = _make(np.array(arr), CPU)
    if dev != "cpu":
        t = t.to(dev)
    t._rg = rg
    return t


def _format(t: Tensor) -> str:
    fn = t._gfn
    return format_tensor(
        t._host(),
        dtype_name=t.dtype.name,
        device=None if t._device is CPU else str(t._device),
        requires_grad=t._rg and fn is None,
        grad_fn_name=fn.name() if fn is not None else None,
        default_float_dtype=D.get_default_dtype().name,
    )


def _parse_to(args, kwargs):
    dev = dt = None
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    if "device" in kwargs:
        dev = kwargs.pop("device")
    if "dtype" in kwargs:
        dt = kwargs.pop("dtype")
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a._device, a.dtype
        elif isinstance(a, (D.dtype, np.dtype)) or (isinstance(a, type) and a in (float, int)):
            dt = a
        elif isinstance(a, (str, device, int)) and not isinstance(a, bool):
            if isinstance(a, str) and a.replace("gpuarr.", "") in D._NAMES:
                dt = a
            else:
                dev = a
        elif isinstance(a, bool):
            continue  # positional non_blocking / copy flags as in torch
        else:
            raise TypeError(f"to() received an invalid argument {a!r}")
    return (
        None if dev is None else as_device(dev),
        None if dt is None else D.as_dtype(dt),
        copy,
    )


def _pinned_copy(t: Tensor, pinned_empty) -> Tensor:
    """A copy of CPU tensor ``t`` in a buffer from ``pinned_empty(shape, dtype)`` (page-locked
    host memory); used by ``Tensor.pin_memory`` and the DataLoader's ``pin_memory``."""
    d = t._data
    buf = pinned_empty(d.shape, d.dtype)
    mark_pinned(buf)  # Tensor.is_pinned knows it
    np.copyto(buf, d)
    out = _make(buf, CPU)
    out._rg = t._rg
    return out
