"""Muon: momentum orthogonalised by Newton-Schulz iterations (Keller Jordan, 2024)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from .._core.capture import host_value
from .._tensor import Tensor, _make
from ..backends import of_module
from .optimizer import Optimizer, _closure_loss, _lr_value, _optimizer_step

__all__ = ["Muon"]

# torch's defaults (the constants of Keller Jordan's reference implementation)
EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5

_ADJUST_LR_FNS = ("original", "match_rms_adamw")


class Muon(Optimizer):
    """Muon, with PyTorch's update rule, state layout and options.

    For each 2-D parameter ``p`` with gradient ``g``::

        B = lerp(B, g, 1 - momentum)                     (B: the momentum buffer)
        U = lerp(g, B, momentum) if nesterov else B
        O = NS(U)                                        (in bfloat16, see below)
        p = p * (1 - lr * weight_decay)                  (decoupled weight decay)
        p = p - adjust(lr, p.shape) * O

    ``NS`` is torch's quintic Newton-Schulz iteration, in bfloat16 as torch computes it:
    ``X = U / max(||U||_F, eps)`` (``U`` transposed first when it has more rows than
    columns), then ``ns_steps`` times ``G = X @ X.T``, ``X = a * X + (b * G + c * G @ G) @ X``.
    ``adjust`` multiplies ``lr`` by ``sqrt(max(1, A / B))`` ("original", the default) or by
    ``0.2 * sqrt(max(A, B))`` ("match_rms_adamw") for an ``A x B`` parameter.

    State per parameter: ``momentum_buffer`` (zeros like the gradient at the first step); no
    step count, as in torch.

    bfloat16 is computed as float32 arrays rounded to bfloat16 after every operation (each
    product and sum in float32, rounded once, as torch's CPU kernels do): the same numbers on
    both devices, including CUDA, where CuPy has no bfloat16 type.

    Args:
        params: 2-D tensors to optimize, or dicts defining parameter groups. Biases,
            embeddings and other non-2-D parameters belong to another optimizer (AdamW).
        lr: learning rate (default 1e-3).
        weight_decay: decoupled weight decay coefficient (default 0.1).
        momentum: momentum factor (default 0.95).
        nesterov: use Nesterov momentum (default True).
        ns_coefficients: ``(a, b, c)`` of the Newton-Schulz polynomial (default
            ``(3.4445, -4.775, 2.0315)``).
        eps: lower bound of the norm the update is divided by (default 1e-7).
        ns_steps: number of Newton-Schulz iterations, below 100 (default 5).
        adjust_lr_fn: ``None`` or ``"original"`` (Keller Jordan's scale), or
            ``"match_rms_adamw"`` (Moonshot's, matching AdamW's update RMS).

    Raises:
        ValueError: an argument out of its range, or a parameter that is not 2-D (torch's
            texts); at ``step``, ``ns_steps >= 100`` or ``ns_coefficients`` not of length 3.
        RuntimeError: at ``step``, a complex parameter or a sparse gradient.

    Example:
        >>> hidden = [p for p in model.parameters() if p.ndim == 2]
        >>> opt = gpuarr.optim.Muon(hidden, lr=0.02, momentum=0.95)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    _lr_read_per_call = True  # gpuarr.compile: lr is read at each replay, not a constant

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B,
                                                                DEFAULT_C),
                 eps: float = EPS, ns_steps: int = DEFAULT_NS_STEPS,
                 adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _lr_value(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in _ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        # as torch: checked here only (not in a later add_param_group)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            if isinstance(group.get("ns_coefficients"), list):  # after a JSON round trip
                group["ns_coefficients"] = tuple(group["ns_coefficients"])

    @_optimizer_step
    def step(self, closure: Callable | None = None):
        """Perform one Muon step on every parameter that has a gradient.

        Args:
            closure: optional function that re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(group, p)
        return loss

    def _update(self, group: dict, p: Tensor) -> None:
        """One Muon step of ``p`` (and its momentum buffer) in place. The lr's factors are
        read through ``host_value`` (a compiled step's replays read the current lr) and
        rounded as torch rounds a float or a tensor lr."""
        g = p.grad
        if p.is_complex():
            raise RuntimeError("Muon does not support complex parameters")
        if g.is_sparse:
            raise RuntimeError("Muon does not support sparse gradients")
        _check_group(group, g)  # before any change, unlike torch (see _check_group)
        st = self.state[p]
        if "momentum_buffer" not in st:
            st["momentum_buffer"] = _make(g._device._xp().zeros_like(g._data), g._device)
        xp = p._device._xp()
        bk = of_module(xp)
        w, gd, buf = p._data, g._data, st["momentum_buffer"]._data
        momentum = group["momentum"]
        _lerp(bk, xp, buf, gd, 1 - momentum, out=buf)
        upd = _lerp(bk, xp, gd, buf, momentum) if group["nesterov"] else buf
        if w.size == 0:
            # nothing to update (torch divides by a zero dim adjusting lr for an (n, 0) one)
            return
        ortho = _zeropower_via_newtonschulz(xp, upd, group["ns_coefficients"],
                                            group["ns_steps"], group["eps"])
        op = _opmath(xp, w.dtype)
        if group["weight_decay"] != 0:  # a factor of exactly 1 otherwise: skipped
            _scale_(xp, w, host_value(_decay_factor, group))
        _fma_(bk, xp, host_value(_update_alpha, group, w.shape, op.char), ortho, w)
        p._bump_version()


def _check_group(group: dict, g: Tensor) -> None:
    """torch's step-time checks (its Newton-Schulz function's), with its texts. torch makes
    them after updating the momentum buffer; here they come first, so a bad option leaves
    the optimizer as it was."""
    if group["ns_steps"] >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Param gradient must be a 2D matrix")
    if len(group["ns_coefficients"]) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")


# ---- the update's factors (host numbers, read afresh by every replay of a compiled step) ----

def _decay_factor(group: dict) -> float:
    """``1 - lr * weight_decay``. With a float lr, torch computes it in Python floats; with
    a tensor lr (float32, or the default dtype), in the tensor's dtype."""
    lr, wd = group["lr"], group["weight_decay"]
    if not isinstance(lr, Tensor):
        return 1 - lr * wd
    t = np.dtype(lr.dtype.np).type
    return float(t(1) - t(_lr_value(lr)) * t(wd))


def _update_alpha(group: dict, shape: tuple, dtype_char: str) -> float:
    """``-adjusted_lr``: the factor of the orthogonalised update, rounded to ``dtype_char``
    (the parameter's computation dtype) as torch's ``add_(update, alpha=)`` rounds it, and
    first to the tensor lr's dtype when the lr is a tensor, as torch's product is."""
    lr = group["lr"]
    ratio = _lr_ratio(group["adjust_lr_fn"], shape)
    if isinstance(lr, Tensor):
        t = np.dtype(lr.dtype.np).type
        alpha = -float(t(_lr_value(lr)) * t(ratio))
    else:
        alpha = -(lr * ratio)
    return float(np.dtype(dtype_char).type(alpha))


def _lr_ratio(adjust_lr_fn: str | None, shape: tuple) -> float:
    """The learning-rate scale for an ``A x B`` parameter (torch's ``_adjust_lr``: any
    other name, e.g. one set in a param group after construction, gives 1)."""
    a, b = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return math.sqrt(max(1, a / b))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(a, b))
    return 1.0


# ---- arithmetic as torch's CPU kernels round it ----

def _opmath(xp, dt):
    """The dtype torch's CPU kernels compute ``dt`` arrays in: float64 for float64, else
    float32 (half types included)."""
    return np.dtype(np.float64) if dt == xp.float64 else np.dtype(np.float32)


def _lerp(bk, xp, start, end, weight: float, out=None):
    """``torch.lerp(start, end, weight)`` for a number ``weight``, into ``out`` (a new array
    when None; ``out`` may be ``start``). torch's CPU formula, in the computation dtype:
    ``start + w * (end - start)`` for ``|w| < 0.5``, else ``end + (w - 1) * (end - start)``,
    one fused multiply-add, with ``w`` and ``w - 1`` rounded to that dtype."""
    op = _opmath(xp, start.dtype)
    diff = xp.subtract(end, start, dtype=op)
    if abs(weight) < 0.5:
        base, coef = start, float(op.type(weight))
    else:
        base, coef = end, float(op.type(float(op.type(weight)) - 1.0))
    if out is None:
        out = base.copy()
    elif out is not base:
        xp.copyto(out, base)
    _fma_(bk, xp, coef, diff, out)
    return out


def _fma_(bk, xp, a: float, x, y) -> None:
    """``y += a * x`` in place, as torch's vectorised CPU kernels (``add_(x, alpha=a)``,
    ``lerp``) compute it: one fused multiply-add in the computation dtype (float32 for
    float32 and half types, then rounded to ``y``'s dtype), ``a`` already rounded to it.

    Below float64 this runs in float64, where ``a * x`` is exact (24-bit significands) and
    the sum rounds once more to float32: the fused result (BLAS axpy is not: its short loops
    and tails multiply then add). float64: ``Backend.axpy`` (fused where the backend's BLAS
    fuses it), on a contiguous copy of ``x`` in float64.
    """
    if y.dtype == xp.float64:
        bk.axpy(a, xp.ascontiguousarray(x, dtype=xp.float64), y)
        return
    acc = x.astype(xp.float64)
    acc *= a
    acc += y
    res = acc.astype(xp.float32)
    xp.copyto(y, res if y.dtype == res.dtype else res.astype(y.dtype), casting="unsafe")


def _scale_(xp, w, factor: float) -> None:
    """``w.mul_(factor)`` for a number ``factor``, as torch computes it: in ``w``'s
    computation dtype (a half ``w`` in float32, rounded once)."""
    if w.dtype in (xp.float32, xp.float64):
        w *= factor
        return
    xp.copyto(w, (w.astype(xp.float32) * factor).astype(w.dtype), casting="unsafe")


def _round_bf16(xp, x):
    """The float32 array ``x`` rounded to bfloat16 values (to nearest, ties to even; NaN stays
    NaN), as a new float32 array: torch's float -> bfloat16 conversion."""
    bits = x.view(xp.uint32)
    lsb = (bits >> xp.uint32(16)) & xp.uint32(1)
    bits = (bits + (lsb + xp.uint32(0x7FFF))) & xp.uint32(0xFFFF0000)
    return xp.where(xp.isnan(x), x, bits.view(xp.float32))


def _bf16_scalar(value: float) -> float:
    """A Python number rounded as torch converts it to bfloat16 (through float32)."""
    return float(_round_bf16(np, np.asarray([value], dtype=np.float32))[0])


def _zeropower_via_newtonschulz(xp, grad, ns_coefficients, ns_steps: int, eps: float):
    """torch's quintic Newton-Schulz orthogonalisation of the 2-D array ``grad``, in
    bfloat16: a float32 array of bfloat16 values shaped like ``grad``.

    Every step rounds to bfloat16 where torch's bfloat16 tensors do: the input (a float64
    one through float32, as torch converts it), the norm, the division by it, and each
    product (accumulated in float32 and combined with the added term before one rounding,
    as torch's CPU addmm does)."""
    a, b, c = ns_coefficients
    x = _round_bf16(xp, grad.astype(xp.float32))
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    flat = x.reshape(-1)
    # the Frobenius norm, accumulated in float32 (torch's bfloat16 norm), kept on the device
    norm = _round_bf16(xp, xp.sqrt(xp.dot(flat, flat)).reshape(1))
    norm = xp.maximum(norm, _bf16_scalar(eps))  # clamp(min=eps) with eps as a bfloat16
    x = _round_bf16(xp, x / norm)
    for _ in range(ns_steps):
        gram = _round_bf16(xp, x @ x.T)
        gram_update = _round_bf16(xp, (gram @ gram) * c + gram * b)  # addmm(G, G, G, b, c)
        x = _round_bf16(xp, gram_update @ x + x * a)  # addmm(X, G', X, beta=a)
    return x.T if tall else x
