"""Tensor predicates and storage facts: is_cpu, get_device, storage_offset, is_signed, is_nonzero,
is_same_size, is_inference and their torch functions; layouts and memory formats.

gpuarr tensors are always dense, strided, real, non-quantized tensors with no lazy conjugate or
negative bit and no inference-mode flag, so the corresponding torch predicates answer False and
``resolve_conj``/``resolve_neg``/``conj`` return the tensor itself, as torch does for such a
tensor. Storage facts are read from the backend array's metadata (pointers, strides), never from
its values: they cost no device synchronisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._core.tensor import TensorBase, _make
from .._memory_format import (  # the layouts live below the op layer; re-exported here
    channels_last,
    channels_last_3d,
    check_memory_format,
    contiguous_format,
    is_contiguous_as,
    layout,
    memory_format,
    preserve_format,
    strided,
)
from ..storage import set_, storage, storage_type, untyped_storage
from ._registry import mixin, register
from .complex_ops import conj_complex

if TYPE_CHECKING:
    from .._tensor import Tensor

__all__ = [
    "layout", "strided", "memory_format", "contiguous_format", "channels_last",
    "channels_last_3d", "preserve_format", "is_floating_point", "is_complex", "is_nonzero",
    "is_same_size", "is_signed", "is_conj", "is_neg", "is_inference", "get_device", "conj",
    "resolve_conj", "resolve_neg",
]


# --------------------------------------------------------------------------------------------
# torch functions on tensors


def _check(x, op: str, name: str = "input", pos: int = 1) -> None:
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def is_floating_point(input: Tensor) -> bool:
    """Whether ``input``'s dtype is a floating-point type (float16/32/64, bfloat16).

    Example:
        >>> gpuarr.is_floating_point(gpuarr.ones(2))
        True
    """
    _check(input, "is_floating_point")
    return input.is_floating_point()


def is_complex(input: Tensor) -> bool:
    """Whether ``input``'s dtype is complex (complex64 or complex128)."""
    _check(input, "is_complex")
    return input.is_complex()


def is_nonzero(input: Tensor) -> bool:
    """The truth value of a one-element tensor (``bool(input)``), as torch.is_nonzero.

    Reads the value, so on CUDA it waits for the device, as torch does.

    Raises:
        RuntimeError: ``input`` has no or more than one element.

    Example:
        >>> gpuarr.is_nonzero(gpuarr.tensor([0.5]))
        True
    """
    _check(input, "is_nonzero")
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether two tensors have the same shape.

    Example:
        >>> gpuarr.is_same_size(gpuarr.ones(2, 3), gpuarr.zeros(2, 3))
        True
    """
    _check(input, "is_same_size")
    _check(other, "is_same_size", "other", 2)
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:
    """Whether ``input``'s dtype is signed (floats and signed integers; not bool or uint*).

    Example:
        >>> gpuarr.is_signed(gpuarr.ones(2, dtype=gpuarr.uint8))
        False
    """
    _check(input, "is_signed")
    return input._data.dtype.kind in "ifV"


def is_conj(input: Tensor) -> bool:
    """Whether ``input`` carries a lazy conjugation bit: never in gpuarr (real dtypes only)."""
    _check(input, "is_conj")
    return False


def is_neg(input: Tensor) -> bool:
    """Whether ``input`` carries a lazy negation bit: never in gpuarr."""
    _check(input, "is_neg")
    return False


def is_inference(input: Tensor) -> bool:
    """Whether ``input`` is an inference tensor. gpuarr's ``inference_mode`` turns gradient
    recording off but makes ordinary tensors (usable in autograd later), so this is False."""
    _check(input, "is_inference")
    return False


def get_device(input: Tensor) -> int:
    """The CUDA device index of ``input``, or -1 for a CPU tensor.

    Example:
        >>> gpuarr.get_device(gpuarr.ones(2))
        -1
    """
    _check(input, "get_device")
    idx = input._device.index
    return -1 if input._device.type == "cpu" or idx is None else idx


def conj(input: Tensor) -> Tensor:
    """The complex conjugate: ``input`` itself for real dtypes (as torch returns a real tensor
    unchanged); for complex ones a new tensor (torch returns a lazily conjugated view)."""
    _check(input, "conj")
    if input._data.dtype.kind == "c":
        return conj_complex(input)
    return input


def resolve_conj(input: Tensor) -> Tensor:
    """Materialise a lazy conjugation: ``input`` itself (gpuarr never has one)."""
    _check(input, "resolve_conj")
    return input


def resolve_neg(input: Tensor) -> Tensor:
    """Materialise a lazy negation: ``input`` itself (gpuarr never has one)."""
    _check(input, "resolve_neg")
    return input


# --------------------------------------------------------------------------------------------
# storage facts


def _root(arr):
    """The array owning the memory ``arr`` views (``arr`` itself for a fresh array): the last
    array of ``arr``'s backend along the ``.base`` chain (which may pass through helper objects,
    e.g. NumPy's as_strided, and ends at a foreign buffer such as ``bytes``)."""
    cls, root, obj = type(arr), arr, arr
    while (obj := getattr(obj, "base", None)) is not None:
        if isinstance(obj, cls):
            root = obj
    return root


def storage_offset(self: Tensor) -> int:
    """The position of the tensor's first element in its underlying buffer, in elements
    (0 for a fresh tensor; ``x[1:].storage_offset() == x.size(1)`` for a 2-d ``x``...).

    Computed from pointers, with no device synchronisation.

    Example:
        >>> gpuarr.arange(6).view(2, 3)[1:].storage_offset()
        3
    """
    root = _root(self._data)
    if root is self._data:
        return 0
    start = _make(root, self._device).data_ptr()
    return (self.data_ptr() - start) // self._data.itemsize


def is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """True if both tensors view the same buffer at the same offset with the same sizes and
    strides (torch.Tensor.is_set_to)."""
    _check(tensor, "is_set_to", "tensor", 1)
    a, b = self._data, tensor._data
    return (self._device is tensor._device and _root(a) is _root(b)
            and self.data_ptr() == tensor.data_ptr() and a.shape == b.shape
            and a.strides == b.strides)


def is_shared(self: Tensor) -> bool:
    """Whether the data is in memory shared between processes: True for CUDA tensors (as
    torch), False for CPU tensors (gpuarr sends tensors between processes as copies; see
    ``gpuarr.multiprocessing``)."""
    return self._device.type == "cuda"


def share_memory_(self: Tensor) -> Tensor:
    """torch moves a CPU tensor's storage into shared memory here; gpuarr sends tensors between
    processes as copies (``gpuarr.multiprocessing``), so this does nothing and returns self."""
    return self


def _get_device(self: Tensor) -> int:
    """The CUDA device index, or -1 on the CPU (``Tensor.get_device``)."""
    return get_device(self)


def _is_nonzero(self: Tensor) -> bool:
    return is_nonzero(self)


def _is_same_size(self: Tensor, other: Tensor) -> bool:
    _check(other, "is_same_size", "other", 1)
    return is_same_size(self, other)


def _false(self) -> bool:
    return False


_FALSE = property(_false, doc="Always False: gpuarr tensors are dense, strided tensors.")

def _is_contiguous(self: Tensor, memory_format=contiguous_format) -> bool:
    """Whether the data is laid out densely in ``memory_format`` (row-major by default)."""
    if memory_format is contiguous_format:
        return bool(self._data.flags.c_contiguous)
    return is_contiguous_as(self, check_memory_format(memory_format, "is_contiguous"))


register(__name__, {
    "is_contiguous": _is_contiguous,
    "is_cpu": property(lambda self: self._device.type == "cpu",
                       doc="True if the tensor is in host memory."),
    "layout": property(lambda self: strided, doc="The memory layout: always gpuarr.strided."),
    "output_nr": property(lambda self: self._output_nr,
                          doc="Which output of its grad_fn this tensor is (0 for leaves)."),
    "is_sparse": _FALSE, "is_sparse_csr": _FALSE, "is_quantized": _FALSE, "is_meta": _FALSE,
    "is_mkldnn": _FALSE, "is_nested": _FALSE,
    "get_device": _get_device,
    "storage_offset": storage_offset,
    "is_inference": is_inference,
    "is_signed": is_signed,
    "is_nonzero": _is_nonzero,
    "is_same_size": _is_same_size,
    "is_conj": is_conj,
    "is_neg": is_neg,
    "conj": conj,
    "resolve_conj": resolve_conj,
    "resolve_neg": resolve_neg,
    "is_set_to": is_set_to,
    "is_shared": is_shared,
    "share_memory_": share_memory_,
    "untyped_storage": untyped_storage,  # storages: gpuarr/storage.py
    "storage": storage,
    "storage_type": storage_type,
    "set_": set_,
})

TensorInfoMethods = mixin("TensorInfoMethods", __name__)
