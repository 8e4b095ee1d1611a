"""Autocast's state and its per-op cast policies (the engine behind ``gpuarr.amp.autocast``).

Ops on torch's autocast lists start with one check of a module-level flag::

    if _amp.on:
        return _amp.run("mm", mm, input, mat2)

``_amp.on`` is False unless an autocast region is active for some device type, so code that
never uses autocast pays one attribute lookup per such op. :meth:`_State.run` looks the op up in
:data:`POLICIES` (torch's "Autocast Op Reference", per device type), casts the eligible tensor
arguments, and calls the op again with autocast excluded, as torch's dispatcher does: ops that
the listed op calls inside are not cast a second time. Casts are ordinary differentiable
``Tensor.to`` calls, so gradients come back to every input in its own dtype.

Eligible tensors (torch's rule): floating point, not float64, on the device type whose autocast
is enabled. Policies:

* ``lower``: cast to the autocast dtype (float16 on CUDA, bfloat16 on CPU by default);
* ``fp32``: cast to float32;
* ``fp32_opt``: ops with a ``dtype=`` argument (softmax, sum...): when the first argument is
  eligible and no dtype was given, run with ``dtype=float32``;
* ``promote``: cast to the widest eligible type (float32 if any is float32);
* ``banned``: raise torch's error (``binary_cross_entropy`` on CUDA).

The state is per process (torch keeps it per thread): gpuarr runs ops on one thread.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _dtype as D
from ._core.capture import tracing
from ._core.tensor import TensorBase

if TYPE_CHECKING:  # annotations name the public class; code tests TensorBase
    from ._tensor import Tensor

__all__ = ["state", "POLICIES", "DEFAULT_DTYPES"]

LOWER, FP32, FP32_OPT, PROMOTE, BANNED = "lower", "fp32", "fp32_opt", "promote", "banned"

# Torch's lists (PyTorch 2.13, aten/src/ATen/autocast_mode.{h,cpp}) for the ops gpuarr has:
# op name -> (policy on 'cpu', policy on 'cuda'); None: that device type leaves the op alone.
# Composite ops that torch decomposes into listed ones carry the policy of the result (torch's
# CUDA cross_entropy runs as log_softmax + nll_loss, both float32, so it is float32 here).
POLICIES: dict[str, tuple[str | None, str | None]] = {
    # lower precision (the autocast dtype)
    "matmul": (LOWER, LOWER), "mm": (LOWER, LOWER), "bmm": (LOWER, LOWER),
    "addmm": (LOWER, LOWER), "baddbmm": (LOWER, LOWER), "linear": (LOWER, LOWER),
    "vecdot": (LOWER, LOWER), "conv1d": (LOWER, LOWER), "conv2d": (LOWER, LOWER),
    "conv3d": (LOWER, LOWER), "conv_transpose1d": (LOWER, LOWER),
    "conv_transpose2d": (LOWER, LOWER), "conv_transpose3d": (LOWER, LOWER),
    "prelu": (LOWER, LOWER), "scaled_dot_product_attention": (LOWER, LOWER),
    "mv": (None, LOWER), "addmv": (None, LOWER),
    # on the CPU these run as mm/bmm inside torch, which autocast casts
    "einsum": (LOWER, LOWER), "chain_matmul": (LOWER, LOWER), "multi_dot": (LOWER, LOWER),
    # float32
    "acos": (None, FP32), "asin": (None, FP32), "cosh": (None, FP32), "erfinv": (None, FP32),
    "exp": (None, FP32), "expm1": (None, FP32), "log": (None, FP32), "log10": (None, FP32),
    "log2": (None, FP32), "log1p": (None, FP32), "reciprocal": (None, FP32),
    "rsqrt": (None, FP32), "sinh": (None, FP32), "tan": (None, FP32), "pow": (None, FP32),
    "softplus": (None, FP32), "layer_norm": (None, FP32), "group_norm": (None, FP32),
    "cosine_similarity": (None, FP32), "logsumexp": (None, FP32),
    "interpolate": (None, FP32),
    "nll_loss": (FP32, FP32), "cross_entropy": (FP32, FP32), "kl_div": (FP32, FP32),
    "l1_loss": (FP32, FP32), "smooth_l1_loss": (FP32, FP32), "huber_loss": (FP32, FP32),
    "mse_loss": (FP32, FP32), "soft_margin_loss": (FP32, FP32),
    "binary_cross_entropy_with_logits": (FP32, FP32),
    "binary_cross_entropy": (FP32, BANNED),
    "norm": (None, FP32),  # torch: fp32_append_dtype, the same result
    "prod": (FP32, FP32_OPT), "trace": (FP32, None), "inverse": (FP32, None),
    "inv": (FP32, None), "solve": (FP32, None), "cholesky": (FP32, None),
    "svd": (FP32, None), "eigh": (FP32, None), "eig": (FP32, None),
    "eigvals": (FP32, None), "pad_reflect_replicate": (FP32, None),
    # float32 unless a dtype is given
    "softmax": (None, FP32_OPT), "log_softmax": (None, FP32_OPT), "sum": (None, FP32_OPT),
    "cumsum": (None, FP32_OPT), "cumprod": (None, FP32_OPT),
    "vector_norm": (None, FP32_OPT), "matrix_norm": (None, FP32_OPT),
    # the widest input type
    "addcdiv": (None, PROMOTE), "addcmul": (None, PROMOTE), "atan2": (None, PROMOTE),
    "cross": (None, PROMOTE), "dot": (None, PROMOTE),
    "tensordot": (LOWER, PROMOTE),  # torch's CPU tensordot runs as mm
    "scatter_add": (None, PROMOTE),
    "cat": (PROMOTE, None), "stack": (PROMOTE, None), "index_copy": (PROMOTE, None),
}

DEFAULT_DTYPES = {"cpu": D.bfloat16, "cuda": D.float16}

_BCE_BANNED = (
    "gpuarr.nn.functional.binary_cross_entropy and gpuarr.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using "
    "gpuarr.nn.functional.binary_cross_entropy_with_logits\n"
    "or gpuarr.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast."
)


class _State:
    """Autocast flags: ``on`` is what ops check; the rest says what it means.

    Attributes:
        on: autocast is enabled for some device type (and not excluded inside a listed op).
        enabled: device type -> whether its autocast is enabled.
        dtype: device type -> its lower-precision dtype.
        cache_enabled: cache lower-precision casts of float32 leaf tensors that require grad
            (the weights) within the outermost region, as torch does.
        nesting: how many autocast context managers are open.
    """

    __slots__ = ("on", "enabled", "dtype", "cache_enabled", "nesting", "_cache")

    def __init__(self) -> None:
        self.on = False
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = dict(DEFAULT_DTYPES)
        self.cache_enabled = True
        self.nesting = 0
        self._cache: dict[int, tuple[weakref.ref, Tensor]] = {}

    def set_enabled(self, device_type: str, enabled: bool) -> None:
        """Turn autocast for ``device_type`` on or off (and recompute ``on``)."""
        self.enabled[device_type] = bool(enabled)
        self.on = any(self.enabled.values())

    def clear_cache(self) -> None:
        """Drop the cached casts of weights."""
        self._cache.clear()

    # ---- the per-op entry point ----
    def run(self, op: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` under op ``op``'s autocast policy.

        Args:
            op: the key of :data:`POLICIES`.
            fn: the op itself; it is called again with autocast excluded.
            *args, **kwargs: its arguments.

        Returns:
            What ``fn`` returns.
        """
        dev = _device_type(args, kwargs)
        policy = None
        if dev is not None and self.enabled.get(dev):
            pols = POLICIES[op]
            policy = pols[0] if dev == "cpu" else pols[1] if dev == "cuda" else None
        if policy is LOWER:
            args, kwargs = self._cast_all(self.dtype[dev], dev, args, kwargs)
        elif policy is FP32:
            args, kwargs = self._cast_all(D.float32, dev, args, kwargs)
        elif policy is FP32_OPT:
            if kwargs.get("dtype") is None and args and _eligible(args[0], dev):
                kwargs = {**kwargs, "dtype": D.float32}
        elif policy is PROMOTE:
            to = self._promote_type(dev, args, kwargs)
            args, kwargs = self._cast_all(to, dev, args, kwargs)
        elif policy is BANNED:
            raise RuntimeError(_BCE_BANNED)
        self.on = False  # exclude autocast inside the op, as torch's dispatcher does
        try:
            return fn(*args, **kwargs)
        finally:
            self.on = any(self.enabled.values())

    # ---- casting ----
    def _cast(self, x: Any, to: D.dtype, dev: str) -> Any:
        if isinstance(x, TensorBase):
            if not _eligible(x, dev) or x.dtype is to:
                return x
            # (not while gpuarr.compile traces: a cached cast would be a stale input to the
            # replays, as torch disables this cache for CUDA graph capture)
            if (self.cache_enabled and x._rg and x._gfn is None and x._base is None
                    and to is self.dtype[dev] and x.dtype is D.float32 and not tracing()):
                hit = self._cache.get(id(x))
                if hit is not None and hit[0]() is x:
                    return hit[1]
                out = x.to(to)
                self._cache[id(x)] = (weakref.ref(x), out)
                return out
            return x.to(to)
        if x.__class__ is list or x.__class__ is tuple:  # tensor lists (cat, stack)
            return x.__class__(self._cast(v, to, dev) for v in x)
        return x

    def _cast_all(self, to: D.dtype, dev: str, args: tuple, kwargs: dict) -> tuple:
        args = tuple(self._cast(a, to, dev) for a in args)
        if kwargs:
            kwargs = {k: self._cast(v, to, dev) for k, v in kwargs.items()}
        return args, kwargs

    def _promote_type(self, dev: str, args: tuple, kwargs: dict) -> D.dtype:
        """torch's ``promote_type``: float32 if any eligible input is float32, else the
        autocast dtype; float64 inputs are ignored."""
        low = self.dtype[dev]
        cur = low
        for t in _tensors(args, kwargs):
            if not (isinstance(t, TensorBase) and _eligible(t, dev)):
                continue
            d = t.dtype
            if cur is D.float32 or d is D.float32:
                cur = D.float32
            elif d is not low:
                raise RuntimeError("Unexpected floating ScalarType in at::autocast::prioritize")
        return cur


def _eligible(x: Any, dev: str) -> bool:
    """torch's ``is_eligible``: a floating, non-float64 tensor on device type ``dev``."""
    return (isinstance(x, TensorBase) and x._device.type == dev
            and x._data.dtype.kind in "fV" and x._data.dtype.itemsize != 8)


def _tensors(args: tuple, kwargs: dict):
    for a in (*args, *kwargs.values()):
        if a.__class__ is list or a.__class__ is tuple:
            yield from a
        else:
            yield a


def _device_type(args: tuple, kwargs: dict) -> str | None:
    """The device type the op runs on: that of its first tensor argument."""
    for a in _tensors(args, kwargs):
        if isinstance(a, TensorBase):
            return a._device.type
    return None


state = _State()
