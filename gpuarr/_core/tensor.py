"""``TensorBase``: one backend array (NumPy or CuPy) plus autograd metadata.

The bottom of gpuarr's core: what every tensor holds and the Python protocols that need no op
(attributes, autograd fields and hooks, host conversion, ``len``/``bool``/``float``...).
:class:`gpuarr.Tensor` (``gpuarr/_tensor.py``) derives from it and adds the op methods, one
mixin per op family in ``gpuarr.ops``, as ``torch.Tensor`` derives from ``torch._C.TensorBase``.

Ops build their results with :func:`_make`, which makes instances of the class registered by
:func:`gpuarr._core.register_tensor_class` (``gpuarr.Tensor``); ops test ``isinstance(x,
TensorBase)``, which every tensor passes. This module imports nothing above the core.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING
from weakref import ref as _weakref

import numpy as np

from .. import _dtype as D
from .._device import CPU, device
from .hooks import RemovableHandle

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["TensorBase", "Size"]

_generic = np.generic
_new = object.__new__


class Size(tuple):
    """A tensor's shape: a tuple of ints, printed like torch's.

    Example:
        >>> gpuarr.ones(2, 3).shape
        gpuarr.Size([2, 3])
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{D.repr_module[0]}.Size({list(self)})"

    def numel(self) -> int:
        """Number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))


class TensorBase:
    """What every tensor is without its op methods: a backend array, its device, and the
    autograd fields (``requires_grad``, ``grad``, ``grad_fn``, version counter, hooks).

    Users meet its subclass :class:`gpuarr.Tensor`; ops check ``isinstance(x, TensorBase)``.
    """

    # The four fields every op reads are slots. The rest are class-level defaults that move into
    # the instance __dict__ only when set (views, hooks, in-place edits, multi-output ops), so
    # making a fresh tensor costs four stores: this is the hot path of small-tensor code.
    __slots__ = ("_data", "_device", "_rg", "_gfn", "__dict__", "__weakref__")
    grad = None
    _output_nr = 0
    _version = None  # shared [count] list once the data is viewed or edited in place
    _base = None
    _hooks = None
    _post_acc_hooks = None  # register_post_accumulate_grad_hook (leaves only)
    __array_priority__ = 1000  # NumPy defers to Tensor's reflected operators

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """Shape as a :class:`Size`, or the length of one dimension.

        Args:
            dim: if given, return only that dimension's size (negative counts from the end).
        """
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self) -> D.dtype:
        return D.FROM_NP[self._data.dtype]

    @property
    def device(self) -> device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        """Number of elements."""
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim: int | None = None):
        """Strides in elements (as torch), or one dimension's stride."""
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"  # bfloat16 (ml_dtypes) has NumPy kind 'V'

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def data_ptr(self) -> int:
        d = self._data
        return d.ctypes.data if self._device is CPU else d.data.ptr

    # ---- autograd attributes ----
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Turn gradient tracking on (or off) for a leaf tensor, in place.

        Raises:
            RuntimeError: for integer/bool tensors, or when turning it off on a non-leaf.
        """
        if requires_grad and self._data.dtype.kind not in "fVc":  # 'V': bfloat16
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if not requires_grad and self._gfn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self._rg = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        """The graph node that made this tensor (None for leaves and untracked results).

        Its type is named as torch's (``type(t.grad_fn).__name__ == 'MulBackward0'``).
        """
        node = self._gfn
        return None if node is None else node._typed()  # typed when first seen (see Node)

    @grad_fn.setter
    def grad_fn(self, node) -> None:
        self._gfn = node

    @property
    def is_leaf(self) -> bool:
        return self._gfn is None

    @property
    def retains_grad(self) -> bool:
        fn = self._gfn
        return bool(fn is not None and fn._retain and self._output_nr in fn._retain)

    def _version_value(self) -> int:
        v = self._version
        return 0 if v is None else v[0]

    def _bump_version(self) -> None:
        v = self._version
        if v is None:
            self._version = [1]
        else:
            v[0] += 1

    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's data, outside the graph (prefer :meth:`detach`)."""
        return _make(self._data, self._device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, TensorBase):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._device = value._device

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph (``requires_grad=False``)."""
        t = _make(self._data, self._device)
        t._version = self._shared_version()
        return t

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place; it becomes a leaf."""
        self._gfn = None
        self._rg = False
        return self

    def _shared_version(self) -> list:
        if self._version is None:
            self._version = [0]
        return self._version

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        fn = self._gfn
        if fn is None:
            return
        if fn._retain is None:
            fn._retain = {}
        fn._retain[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        fn = self._gfn
        if fn is not None:
            return fn._register_output_hook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` after a backward pass has accumulated all of its gradient for
        this leaf into ``self.grad`` (once per backward, as torch does).

        Args:
            hook: a callable ``hook(tensor) -> None``; it may read or modify ``tensor.grad``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Raises:
            RuntimeError: on a non-leaf tensor or one that does not require grad.

        Example:
            >>> w = gpuarr.ones(2, requires_grad=True)
            >>> h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad))
            >>> (w * 3).sum().backward()
            tensor([3., 3.])
        """
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._gfn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = []
        self._post_acc_hooks.append(hook)
        return RemovableHandle(self._post_acc_hooks, hook)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item() if self._device is CPU else self._host().item()

    def tolist(self):
        """The data as (nested) Python lists of numbers."""
        return self._host().tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The NumPy array behind a CPU tensor (shares memory).

        Args:
            force: copy to host and detach first if needed (for CUDA or grad tensors).

        Raises:
            TypeError: on a CUDA tensor without ``force``.
            RuntimeError: on a tensor that requires grad without ``force``.
        """
        if force:
            return self.detach().cpu()._data
        if self._device is not CPU:
            raise TypeError(
                f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() to "
                "copy the tensor to host memory first."
            )
        if self._rg:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        return self._data

    def _host(self) -> np.ndarray:
        return self._data if self._device is CPU else self._device._backend().to_host(self._data)

    def __array__(self, dtype=None, copy=None):
        if self._device is not CPU:
            raise TypeError(
                f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() to "
                "copy the tensor to host memory first."
            )
        a = self._data
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a.copy() if copy else a

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    @property
    def __cuda_array_interface__(self):
        if self._device.type != "cuda":
            raise AttributeError(
                "Can't get __cuda_array_interface__ on non-CUDA tensor type. If CUDA data is "
                "required use tensor.cuda() to copy tensor to device memory."
            )
        if self._rg:
            raise RuntimeError(
                "Can't get __cuda_array_interface__ on Variable that requires grad. If gradients "
                "aren't required, use var.detach() to get Variable that doesn't require grad."
            )
        return self._data.__cuda_array_interface__

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self._data.shape[0]):
            yield self[i]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size > 1 else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(_real_value(self.item(), "double"))

    def __int__(self) -> int:
        return int(_real_value(self.item(), "int64_t"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        self._device._xp()  # copy on the tensor's own device
        t = _make(self._data.copy(), self._device)
        t._rg = self._rg
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def _type_str(self) -> str:
        return f"gpuarr.{self.dtype.name}"

def _wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    """Normalise a possibly negative dim, with torch's IndexError text."""
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim + n if dim < 0 else dim


def check_no_overlap(t: Tensor) -> None:
    """Raise torch's error when writing into ``t`` in place would write one memory location
    through several elements (an ``expand``ed view: a stride of 0 over a dim longer than 1)."""
    if t._base is not None:
        d = t._data
        if any(st == 0 and n > 1 for st, n in zip(d.strides, d.shape)):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers "
                "to a single memory location. Please clone() the tensor before performing the "
                "operation.")


_Tensor: type = None  # gpuarr.Tensor, set by gpuarr._core.register_tensor_class


def _make(arr, dev: device) -> Tensor:
    """Wrap a backend array as a fresh leaf ``gpuarr.Tensor`` (no copy)."""
    if isinstance(arr, _generic):
        arr = np.asarray(arr)
    t = _new(_Tensor)
    t._data = arr
    t._device = dev
    t._rg = False
    t._gfn = None
    return t


def _wrap_out(out, dev, raw: bool, args, is_view: bool):
    """Turn what a forward returned into Tensors (raw ops return arrays)."""
    if out.__class__ is tuple or out.__class__ is list:
        res = tuple(_wrap_one(o, dev, args) for o in out)
        if is_view:
            for r in res:
                _link_view(r, args[0])
        return res
    r = _wrap_one(out, dev, args)
    if is_view:
        _link_view(r, args[0])
    return r


def _wrap_one(o, dev, args):
    if o is None:
        return None
    if isinstance(o, TensorBase):
        for a in args:
            if a is o:  # a user forward returned its input: hand back an alias
                t = _make(o._data, o._device)
                t._version = o._shared_version()
                return t
        return o
    return _make(o, dev)


def _link_view(view: Tensor, base) -> None:
    if isinstance(base, TensorBase):
        view._version = base._shared_version()
        root = view._base = base if base._base is None else base._base
        if root._gfn is not None:
            # a base with a history keeps its views: an in-place write through one of them
            # gives the base a new history, which the others then follow (ops/_view_inplace)
            d = root.__dict__
            views = d.get("_views")
            if views is None:
                d["_views"] = [_weakref(view)]
            else:
                views.append(_weakref(view))
                if not len(views) & 63:  # every 64th: drop the dead
                    views[:] = [r for r in views if r() is not None]


def _common_device(tensors) -> device:
    """The device an op on ``tensors`` runs on; raises torch's error when they disagree.

    As in torch, a 0-dim CPU tensor acts as a scalar next to tensors on any one other device
    (the caller moves it there); any other mix of devices is an error.
    """
    dev = None
    for t in tensors:
        d = t._device
        if dev is None or (dev is CPU and d is not CPU and _cpu_scalars_only(tensors, d)):
            dev = d
    for t in tensors:
        d = t._device
        if d is not dev and not (d is CPU and t._data.ndim == 0):
            first = tensors[0]._device
            raise _device_mismatch(first, d if d is not first else dev)
    return dev


def _cpu_scalars_only(tensors, dev) -> bool:
    return all(t._device is dev or (t._device is CPU and t._data.ndim == 0) for t in tensors)


def _device_mismatch(a: device, b: device) -> RuntimeError:
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{a} and {b}!"
    )


def _real_value(v, ctype: str):
    """A Python number read from a tensor, as a real number: a complex one must have no
    imaginary part (torch's error names the C++ type it converts to)."""
    if isinstance(v, complex):
        if v.imag != 0:
            raise RuntimeError(f"value cannot be converted to type {ctype} without overflow")
        return v.real
    return v
