"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate (Liu et al., 2019)."""

from __future__ import annotations

from collections.abc import Iterable

from .._core.capture import host_value, tracing
from .._tensor import Tensor
from .optimizer import (
    _advance_step,
    _advance_step_on_device,
    _check_betas,
    _check_differentiable,
    _check_lr,
    _check_nonnegative,
    _chunks,
    _direction,
    _group_defaults,
    _lerp_,
    _PerParameter,
    _scalar_states_to_tensors,
    _step_count,
)

__all__ = ["RAdam"]


class RAdam(_PerParameter):
    """RAdam, with PyTorch's update rule and state layout.

    For each parameter with gradient ``g`` (``-g`` when ``maximize``), at its step ``t``::

        p = p * (1 - lr * weight_decay)  (decoupled)  or  g = g + weight_decay * p
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m_hat * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r
        else:
            p = p - lr * m_hat

    State per parameter: ``step`` (float32 0-d tensor), ``exp_avg`` (m) and ``exp_avg_sq`` (v).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3).
        betas: decay rates of the first and second moment averages (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: weight decay coefficient (default 0).
        decoupled_weight_decay: shrink the parameters (as AdamW does) instead of adding an L2
            term to the gradient.
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        maximize: maximize the objective instead of minimizing it.
        capturable: keep ``step`` on the parameter's device and compute the bias corrections
            and the rectification there, as torch does for graph capture: nothing is read back
            to the host, so a compiled CUDA-graph step holds the whole update (same numbers).
        differentiable: only False is supported (updates are not recorded by autograd).

    Example:
        >>> opt = gpuarr.optim.RAdam(model.parameters(), lr=1e-3)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative("epsilon", eps)
        _check_betas(betas)
        _check_nonnegative("weight_decay", weight_decay)
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        _group_defaults(self, foreach=None, maximize=False, differentiable=False,
                        decoupled_weight_decay=False, capturable=False)
        _scalar_states_to_tensors(self, ("step",), lambda g, _: g["capturable"])

    def _update(self, group: dict, p, lr: float) -> None:
        st = self._lazy_state(p, group["capturable"], exp_avg=True, exp_avg_sq=True)
        beta1, beta2 = (float(b) for b in group["betas"])
        wd = group["weight_decay"]
        xp = p._device._xp()
        if group["capturable"]:
            # the step count stays on the device and nothing is read back: the factors are
            # 0-d arrays, and the update computes both ways (the adaptive factor raised to
            # 1.0 or 0.0) instead of branching on rho_t
            t = _advance_step_on_device(st)
            dt = p._data.dtype
            rho_t, rho_inf = _rho(t, beta2)
            # the term at max(rho_t, 5): the same where it is used, and never the square root
            # of a negative number where it is not (rho_t < 4)
            rectified = rho_t > 5.0
            rect = xp.where(rectified, _rect(xp.maximum(rho_t, 5.0), rho_inf), 1.0)
            use = rectified.astype(dt)
            bias1 = (1.0 - beta1**t).astype(dt)
            bias2_sqrt = ((1.0 - beta2**t) ** 0.5).astype(dt)
            rect = rect.astype(dt)
        else:
            step = _advance_step(st)
            bias1 = 1 - beta1**step
            bias2_sqrt = (1 - beta2**step) ** 0.5
            rect, use = None, None
            if tracing():
                # gpuarr.compile: branching on rho_t would fix the branch into the program,
                # so each replay reads the rectification afresh and the update computes both
                # ways: the adaptive factor raised to 1.0 (rectified) or 0.0 (a factor of 1)
                rect = host_value(_rect_or_one, st["step"], beta2)
                use = host_value(_rectified, st["step"], beta2)
            else:
                rho_t, rho_inf = _rho(step, beta2)
                if rho_t > 5.0:
                    rect = _rect(rho_t, rho_inf)
        decay = 1 - lr * wd if (wd != 0 and group["decoupled_weight_decay"]) else None
        arrays = [p._data, p.grad._data, st["exp_avg"]._data, st["exp_avg_sq"]._data]
        for pieces, tmps in _chunks(xp, arrays, 3):
            _radam_kernel(xp, *pieces, *tmps, lr, beta1, beta2, group["eps"],
                          0 if decay is not None else wd, decay, group["maximize"], bias1,
                          bias2_sqrt, rect, use)
        p._bump_version()


def _rho(step: float, beta2: float) -> tuple[float, float]:
    """``(rho_t, rho_inf)``: the length of the SMA at step ``step`` and its limit."""
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * step * (beta2**step) / (1 - beta2**step), rho_inf


def _rect(rho_t: float, rho_inf: float) -> float:
    """The variance rectification term (defined for rho_t > 4; used for rho_t > 5)."""
    return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


def _rectified(step: Tensor, beta2: float) -> float:
    """1.0 when the update at this step count is rectified (rho_t > 5), else 0.0."""
    return 1.0 if _rho(_step_count(step), beta2)[0] > 5.0 else 0.0


def _rect_or_one(step: Tensor, beta2: float) -> float:
    """The rectification term at this step count, or 1.0 when the update is not rectified."""
    rho_t, rho_inf = _rho(_step_count(step), beta2)
    return _rect(rho_t, rho_inf) if rho_t > 5.0 else 1.0


_rectified.volatile = _rect_or_one.volatile = True  # they follow the step count


def _radam_kernel(xp, w, g, m, v, t1, t2, t3, lr: float, beta1: float, beta2: float,
                  eps: float, wd: float, decay: float | None, maximize: bool, bias1: float,
                  bias2_sqrt: float, rect: float | None, use: float | None = None) -> None:
    """The RAdam update of one piece, in place on ``w``, ``m`` and ``v`` (torch's order).
    ``rect``: the rectification term, None for the un-rectified update; with ``use`` (1.0 or
    0.0, from a compiled step) the rectified update is computed and its adaptive factor
    raised to ``use``: the same numbers either way, without a branch."""
    if decay is not None:
        w *= decay
    g = _direction(xp, w, g, wd, maximize, t1, t2)
    _lerp_(xp, m, g, 1 - beta1, t2)
    v *= beta2  # exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    xp.multiply(g, 1 - beta2, out=t2)
    t2 *= g
    v += t2
    xp.divide(m, bias1, out=t3)  # bias_corrected_exp_avg = exp_avg / bias_correction1
    t3 *= lr
    if rect is not None:
        # adaptive lr = sqrt(bias2) / (sqrt(v) + eps), as torch evaluates it: reciprocal * c
        xp.sqrt(v, out=t2)
        t2 += eps
        xp.reciprocal(t2, out=t2)
        t2 *= bias2_sqrt
        if use is not None:
            xp.power(t2, use, out=t2)  # x ** 1.0 == x and x ** 0.0 == 1.0, exactly
        t3 *= t2
        t3 *= rect
    w -= t3
