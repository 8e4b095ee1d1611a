"""torch's top-level spellings of nn.functional ops, constants, predicates, window functions,
memory formats and the default device.

The ``gpuarr.<op>`` functions here take torch's ``torch.<op>`` signatures, which are ATen's and
sometimes differ from ``torch.nn.functional.<op>``: ``torch.dropout(input, p, train)`` has no
defaults, ``torch.batch_norm`` puts ``weight``/``bias`` before the running statistics, losses take
``reduction`` as an int (0 none, 1 mean, 2 sum), ``torch.adaptive_max_pool1d`` always returns the
indices. Each one forwards to the ``gpuarr.nn.functional`` implementation, so values, gradients
and devices are those of the functional op. As in torch's Python bindings, the losses' int
``reduction`` defaults to 0 (no reduction), not to the mean that ``nn.functional`` defaults to.

Also here: torch's constants (``pi``, ``e``, ``inf``, ``nan``, ``newaxis``), tensor helpers
(``detach``, ``fill``, ``zero_``, ``typename``...), the default device of the factory functions
(``set_default_device``, kept per thread as torch keeps it), ``empty_strided``, ``frombuffer``
and the window functions. ``set_flush_denormal`` cannot reach the CPU's flush-to-zero flags
from NumPy, so it reports False (not supported), as torch does on such a CPU.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from . import _creation
from . import _dtype as D
from ._core.tensor import TensorBase, _make
from ._device import CPU
from ._device import device as _device_cls
from ._random import Generator
from ._torch_backends import (
    are_deterministic_algorithms_enabled,
    is_deterministic_algorithms_warn_only_enabled,
    use_deterministic_algorithms,
)
from .linalg import matrix_norm, vector_norm
from .nn import functional as F
from .nn.functional._activation_extra import _check_bounds
from .nn.functional._misc import _apply_mask, _keep_mask, _renorm_rows  # torch's mask, as F's
from .ops import tensor_info as ti
from .ops._common import dtype_name
from .ops._registry import apply_inplace, inplace_method
from .ops.random import rand
from .ops.tensor_extra import _empty_strided

if TYPE_CHECKING:
    from ._tensor import Tensor

__all__ = [
    # nn.functional ops under torch's top-level names and signatures
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "convolution",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d",
    "adaptive_max_pool1d", "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
    "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout",
    "feature_dropout_", "embedding", "bilinear", "celu", "celu_", "selu", "selu_", "threshold",
    "threshold_", "rrelu", "rrelu_", "hardshrink", "prelu", "pixel_shuffle", "pixel_unshuffle",
    "channel_shuffle", "native_channel_shuffle", "cosine_similarity", "pairwise_distance",
    "pdist", "kl_div", "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
    "triplet_margin_loss", "poisson_nll_loss", "binary_cross_entropy_with_logits",
    "constant_pad_nd",
]

# --------------------------------------------------------------------------------------------
# convolution and pooling

# torch.conv*d share F's signatures (ATen's conv1d takes the same arguments in the same order)
conv1d = F.conv1d
conv2d = F.conv2d
conv3d = F.conv3d
conv_transpose1d = F.conv_transpose1d
conv_transpose2d = F.conv_transpose2d
pixel_shuffle = F.pixel_shuffle
pixel_unshuffle = F.pixel_unshuffle
channel_shuffle = F.channel_shuffle
native_channel_shuffle = F.native_channel_shuffle
cosine_similarity = F.cosine_similarity
pairwise_distance = F.pairwise_distance
pdist = F.pdist
bilinear = F.bilinear
adaptive_avg_pool1d = F.adaptive_avg_pool1d


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation,
                transposed: bool, output_padding, groups: int) -> Tensor:
    """torch.convolution: the N-d (transposed) convolution every ``conv*`` op lowers to.

    The spatial rank comes from ``weight`` (3-d weight: 1-d convolution, 4-d: 2-d, 5-d: 3-d).

    Args:
        input: (N, C_in, *spatial) input.
        weight: (C_out, C_in/groups, *kernel), or (C_in, C_out/groups, *kernel) if transposed.
        bias: optional (C_out,) bias.
        stride, padding, dilation: per spatial dimension (sequences).
        transposed: compute the transposed convolution (the gradient of a convolution).
        output_padding: extra size on one side of a transposed convolution's output.
        groups: number of blocked connections from input to output channels.

    Returns:
        The convolution's output.

    Example:
        >>> gpuarr.convolution(x, w, None, [1], [0], [1], False, [0], 1)
    """
    nd = weight.ndim - 2
    fns = {1: (F.conv1d, F.conv_transpose1d), 2: (F.conv2d, F.conv_transpose2d),
           3: (F.conv3d, None)}
    if nd not in fns or (transposed and fns[nd][1] is None):
        kind = "transposed " if transposed else ""
        raise RuntimeError(
            f"convolution: gpuarr supports {kind}convolution with a "
            f"{'3- or 4' if transposed else '3-, 4- or 5'}-dimensional weight, got a "
            f"{weight.ndim}-dimensional weight"
        )
    if transposed:
        return fns[nd][1](input, weight, bias, tuple(stride), tuple(padding),
                          tuple(output_padding), groups, tuple(dilation))
    return fns[nd][0](input, weight, bias, tuple(stride), tuple(padding), tuple(dilation), groups)


def _stride(stride):
    # ATen's pooling ops spell "stride = kernel_size" as an empty list
    return None if stride is None or (not isinstance(stride, int) and len(stride) == 0) else stride


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """torch.max_pool1d: F.max_pool1d without ``return_indices`` (``stride=()`` means
    ``kernel_size``).

    Example:
        >>> gpuarr.max_pool1d(gpuarr.arange(6.).view(1, 1, 6), 2)
        tensor([[[1., 3., 5.]]])
    """
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """torch.max_pool2d: F.max_pool2d without ``return_indices``."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """torch.max_pool3d: F.max_pool3d without ``return_indices``."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def avg_pool1d(input: Tensor, kernel_size, stride=(), padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """torch.avg_pool1d (``stride=()`` means ``kernel_size``)."""
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def adaptive_max_pool1d(input: Tensor, output_size) -> tuple[Tensor, Tensor]:
    """torch.adaptive_max_pool1d: always returns ``(values, indices)``.

    Example:
        >>> out, idx = gpuarr.adaptive_max_pool1d(gpuarr.arange(6.).view(1, 1, 6), 3)
    """
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def constant_pad_nd(input: Tensor, pad, value=0) -> Tensor:
    """torch.constant_pad_nd: pad the last ``len(pad) // 2`` dimensions with ``value``
    (negative pads crop), as ``F.pad(input, pad, 'constant', value)``.

    Example:
        >>> gpuarr.constant_pad_nd(gpuarr.ones(2), [1, 2], 0.5)
        tensor([0.5000, 1.0000, 1.0000, 0.5000, 0.5000])
    """
    return F.pad(input, list(pad), "constant", value)


# --------------------------------------------------------------------------------------------
# normalisation


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
               running_mean: Tensor | None, running_var: Tensor | None, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool) -> Tensor:
    """torch.batch_norm: ATen's argument order (``weight, bias`` before the running stats, all
    required); ``cudnn_enabled`` is accepted and ignored.

    Example:
        >>> gpuarr.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, False)
    """
    if not training and (running_mean is None or running_var is None):
        which = "running_mean" if running_mean is None else "running_var"
        raise RuntimeError(f"{which} must be defined in evaluation mode")
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                  running_mean: Tensor | None, running_var: Tensor | None, use_input_stats: bool,
                  momentum: float, eps: float, cudnn_enabled: bool) -> Tensor:
    """torch.instance_norm: ATen's argument order; ``cudnn_enabled`` is ignored."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:
    """torch.layer_norm (``cudnn_enable`` is accepted and ignored)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enabled: bool = True) -> Tensor:
    """torch.group_norm (``cudnn_enabled`` is accepted and ignored)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """torch.rms_norm: ``input / sqrt(mean(input**2) + eps) * weight`` over the last dims."""
    return F.rms_norm(input, normalized_shape, weight, eps)


# --------------------------------------------------------------------------------------------
# dropout


def _check_dropout(input: Tensor, p: float, train: bool) -> bool:
    """torch's checks; True when the op is the identity (not training, ``p == 0``, empty)."""
    if not isinstance(input, TensorBase):
        raise TypeError(f"dropout(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0.0 or not train or input.numel() == 0:
        return True
    if not (input.is_floating_point() or input.is_complex()):
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{dtype_name(input.dtype)}")
    return False


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.dropout: zero each element with probability ``p``, scale the rest by
    ``1 / (1 - p)``; returns ``input`` itself when ``train`` is False or ``p == 0``.

    Args:
        input: the tensor.
        p: drop probability in [0, 1] (RuntimeError otherwise).
        train: apply dropout (True) or return ``input`` (False).

    Example:
        >>> gpuarr.dropout(gpuarr.ones(4), 0.5, True)   # each entry 0. or 2.
    """
    if _check_dropout(input, p, train):
        return input
    return F.dropout(input, p, True)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`dropout`; returns ``input``."""
    if _check_dropout(input, p, train):
        return input
    return F.dropout(input, p, True, inplace=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.alpha_dropout: dropout that keeps SELU activations' mean and variance."""
    if _check_dropout(input, p, train):
        return input
    return F.alpha_dropout(input, p, True)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`alpha_dropout`; returns ``input``."""
    if _check_dropout(input, p, train):
        return input
    return F.alpha_dropout(input, p, True, inplace=True)


def _feature_dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    if not isinstance(input, TensorBase):
        _check_dropout(input, p, train)
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if _check_dropout(input, p, train):
        return input
    # one draw per (sample, channel), broadcast over the remaining dimensions (ATen's
    # make_feature_noise)
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _apply_mask(input, _keep_mask(input, shape, p), inplace)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.feature_dropout: zero whole channels (``input[n, c]``) with probability ``p``,
    scale the rest by ``1 / (1 - p)``; needs at least 2 dimensions.

    Example:
        >>> gpuarr.feature_dropout(gpuarr.ones(2, 3, 4), 0.5, True)
    """
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`feature_dropout`; returns ``input``."""
    return _feature_dropout(input, p, train, True)


# --------------------------------------------------------------------------------------------
# embedding and activations


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """torch.embedding: ``weight[indices]`` (weight first, as in ATen).

    ``padding_idx`` is ATen's: a negative value (the default -1) means no padding row; a row
    ``padding_idx >= 0`` gets no gradient.

    Example:
        >>> gpuarr.embedding(gpuarr.eye(3), gpuarr.tensor([2, 0]))
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    pad = padding_idx if padding_idx >= 0 else None
    return F.embedding(indices, weight, pad, None, 2.0, scale_grad_by_freq, sparse)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """torch.celu: ``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`; returns ``input``."""
    return F.celu_(input, alpha)


def selu(input: Tensor) -> Tensor:
    """torch.selu: ``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))``."""
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`; returns ``input``."""
    return F.selu_(input)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """torch.threshold: ``x`` where ``x > threshold``, else ``value``."""
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`; returns ``input``."""
    return F.threshold_(input, threshold, value)


def _check_generator(generator, name: str) -> None:
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{name}(): argument 'generator' must be torch.Generator, not "
                        f"{type(generator).__name__}")


def _rrelu_with(input: Tensor, lower: float, upper: float, generator) -> Tensor:
    """Training-mode rrelu with slopes drawn from ``generator``: ``x`` where ``x > 0``, else
    ``x * r``, ``r ~ U(lower, upper)``; the gradient is 1 or ``r`` (``r`` at 0, as torch)."""
    r = rand(tuple(input.shape), generator=generator, dtype=D.float64, device=input.device)
    r = (r * (upper - lower) + lower).clamp(lower, upper).to(input.dtype)
    return input.where(input > 0, input * r)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator=None) -> Tensor:
    """torch.rrelu: randomised leaky ReLU. When ``training``, each element ``x <= 0`` is
    multiplied by its own slope drawn uniformly from ``[lower, upper]`` (from ``generator`` when
    given, else the default generator of ``input``'s device); otherwise by
    ``(lower + upper) / 2``.

    Example:
        >>> gpuarr.rrelu(gpuarr.tensor([-1.0, 2.0]), 0.1, 0.3)
        tensor([-0.2000,  2.0000])
    """
    _check_generator(generator, "rrelu")
    if generator is None or not training or not isinstance(input, TensorBase) or not (
            input.is_floating_point()):
        return F.rrelu(input, lower, upper, training)  # F also raises torch's errors
    _check_bounds(lower, upper)
    return _rrelu_with(input, lower, upper, generator)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False, generator=None) -> Tensor:
    """In-place :func:`rrelu`; returns ``input``."""
    _check_generator(generator, "rrelu_")
    if generator is None or not training or not isinstance(input, TensorBase) or not (
            input.is_floating_point()):
        return F.rrelu_(input, lower, upper, training)
    _check_bounds(lower, upper)
    return apply_inplace(input, lambda x: _rrelu_with(x, lower, upper, generator))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """torch.hardshrink: ``x`` where ``|x| > lambd``, else 0."""
    return F.hardshrink(input, lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """torch.prelu: ``max(0, x) + weight * min(0, x)``, ``weight`` per channel (dim 1)."""
    return F.prelu(input, weight)


# --------------------------------------------------------------------------------------------
# losses: ATen takes ``reduction`` as an int. torch's Python bindings of these top-level
# functions default it to 0 (no reduction), not to the schema's Mean: ``torch.kl_div(x, t)``
# returns the elementwise loss. gpuarr follows what torch does, so ported code gives the same
# numbers.

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(reduction) -> str:
    if isinstance(reduction, bool) or reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction: expected 0 (none), "
                         "1 (mean) or 2 (sum)")
    return _REDUCTIONS[reduction]


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *,
           log_target: bool = False) -> Tensor:
    """torch.kl_div: ``target * (log(target) - input)`` (``input`` is log-probabilities).

    Args:
        reduction: 0 (none), 1 (mean, over all elements) or 2 (sum).
        log_target: ``target`` is given as log-probabilities.
    """
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    """torch.margin_ranking_loss: ``max(0, -target * (input1 - input2) + margin)``."""
    return F.margin_ranking_loss(input1, input2, target, margin,
                                 reduction=_reduction(reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: int = 0) -> Tensor:
    """torch.hinge_embedding_loss: ``x`` where ``target == 1``, ``max(0, margin - x)`` where
    ``target == -1``."""
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    """torch.cosine_embedding_loss: ``1 - cos(x1, x2)`` for ``target == 1``,
    ``max(0, cos(x1, x2) - margin)`` for ``target == -1``."""
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction(reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                        reduction: int = 0) -> Tensor:
    """torch.triplet_margin_loss: ``max(d(a, p) - d(a, n) + margin, 0)`` with the p-norm
    distance ``d``."""
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction(reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """torch.poisson_nll_loss: all arguments required, as in ATen (``reduction`` an int)."""
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction(reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = 0) -> Tensor:
    """torch.binary_cross_entropy_with_logits: note ATen's order (``pos_weight`` before
    ``reduction``, which is an int)."""
    return F.binary_cross_entropy_with_logits(input, target, weight,
                                              reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


# --------------------------------------------------------------------------------------------
# constants and small torch-level functions

__all__ += [
    "pi", "e", "inf", "nan", "newaxis", "detach", "detach_", "fill", "fill_", "zero_",
    "typename", "is_storage", "set_warn_always", "is_warn_always_enabled", "set_flush_denormal",
    "get_default_device", "set_default_device", "empty_strided", "frombuffer",
    "hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window",
]

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None


def _check_tensor(x, op: str, name: str = "input") -> None:
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}(): argument '{name}' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


def detach(input: Tensor) -> Tensor:
    """``input.detach()``: the same data, cut from the autograd graph."""
    _check_tensor(input, "detach")
    return input.detach()


def detach_(input: Tensor) -> Tensor:
    """``input.detach_()``: cut ``input`` from the graph in place; returns it."""
    _check_tensor(input, "detach_")
    return input.detach_()


def fill(input: Tensor, value) -> Tensor:
    """A new tensor of ``input``'s shape, dtype and device filled with ``value`` (a number or a
    0-d tensor). Differentiable: the gradient w.r.t. ``input`` is zero, w.r.t. a tensor
    ``value`` the sum of the upstream gradient, as torch's.

    Example:
        >>> gpuarr.fill(gpuarr.zeros(3), 2.5)
        tensor([2.5000, 2.5000, 2.5000])
    """
    _check_tensor(input, "fill")
    return input.clone().fill_(value)


def fill_(input: Tensor, value) -> Tensor:
    """``input.fill_(value)``: fill ``input`` with ``value`` in place; returns it."""
    _check_tensor(input, "fill_")
    return input.fill_(value)


def zero_(input: Tensor) -> Tensor:
    """``input.zero_()``: fill ``input`` with zeros in place; returns it."""
    _check_tensor(input, "zero_")
    return input.zero_()


def typename(obj, /) -> str:
    """A fully qualified name of ``obj``'s type: ``x.type()`` for a tensor
    ('gpuarr.FloatTensor'), else ``module.qualname`` of a class or function, or of the class of
    any other object (builtins without the module), as torch.typename.

    Example:
        >>> gpuarr.typename(gpuarr.ones(2, dtype=gpuarr.long))
        'gpuarr.LongTensor'
    """
    if isinstance(obj, TensorBase):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def is_storage(obj, /) -> bool:
    """Whether ``obj`` is a storage object. gpuarr tensors own their backend array directly and
    have no storage objects, so this is False for everything (tensors included, as in torch)."""
    return False


_WARN_ALWAYS = [False]


def set_warn_always(b: bool, /) -> None:
    """Ask warnings that torch emits once per process to be emitted every time; recorded and
    reported by :func:`is_warn_always_enabled` (gpuarr's own warnings go through Python's
    :mod:`warnings` filters, which decide repetition)."""
    _WARN_ALWAYS[0] = bool(b)


def is_warn_always_enabled() -> bool:
    """The flag set by :func:`set_warn_always` (False by default)."""
    return _WARN_ALWAYS[0]


def set_flush_denormal(mode: bool) -> bool:
    """torch's switch for flushing denormal floats to zero on the CPU; returns whether it took
    effect. NumPy gives no control over the CPU's FTZ/DAZ flags, so gpuarr cannot change them
    and returns False, as torch does on a CPU without that support; denormals are kept.

    Example:
        >>> gpuarr.set_flush_denormal(True)
        False
    """
    if not isinstance(mode, bool):
        raise TypeError(f"set_flush_denormal(): argument 'mode' (position 1) must be bool, not "
                        f"{type(mode).__name__}")
    return False


# --------------------------------------------------------------------------------------------
# default device


def set_default_device(device) -> None:
    """Make factory functions (``tensor``, ``zeros``, ``ones``, ``empty``, ``full``, ``arange``,
    ``linspace``, ``logspace``, ``eye``, ``as_tensor``, the window functions...) allocate on
    ``device`` when they are not given ``device=``; ``None`` restores the CPU. ``'cuda'``
    without an index follows the current CUDA device. The setting is per thread, as torch's.
    ``from_numpy`` and ``frombuffer`` (which share host memory) and ``*_like`` (which follow
    their input) are not affected.

    Args:
        device: a device spec ('cpu', 'cuda', 'cuda:1', a ``gpuarr.device``) or None.

    Example:
        >>> gpuarr.set_default_device('cuda')
        >>> gpuarr.zeros(2).device
        device(type='cuda', index=0)
        >>> gpuarr.set_default_device(None)
    """
    _creation.set_factory_device(device)


def get_default_device() -> _device_cls:
    """The device factory functions allocate on when not given ``device=`` (see
    :func:`set_default_device`); a CUDA device comes with its index.

    Example:
        >>> gpuarr.get_default_device()
        device(type='cpu')
    """
    return _creation.factory_device(None)


# --------------------------------------------------------------------------------------------
# factories: empty_strided, frombuffer


def empty_strided(size, stride, *, dtype=None, layout=None, device=None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose ``stride()`` is ``stride`` (in elements).

    Args:
        size: the shape.
        stride: one non-negative stride per dimension.
        dtype, device, requires_grad: as for :func:`gpuarr.empty`.
        layout: ``gpuarr.strided`` (the only layout) or None.

    Example:
        >>> gpuarr.empty_strided((2, 3), (1, 2)).stride()
        (1, 2)
    """
    _check_layout(layout, "empty_strided")
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    out = _empty_strided(tuple(size), tuple(stride), dt, _creation.factory_device(device),
                         pin_memory)
    return out.requires_grad_(True) if requires_grad else out


def _check_layout(layout, op: str) -> None:
    if layout is not None and layout is not ti.strided:
        raise RuntimeError(f"{op}: gpuarr supports only the strided layout, got {layout!r}")


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-d CPU tensor sharing memory with an object that implements the buffer protocol
    (``bytearray``, ``array.array``, ``memoryview``, ``mmap``...): writes show in both.

    Args:
        buffer: the Python buffer.
        dtype: the element type the bytes are read as.
        count: number of elements to read (-1: all after ``offset``).
        offset: bytes to skip at the start.
        requires_grad: record operations on the result for autograd.

    Raises:
        ValueError: the sizes do not fit the buffer (torch's messages).

    Example:
        >>> b = bytearray(8); t = gpuarr.frombuffer(b, dtype=gpuarr.int32); t[0] = 7; b[0]
        7
    """
    np_dt = D.as_dtype(dtype).np
    view = memoryview(buffer)
    length = view.nbytes
    item = np_dt.itemsize
    if length <= 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    if count < 0:
        if (length - offset) % item:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                             f"bytes) must be a multiple of element size ({item})")
        count = (length - offset) // item
    elif offset + count * item > length:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({length} bytes)")
    if view.readonly:
        warnings.warn("The given buffer is not writable; gpuarr keeps the tensor read-only, so "
                      "in-place operations on it will fail. Copy the buffer (or pass a "
                      "bytearray) to get a writable tensor.", UserWarning, stacklevel=2)
    arr = np.frombuffer(buffer, dtype=np_dt, count=count, offset=offset)
    out = _make(arr, CPU)
    return out.requires_grad_(True) if requires_grad else out


# --------------------------------------------------------------------------------------------
# window functions (computed in float64 on the target device, then cast)


def _window_args(name: str, window_length, dtype, layout, device):
    if not isinstance(window_length, int) or isinstance(window_length, bool):
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    _check_layout(layout, name)
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    return dt, _creation.factory_device(device)


def _window(name: str, window_length: int, periodic: bool, formula, dtype, layout, device,
            requires_grad: bool) -> Tensor:
    """A window of ``window_length`` points: ``formula(xp, n, N)`` on ``n = arange(N)`` in
    float64, with ``N = window_length + 1`` (last point dropped) when ``periodic``."""
    dt, dev = _window_args(name, window_length, dtype, layout, device)
    xp = dev._xp()
    if window_length <= 1:
        arr = xp.ones(window_length, dtype=np.float64)
    else:
        n_points = window_length + 1 if periodic else window_length
        arr = formula(xp, dev, xp.arange(n_points, dtype=np.float64), n_points)[:window_length]
    out = _make(xp.ascontiguousarray(arr.astype(dt.np)), dev)
    return out.requires_grad_(True) if requires_grad else out


def _hamming(alpha: float, beta: float):
    return lambda xp, dev, n, N: alpha - beta * xp.cos(n * (2 * math.pi / (N - 1)))


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (N - 1))``; ``periodic`` (the default) gives the
    window for spectral analysis (``N = window_length + 1``, last point dropped).

    Args:
        window_length: number of points (non-negative int).
        periodic: periodic (True) or symmetric (False) window.
        dtype: a floating dtype (default: the default dtype).
        device: where to make it (default: the default device).
        requires_grad: make the result a leaf that requires grad.

    Example:
        >>> gpuarr.hann_window(4)
        tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    return _window("hann_window", window_length, periodic, _hamming(0.5, 0.5), dtype, layout,
                   device, requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The Hamming window ``alpha - beta cos(2 pi n / (N - 1))`` (see :func:`hann_window`)."""
    return _window("hamming_window", window_length, periodic, _hamming(alpha, beta), dtype,
                   layout, device, requires_grad)


def _blackman(xp, dev, n, N):
    w = n * (math.pi / (N - 1))
    return 0.08 * xp.cos(4 * w) - 0.5 * xp.cos(2 * w) + 0.42


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False,
                    pin_memory: bool = False) -> Tensor:
    """The Blackman window ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``
    (see :func:`hann_window`)."""
    return _window("blackman_window", window_length, periodic, _blackman, dtype, layout, device,
                   requires_grad)


def _bartlett(xp, dev, n, N):
    return 1 - xp.abs(n * (2 / (N - 1)) - 1)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False,
                    pin_memory: bool = False) -> Tensor:
    """The triangular Bartlett window ``1 - |2 n / (N - 1) - 1|`` (see :func:`hann_window`)."""
    return _window("bartlett_window", window_length, periodic, _bartlett, dtype, layout, device,
                   requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None,
                  layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta)``, ``a = (N - 1) / 2``
    and ``I0`` the modified Bessel function of order 0 (see :func:`hann_window`).

    Example:
        >>> gpuarr.kaiser_window(5, False, 3.0)
        tensor([0.2049, 0.7269, 1.0000, 0.7269, 0.2049])
    """

    def formula(xp, dev, n, N):
        a = (N - 1) / 2.0
        r = xp.sqrt(xp.clip(1 - ((n - a) / a) ** 2, 0, None))  # rounding must not go below 0
        bk = dev._backend()
        return bk.bessel_i(0, beta * r) / bk.bessel_i(0, xp.full((), beta, dtype=np.float64))

    return _window("kaiser_window", window_length, periodic, formula, dtype, layout, device,
                   requires_grad)


# --------------------------------------------------------------------------------------------
# more top-level spellings: layers written after the ones above, in-place aliases, deprecated
# norms, build flags, anomaly mode and the mixed-precision scaler

from .amp import GradScaler  # noqa: E402 - torch.GradScaler is torch.amp.GradScaler
from .autograd.anomaly_mode import (  # noqa: E402
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_anomaly_enabled,
)
from .ops import elementwise as _E  # noqa: E402
from .ops import elementwise_extra as _EX  # noqa: E402

__all__ += [
    "conv_transpose3d", "ctc_loss", "feature_alpha_dropout", "feature_alpha_dropout_",
    "max_pool1d_with_indices", "embedding_renorm_", "frobenius_norm", "nuclear_norm",
    "arccos_", "arcsin_", "arctan_", "arccosh_", "arcsinh_", "arctanh_", "clamp_min_",
    "clamp_max_", "has_lapack", "has_mkl", "has_openmp", "has_spectral",
    "get_deterministic_debug_mode", "set_deterministic_debug_mode", "is_distributed",
    "GradScaler", "is_anomaly_enabled", "set_anomaly_enabled", "is_anomaly_check_nan_enabled",
]

conv_transpose3d = F.conv_transpose3d


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    """torch.ctc_loss: :func:`gpuarr.nn.functional.ctc_loss` with an int ``reduction``
    (0 none, 1 mean, 2 sum; torch's binding defaults to 0)."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank,
                      reduction=_reduction(reduction), zero_infinity=zero_infinity)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.feature_alpha_dropout: alpha dropout of whole channels (``train`` required)."""
    if _check_dropout(input, p, train):
        return input
    return F.feature_alpha_dropout(input, p, True)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`feature_alpha_dropout`; returns ``input``."""
    if _check_dropout(input, p, train):
        return input
    return F.feature_alpha_dropout(input, p, True, inplace=True)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple:
    """torch.max_pool1d_with_indices: (values, indices) of 1-d max pooling (an empty
    ``stride`` means ``kernel_size``)."""
    return F.max_pool1d_with_indices(input, kernel_size, stride if stride != () else None,
                                     padding, dilation, ceil_mode, return_indices=True)


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float,
                      norm_type: float) -> Tensor:
    """Rescale the rows ``indices`` of ``input`` in place so their ``norm_type``-norm is at most
    ``max_norm`` (what ``F.embedding(max_norm=...)`` does before its lookup); returns
    ``input``."""
    _renorm_rows(input, indices._data, float(max_norm), float(norm_type))
    return input


def frobenius_norm(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Deprecated (torch warns too): ``linalg.vector_norm(input, 2, dim, keepdim)``."""
    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. "
                  "It will be removed in a future PyTorch release. Please use "
                  "`linalg.vector_norm(A, 2., dim, keepdim)` instead", UserWarning, stacklevel=2)
    return vector_norm(input, 2.0, tuple(dim) if len(dim) else None, keepdim)


def nuclear_norm(input: Tensor, dim=(-2, -1), keepdim: bool = False) -> Tensor:
    """Deprecated (torch warns too): ``linalg.matrix_norm(input, 'nuc', dim, keepdim)``."""
    warnings.warn("at::nuclear_norm is deprecated and it is just left for JIT compatibility. "
                  "It will be removed in a future PyTorch release. Please use "
                  "`linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead", UserWarning,
                  stacklevel=2)
    return matrix_norm(input, "nuc", tuple(dim), keepdim)


arccos_ = inplace_method(_E.acos, "arccos")
arcsin_ = inplace_method(_E.asin, "arcsin")
arctan_ = inplace_method(_E.atan, "arctan")
arccosh_ = inplace_method(_E.acosh, "arccosh")
arcsinh_ = inplace_method(_E.asinh, "arcsinh")
arctanh_ = inplace_method(_E.atanh, "arctanh")
clamp_min_ = inplace_method(_EX.clamp_min, "clamp_min")
clamp_max_ = inplace_method(_EX.clamp_max, "clamp_max")

# what torch was built with; gpuarr's CPU linear algebra and FFTs are NumPy's (LAPACK inside)
has_lapack = True
has_spectral = True
has_mkl = False
has_openmp = False

_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """Set the deterministic debug mode: 'default'/0 turns deterministic algorithms off,
    'warn'/1 on with warnings only, 'error'/2 on (see :func:`use_deterministic_algorithms`)."""
    if not isinstance(debug_mode, (int, str)):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError("invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0 when deterministic algorithms are off, 1 when on with warnings only, 2 when on."""
    if not are_deterministic_algorithms_enabled():
        return 0
    return 1 if is_deterministic_algorithms_warn_only_enabled() else 2


def is_distributed(input: Tensor) -> bool:
    """False: gpuarr tensors are never distributed (sharded) tensors."""
    return False
