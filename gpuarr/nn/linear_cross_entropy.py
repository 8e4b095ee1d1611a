"""``LinearCrossEntropyLoss`` and ``LinearCrossEntropyOptions``: a linear head fused with
cross entropy, and the options of its chunked (memory-saving) path."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal, NamedTuple

from .. import _dtype as D
from .._tensor import Tensor
from . import functional as F
from .linear import Linear
from .loss import _WeightedLoss

__all__ = ["LinearCrossEntropyOptions", "LinearCrossEntropyLoss"]


class _AutoDefault(NamedTuple):
    acc_policy: str
    chunking_method: str


# torch's picks for the "auto" sentinels, keyed by (device type, input dtype)
_AUTO_DEFAULTS: dict = {
    ("cuda", D.bfloat16): _AutoDefault("compact", "aspect_ratio:2"),
    ("cuda", D.float16): _AutoDefault("compact", "aspect_ratio:2"),
    ("cpu", D.bfloat16): _AutoDefault("accurate", "aspect_ratio"),
    ("cpu", D.float16): _AutoDefault("accurate", "aspect_ratio"),
}
_AUTO_FALLBACK = _AutoDefault("compact", "aspect_ratio:2")
_ACC_POLICIES = {"auto", "accurate", "balanced", "compact"}
_ACC_DTYPES = (D.float16, D.bfloat16, D.float32, D.float64)


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Options of the chunked path of :func:`~gpuarr.nn.functional.linear_cross_entropy`.

    The chunked path walks the batch ``batch_chunk_size`` rows at a time, so the full
    ``(N, C)`` logits are never materialised (useful when ``C`` is much larger than
    ``in_features``, e.g. a language model's vocabulary head). Pass ``options=None`` for the
    reference path.

    Args:
        allow_retain_graph: accepted for torch compatibility. gpuarr's chunked backward
            recomputes from the saved inputs, so a second backward always works.
        batch_chunk_size: rows per chunk (None: one chunk, or what ``chunking_method``
            gives). Setting both to values that disagree raises ValueError at call time.
        chunking_method: ``"auto"``, ``"aspect_ratio"``, ``"aspect_ratio:N"`` (N >= 1) or
            None. ``"aspect_ratio"`` sizes a chunk's ``(chunk, C)`` logits like the
            ``(N, in_features)`` input: ``next_pow2(ceil(N / ceil(C / in_features)))``,
            divided by N for ``":N"``.
        acc_policy: ``"auto"``, ``"accurate"``, ``"balanced"`` or ``"compact"``: torch's
            precision/memory trade-off, validated and resolved as torch does. gpuarr
            always accumulates float16/bfloat16 in float32, so it does not change results.
        acc_dtype: None, or one of float16, bfloat16, float32, float64; only float32 with
            float16/bfloat16 inputs may differ from the input dtype.

    Example:
        >>> opts = nn.LinearCrossEntropyOptions(batch_chunk_size=1024)
        >>> loss = F.linear_cross_entropy(hidden, head.weight, labels, options=opts)
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: D.dtype | None = None

    def __post_init__(self) -> None:
        if self.acc_policy not in _ACC_POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None
                or (isinstance(self.batch_chunk_size, int) and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got "
                             f"{self.batch_chunk_size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in _ACC_DTYPES:
            raise ValueError(
                "acc_dtype must be one of {None, gpuarr.float16, gpuarr.bfloat16, "
                f"gpuarr.float32, gpuarr.float64}}, got {self.acc_dtype!r}. Pass "
                "acc_dtype=None to let the op pick automatically.")

    @staticmethod
    def _ceil_div(a: int, b: int) -> int:
        return -(-a // b)

    @staticmethod
    def _resolve_auto_acc_dtype(dtype, device):
        """float32 for float16/bfloat16 inputs (gpuarr computes those in float32 on every
        device); None otherwise (the input dtype is used)."""
        if device is None or dtype not in (D.float16, D.bfloat16):
            return None
        return D.float32

    def _compute_batch_chunk_size(self, num_batches: int, in_features: int, num_classes: int,
                                  method: str | None = None) -> int:
        """``batch_chunk_size`` from a (resolved) ``aspect_ratio[:N]`` method."""
        method = str(method if method is not None else self.chunking_method)
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        # max(.., 1): torch divides by zero for zero in_features or classes
        inc_factor = max(self._ceil_div(num_classes, max(in_features, 1)), 1)
        target = self._ceil_div(num_batches, inc_factor)
        chunk_size = 1 << (target - 1).bit_length()  # next power of 2 >= target
        return min(chunk_size // factor, num_batches)

    def _adjust(self, num_batches, in_features, num_classes, dtype, device=None):
        """These options with "auto" and None resolved for one call (torch's rules)."""
        acc_policy = self.acc_policy
        chunking_method = self.chunking_method
        # an explicit batch_chunk_size turns the automatic chunking off
        if chunking_method == "auto" and self.batch_chunk_size is not None:
            chunking_method = None
        if acc_policy == "auto" or chunking_method == "auto":
            key = (device.type, dtype) if device is not None else None
            ap, cm = _AUTO_DEFAULTS.get(key, _AUTO_FALLBACK)
            if acc_policy == "auto":
                acc_policy = ap
            if chunking_method == "auto":
                chunking_method = cm
        if self.batch_chunk_size is None:
            batch_chunk_size = num_batches
        else:
            batch_chunk_size = min(self.batch_chunk_size, num_batches)
        if chunking_method is not None:
            batch_chunk_size = self._compute_batch_chunk_size(num_batches, in_features,
                                                              num_classes, chunking_method)
            if self.batch_chunk_size is not None and self.batch_chunk_size != batch_chunk_size:
                raise ValueError(
                    f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                    f"('{chunking_method}') give different chunk sizes "
                    f"({self.batch_chunk_size} vs {batch_chunk_size}); pass only one.")
        acc_dtype = self.acc_dtype
        if acc_dtype is None:
            auto = (self._resolve_auto_acc_dtype(dtype, device)
                    if self.acc_policy == "auto" else None)
            acc_dtype = auto if auto is not None else dtype
        return dataclasses.replace(self, acc_policy=acc_policy, chunking_method=chunking_method,
                                   batch_chunk_size=max(1, batch_chunk_size),
                                   acc_dtype=acc_dtype)


class LinearCrossEntropyLoss(_WeightedLoss):
    """Cross entropy of ``input`` projected to logits by a learnt linear layer.

    The layer is ``self.linear``, an :class:`~gpuarr.nn.Linear` with ``C * prod(out_features)``
    outputs (flat storage); :meth:`forward` reshapes its weight to
    ``(C, *out_features, in_features)`` and calls
    :func:`~gpuarr.nn.functional.linear_cross_entropy`.

    Args:
        in_features: size of each input sample.
        num_classes: number of classes C.
        out_features: ``(d1, ..., dK)`` for a K-dimensional loss (default ``()``).
        bias: give the linear layer a bias (default False).
        device, dtype: of the linear layer's parameters.
        reduction: 'mean', 'sum' or 'none'.
        weight: ``(C,)`` per-class weights.
        ignore_index: class-index target to skip (None: -100 for index targets).
        label_smoothing: in [0, 1].
        options: a :class:`LinearCrossEntropyOptions` for the chunked path, or None.

    Example:
        >>> loss_fn = nn.LinearCrossEntropyLoss(5, 10, out_features=(4, 3))
        >>> loss = loss_fn(gpuarr.randn(2, 5), gpuarr.randint(0, 10, (2, 4, 3)))
    """

    __constants__ = ["num_classes", "out_features", "reduction", "ignore_index",
                     "label_smoothing"]

    def __init__(self, in_features: int, num_classes: int, *,
                 out_features: tuple[int, ...] = (), bias: bool = False, device=None,
                 dtype=None, reduction: str = "mean", weight: Tensor | None = None,
                 ignore_index: int | None = None, label_smoothing: float = 0.0,
                 options: LinearCrossEntropyOptions | None = None) -> None:
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(f"expected weight shape to be {(num_classes,)}, got "
                               f"{tuple(weight.shape)}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(f"expected label_smoothing to be in range [0, 1], got "
                               f"{label_smoothing}")
        super().__init__(weight=weight, size_average=None, reduce=None, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        # Linear has 2-D weights: keep them flat, reshape in forward
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes),
                             bias=bias, device=device, dtype=dtype)
        self.options = options

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        """The loss of ``input`` (``(in_features,)`` or ``(N, in_features)``) and ``target``."""
        shape = (self.num_classes, *self.out_features)
        linear_weight = self.linear.weight.reshape((*shape, self.linear.in_features))
        bias = self.linear.bias
        linear_bias = bias.reshape(shape) if bias is not None else None
        return F.linear_cross_entropy(
            input, linear_weight, target, linear_bias=linear_bias, weight=self.weight,
            reduction=self.reduction, ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self) -> str:
        return (f"in_features={self.linear.in_features},"
                f" num_classes={self.num_classes},"
                f" out_features={self.out_features},"
                f" bias={self.linear.bias is not None},"
                f" reduction={self.reduction},"
                f" ignore_index={self.ignore_index},"
                f" label_smoothing={self.label_smoothing},"
                f" options={self.options}")
