"""Factory functions: ``tensor``, ``zeros``, ``arange``, ``eye``, ``*_like``, ``from_numpy``...

Every factory takes ``dtype=`` and ``device=``; sizes may be given as ints, a list/tuple or a
``Size`` (``ones(4, 5) == ones([4, 5])``).
"""

from __future__ import annotations

import math
import numbers
import sys
import threading
from collections.abc import Sequence as _Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import _dtype as D
from ._core.tensor import TensorBase, _make
from ._device import CPU, as_device
from ._device import device as _device_cls
from ._memory_format import check_memory_format, preserve_format, relayout
from .ops._out import fill_out

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from _tensor import Tensor

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "from_dlpack", "zeros", "ones", "full",
    "empty", "arange", "range_", "linspace", "logspace", "eye", "zeros_like", "ones_like",
    "full_like", "empty_like", "scalar_tensor",
]

# The device factories use when ``device=`` is not given (gpuarr.set_default_device). Kept per
# thread, as torch keeps its default-device context: a new thread starts on the CPU.
_DEFAULT = threading.local()


def set_factory_device(device) -> None:
    """Make ``device`` the factories' default (None restores the CPU). A spec such as 'cuda' is
    kept unresolved, so that it follows the current CUDA device; an unusable device raises now,
    not at the next factory call."""
    if device is not None:
        device = _device_cls(device)
        as_device(device)._backend()
    _DEFAULT.device = device


def _given_or_default(device):
    """``device`` resolved, else the default device if one was set, else None (the data's own
    device, for ``tensor(t)`` / ``as_tensor(t)``)."""
    if device is not None:
        return as_device(device)
    d = getattr(_DEFAULT, "device", None)
    return None if d is None else as_device(d)


def factory_device(device):
    """The concrete device a factory with ``device=device`` allocates on: ``device`` when
    given, else the default device (:func:`gpuarr.set_default_device`), else the CPU."""
    return _given_or_default(device) or CPU


def _size(args, name: str = "size") -> tuple:
    """Accept ``f(2, 3)``, ``f([2, 3])``, ``f((2, 3))`` or ``f(Size)``."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    out = []
    for s in args:
        if isinstance(s, TensorBase):
            s = s.item()
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(
                f"{name}(): argument 'size' must be tuple of ints, but found element of type "
                f"{type(s).__name__}"
            )
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(args)}")
        out.append(int(s))
    return tuple(out)


def _finish(arr, dev, requires_grad: bool) -> Tensor:
    if arr.dtype.kind == "V" and dev is not CPU:  # bfloat16 where the backend has none
        dev._backend().check_dtype(arr.dtype)
    t = _make(arr, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_np_dtype(arr: np.ndarray, from_python: bool) -> np.dtype:
    k = arr.dtype.kind
    if k == "f":
        if from_python:
            return D.get_default_dtype().np
        if arr.dtype in D.FROM_NP:
            return arr.dtype
    if k == "b":
        return np.dtype(np.bool_)
    if k == "V" and arr.dtype.name == "bfloat16":  # ml_dtypes' bfloat16
        return D.bfloat16.np
    if k in "iu":
        if from_python:
            return np.dtype(np.int64)
        if arr.dtype in D.FROM_NP:
            return arr.dtype
    if k == "c":
        if from_python:
            return D.default_complex().np
        if arr.dtype in D.FROM_NP:
            return arr.dtype
    raise TypeError(
        f"can't convert np.ndarray of type numpy.{arr.dtype}. The only supported types are: "
        "float64, float32, float16, bfloat16, complex64, complex128, int64, int32, int16, int8, "
        "uint64, uint32, uint16, uint8, and bool."
    )


_INT64_MAX = 2**63 - 1


def _check_range(arr: np.ndarray, dt: np.dtype) -> None:
    """Raise torch's error when Python values in ``arr`` do not fit integer dtype ``dt``."""
    finite = arr.dtype.kind != "f" or bool(np.isfinite(arr).all())  # nan/inf never fit
    if not (finite and D.fits(dt, arr.min().item()) and D.fits(dt, arr.max().item())):
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")


def _python_ints_overflow(data, dtype) -> None:
    """torch unpacks Python ints as int64 unless the target is a float type: raise its error
    for ints outside int64's range."""
    target = None if dtype is None else D.as_dtype(dtype)
    if target is not None and target.is_floating_point:
        return
    top = 2**64 - 1 if target is D.uint64 else _INT64_MAX
    stack, has_float, big = [data], False, False
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, float):
            has_float = True
        elif isinstance(x, int) and not isinstance(x, bool) and not (
                -_INT64_MAX - 1 <= x <= top):
            big = True
    if big and (dtype is not None or not has_float):
        raise ValueError("Overflow when unpacking long long")


class _CannotInfer(RuntimeError, TypeError):
    """torch's RuntimeError for data it cannot make a tensor of (a set, a generator, None);
    also a TypeError, which gpuarr's callers that turn arguments into tensors expect."""


def _host_array(data, dtype=None):
    """Data (nested lists, scalars, arrays, tensors) as a NumPy array; True if from Python."""
    if isinstance(data, np.ndarray):
        return data, False
    if isinstance(data, np.generic):
        return np.asarray(data), False
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if not isinstance(data, (list, tuple)) and isinstance(data, _Sequence):
        data = list(data)  # any sequence torch accepts: deque, range, bytearray, array.array
    if isinstance(data, (list, tuple)):
        if any(isinstance(x, TensorBase) for x in _flat_probe(data)):
            data = _tensors_to_lists(data)
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(f"expected sequence of equal-length lists: {e}") from None
        if arr.dtype.kind in "uO" or (arr.dtype.kind == "f" and arr.size
                                      and np.abs(arr).max() >= 2.0**63):
            _python_ints_overflow(data, dtype)  # NumPy widened past int64: check the ints
            if arr.dtype == object:  # huge ints next to floats, or for a float dtype
                try:
                    arr = np.array(data, dtype=np.float64)
                except (TypeError, ValueError, OverflowError):
                    pass
        if arr.dtype == object:
            raise TypeError(f"could not convert {type(data).__name__} to a tensor: "
                            "elements must be numbers of a regular nested shape")
        if arr.size == 0 and arr.dtype.kind == "f":
            return arr, True
        return arr, True
    if isinstance(data, (bool, int, float)):
        if isinstance(data, int) and not isinstance(data, bool) and not (
                -_INT64_MAX - 1 <= data <= _INT64_MAX):
            _python_ints_overflow(data, dtype)
            return np.asarray(float(data)), True
        return np.asarray(data), True
    if isinstance(data, complex):
        return np.asarray(data), True
    if hasattr(data, "__array__") or hasattr(data, "__array_interface__"):
        return np.asarray(data), False
    raise _CannotInfer(f"Could not infer dtype of {type(data).__name__}")


def _flat_probe(data):
    while isinstance(data, (list, tuple)) and data:
        yield data[0]
        data = data[0]


def _tensors_to_lists(data):
    if isinstance(data, TensorBase):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(x) for x in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Make a new tensor by copying ``data``.

    Args:
        data: a number, (nested) list/tuple, NumPy/CuPy array, or Tensor.
        dtype: gpuarr dtype; inferred if None (Python floats -> float32, ints -> int64).
        device: 'cpu', 'cuda', 'cuda:N' or a ``gpuarr.device``.
        requires_grad: record operations on it for autograd.

    Returns:
        A new leaf Tensor.

    Example:
        >>> gpuarr.tensor([[1, 2], [3, 4]], dtype=gpuarr.float64)
    """
    dev = _given_or_default(device)
    if isinstance(data, TensorBase):
        out = data.detach().to(device=dev, dtype=dtype, copy=True)
        if out._data is data._data:
            out._device._xp()  # copy on the tensor's own device
            out = _make(out._data.copy(), out._device)
        return _finish(out._data, out._device, requires_grad)
    mod = type(data).__module__
    if mod.startswith("cupy"):
        src_dev = as_device(f"cuda:{data.device.id}")
        dev = dev or src_dev
        dt = D.as_dtype(dtype).np if dtype is not None else _infer_np_dtype(data, False)
        if dev is CPU:
            arr = np.asarray(data.get(), dtype=dt)
        else:
            bk = dev._backend()
            with bk.device_ctx(dev.index):  # a copy made on the target device
                arr = bk.xp.array(data, dtype=dt, copy=True)
        return _finish(arr, dev, requires_grad)
    if mod.startswith("torch"):
        data = data.detach().cpu()
        if str(data.dtype) == "torch.bfloat16":  # torch has no NumPy bfloat16: copy the bits
            data = data.view(sys.modules["torch"].int16).numpy().view(D.bfloat16.np)
        else:
            data = data.resolve_conj().numpy()  # (torch's lazily conjugated tensors too)
    arr, from_py = _host_array(data, dtype)
    dt = D.as_dtype(dtype).np if dtype is not None else _infer_np_dtype(arr, from_py)
    if from_py and arr.dtype.kind == "c" and dt.kind != "c":
        raise TypeError("must be real number, not complex")  # torch's, from Python data
    if from_py and dt.kind in "iu" and arr.size:
        _check_range(arr, dt)
    dev = dev or CPU
    if dev is CPU:
        arr = np.array(arr, dtype=dt, copy=True)
    else:
        arr = dev._backend().asarray(np.asarray(arr, dtype=dt), index=dev.index)
    return _finish(arr, dev, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory when ``data`` is already a suitable array/tensor
    (on the device asked for, by default the default device)."""
    dev = _given_or_default(device)  # as torch, data (tensors too) moves to the default device
    if isinstance(data, TensorBase):
        return data.to(device=dev, dtype=dtype)
    if isinstance(data, np.ndarray) and (dev is None or dev is CPU):
        dt = D.as_dtype(dtype).np if dtype is not None else _infer_np_dtype(data, False)
        return _make(data if data.dtype == dt else data.astype(dt), CPU)
    if type(data).__module__.startswith("cupy") and dtype is None and (
        dev is None or (dev.type == "cuda" and dev.index == data.device.id)
    ):
        return from_dlpack(data)
    return tensor(data, dtype=dtype, device=dev)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with a NumPy array (writes show in both).

    Example:
        >>> a = np.zeros(3); t = gpuarr.from_numpy(a); t[0] = 1; a[0]
        1.0
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _infer_np_dtype(ndarray, False)
    return _make(ndarray, CPU)


def from_dlpack(ext) -> Tensor:
    """Zero-copy import of a DLPack-capable object (NumPy, CuPy, PyTorch tensors...).

    Args:
        ext: an object with ``__dlpack__`` and ``__dlpack_device__`` (or a legacy capsule).
    """
    if isinstance(ext, TensorBase):
        return ext
    dev_type, dev_id = ext.__dlpack_device__()
    if dev_type == 1:  # kDLCPU
        return _make(np.from_dlpack(ext), CPU)
    if dev_type == 2:  # kDLCUDA
        dev = as_device(f"cuda:{dev_id}")
        arr = dev._backend().xp.from_dlpack(ext)
        return _make(arr, dev)
    raise RuntimeError(f"from_dlpack: unsupported DLPack device type {dev_type}")


def _alloc(kind: str, size, dtype, device, requires_grad: bool, fill=None) -> Tensor:
    dev = factory_device(device)
    dt = (D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()).np
    bk = dev._backend()
    if fill is not None:
        arr = bk.full(size, D.checked_scalar(dt, fill), dt, dev.index)
    elif kind == "empty":
        arr = bk.empty(size, dt, dev.index)
    elif kind == "zeros":
        arr = bk.zeros(size, dt, dev.index)
    else:
        arr = bk.full(size, 1, dt, dev.index)
    return _finish(arr, dev, requires_grad)


def _factory_out(fn, size, dtype, device, requires_grad: bool, out) -> Tensor:
    # torch's out= (dtype and device from ``out``), written once in ops/_out.py; these three
    # take ``out`` in their own signature so that the common call pays no wrapper
    return fill_out(fn, size, {"dtype": dtype, "device": device, "requires_grad": requires_grad},
                    out, fn.__name__)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A tensor of zeros (written into ``out`` when given, as torch does).

    Example:
        >>> gpuarr.zeros(2, 3, dtype=gpuarr.int64)
    """
    if out is not None:
        return _factory_out(zeros, size, dtype, device, requires_grad, out)
    return _alloc("zeros", _size(size, "zeros"), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A tensor of ones (``ones(4, 5)`` and ``ones([4, 5])`` are the same; written into ``out``
    when given)."""
    if out is not None:
        return _factory_out(ones, size, dtype, device, requires_grad, out)
    return _alloc("ones", _size(size, "ones"), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, out=None,
          memory_format=None) -> Tensor:
    """An uninitialised tensor (contents are arbitrary; ``out`` is resized and returned).

    ``memory_format=gpuarr.channels_last`` (4-d) or ``channels_last_3d`` (5-d) lays the data
    out with the channel dimension innermost, as torch does.
    """
    if out is not None:
        return _factory_out(empty, size, dtype, device, requires_grad, out)
    shape = _size(size, "empty")
    if memory_format is None:
        return _alloc("empty", shape, dtype, device, requires_grad)
    if check_memory_format(memory_format, "empty") is preserve_format:
        raise RuntimeError("unsupported memory format Preserve")
    return _in_format(_alloc("empty", shape, dtype, device, False), memory_format, requires_grad)


def _in_format(t: Tensor, memory_format, requires_grad: bool) -> Tensor:
    """``t`` re-laid in ``memory_format`` (channels-last strides), values kept, as a fresh leaf;
    ``t`` itself for the row-major formats."""
    arr = relayout(t._data, t._device, memory_format)
    if arr is None:
        return t.requires_grad_(True) if requires_grad and not t.requires_grad else t
    return _finish(arr, t._device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; dtype inferred from it when not given."""
    if dtype is None:
        dtype = D.result_type(fill_value)
    return _alloc("full", _size((size,) if isinstance(size, int) else (tuple(size),)), dtype,
                  device, requires_grad, fill=fill_value)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding ``s`` (default float dtype)."""
    return full((), s, dtype=dtype or D.get_default_dtype(), device=device,
                requires_grad=requires_grad)


def _like(t: Tensor, dtype, device):
    return (t.dtype if dtype is None else dtype), (t._device if device is None else device)


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """Zeros with the shape (and by default dtype and device) of ``input``."""
    dt, dev = _like(input, dtype, device)
    if memory_format is None:  # the common call: no layout work
        return zeros(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)
    check_memory_format(memory_format, "zeros_like")
    t = zeros(input.shape, dtype=dt, device=dev)
    return _in_format(t, memory_format, requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """Ones with the shape (and by default dtype and device) of ``input``."""
    dt, dev = _like(input, dtype, device)
    if memory_format is None:  # the common call: no layout work
        return ones(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)
    check_memory_format(memory_format, "ones_like")
    t = ones(input.shape, dtype=dt, device=dev)
    return _in_format(t, memory_format, requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """Uninitialised, with the shape (and by default dtype and device) of ``input``."""
    dt, dev = _like(input, dtype, device)
    if memory_format is None:  # the common call: no layout work
        return empty(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)
    check_memory_format(memory_format, "empty_like")
    t = empty(input.shape, dtype=dt, device=dev)
    return _in_format(t, memory_format, requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """``fill_value`` everywhere, with the shape (and by default dtype/device) of ``input``."""
    dt, dev = _like(input, dtype, device)
    if memory_format is None:  # the common call: no layout work
        return full(input.shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)
    check_memory_format(memory_format, "full_like")
    t = full(input.shape, fill_value, dtype=dt, device=dev)
    return _in_format(t, memory_format, requires_grad)


def _num(x):
    return x.item() if isinstance(x, TensorBase) else x


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless an argument is a
    float.

    Example:
        >>> gpuarr.arange(5)
        tensor([0, 1, 2, 3, 4])
    """
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        is_f = any(isinstance(v, float) for v in (start, end, step))
        dt = D.get_default_dtype() if is_f else D.int64
    else:
        dt = D.as_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    dev = factory_device(device)
    xp = dev._xp()
    dev._backend().check_dtype(dt.np)
    if dt.is_floating_point:
        arr = (xp.arange(n, dtype=np.float64) * step + start).astype(dt.np)
    else:
        arr = xp.arange(start, start + n * step, step, dtype=np.int64)[:n].astype(dt.np)
    return _finish(arr, dev, requires_grad)


def range_(start, end, step=1, *, dtype=None, device=None, requires_grad: bool = False):
    """Deprecated torch.range: like arange but includes ``end``; floats by default."""
    n = int(math.floor((end - start) / step)) + 1
    dt = dtype or D.get_default_dtype()
    return arange(0, n, dtype=D.float64, device=device).mul(step).add(start).to(dt).requires_grad_(
        requires_grad) if D.as_dtype(dt).is_floating_point else arange(
        start, start + n * step, step, dtype=dt, device=device)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    dev = factory_device(device)
    start, end = _num(start), _num(end)
    arr = dev._xp().linspace(start, end, steps, dtype=np.float64)
    if not dt.is_floating_point:
        arr = dev._xp().trunc(arr)
    return _finish(arr.astype(dt.np), dev, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    dev = factory_device(device)
    arr = base ** dev._xp().linspace(_num(start), _num(end), steps, dtype=np.float64)
    return _finish(arr.astype(dt.np), dev, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The ``n x m`` identity matrix (``m`` defaults to ``n``)."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    dev = factory_device(device)
    return _finish(dev._xp().eye(n, m, dtype=dt.np), dev, requires_grad)
