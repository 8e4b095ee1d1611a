"""Adafactor: Adam-like steps with factored second moments (Shazeer & Stern, 2018)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .._core.capture import host_value, tracing
from .._dtype import finfo
from .._tensor import Tensor, _make
from ..nn.utils.clip_grad import _vector_norm
from .optimizer import (
    _count_step,
    _group_defaults,
    _lerp_,
    _lr_value,
    _new_step,
    _PerParameter,
    _scalar_states_to_tensors,
    _step_count,
)

__all__ = ["Adafactor"]


class Adafactor(_PerParameter):
    """Adafactor, with PyTorch's update rule and state layout.

    For each parameter with gradient ``g`` (``-g`` when ``maximize``), at its step ``t``::

        beta2_hat = 1 - t ** beta2_decay;  rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, RMS(p)) * rho                  (RMS of p before the decay below)
        p = p * (1 - lr * weight_decay)
        p of 2 or more dims (factored over its last two dims):
            R = lerp(R, mean(g * g, dim=-1), 1 - beta2_hat)
            C = lerp(C, mean(g * g, dim=-2), 1 - beta2_hat)
            V = R @ C / max(mean(R, dim=-2), eps1)
        p of 0 or 1 dim:
            V = lerp(V, g * g, 1 - beta2_hat)
        U = g / sqrt(max(V, eps1 ** 2));  U = U / max(1, RMS(U) / d)
        p = p - alpha * U

    State per parameter: ``step`` (float32 0-d CPU tensor) and, for a parameter of two or
    more dims, ``row_var`` (its shape with the last dim 1) and ``col_var`` (its shape with
    the next-to-last dim 1); for fewer dims, ``variance`` (shaped like the parameter).

    The two norms of a step (of the parameter and of the update) stay on the parameter's
    device: a step reads nothing back from a GPU (torch reads both into Python).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: the largest relative step size rho, and the weight-decay factor (default 1e-2).
        beta2_decay: the exponent of the second-moment decay, ``<= 0`` (default -0.8).
        eps: ``(eps1, eps2)``. eps1 bounds the variance estimate from below (None: the
            machine epsilon of the parameter's dtype); eps2 bounds the parameter scale RMS(p)
            from below (default (None, 1e-3)).
        d: clipping threshold of the update's RMS, ``>= 1`` (default 1.0).
        weight_decay: decoupled weight decay coefficient (default 0.0).
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        maximize: maximize the objective instead of minimizing it.

    Raises:
        ValueError: an argument out of its range (the texts are torch's).
        RuntimeError: at ``step``, a complex parameter or a sparse gradient.

    Example:
        >>> opt = gpuarr.optim.Adafactor(model.parameters(), lr=1e-2)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    _complex_as_real = False  # as torch: complex parameters raise (see _update)

    def __init__(self, params: Iterable, lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _lr_value(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        _group_defaults(self, foreach=None)
        # a 'step' saved as a plain number (old or JSON checkpoints) becomes a CPU tensor
        _scalar_states_to_tensors(self, ("step",), lambda g, _: False)
        for group in self.param_groups:
            if isinstance(group.get("eps"), list):  # after a JSON round trip
                group["eps"] = tuple(group["eps"])
            for p in group["params"]:
                st = self.state.get(p) or {}
                var = st.get("variance")
                # a 0-d parameter's variance saved as a plain number (JSON) becomes a tensor
                if isinstance(var, (int, float)):
                    xp = p._device._xp()
                    st["variance"] = _make(xp.full(p._data.shape, var, p._data.dtype),
                                           p._device)

    def _update(self, group: dict, p: Tensor, lr: float) -> None:
        """One Adafactor step of ``p`` (and its state) in place; ``lr`` is the group's."""
        g = p.grad
        if p.is_complex():
            raise RuntimeError("Adafactor does not support complex parameters")
        if g.is_sparse:
            raise RuntimeError("Adafactor does not support sparse gradients")
        st = self._state_for(p, g)
        _count_step(st)
        w = p._data
        if w.size == 0:
            # nothing to update (torch divides by the size and raises ZeroDivisionError)
            return
        xp = p._device._xp()
        step, decay = st["step"], group["beta2_decay"]
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = finfo(p.dtype).eps
        # read through host_value: a compiled step's replays read the step count afresh
        rho = host_value(_relative_step, lr, step)
        # alpha = max(eps2, RMS(p)) * rho, from p before the weight decay; in float64 on the
        # device, as torch's Python floats are
        alpha = xp.fmax(eps2, _norm(xp, w) / w.size**0.5) * rho
        wd = group["weight_decay"]
        if wd != 0:
            w *= 1 - lr * wd
        if w.ndim > 1:
            u = _factored_estimate(xp, g._data, st["row_var"]._data, st["col_var"]._data,
                                   step, decay, eps1)
        else:
            # out=: a 0-d product would be a scalar, and copyto below needs an array
            u = xp.multiply(g._data, g._data, out=xp.empty(w.shape, g._data.dtype))
            var = st["variance"]._data
            _lerp_by_step(xp, var, u, step, decay)
            xp.copyto(u, var)  # a copy: the lines below work on the estimate in place
        # U = g / sqrt(max(V, eps1**2)) (eps1 squared, as the square root follows)
        xp.maximum(u, eps1 * eps1, out=u)
        xp.sqrt(u, out=u)
        xp.reciprocal(u, out=u)
        u *= g._data
        # p -= alpha / max(1, RMS(U) / d) * U; maximize flips the gradient, hence U's sign
        denom = xp.fmax(1.0, _norm(xp, u) / (u.size**0.5 * group["d"]))
        scale = (alpha / denom) if group["maximize"] else (-alpha / denom)
        u *= scale.astype(w.dtype)
        w += u
        p._bump_version()

    def _state_for(self, p: Tensor, g: Tensor) -> dict:
        """``self.state[p]``, made on first use as torch makes it: 'step', then 'row_var'
        and 'col_var' (zeros of ``g``'s dtype) for a gradient of two or more dims, else
        'variance' (zeros like ``g``)."""
        st = self.state[p]
        if len(st) == 0:
            st["step"] = _new_step()
            xp = g._device._xp()
            shape, dt = g._data.shape, g._data.dtype
            if len(shape) > 1:
                st["row_var"] = _make(xp.zeros(shape[:-1] + (1,), dt), g._device)
                st["col_var"] = _make(xp.zeros(shape[:-2] + (1, shape[-1]), dt), g._device)
            else:
                st["variance"] = _make(xp.zeros(shape, dt), g._device)
        return st


def _norm(xp, a):
    """The 2-norm of all elements of ``a`` in its dtype's precision (torch's ``a.norm(2)``),
    as a float64 0-d array on its device: what follows computes in float64 as torch's Python
    floats do."""
    return _vector_norm(xp, a, 2.0).astype(np.float64)


def _mean_square(xp, sq, axis: int):
    """``sq`` (``g * g``) averaged over ``axis`` (kept), as torch computes it:
    ``norm(g, dim=axis) ** 2 / size`` (the square root and the square round as torch's)."""
    m = sq.sum(axis=axis, keepdims=True)
    xp.sqrt(m, out=m)
    xp.multiply(m, m, out=m)
    m /= sq.shape[axis]
    return m


def _factored_estimate(xp, g, row_var, col_var, step: Tensor, decay: float, eps1: float):
    """Update the row and column factors with ``g`` and return the variance estimate
    ``row_var @ col_var / max(mean(row_var, dim=-2), eps1)``, a new array shaped like
    ``g``."""
    sq = xp.multiply(g, g)
    _lerp_by_step(xp, row_var, _mean_square(xp, sq, -1), step, decay)
    _lerp_by_step(xp, col_var, _mean_square(xp, sq, -2), step, decay)
    # the outer product over the last two dims: one rounding per element, as the matmul
    xp.multiply(row_var, col_var, out=sq)
    norm = row_var.mean(axis=-2, keepdims=True)
    xp.maximum(norm, eps1, out=norm)
    sq /= norm
    return sq


def _lerp_by_step(xp, start, end, step: Tensor, decay: float) -> None:
    """``start.lerp_(end, t ** decay)`` in place for the step count ``t`` (torch's two-sided
    formula, exact at both ends).

    The formula depends on the weight (below 0.5 or not), which changes with the step count:
    a compiled step must not fix that choice into its program, so while tracing the choice is
    a value each replay reads afresh (the same numbers as eagerly: ``end - (end - start) *
    (1 - w)`` is ``end + (end - start) * (w - 1)``, bit for bit)."""
    tmp = xp.empty_like(start)
    if not tracing():
        _lerp_(xp, start, end, _one_minus_beta2(step, decay), tmp)
        return
    xp.subtract(end, start, out=tmp)
    tmp *= host_value(_lerp_coef, step, decay)
    base = xp.where(xp.asarray(host_value(_lerp_from_start, step, decay)), start, end)
    xp.add(base, tmp, out=start)


def _one_minus_beta2(step: Tensor, decay: float) -> float:
    """``1 - beta2_hat = t ** decay``: the weight of the new squared gradients at step t."""
    return _step_count(step) ** decay


def _lerp_from_start(step: Tensor, decay: float) -> bool:
    """Whether the lerp at step t adds to ``start`` (weight below 0.5) or to ``end``."""
    return _one_minus_beta2(step, decay) < 0.5


def _lerp_coef(step: Tensor, decay: float) -> float:
    """The factor of ``end - start`` in the lerp at step t: ``w``, or ``w - 1`` when the
    lerp adds to ``end``."""
    w = _one_minus_beta2(step, decay)
    return w if w < 0.5 else w - 1.0


def _relative_step(lr: float, step: Tensor) -> float:
    """``rho_t = min(lr, 1 / sqrt(t))``, the relative step size at step t."""
    return min(lr, 1 / (_step_count(step) ** 0.5))


# they follow the step count: CUDA graphs must not capture them
_lerp_from_start.volatile = _lerp_coef.volatile = _relative_step.volatile = True
