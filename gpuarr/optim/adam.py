"""Adam (and the shared update that AdamW reuses with decoupled weight decay)."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import (
    _advance_step,
    _advance_step_on_device,
    _check_differentiable,
    _check_fused,
    _chunks,
    _direction,
    _group_defaults,
    _lerp_,
    _PerParameter,
)

__all__ = ["Adam"]


class Adam(_PerParameter):
    """Adam, with PyTorch's update rule and state layout.

    For each parameter (``t`` counts its steps)::

        g = g + weight_decay * p          (L2; AdamW instead shrinks p by lr * weight_decay)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        v_hat = max(v_max, v) if amsgrad else v
        p = p - lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)

    State per parameter: ``step`` (float32 CPU tensor), ``exp_avg``, ``exp_avg_sq`` and, with
    amsgrad, ``max_exp_avg_sq``.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3).
        betas: decay rates of the first and second moment averages (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        amsgrad: use the maximum of past second moments (AMSGrad).
        maximize: maximize the objective instead of minimizing it.
        foreach: accepted for torch compatibility; gpuarr always updates tensor by tensor.
        capturable: keep ``step`` on the parameter's device and compute the bias corrections
            there, as torch does for CUDA graphs: a step then reads nothing back to the host
            (on CUDA eager, no synchronisation per parameter), so ``gpuarr.compile`` with
            ``mode="reduce-overhead"`` captures the whole update in its graph. The numbers are
            the same as without it.
        differentiable: only False is supported (updates are not recorded by autograd).
        fused: accepted for torch compatibility (``'fused' in inspect.signature(...)`` finds
            it); the update is the same (on CUDA gpuarr fuses it whenever it can) and
            ``step`` lives on the parameter's device, as torch's fused path keeps it.
        decoupled_weight_decay: apply weight decay as AdamW does.

    Example:
        >>> opt = gpuarr.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        _check_differentiable(differentiable)
        if fused:
            _check_fused(self, foreach)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)
        _group_defaults(self, capturable=False, differentiable=False, fused=None)

    def _update(self, group: dict, p, lr: float) -> None:
        amsgrad = group["amsgrad"]
        st = self._lazy_state(p, group["fused"] or group["capturable"], exp_avg=True,
                              exp_avg_sq=True, max_exp_avg_sq=amsgrad)
        beta1, beta2 = (float(b) for b in group["betas"])
        eps, wd, maximize = group["eps"], group["weight_decay"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        if group["capturable"]:
            bias2_sqrt, step_size = _bias_on_device(st, beta1, beta2, lr, p._data.dtype)
        else:
            step = _advance_step(st)
            bias1 = 1 - beta1**step
            bias2_sqrt = (1 - beta2**step) ** 0.5
            step_size = lr / bias1
        m, v = st["exp_avg"]._data, st["exp_avg_sq"]._data
        vmax = st["max_exp_avg_sq"]._data if amsgrad else None
        bk = p._device._backend()
        if bk.fused_optimizers and bk.can_fuse(p._data, p.grad._data):
            p._device._xp()  # run on the parameter's device
            bk.fused_adam_step(
                p._data, p.grad._data, m, v, vmax, sign=-1.0 if maximize else 1.0,
                wd=0.0 if decoupled else wd, decay=1 - lr * wd if decoupled else 1.0,
                w1=1.0 - beta1, b2=beta2, w2=1.0 - beta2, bc2_sqrt=bias2_sqrt, eps=eps,
                step_size=step_size)
        else:
            xp = p._device._xp()
            for arrays, (t1, t2) in _chunks(xp, [p._data, p.grad._data, m, v, vmax]):
                _adam_kernel(xp, *arrays, t1, t2, lr, beta1, beta2, eps, wd, maximize,
                             decoupled, step_size, bias2_sqrt)
        p._bump_version()


def _bias_on_device(st: dict, beta1: float, beta2: float, lr: float, dtype) -> tuple:
    """``capturable=True``: ``sqrt(1 - beta2**t)`` and ``lr / (1 - beta1**t)`` computed where
    the step count lives, as 0-d arrays of the parameter's dtype (NumPy scalars on the CPU),
    with the same numbers as the host path."""
    t = _advance_step_on_device(st)
    bias1 = 1.0 - beta1**t
    bias2_sqrt = (1.0 - beta2**t) ** 0.5
    return bias2_sqrt.astype(dtype), (lr / bias1).astype(dtype)


def _adam_kernel(xp, w, g, m, v, vmax, t1, t2, lr: float, beta1: float, beta2: float,
                 eps: float, wd: float, maximize: bool, decoupled: bool, step_size: float,
                 bias2_sqrt: float) -> None:
    """The Adam update of one piece, in place on ``w``, ``m``, ``v`` (and ``vmax``)."""
    g = _direction(xp, w, g, 0 if decoupled else wd, maximize, t2, t1)
    if decoupled and wd != 0:
        w *= 1 - lr * wd
    _lerp_(xp, m, g, 1 - beta1, t1)
    # v = beta2 * v + (1 - beta2) * g * g
    v *= beta2
    xp.multiply(g, g, out=t1)
    t1 *= 1 - beta2
    v += t1
    src = v
    if vmax is not None:
        xp.maximum(vmax, v, out=vmax)
        src = vmax
    # p -= lr / bias1 * m / (sqrt(v) / bias2_sqrt + eps)
    xp.sqrt(src, out=t1)
    t1 /= bias2_sqrt
    t1 += eps
    xp.divide(m, t1, out=t1)
    t1 *= -step_size
    w += t1
