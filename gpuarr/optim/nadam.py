"""NAdam: Adam with Nesterov momentum (Dozat, 2016)."""

from __future__ import annotations

from collections.abc import Iterable

from .._core.capture import host_value
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
    _scalar_state,
    _scalar_states_to_tensors,
    _scalar_value,
    _zeros_state,
)

__all__ = ["NAdam"]


class NAdam(_PerParameter):
    """NAdam, with PyTorch's update rule (momentum decay schedule included) and state layout.

    For each parameter with gradient ``g`` (``-g`` when ``maximize``), at its step ``t``::

        p = p * (1 - lr * weight_decay)  (decoupled)  or  g = g + weight_decay * p
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay));  prod = prod * mu_t
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - prod) * g / denom
              - lr * mu_{t+1} / (1 - prod * mu_{t+1}) * m / denom

    State per parameter: ``step`` and ``mu_product`` (float32 0-d tensors), ``exp_avg`` (m) and
    ``exp_avg_sq`` (v).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 2e-3).
        betas: decay rates of the first and second moment averages (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: weight decay coefficient (default 0).
        momentum_decay: the momentum decay psi of the schedule above (default 4e-3).
        decoupled_weight_decay: shrink the parameters (NAdamW) instead of adding an L2
            term to the gradient.
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        maximize: maximize the objective instead of minimizing it.
        capturable: keep ``step`` and ``mu_product`` on the parameter's device and compute
            the step's factors there, as torch does for graph capture: nothing is read back to
            the host, so a compiled CUDA-graph step holds the whole update (same numbers).
        differentiable: only False is supported (updates are not recorded by autograd).

    Example:
        >>> opt = gpuarr.optim.NAdam(model.parameters(), lr=2e-3, weight_decay=1e-2,
        ...                          decoupled_weight_decay=True)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative("epsilon", eps)
        _check_betas(betas)
        _check_nonnegative("weight_decay", weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        _check_differentiable(differentiable)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        _group_defaults(self, maximize=False, foreach=None, capturable=False,
                        differentiable=False, decoupled_weight_decay=False)
        _scalar_states_to_tensors(self, ("step", "mu_product"), lambda g, _: g["capturable"])

    def _update(self, group: dict, p, lr: float) -> None:
        st = self.state[p]
        if len(st) == 0:
            where = p if group["capturable"] else None
            st["step"] = _scalar_state(0.0, where)
            st["mu_product"] = _scalar_state(1.0, where)
            st["exp_avg"] = _zeros_state(p)
            st["exp_avg_sq"] = _zeros_state(p)
        beta1, beta2 = (float(b) for b in group["betas"])
        wd, psi = group["weight_decay"], group["momentum_decay"]
        mp_t = st["mu_product"]  # mu_product *= mu, in its own dtype (float32 unless loaded)
        mp_t._device._xp()
        if group["capturable"]:
            # the step count and the product stay on the device; the factors are 0-d arrays
            # computed in float64 and rounded once, as the host path's Python floats are
            t = _advance_step_on_device(st)
            dt = p._data.dtype
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
            mp_t._data *= mu.astype(mp_t._data.dtype)
            mu_product = mp_t._data.astype("float64")
            bias2 = (1.0 - beta2**t).astype(dt)
            c_grad = (-lr * (1.0 - mu) / (1.0 - mu_product)).astype(dt)
            c_avg = ((-lr * mu_next) / (1.0 - mu_product * mu_next)).astype(dt)
        else:
            step = _advance_step(st)
            bias2 = 1 - beta2**step
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
            mp_t._data *= mu
            # read through host_value: each replay of a compiled step reads it afresh
            mu_product = host_value(_mu_product, mp_t)
            c_grad = -lr * (1.0 - mu) / (1.0 - mu_product)
            c_avg = (-lr * mu_next) / (1.0 - mu_product * mu_next)
        decay = 1 - lr * wd if (wd != 0 and group["decoupled_weight_decay"]) else None
        xp = p._device._xp()
        arrays = [p._data, p.grad._data, st["exp_avg"]._data, st["exp_avg_sq"]._data]
        for pieces, tmps in _chunks(xp, arrays, 3):
            _nadam_kernel(xp, *pieces, *tmps, beta1, beta2, group["eps"],
                          0 if decay is not None else wd, decay, group["maximize"], bias2,
                          c_grad, c_avg)
        p._bump_version()


def _mu_product(t: Tensor) -> float:
    """NAdam's running product of momentum factors, as a Python float."""
    return _scalar_value(t)


_mu_product.volatile = True  # changes every step: CUDA graphs must not capture it


def _nadam_kernel(xp, w, g, m, v, t1, t2, t3, beta1: float, beta2: float, eps: float,
                  wd: float, decay: float | None, maximize: bool, bias2: float,
                  c_grad: float, c_avg: float) -> None:
    """The NAdam update of one piece, in place on ``w``, ``m`` and ``v``."""
    if decay is not None:
        w *= decay
    g = _direction(xp, w, g, wd, maximize, t1, t2)
    _lerp_(xp, m, g, 1 - beta1, t2)
    v *= beta2  # exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    xp.multiply(g, 1 - beta2, out=t2)
    t2 *= g
    v += t2
    xp.divide(v, bias2, out=t2)  # denom = (exp_avg_sq / bias2).sqrt() + eps
    xp.sqrt(t2, out=t2)
    t2 += eps
    xp.multiply(g, c_grad, out=t3)  # p.addcdiv_(g, denom, value=c_grad)
    t3 /= t2
    w += t3
    xp.multiply(m, c_avg, out=t3)  # p.addcdiv_(exp_avg, denom, value=c_avg)
    t3 /= t2
    w += t3
