"""Lazy modules (LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, LazyInstanceNorm*) and
UninitializedParameter/UninitializedBuffer.

A lazy module is built without its input size. Its parameters are
:class:`UninitializedParameter` s until the first call, whose input fixes the size; then the
parameters are materialised (the same objects, now regular Parameters), initialised by the
regular module's ``reset_parameters`` and the module turns into that regular class
(``type(m) is nn.Linear`` afterwards), as torch's ``cls_to_become``.
"""

from __future__ import annotations

import itertools

from .. import _dtype as D
from .._creation import tensor
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .conv import Conv1d, Conv2d
from .conv3d import Conv3d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .conv_transpose3d import ConvTranspose3d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .normalization_extra import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .parameter import UninitializedBuffer, UninitializedParameter, is_lazy

__all__ = [
    "LazyModuleMixin", "UninitializedParameter", "UninitializedBuffer", "LazyLinear",
    "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
    "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
]


class LazyModuleMixin:
    """A mixin for modules whose parameter shapes come from their first input.

    Until the first forward the module holds :class:`UninitializedParameter` s (and
    :class:`UninitializedBuffer` s). A forward pre-hook calls :meth:`initialize_parameters`
    with the first input, then removes itself and turns the module into ``cls_to_become``.
    Move/cast a lazy module (``to``, ``double``) before that dry run; build optimizers after
    it. A lazy module's ``state_dict`` holds the uninitialised objects; loading an initialised
    state into it materialises its parameters with the loaded shapes.

    Example:
        >>> m = gpuarr.nn.LazyLinear(10)
        >>> m.has_uninitialized_params()
        True
        >>> _ = m(gpuarr.ones(4, 3))
        >>> type(m).__name__, m.weight.shape
        ('Linear', gpuarr.Size([10, 3]))
    """

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = self.register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(
            self._infer_parameters, with_kwargs=True)

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # uninitialised tensors go in as they are: they cannot be detached
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = (
                    param if (is_lazy(param) or keep_vars) else param.detach())
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = (
                    buf if (is_lazy(buf) or keep_vars) else buf.detach())

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs) -> None:
        """Before loading: give each uninitialised entry the shape of the loaded one."""
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None and is_lazy(param):
                src = state_dict[key]
                if isinstance(src, Tensor) and not is_lazy(src):
                    with no_grad():
                        param.materialize(src.shape)

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Materialise and initialise the parameters from the first forward's arguments."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether any parameter or buffer of this module is still uninitialised."""
        return any(is_lazy(t) for t in itertools.chain(
            self._parameters.values(), self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        kwargs = kwargs if kwargs else {}
        module.initialize_parameters(*args, **kwargs)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


# ---- Linear -------------------------------------------------------------------------------
class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is the last dim of its first input.

    Args:
        out_features: size of each output sample.
        bias: learn an additive bias.
        device, dtype: where and how to create the parameters.

    Example:
        >>> m = nn.LazyLinear(30)
        >>> m(gpuarr.randn(128, 20)).shape, type(m).__name__
        (gpuarr.Size([128, 30]), 'Linear')
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        # bias=False: no tensor that the uninitialised one would replace at once
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        """Materialise ``(out_features, input.shape[-1])`` and initialise as Linear does."""
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()


# ---- convolutions -------------------------------------------------------------------------
class _LazyConvXdMixin(LazyModuleMixin):
    def _lazy_init(self, out_channels: int, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        """Materialise the weight from the input's channel count and initialise it."""
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
            else:
                shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
            with no_grad():
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()

    def _get_in_channels(self, input: Tensor) -> int:
        unbatched = self._n + 1  # channels + spatial dims
        if input.ndim not in (unbatched, unbatched + 1):
            raise RuntimeError(
                f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to "
                f"{type(self).__name__}, but got input of size: {input.shape}")
        return input.shape[1] if input.ndim == unbatched + 1 else input.shape[0]


class _LazyConvNd(_LazyConvXdMixin):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        # in/out channels 0 and no bias: the base makes no tensor the lazy ones replace
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class _LazyConvTransposeNd(_LazyConvXdMixin):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode, device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConvNd, Conv1d):
    """A :class:`Conv1d` whose ``in_channels`` is the channel dim of its first input.

    Args:
        out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
        device, dtype: as :class:`Conv1d`.

    Example:
        >>> m = nn.LazyConv1d(4, 3)
        >>> m(gpuarr.randn(1, 2, 8)).shape, type(m).__name__, m.in_channels
        (gpuarr.Size([1, 4, 6]), 'Conv1d', 2)
    """

    cls_to_become = Conv1d


class LazyConv2d(_LazyConvNd, Conv2d):
    """A :class:`Conv2d` whose ``in_channels`` is the channel dim of its first input.

    Args:
        out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
        device, dtype: as :class:`Conv2d`.

    Example:
        >>> m = nn.LazyConv2d(4, 3)
        >>> m(gpuarr.randn(1, 2, 8, 8)).shape
        gpuarr.Size([1, 4, 6, 6])
    """

    cls_to_become = Conv2d


class LazyConv3d(_LazyConvNd, Conv3d):
    """A :class:`Conv3d` whose ``in_channels`` is the channel dim of its first input.

    Args:
        out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
        device, dtype: as :class:`Conv3d`.

    Example:
        >>> m = nn.LazyConv3d(4, 3)
        >>> m(gpuarr.randn(1, 2, 5, 5, 5)).shape
        gpuarr.Size([1, 4, 3, 3, 3])
    """

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):
    """A :class:`ConvTranspose1d` whose ``in_channels`` is the channel dim of its first input.

    Args:
        out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
        padding_mode, device, dtype: as :class:`ConvTranspose1d`.

    Example:
        >>> m = nn.LazyConvTranspose1d(4, 3)
        >>> m(gpuarr.randn(1, 2, 8)).shape
        gpuarr.Size([1, 4, 10])
    """

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):
    """A :class:`ConvTranspose2d` whose ``in_channels`` is the channel dim of its first input.

    Args:
        out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
        padding_mode, device, dtype: as :class:`ConvTranspose2d`.

    Example:
        >>> m = nn.LazyConvTranspose2d(4, 3)
        >>> m(gpuarr.randn(1, 2, 8, 8)).shape
        gpuarr.Size([1, 4, 10, 10])
    """

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):
    """A :class:`ConvTranspose3d` whose ``in_channels`` is the channel dim of its first input.

    Args:
        out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
        padding_mode, device, dtype: as :class:`ConvTranspose3d`.

    Example:
        >>> m = nn.LazyConvTranspose3d(4, 3)
        >>> m(gpuarr.randn(1, 2, 4, 4, 4)).shape
        gpuarr.Size([1, 4, 6, 6, 6])
    """

    cls_to_become = ConvTranspose3d


# ---- normalisation ------------------------------------------------------------------------
class _LazyNormBase(LazyModuleMixin):
    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        # affine/track_running_stats off: the base makes no tensor the lazy ones replace
        super().__init__(0, eps, momentum, False, False, device=device, dtype=dtype)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=D.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _num_features(self, input: Tensor) -> int:
        return input.shape[1]

    def initialize_parameters(self, input: Tensor) -> None:
        """Materialise the per-channel tensors from the input's channel count."""
        if self.has_uninitialized_params():
            self.num_features = self._num_features(input)
            with no_grad():
                for t in (self.weight, self.bias, self.running_mean, self.running_var):
                    if t is not None:
                        t.materialize((self.num_features,))
                self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """A :class:`BatchNorm1d` whose ``num_features`` is dim 1 of its first input.

    Args:
        eps, momentum, affine, track_running_stats, device, dtype, bias: as BatchNorm1d.

    Example:
        >>> m = nn.LazyBatchNorm1d()
        >>> _ = m(gpuarr.randn(8, 5)); type(m).__name__, m.num_features
        ('BatchNorm1d', 5)
    """

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """A :class:`BatchNorm2d` whose ``num_features`` is dim 1 of its first input.

    Args:
        eps, momentum, affine, track_running_stats, device, dtype, bias: as BatchNorm2d.

    Example:
        >>> m = nn.LazyBatchNorm2d()
        >>> _ = m(gpuarr.randn(8, 5, 4, 4)); m.num_features
        5
    """

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """A :class:`BatchNorm3d` whose ``num_features`` is dim 1 of its first input.

    Args:
        eps, momentum, affine, track_running_stats, device, dtype, bias: as BatchNorm3d.

    Example:
        >>> m = nn.LazyBatchNorm3d()
        >>> _ = m(gpuarr.randn(2, 5, 3, 3, 3)); m.num_features
        5
    """

    cls_to_become = BatchNorm3d


class _LazyInstanceNorm(_LazyNormBase):
    def _num_features(self, input: Tensor) -> int:
        # the channel dim, also for unbatched input (torch reads dim 1 there: a spatial dim)
        nd = self._nd
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(
                f"expected {nd + 1}D or {nd + 2}D input (got {input.ndim}D input)")
        return input.shape[0] if input.ndim == nd + 1 else input.shape[1]

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class LazyInstanceNorm1d(_LazyInstanceNorm, InstanceNorm1d):
    """An :class:`InstanceNorm1d` whose ``num_features`` is the channel dim of its first input.

    Unlike InstanceNorm1d, ``affine`` and ``track_running_stats`` default to True (as torch).

    Args:
        eps, momentum, affine, track_running_stats, device, dtype, bias: as InstanceNorm1d.

    Example:
        >>> m = nn.LazyInstanceNorm1d()
        >>> _ = m(gpuarr.randn(2, 3, 10)); m.num_features
        3
    """

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyInstanceNorm, InstanceNorm2d):
    """An :class:`InstanceNorm2d` whose ``num_features`` is the channel dim of its first input.

    Args:
        eps, momentum, affine, track_running_stats, device, dtype, bias: as InstanceNorm2d
        (``affine`` and ``track_running_stats`` default to True, as torch).

    Example:
        >>> m = nn.LazyInstanceNorm2d()
        >>> _ = m(gpuarr.randn(2, 3, 4, 4)); m.num_features
        3
    """

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyInstanceNorm, InstanceNorm3d):
    """An :class:`InstanceNorm3d` whose ``num_features`` is the channel dim of its first input.

    Args:
        eps, momentum, affine, track_running_stats, device, dtype, bias: as InstanceNorm3d
        (``affine`` and ``track_running_stats`` default to True, as torch).

    Example:
        >>> m = nn.LazyInstanceNorm3d()
        >>> _ = m(gpuarr.randn(2, 3, 4, 4, 4)); m.num_features
        3
    """

    cls_to_become = InstanceNorm3d
